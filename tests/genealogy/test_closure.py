"""The lineage closure table: its triggers keep it equal to the edges (inserts one by one and in bulk, blends,
deletes, changed ends, status changes), and reads through it find what the pruning walk finds, for every viewer."""

from __future__ import annotations

import random
from collections import deque

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from genealogy.lineage import MAX_NODES, _walk, node_lineage
from genealogy.models import LineageClosure
from remix.lineage import mutation_create
from remix.models import Layer, Mutation, NodeStatus, RemixNode
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def _nodes(count: int, owners, statuses) -> list[RemixNode]:
    nodes = [
        RemixNode(
            title=f"Remix {i}",
            source_url=f"https://example.com/{i}.mp4",
            platform="direct",
            layer=Layer.MASTER if i == 0 else Layer.FORK,
            owner=owners[i % len(owners)],
            status=statuses[i],
            published_at=timezone.now(),  # kept by drafts too (as one unpublished is)
        )
        for i in range(count)
    ]
    return RemixNode.objects.bulk_create(nodes)


def _random_family(rng: random.Random, count: int, *, blends: float = 0.15, hidden: float = 0.25):
    """`count` nodes, each a remix of an earlier one (often the one before: chains), some with a second parent;
    about `hidden` of them drafts of two creators. Edges are inserted in one bulk statement (the trigger sees a
    chain of new edges at once)."""
    owners = [UserFactory(role=Role.CREATOR) for _ in range(2)]
    statuses = [NodeStatus.PUBLISHED if i == 0 or rng.random() >= hidden else NodeStatus.DRAFT for i in range(count)]
    nodes = _nodes(count, owners, statuses)
    edges = []
    for i in range(1, count):
        parents = {i - 1 if rng.random() < 0.4 else rng.randrange(i)}
        if i > 2 and rng.random() < blends:
            parents.add(rng.randrange(i))
        edges += [Mutation(parent=nodes[p], child=nodes[i], mutation_types=["audio_swap"]) for p in parents]
    rng.shuffle(edges)  # the trigger must not depend on the order edges arrive in
    Mutation.objects.bulk_create(edges)
    return nodes, owners


def _expected_closure() -> dict[tuple[int, int], tuple[int, bool]]:
    """(ancestor, descendant) → (shortest path length, descendant published), from the edges by breadth-first."""
    children: dict[int, list[int]] = {}
    for parent, child in Mutation.objects.values_list("parent_id", "child_id"):
        children.setdefault(parent, []).append(child)
    published = dict(RemixNode.objects.values_list("pk", "status"))
    expected = {}
    for start in children:
        seen, queue = {start: 0}, deque([start])
        while queue:
            at = queue.popleft()
            for nxt in children.get(at, ()):
                if nxt not in seen:
                    seen[nxt] = seen[at] + 1
                    queue.append(nxt)
        for other, depth in seen.items():
            if other != start:
                expected[(start, other)] = (depth, published[other] == NodeStatus.PUBLISHED)
    return expected


def _closure() -> dict[tuple[int, int], tuple[int, bool]]:
    rows = LineageClosure.objects.values_list("ancestor_id", "descendant_id", "depth", "descendant_published")
    return {(a, d): (depth, pub) for a, d, depth, pub in rows}


def test_the_published_status_the_triggers_know_is_the_models():
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'genealogy_closure_node_status'")
        assert f"'{NodeStatus.PUBLISHED}'" in cursor.fetchone()[0]


def test_edges_added_one_by_one_or_in_bulk_give_every_pair_its_shortest_distance():
    rng = random.Random(3)
    nodes, _owners = _random_family(rng, 40)
    assert _closure() == _expected_closure()
    # Through the service too, blends included: a second parent shortens some distances.
    mutation_create(parent=nodes[0], child=nodes[30], mutation_types=["product_swap"])
    mutation_create(parent=nodes[5], child=nodes[39], mutation_types=["localization"])
    assert _closure() == _expected_closure()
    assert _closure()[(nodes[0].pk, nodes[30].pk)][0] == 1


def test_deleted_edges_and_nodes_take_their_paths_with_them():
    rng = random.Random(5)
    nodes, _owners = _random_family(rng, 40)
    edges = list(Mutation.objects.order_by("pk"))
    rng.shuffle(edges)
    edges[0].delete()  # one edge
    assert _closure() == _expected_closure()
    Mutation.objects.filter(pk__in=[e.pk for e in edges[1:6]]).delete()  # several in one statement
    assert _closure() == _expected_closure()
    nodes[3].delete()  # a node in the middle: its edges go with it (cascade)
    assert _closure() == _expected_closure()
    assert not LineageClosure.objects.filter(ancestor_id=nodes[3].pk).exists()
    assert not LineageClosure.objects.filter(descendant_id=nodes[3].pk).exists()
    Mutation.objects.all().delete()
    assert not LineageClosure.objects.exists()


def test_an_edge_whose_ends_change_moves_its_paths():
    rng = random.Random(7)
    nodes, _owners = _random_family(rng, 30)
    edge = Mutation.objects.filter(child=nodes[20]).order_by("pk").first()
    # Nodes are in an order the edges follow, so an earlier parent keeps the graph acyclic.
    new_parent = next(n for n in nodes[1:20] if not Mutation.objects.filter(parent=n, child=nodes[20]).exists())
    Mutation.objects.filter(pk=edge.pk).update(parent=new_parent)
    assert _closure() == _expected_closure()
    Mutation.objects.filter(pk=edge.pk).update(mutation_types=["caption_change"])  # ends unchanged: nothing moves
    assert _closure() == _expected_closure()


