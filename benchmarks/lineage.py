"""The family tree at 100,000 nodes: the closure-table reads against the old recursive-CTE walk and a naive
level-by-level ORM walk.

    .venv/bin/python benchmarks/lineage.py [--nodes 100000] [--repeat 20]

Fills a scratch database (`<your database>_bench`, dropped afterwards) with one big published family: each new
node remixes an earlier one — the newest (long chains) a third of the time, else one picked at random (wide
fan-out) — and about 2 % get a second, earlier parent (blends). The closure table is filled by its triggers as
the edges go in, then vacuumed (as autovacuum would after a bulk insert: index-only scans need the visibility
map). Then prints, each beside the old recursive CTE (the same code with `route="walk"`), the baseline that asks
the database one level at a time (what an ORM walk does), and the goal: the ancestors of the deepest node, the
descendants of the root (the whole 100k family), the API's first page (depth 10, 500 nodes), the same two again
after 1 % of the nodes became another creator's drafts (an anonymous viewer's walk must go round them), and
the lineage endpoint's p95.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmeme.settings")
from benchmarks._scratch import percentile, scratch_database  # noqa: E402

BATCH = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with scratch_database():
        run(args)


def _timed(fn, repeat: int) -> tuple[float, float, object]:
    """Median and p95 in ms, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), percentile(times, 0.95), result


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from rest_framework.test import APIClient

    from accounts.models import Role, User
    from genealogy.lineage import node_lineage
    from remix.models import Layer, Mutation, NodeStatus, RemixNode

    print("Migrating the scratch database…", flush=True)
    call_command("migrate", verbosity=0)
    owner = User.objects.create(email="bench@example.com", role=Role.CREATOR, display_name="bench")
    rng = random.Random(11)  # noqa: S311 - a reproducible graph, not a secret
    now = timezone.now()
    print(f"Building a family of {args.nodes:,} nodes…", flush=True)
    nodes = [
        RemixNode(
            title=f"Remix {i}",
            source_url=f"https://example.com/{i}.mp4",
            platform="direct",
            layer=Layer.MASTER if i == 0 else Layer.FORK,
            owner=owner,
            status=NodeStatus.PUBLISHED,
            published_at=now,
        )
        for i in range(args.nodes)
    ]
    for start in range(0, len(nodes), BATCH):
        RemixNode.objects.bulk_create(nodes[start : start + BATCH])
    ids = [n.pk for n in nodes]
    edges, depth = [], {ids[0]: 0}
    for i in range(1, len(ids)):
        parent = ids[i - 1] if rng.random() < 1 / 3 else ids[rng.randrange(i)]
        depth[ids[i]] = depth[parent] + 1
        edges.append(Mutation(parent_id=parent, child_id=ids[i], mutation_types=["audio_swap"]))
        if i > 2 and rng.random() < 0.02:
            other = ids[rng.randrange(i)]
            if other != parent:
                edges.append(Mutation(parent_id=other, child_id=ids[i], mutation_types=["localization"]))
    started = time.perf_counter()
    for start in range(0, len(edges), BATCH):
        Mutation.objects.bulk_create(edges[start : start + BATCH])
    inserted = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE remix_remixnode")
        cursor.execute("VACUUM ANALYZE remix_mutation")
        cursor.execute("VACUUM ANALYZE genealogy_lineage_closure")
        cursor.execute(
            "SELECT count(*), pg_total_relation_size('genealogy_lineage_closure') FROM genealogy_lineage_closure"
        )
        closure_rows, closure_bytes = cursor.fetchone()
    root = RemixNode.objects.get(pk=ids[0])
    deepest = RemixNode.objects.get(pk=max(depth, key=depth.get))
    blends = len(edges) - (len(ids) - 1)
    print(f"  {len(ids):,} nodes, {len(edges):,} edges ({blends:,} blends), deepest node at depth {depth[deepest.pk]}")
    print(
        f"  closure: {closure_rows:,} rows, {closure_bytes / 2**20:.0f} MB with its indexes; "
        f"the edges went in in {inserted:.1f} s with its triggers ({inserted / len(edges) * 1000:.2f} ms an edge)"
    )

    def naive(start: RemixNode, up: bool, max_depth: int) -> set[int]:
        """One query per level, as an ORM walk does."""
        seen, frontier = set(), {start.pk}
        for _ in range(max_depth):
            if up:
                step = Mutation.objects.filter(child_id__in=frontier).values_list("parent_id", flat=True)
            else:
                step = Mutation.objects.filter(parent_id__in=frontier).values_list("child_id", flat=True)
            frontier = set(step) - seen
            if not frontier:
                break
            seen |= frontier
        return seen

    from genealogy.lineage import _walk

    rows = []

    def measure(label: str, ours, old, baseline, repeat: int, goal: str = "") -> None:
        ours_med, ours_p95, found = _timed(ours, repeat)
        old_med, _old_p95, old_found = _timed(old, max(1, repeat // 4))
        base_med, _base_p95, base_found = _timed(baseline, max(1, repeat // 4))
        assert len(found) == len(old_found), (label, len(found), len(old_found))
        rows.append((label, ours_med, ours_p95, old_med, base_med, goal, len(found), len(base_found)))

    def lineage(start: RemixNode, viewer=None, route="auto", **query) -> list[int]:
        found = node_lineage(node=start, viewer=viewer, route=route, **query)
        return [n.pk for n in found.nodes if n.pk != start.pk]

    def walk_ids(start: RemixNode, viewer=None, route="auto", **query) -> list[int]:
        return [pk for pk, _depth in _walk(node=start, viewer=viewer, route=route, **query)]

    def table(title: str) -> None:
        print(f"\n{title}")
        head = ("walk", "median", "p95", "old CTE", "ORM levels", "goal", "found", "baseline")
        print(
            f"{head[0]:<40} {head[1]:>9} {head[2]:>9} {head[3]:>9} {head[4]:>10} {head[5]:>9} {head[6]:>8} {head[7]:>9}"
        )
        for label, med, p95, old, base, goal, found, base_found in rows:
            base_text, base_count = (f"{base:.1f}ms", f"{base_found:,}") if base_found >= 0 else ("—", "—")
            print(
                f"{label:<40} {med:>7.1f}ms {p95:>7.1f}ms {old:>7.1f}ms {base_text:>10} {goal:>9} "
                f"{found:>8,} {base_count:>9}"
            )
        rows.clear()

    up = {"direction": "up", "depth": None, "limit": 1_000_000}
    everything = {"direction": "down", "depth": None, "limit": 1_000_000}
    page = {"direction": "down", "depth": 10}
    measure(
        "ancestors of the deepest node",
        lambda: lineage(deepest, **up),
        lambda: lineage(deepest, route="walk", **up),
        lambda: naive(deepest, True, 100_000),
        args.repeat,
        "< 5 ms",
    )
    measure(
        "descendants of the root, loaded (all)",
        lambda: lineage(root, **everything),
        lambda: lineage(root, route="walk", **everything),
        lambda: naive(root, False, 100_000),
        max(3, args.repeat // 5),
    )
    measure(
        "  of which the walk alone (ids)",
        lambda: walk_ids(root, direction="down", depth=None, limit=10**7),
        lambda: walk_ids(root, route="walk", direction="down", depth=None, limit=10**7),
        lambda: naive(root, False, 100_000),
        max(3, args.repeat // 5),
        "< 200 ms",
    )
    measure(
        "first page: root, depth 10, 500 nodes",
        lambda: lineage(root, **page),
        lambda: lineage(root, route="walk", **page),
        lambda: naive(root, False, 10),
        args.repeat,
        "< 20 ms",
    )
    table("A published family (the ORM baseline finds every node; the walks, 500 at most on a page):")

    # Another creator's drafts, 1 % of the family, spread through it: an anonymous viewer's walk goes round them.
    drafter = User.objects.create(email="drafts@example.com", role=Role.CREATOR, display_name="drafts")
    drafts = rng.sample(ids[1:], len(ids) // 100)
    RemixNode.objects.filter(pk__in=drafts).update(status=NodeStatus.DRAFT, owner=drafter)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE genealogy_lineage_closure")

    def no_baseline() -> list[int]:
        return [-1]  # the ORM walk does not prune; shown as —

    measure(
        "  walk alone (ids), 1 % drafts",
        lambda: walk_ids(root, direction="down", depth=None, limit=10**7),
        lambda: walk_ids(root, route="walk", direction="down", depth=None, limit=10**7),
        no_baseline,
        max(3, args.repeat // 5),
        "< 200 ms",
    )
    measure(
        "first page, 1 % drafts",
        lambda: lineage(root, **page),
        lambda: lineage(root, route="walk", **page),
        no_baseline,
        args.repeat,
        "< 20 ms",
    )
    rows[:] = [(*row[:7], -1) for row in rows]
    table(f"The same family with {len(drafts):,} drafts of another creator, as an anonymous viewer sees it:")

    client = APIClient()
    client.force_authenticate(owner)  # the signed-in rate (600/min) rather than the anonymous one
    url = f"/api/v1/nodes/{deepest.public_id}/lineage"
    client.get(url, {"direction": "both", "depth": 10})
    times = []
    for _ in range(args.repeat * 5):
        started = time.perf_counter()
        response = client.get(url, {"direction": "both", "depth": 10})
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:200]
    times.sort()
    print(
        f"\nGET /lineage?direction=both&depth=10 on the deepest node, in-process: "
        f"median {statistics.median(times):.1f} ms, p95 {percentile(times, 0.95):.1f} ms "
        f"({len(response.json()['nodes'])} nodes)"
    )


if __name__ == "__main__":
    main()
