"""Campaigns near me and campaign stats at scale, beside the naive baselines.

    .venv/bin/python benchmarks/campaigns.py [--locations 100000] [--participations 100000] [--repeat 50]

Fills a scratch database (`<your database>_bench`, dropped afterwards) with running campaigns whose locations are
spread over South Korea (denser around Seoul and Busan), then times:
- near me (`campaigns.selectors.campaigns_near`, 5 km, from random points in Seoul) — goal p95 < 10 ms — beside a
  baseline that computes the distance to every location and sorts, and prints the query plan (it must read the
  GiST index on the locations' geography in distance order);
- one campaign's stats (`campaigns.stats.campaign_stats`) with `--participations` participations — goal < 100 ms —
  beside a naive baseline that loads every participation and counts in Python.
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
CITIES = [(37.5665, 126.9780, 0.6), (35.1796, 129.0756, 0.2), (35.8714, 128.6014, 0.1), (36.35, 127.38, 0.1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--locations", type=int, default=100_000)
    parser.add_argument("--participations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with scratch_database():
        run(args)


def _timed(fn, repeat: int) -> tuple[float, float, object]:
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
    from django.contrib.gis.geos import Point
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Role, User
    from campaigns.models import Brand, Campaign, CampaignLocation, CampaignStatus, Participation, ParticipationStatus
    from campaigns.selectors import NEAR_LOCATIONS_SQL, campaigns_near
    from campaigns.stats import campaign_stats, campaign_stats_compute

    print("Migrating the scratch database…", flush=True)
    call_command("migrate", verbosity=0)
    rng = random.Random(12)  # noqa: S311 - reproducible data
    now = timezone.now()
    brand = Brand.objects.create(name="Bench brand")
    n_campaigns = max(1, args.locations // 20)
    print(f"Creating {n_campaigns:,} running campaigns with {args.locations:,} locations…", flush=True)
    campaigns = Campaign.objects.bulk_create(
        [
            Campaign(
                brand=brand,
                title=f"Campaign {i}",
                status=CampaignStatus.ACTIVE if i % 10 else CampaignStatus.ENDED,
                starts_at=now - timedelta(days=10),
                ends_at=now + timedelta(days=20),
            )
            for i in range(n_campaigns)
        ],
        batch_size=BATCH,
    )

    def somewhere() -> Point:
        lat, lng, _ = rng.choices(CITIES, weights=[c[2] for c in CITIES])[0]
        return Point(lng + rng.gauss(0, 0.15), lat + rng.gauss(0, 0.12), srid=4326)

    locations = [
        CampaignLocation(campaign=campaigns[i % n_campaigns], name=f"L{i}", point=somewhere(), radius_m=300)
        for i in range(args.locations)
    ]
    CampaignLocation.objects.bulk_create(locations, batch_size=BATCH)

    print(f"Creating {args.participations:,} participations in one campaign…", flush=True)
    big = campaigns[1]
    big_locations = list(big.locations.all())
    creators = User.objects.bulk_create(
        [User(email=f"c{i}@bench.invalid", role=Role.CREATOR) for i in range(args.participations)], batch_size=BATCH
    )
    statuses = [ParticipationStatus.VERIFIED] * 6 + [ParticipationStatus.REJECTED] * 3 + [ParticipationStatus.K_SUCCESS]
    rows = []
    for i, creator in enumerate(creators):
        status = statuses[i % len(statuses)]
        at = now - timedelta(days=rng.randrange(10), minutes=rng.randrange(1440))
        rows.append(
            Participation(
                campaign=big,
                creator=creator,
                status=status,
                location=big_locations[i % len(big_locations)],
                submitted_at=at,
                submissions=1,
                verified_at=at,
                k_success_at=at + timedelta(days=1) if status == ParticipationStatus.K_SUCCESS else None,
            )
        )
    Participation.objects.bulk_create(rows, batch_size=BATCH)
    with connection.cursor() as cursor:
        for table in ("campaigns_campaign", "campaigns_campaignlocation", "campaigns_participation"):
            cursor.execute(f"VACUUM ANALYZE {table}")

    seoul = [(37.5665 + rng.gauss(0, 0.05), 126.9780 + rng.gauss(0, 0.06)) for _ in range(args.repeat)]
    points = iter(seoul * 3)

    def near() -> list:
        lat, lng = next(points)
        return campaigns_near(latitude=lat, longitude=lng, radius_m=5000)

    def naive_near() -> list:
        lat, lng = next(points)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT c.id, min(ST_Distance(l.point, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography)) AS d
                FROM campaigns_campaignlocation l JOIN campaigns_campaign c ON c.id = l.campaign_id
                WHERE c.status = 'active' AND c.starts_at <= now() AND c.ends_at >= now()
                GROUP BY c.id
                HAVING min(ST_Distance(l.point, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography)) <= 5000
                ORDER BY d LIMIT 50
                """,
                [lng, lat, lng, lat],
            )
            return cursor.fetchall()

    near()  # warm the SRID cache and the plan
    ours = _timed(near, args.repeat)
    base = _timed(naive_near, max(5, args.repeat // 5))
    found = len(ours[2])
    print(f"\nNear me (5 km, from points in Seoul; {found} campaigns found on the last one)")
    print(f"  KNN on the GiST index, paged   median {ours[0]:7.2f} ms   p95 {ours[1]:7.2f} ms   goal p95 < 10 ms")
    print(f"  distance to every location     median {base[0]:7.2f} ms   p95 {base[1]:7.2f} ms   (baseline)")
    lat, lng = seoul[0]

    params = {
        "here": f"SRID=4326;POINT({lng!r} {lat!r})",
        "active": CampaignStatus.ACTIVE,
        "now": timezone.now(),
        "size": 200,
    }
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {NEAR_LOCATIONS_SQL}", params)
        plan = [row[0] for row in cursor.fetchall()]
    print("  plan of the first page of the KNN read (EXPLAIN ANALYZE):")
    for line in plan:
        print(f"    {line}")
    knn = any("Index Scan using campaigns_campaignlocation_point" in p for p in plan) and any(
        "Order By: (point <->" in p for p in plan
    )
    print("  reads the GiST index in distance order (KNN index scan): " + ("yes" if knn else "NO"))

    def naive_stats() -> dict:
        counts: dict[str, int] = {}
        for p in Participation.objects.filter(campaign=big).only("status", "location_id"):
            counts[p.status] = counts.get(p.status, 0) + 1
        return counts

    stats = _timed(lambda: campaign_stats_compute(campaign=big), args.repeat)
    campaign_stats(campaign=big)
    cached = _timed(lambda: campaign_stats(campaign=big), args.repeat)
    naive = _timed(naive_stats, 3)
    result = stats[2]
    print(
        f"\nStats of one campaign with {args.participations:,} participations (conversion {result['conversion_rate']})"
    )
    print(f"  computed (2 queries)            median {stats[0]:7.1f} ms   p95 {stats[1]:7.1f} ms")
    print(f"  cached until a change (Redis)   median {cached[0]:7.1f} ms   p95 {cached[1]:7.1f} ms   goal < 100 ms")
    print(f"  load every row, count in Python median {naive[0]:7.1f} ms   p95 {naive[1]:7.1f} ms   (baseline)")


if __name__ == "__main__":
    main()