def test_a_status_change_is_seen_by_the_rows_below_it():
    rng = random.Random(9)
    nodes, _owners = _random_family(rng, 20, hidden=0)
    assert all(published for _depth, published in _closure().values())
    RemixNode.objects.filter(pk__in=[nodes[4].pk, nodes[9].pk]).update(status=NodeStatus.DRAFT)
    assert _closure() == _expected_closure()
    assert LineageClosure.objects.filter(descendant_published=False).exists()
    RemixNode.objects.filter(pk=nodes[4].pk).update(status=NodeStatus.PUBLISHED)
    assert _closure() == _expected_closure()


def _visible_walk(start: RemixNode, viewer, depth: int | None) -> dict[int, int]:
    """The family below `start` as `viewer` may see it, by breadth-first in Python: the reference."""
    children: dict[int, list[int]] = {}
    for parent, child in Mutation.objects.values_list("parent_id", "child_id"):
        children.setdefault(parent, []).append(child)
    status_owner = {pk: (status, owner) for pk, status, owner in RemixNode.objects.values_list("pk", "status", "owner")}

    def visible(pk: int) -> bool:
        status, owner = status_owner[pk]
        if viewer is not None and viewer.is_editor:
            return True
        return status == NodeStatus.PUBLISHED or (viewer is not None and owner == viewer.pk)

    seen, queue = {start.pk: 0}, deque([start.pk])
    while queue:
        at = queue.popleft()
        if depth is not None and seen[at] >= depth:
            continue
        for nxt in children.get(at, ()):
            if nxt not in seen and visible(nxt):
                seen[nxt] = seen[at] + 1
                queue.append(nxt)
    del seen[start.pk]
    return seen


@pytest.mark.parametrize("seed", range(6))
def test_the_closure_finds_what_the_pruning_walk_finds_for_every_viewer(seed):
    rng = random.Random(seed)
    nodes, owners = _random_family(rng, 60, hidden=0.1 + 0.1 * (seed % 3))
    other = UserFactory(role=Role.CREATOR)
    editor = UserFactory(role=Role.EDITOR)
    for viewer in (None, owners[0], other, editor):
        for start in (nodes[0], nodes[1], nodes[rng.randrange(2, 20)]):
            for depth in (1, 2, 3, 10, None):
                expected = _visible_walk(start, viewer, depth)
                nearest = sorted(expected.items(), key=lambda item: (item[1], item[0]))
                for route in ("auto", "closure"):
                    found = _walk(node=start, viewer=viewer, direction="down", depth=depth, limit=10**6, route=route)
                    assert found == nearest, (viewer, start.pk, depth, route)
                    page = _walk(node=start, viewer=viewer, direction="down", depth=depth, limit=7, route=route)
                    assert page == nearest[:7], (viewer, start.pk, depth, route)
                walked = _walk(node=start, viewer=viewer, direction="down", depth=depth, limit=10**6, route="walk")
                assert {pk for pk, _ in walked} == set(expected)
                if depth is not None:
                    assert walked == nearest
                lineage = node_lineage(node=start, viewer=viewer, direction="both", depth=depth, limit=MAX_NODES)
                assert {pk: d for pk, d in lineage.depths.items() if d > 0} == expected


def test_a_big_hidden_subtree_is_walked_and_a_few_drafts_are_read_from_the_closure(django_assert_num_queries):
    """Both ways cost the same three queries and give the same family."""
    creator = UserFactory(role=Role.CREATOR)
    statuses = [NodeStatus.PUBLISHED] * 30
    statuses[1] = NodeStatus.DRAFT  # a draft right under the master with most of the family below it
    statuses[25] = NodeStatus.DRAFT  # and a leaf draft
    nodes = _nodes(30, [creator], statuses)
    edges = [Mutation(parent=nodes[0], child=nodes[1], mutation_types=["audio_swap"])]
    edges += [Mutation(parent=nodes[i - 1], child=nodes[i], mutation_types=["audio_swap"]) for i in range(2, 25)]
    edges += [Mutation(parent=nodes[0], child=nodes[i], mutation_types=["audio_swap"]) for i in range(25, 30)]
    edges.append(Mutation(parent=nodes[26], child=nodes[12], mutation_types=["localization"]))  # a way round
    Mutation.objects.bulk_create(edges)
    for start in (nodes[0], nodes[26]):  # the master: the shadow is most of the family; a fork: only the leaf
        expected = _visible_walk(start, None, 10)
        with django_assert_num_queries(3):
            found = node_lineage(node=start, viewer=None, direction="down", depth=10)
        assert {pk: d for pk, d in found.depths.items() if d > 0} == expected
        assert nodes[1].pk not in found.depths and nodes[25].pk not in found.depths
        with django_assert_num_queries(3):
            everything = node_lineage(node=start, viewer=None, direction="down", depth=None, limit=10**6)
        assert {pk: d for pk, d in everything.depths.items() if d > 0} == _visible_walk(start, None, None)
    assert _visible_walk(nodes[0], None, 10)[nodes[13].pk] == 3  # through the blend, past the draft
