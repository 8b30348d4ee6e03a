"""Latency of the public API under load on loopback: recipe from cache and from the database, list pages.

    .venv/bin/python benchmarks/api.py [--nodes 100000] [--requests 400] [--concurrency 4]

Fills a scratch database (dropped afterwards) with published nodes, each with an analysis and
an approved brief, serves it with gunicorn (2 workers, production settings, on 127.0.0.1), and
drives it from a small threaded client on the same machine. Prints median and P95 against the
targets in the issue (recipe from cache < 20 ms, from the database < 60 ms).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmeme.settings")
from benchmarks._scratch import percentile, scratch_database  # noqa: E402

BATCH = 5000
SCRIPT = [
    {"t": 0.0, "beat": 1, "shot": "클로즈업으로 시작", "line": "잠깐만요"},
    {"t": 3.75, "beat": 8, "shot": "비트에 맞춘 점프컷", "line": ""},
    {"t": 7.5, "beat": 16, "shot": "장소 전환", "line": ""},
    {"t": 11.25, "beat": 24, "shot": "제품을 화면 중앙에", "line": "저장하고 따라 해 보세요!"},
]


def populate(n: int) -> list[str]:
    from django.db import connection
    from django.utils import timezone

    from kmeme.platforms import Platform
    from kmeme.vocabulary import CommerceCategory
    from remix.models import Layer, NodeStatus, RemixBrief, RemixNode, VideoAnalysis

    rng = random.Random(7)  # noqa: S311 - reproducible test data
    now = timezone.now()
    ids: list[str] = []
    for offset in range(0, n, BATCH):
        nodes = RemixNode.objects.bulk_create(
            RemixNode(
                title=f"Remix {i} {rng.choice(['latte', 'dance', 'ramyeon', 'glass skin', 'haul'])}",
                source_url=f"https://www.tiktok.com/@c{i % 997}/video/{7300000000000000000 + i}",
                platform=rng.choice(Platform.values),
                layer=Layer.MASTER,
                status=NodeStatus.PUBLISHED,
                commerce_category=rng.choice(CommerceCategory.values),
                published_at=now,
            )
            for i in range(offset, min(n, offset + BATCH))
        )
        VideoAnalysis.objects.bulk_create(
            VideoAnalysis(
                node=node,
                provider="gemini",
                status="ok",
                duration_s=15,
                bpm=128,
                keyframes=[{"t": 0.0, "description": "hook"}, {"t": 7.5, "description": "reveal"}],
            )
            for node in nodes
        )
        RemixBrief.objects.bulk_create(
            RemixBrief(
                node=node,
                version=1,
                source="ai",
                review_status="approved",
                generated={
                    "concept": node.title,
                    "hook": "첫 3초",
                    "script": SCRIPT,
                    "caption": node.title,
                    "hashtags": ["#kmeme"],
                    "music_notes": "",
                    "cultural_notes": "",
                    "product_placement": "",
                },
            )
            for node in nodes
        )
        ids += [str(node.public_id) for node in nodes]
        done = min(n, offset + BATCH)
        print(f"\rGenerating nodes [{'#' * (30 * done // n):<30}] {done}/{n}", end="", file=sys.stderr, flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(file=sys.stderr)
    return ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(base: str, paths: list[str], concurrency: int) -> list[float]:
    import httpx2 as httpx

    def one(client: httpx.Client, path: str) -> float:
        started = time.perf_counter()
        response = client.get(base + path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
        return elapsed

    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(concurrency) as pool:
        return sorted(pool.map(lambda p: one(client, p), paths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    with scratch_database() as database_url:
        import django

        django.setup()
        from django.conf import settings
        from django.core.cache import cache
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        ids = populate(args.nodes)
        prefix = f"kmeme-bench-{os.getpid()}"
        port = free_port()
        env = {
            **os.environ,
            "DJANGO_DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url,
            "REDIS_URL": settings.REDIS_URL,
            "SECURE_SSL_REDIRECT": "false",
            "CACHE_KEY_PREFIX": prefix,
            "LOG_LEVEL": "WARNING",
            "STATIC_ROOT": str(ROOT / ".local" / "static"),
            # All requests come anonymously from one address, far past the real 60 a minute: the counters still run
            # (their cost is measured), they just never refuse.
            "THROTTLE_ANON_RATE": "1000000/minute",
        }
        server = subprocess.Popen(  # noqa: S603 - our own app server
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "kmeme.wsgi:application",
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            rng = random.Random(11)  # noqa: S311
            sample = rng.sample(ids, args.requests)
            cold = measure(base, [f"/api/v1/nodes/{i}" for i in sample], args.concurrency)
            warm = measure(base, [f"/api/v1/nodes/{i}" for i in sample], args.concurrency)
            pages = measure(
                base,
                [f"/api/v1/nodes?page={rng.randrange(1, 50)}" for _ in range(args.requests // 4)],
                args.concurrency,
            )
            print(
                f"Public API at {len(ids):,} published nodes, {args.concurrency} concurrent clients on loopback, "
                "gunicorn 2 workers:"
            )
            print(f"  {'request':<36} {'median':>8} {'p95':>8}  target")
            for label, timings, target in [
                ("recipe, first read (database)", cold, "p95 < 60 ms"),
                ("recipe, cached (Redis)", warm, "p95 < 20 ms"),
                ("list page (20 nodes)", pages, "constant queries"),
            ]:
                print(f"  {label:<36} {percentile(timings, 0.5):6.1f}ms {percentile(timings, 0.95):6.1f}ms  {target}")
        finally:
            server.terminate()
            server.wait(timeout=30)
            cache.delete_pattern("*")


if __name__ == "__main__":
    main()
