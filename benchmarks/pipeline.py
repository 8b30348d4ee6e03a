"""Pipeline overhead per job and jobs/minute on 2 workers, with provider doubles that answer instantly.

    .venv/bin/python benchmarks/pipeline.py [--jobs 40] [--workers 2]

Runs against a scratch database (`<your database>_bench`, created and dropped here) on the same
PostgreSQL and Redis as development (`make services` first). The "provider" time is what the
loopback doubles take to answer, i.e. next to nothing: every millisecond printed is the
platform's own work (HTTP download, PyAV probe and BPM estimate, budget/ledger/circuit
bookkeeping, validation, state changes, the queue).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._scratch import percentile, scratch_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmeme.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with scratch_database():
        run(args)


def run(args: argparse.Namespace) -> None:
    media = tempfile.mkdtemp(prefix="kmeme-bench-media-")
    os.environ.update(
        MEDIA_ROOT=media,
        CACHE_KEY_PREFIX=f"kmeme-bench-{os.getpid()}",
        LOG_LEVEL="WARNING",
        LLM_MONTHLY_CAP="1000000",
        MEDIA_ALLOW_PRIVATE_HOSTS="true",  # the benchmark serves its videos on loopback
    )

    from tests.doubles.anthropic import AnthropicDouble
    from tests.doubles.gemini import GeminiDouble
    from tests.kmeme.media.helpers import file_handler, make_video, serve

    gemini, claude = GeminiDouble(), AnthropicDouble()
    gemini.start()
    claude.start()
    os.environ.update(
        GEMINI_API_KEY="bench",
        ANTHROPIC_API_KEY="bench",
        GEMINI_BASE_URL=gemini.base_url,
        ANTHROPIC_BASE_URL=claude.base_url,
    )

    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command

    from accounts.services import user_create
    from remix.models import NodeStatus, RemixNode
    from remix.pipeline import pipeline_run
    from remix.services import node_submit
    from tests.remix.factories import AI_ANALYSIS, AI_BRIEF

    gemini.default_generate = AI_ANALYSIS
    claude.set_default(
        "messages",
        claude._message_reply(
            [{"type": "tool_use", "id": "toolu_bench", "name": "remix_brief", "input": AI_BRIEF}],
            input_tokens=1500,
            output_tokens=700,
            stop_reason="tool_use",
            model=None,
            headers=None,
        ),
    )

    call_command("migrate", verbosity=0)
    video = make_video(Path(media) / "source.mp4", seconds=15.0, width=360, height=640, bpm=128.0).read_bytes()

    class EveryPath(dict):
        def get(self, key, default=None):
            return file_handler(video)

    user = user_create(email="bench@kmeme.local")
    try:
        with serve(EveryPath()) as base:
            # 1. In-process: per-job overhead, one job at a time.
            timings = []
            for i in range(args.jobs):
                node, _ = node_submit(user=user, video_url=f"{base}/seq/{i}.mp4", title=f"bench {i}")
                started = time.perf_counter()
                outcome = pipeline_run(node_id=node.pk)
                if outcome != NodeStatus.IN_REVIEW:
                    raise SystemExit(
                        f"job {i} ended {outcome}: {node.analyses.first().error} "
                        f"{list(node.ai_calls.values_list('error', flat=True))}"
                    )
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            p50, p95 = percentile(timings, 0.5), percentile(timings, 0.95)
            print(f"Pipeline overhead per job ({args.jobs} jobs, 15 s 360x640 video, providers answering instantly):")
            print(
                f"  mean {statistics.mean(timings):7.1f} ms   p50 {p50:7.1f} ms   "
                f"p95 {p95:7.1f} ms   max {timings[-1]:7.1f} ms"
            )

            # 2. Throughput: N queued jobs, W real worker processes.
            nodes = [node_submit(user=user, video_url=f"{base}/par/{i}.mp4")[0].pk for i in range(args.jobs)]
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kmeme.settings"}
            started = time.perf_counter()
            workers = [
                subprocess.Popen(  # noqa: S603 - our own manage.py
                    [
                        sys.executable,
                        str(ROOT / "manage.py"),
                        "procrastinate",
                        "worker",
                        "--one-shot",
                        "--queues",
                        "pipeline",
                    ],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(args.workers)
            ]
            for worker in workers:
                worker.wait(timeout=600)
            elapsed = time.perf_counter() - started
            done = RemixNode.objects.filter(pk__in=nodes, status=NodeStatus.IN_REVIEW).count()
            print(
                f"Throughput on {args.workers} worker processes: {done}/{args.jobs} jobs in {elapsed:.1f} s "
                f"= {done / elapsed * 60:.0f} jobs/minute (includes worker start-up, ~1 s each)"
            )
            print(
                f"Provider requests answered by the doubles: Gemini {len(gemini.generate_requests)}, "
                f"Claude {len(claude.message_requests)}"
            )
    finally:
        cache.delete_pattern("*")
        gemini.stop()
        claude.stop()


if __name__ == "__main__":
    main()
