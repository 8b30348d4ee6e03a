"""Server time of the editors' admin pages at 100,000 nodes.

    .venv/bin/python benchmarks/admin_changelist.py [--nodes 100000] [--repeat 15]

Fills a scratch database (`<your database>_bench`, dropped afterwards) with nodes spread over
every status, layer, platform, category and two years of dates, a brief for each node past
analysis, then times each page through Django's request handling in-process (no network, no
browser): the median and p95 server time and the number of SQL queries per page.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmeme.settings")
from benchmarks._scratch import percentile, scratch_database  # noqa: E402

BATCH = 5000


def populate(n: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from kmeme.platforms import Platform
    from kmeme.vocabulary import CommerceCategory
    from remix.models import Layer, NodeStatus, RemixBrief, RemixNode

    rng = random.Random(42)  # noqa: S311 - reproducible test data
    statuses = [s for s in NodeStatus.values if s != NodeStatus.PUBLISHED]
    now = timezone.now()
    started = time.perf_counter()
    for offset in range(0, n, BATCH):
        nodes = []
        for i in range(offset, min(n, offset + BATCH)):
            status = NodeStatus.PUBLISHED if i % 3 == 0 else rng.choice(statuses)
            nodes.append(
                RemixNode(
                    title=f"Remix {i} {rng.choice(['latte', 'dance', 'ramyeon', 'glass skin', 'haul'])}",
                    source_url=f"https://www.tiktok.com/@c{i % 997}/video/{7300000000000000000 + i}",
                    platform=rng.choice(Platform.values),
                    layer=Layer.MASTER,
                    status=status,
                    commerce_category=rng.choice(CommerceCategory.values),
                    published_at=now if status == NodeStatus.PUBLISHED else None,
                )
            )
        created = RemixNode.objects.bulk_create(nodes)
        RemixNode.objects.filter(pk__in=[n.pk for n in created]).update(
            created_at=now - timedelta(days=rng.randrange(730))
        )
        RemixBrief.objects.bulk_create(
            RemixBrief(
                node=node,
                version=1,
                source="ai",
                generated={"concept": node.title},
                review_status="pending" if node.status == NodeStatus.IN_REVIEW else "approved",
            )
            for node in created
            if node.status not in (NodeStatus.DRAFT, NodeStatus.ANALYZING)
        )
        done = min(n, offset + BATCH)
        print(f"\rGenerating nodes [{'#' * (30 * done // n):<30}] {done}/{n}", end="", file=sys.stderr, flush=True)
    # Spread creation dates so the date filters have work to do; then fresh planner statistics.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE remix_remixnode SET created_at = now() - (id % 730) * interval '1 day'")
        cursor.execute("ANALYZE")
    print(f"\nGenerated {n} nodes in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with scratch_database():
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, reset_queries
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from accounts.models import Role
        from accounts.services import user_create
        from remix.models import NodeStatus, RemixNode

        call_command("migrate", verbosity=0)
        populate(args.nodes)
        editor = user_create(email="bench-editor@kmeme.local", role=Role.EDITOR)
        client = Client()
        client.force_login(editor)
        sample = RemixNode.objects.filter(status=NodeStatus.IN_REVIEW).order_by("id").first()
        year = sample.created_at.year
        deep_page = max(1, min(1000, args.nodes // 50 - 1))
        changelist = "/admin/remix/remixnode/"
        pages = {
            "node changelist (no filter)": "/admin/remix/remixnode/",
            "changelist: status=in_review": "/admin/remix/remixnode/?status__exact=in_review",
            "changelist: platform+category": f"{changelist}?platform__exact=tiktok&commerce_category__exact=food",
            "changelist: created this year": f"/admin/remix/remixnode/?created_at__year={year}",
            f"changelist: page {deep_page}": f"/admin/remix/remixnode/?p={deep_page}",
            "changelist: title search": "/admin/remix/remixnode/?q=latte",
            "review screen of one node": f"/admin/remix/remixnode/{sample.pk}/review/",
            "review queue (admin index)": "/admin/",
        }
        print(
            f"\nServer time per page at {RemixNode.objects.count():,} nodes ({args.repeat} requests each, in-process):"
        )
        print(f"  {'page':<34} {'median':>9} {'p95':>9} {'queries':>8}")
        for label, url in pages.items():
            client.get(url)  # warm caches and connections
            timings = []
            for _ in range(args.repeat):
                reset_queries()
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(url)
                    timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            timings.sort()
            print(
                f"  {label:<34} {statistics.median(timings):7.1f}ms {percentile(timings, 0.95):7.1f}ms "
                f"{len(queries):>8}"
            )


if __name__ == "__main__":
    main()
