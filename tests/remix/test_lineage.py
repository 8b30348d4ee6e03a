import threading

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import AuditLog
from genealogy.selectors import node_parents
from kmeme.errors import ApplicationError
from remix.lineage import mutation_create, node_is_ancestor
from remix.models import Mutation
from tests.remix.factories import NodeFactory

pytestmark = pytest.mark.django_db


def _codes(call) -> str:
    with pytest.raises(ApplicationError) as excinfo:
        call()
    return excinfo.value.code


def test_an_edge_records_types_and_profile():
    parent, child = NodeFactory(), NodeFactory()
    mutation = mutation_create(
        parent=parent, child=child, mutation_types=["localization", "audio_swap", "localization"], profile={"a": 1}
    )
    assert mutation.mutation_types == ["audio_swap", "localization"]
    assert node_parents(node=child) == [parent]


def test_self_loops_are_refused_by_the_service_and_the_database():
    node = NodeFactory()
    assert (
        _codes(lambda: mutation_create(parent=node, child=node, mutation_types=["audio_swap"])) == "mutation_self_loop"
    )
    with pytest.raises(IntegrityError, match="mutation_no_self_loop"), transaction.atomic():
        Mutation.objects.create(parent=node, child=node, mutation_types=["audio_swap"])


def test_one_edge_per_pair():
    parent, child = NodeFactory(), NodeFactory()
    mutation_create(parent=parent, child=child, mutation_types=["audio_swap"])
    assert _codes(lambda: mutation_create(parent=parent, child=child, mutation_types=["localization"])) == (
        "mutation_exists"
    )
    with pytest.raises(IntegrityError, match="mutation_one_edge_per_pair"), transaction.atomic():
        Mutation.objects.create(parent=parent, child=child, mutation_types=["localization"])


def test_unknown_or_empty_mutation_types_are_refused():
    parent, child = NodeFactory(), NodeFactory()
    assert _codes(lambda: mutation_create(parent=parent, child=child, mutation_types=["teleport"])) == (
        "invalid_mutation_types"
    )
    assert _codes(lambda: mutation_create(parent=parent, child=child, mutation_types=[])) == "invalid_mutation_types"
    with pytest.raises(IntegrityError, match="mutation_types_known_nonempty"), transaction.atomic():
        Mutation.objects.create(parent=parent, child=child, mutation_types=["teleport"])


def test_a_blend_has_two_parents_but_cycles_are_refused():
    a, b, c = NodeFactory(), NodeFactory(), NodeFactory()
    mutation_create(parent=a, child=c, mutation_types=["audio_swap"])
    mutation_create(parent=b, child=c, mutation_types=["product_swap"])
    assert set(node_parents(node=c)) == {a, b}
    mutation_create(parent=a, child=b, mutation_types=["caption_change"])  # still a DAG: a→b→c, a→c
    assert node_is_ancestor(ancestor_id=a.pk, node_id=c.pk)
    assert _codes(lambda: mutation_create(parent=c, child=a, mutation_types=["format_change"])) == "mutation_cycle"
    assert not Mutation.objects.filter(parent=c).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_opposite_edges_cannot_both_land():
    a, b = NodeFactory(), NodeFactory()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def add(parent, child):
        barrier.wait()
        try:
            mutation_create(parent=parent, child=child, mutation_types=["audio_swap"])
            outcomes.append("created")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=pair) for pair in [(a, b), (b, a)]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created", "mutation_cycle"]
    assert Mutation.objects.count() == 1


def test_an_edge_is_audited_with_who_linked_it(editor_user):
    parent, child = NodeFactory(), NodeFactory()
    mutation_create(parent=parent, child=child, mutation_types=["audio_swap"], created_by=editor_user)
    entry = AuditLog.objects.get(action="mutation.create")
    assert entry.actor == editor_user and entry.target_id == str(child.pk)
    assert entry.details == {"parent": str(parent.public_id), "mutation_types": ["audio_swap"]}
