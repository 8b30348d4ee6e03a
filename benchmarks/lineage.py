"""The family tree at 100,000 nodes: the recursive-CTE walks against a naive level-by-level ORM walk.

    .venv/bin/python benchmarks/lineage.py [--nodes 100000] [--repeat 20]

Fills a scratch database (`<your database>_bench`, dropped afterwards) with one big published family: each new
node remixes an earlier one — the newest (long chains) a third of the time, else one picked at random (wide
fan-out) — and about 2 % get a second, earlier parent (blends). Then prints, each beside the baseline that asks
the database one level at a time (what an ORM walk does): the ancestors of the deepest node, the descendants of
the root (the whole 100k family), the API's first page (depth 10, 500 nodes), and the lineage endpoint's p95.
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
    for start in range(0, len(edges), BATCH):
        Mutation.objects.bulk_create(edges[start : start + BATCH])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE remix_remixnode; ANALYZE remix_mutation")
    root = RemixNode.objects.get(pk=ids[0])
    deepest = RemixNode.objects.get(pk=max(depth, key=depth.get))
    blends = len(edges) - (len(ids) - 1)
    print(f"  {len(ids):,} nodes, {len(edges):,} edges ({blends:,} blends), deepest node at depth {depth[deepest.pk]}")

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

    rows = []

    def measure(label: str, ours, baseline, repeat: int) -> None:
        ours_med, ours_p95, found = _timed(ours, repeat)
        base_med, _base_p95, base_found = _timed(baseline, max(1, repeat // 4))
        rows.append((label, ours_med, ours_p95, base_med, len(found.nodes) - 1, len(base_found)))

    measure(
        "ancestors of the deepest node",
        lambda: node_lineage(node=deepest, viewer=None, direction="up", depth=None, limit=1_000_000),
        lambda: naive(deepest, True, 100_000),
        args.repeat,
    )
    measure(
        "descendants of the root, loaded (all)",
        lambda: node_lineage(node=root, viewer=None, direction="down", depth=None, limit=1_000_000),
        lambda: naive(root, False, 100_000),
        max(3, args.repeat // 5),
    )
    from genealogy.lineage import _walk

    class _Ids:
        def __init__(self) -> None:  # the walk's ids alone, shaped like a Lineage for `measure`
            self.nodes = [root.pk, *_walk(node=root, viewer=None, direction="down", depth=None, limit=10**7)]

    measure(
        "  of which the walk alone (ids)",
        _Ids,
        lambda: naive(root, False, 100_000),
        max(3, args.repeat // 5),
    )
    measure(
        "first page: root, depth 10, 500 nodes",
        lambda: node_lineage(node=root, viewer=None, direction="down", depth=10),
        lambda: naive(root, False, 10),
        args.repeat,
    )
    print(f"\n{'walk':<40} {'CTE median':>11} {'CTE p95':>9} {'ORM levels':>11} {'found':>8} {'baseline':>9}")
    for label, med, p95, base, found, base_found in rows:
        print(f"{label:<40} {med:>9.1f}ms {p95:>7.1f}ms {base:>9.1f}ms {found:>8,} {base_found:>9,}")

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
