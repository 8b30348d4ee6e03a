"""The job worker rides out a PostgreSQL restart, a Redis outage and being killed (issue #10).

Real faults on this checkout's own services, with real `manage.py worker` processes on the test database: the
tests restart PostgreSQL (`pg_ctl restart -m fast`), stop and start Redis (scripts/services.sh), SIGKILL a worker
in the middle of a job, and kill the worker under scripts/supervise.sh as `make run` runs it. Select them with
`-m faults` (or leave them out with `-m "not faults"`); they are skipped when DATABASE_URL / REDIS_URL point at
servers that are not this checkout's to restart.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.exceptions import AlreadyEnqueued

from kmeme.tasks import jobs_retry_stalled
from remix.models import NodeStatus, RemixNode
from remix.services import node_submit
from tests.accounts.factories import UserFactory
from tests.kmeme.faults import (
    GatedVideo,
    children,
    external_services,
    pg_restart,
    port_open,
    services,
    wait_until,
    workers,
)
from tests.kmeme.media.helpers import file_handler, make_video, serve

pytestmark = [
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(bool(external_services()), reason=external_services() or "-"),
]

STARTED = "Starting worker on"  # procrastinate's line when a worker (first, or after a restart) is up
RESTARTED = "Job worker stopped unexpectedly"  # kmeme.worker's line when it starts one again


@pytest.fixture(autouse=True)
def _empty_job_tables(django_db_blocker, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # procrastinate's tables are not Django-managed, so test teardown does not empty them.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs, procrastinate_workers CASCADE")


@pytest.fixture(scope="module")
def video_bytes(tmp_path_factory) -> bytes:
    return make_video(tmp_path_factory.mktemp("video") / "clip.mp4", seconds=3.0, bpm=120.0).read_bytes()


@pytest.fixture
def submitter():
    return UserFactory()


def _job(job_id: int) -> ProcrastinateJob:
    return ProcrastinateJob.objects.get(id=job_id)


def _succeeded(job_id: int) -> bool:
    """The job is recorded as done (which the worker does just after the pipeline has moved the node on)."""
    return _job(job_id).status == "succeeded"


def _analysed(node: RemixNode) -> bool:
    """With no AI keys configured, an analysed node waits for manual review with the platform's measurements."""
    return RemixNode.objects.get(pk=node.pk).status == NodeStatus.NEEDS_REVIEW


def _sweep() -> None:
    """What the periodic sweep does every minute, run now by a worker in this process."""
    with contextlib.suppress(AlreadyEnqueued):  # one queued already does the same
        jobs_retry_stalled.defer(timestamp=int(time.time()))
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(queues=["maintenance"], wait=False, install_signal_handlers=False, listen_notify=False)


def test_the_worker_rides_out_a_postgresql_restart(tmp_path, video_bytes, submitter):
    with serve({"/clip.mp4": file_handler(video_bytes)}) as base, workers(tmp_path) as start:
        worker = start()
        worker.wait_for_log(STARTED)
        _, first_job = node_submit(user=submitter, video_url=f"{base}/clip.mp4")
        wait_until(lambda: _succeeded(first_job), timeout=30, what="a job done before the restart", log=worker.log)

        restarted_at = time.monotonic()
        pg_restart()
        node, job_id = node_submit(user=submitter, video_url=f"{base}/clip.mp4")
        wait_until(
            lambda: _succeeded(job_id), timeout=60, what="a job submitted after the restart done", log=worker.log
        )

        recovered_s = time.monotonic() - restarted_at
        # (procrastinate's own worker stops when its LISTEN connection cannot reconnect, and used to exit 0 for good.)
        assert worker.alive(), worker.log()
        assert _analysed(node)
        print(f"PostgreSQL restart: a job submitted at once was done {recovered_s:.1f} s later")


def test_a_job_cut_off_from_redis_fails_is_retried_and_the_worker_carries_on(
    settings, tmp_path, video_bytes, submitter
):
    gated = GatedVideo(video_bytes)
    routes = {"/clip.mp4": file_handler(video_bytes), "/gated.mp4": gated}
    with serve(routes) as base, workers(tmp_path) as start:
        worker = start()
        worker.wait_for_log(STARTED)
        _, first_job = node_submit(user=submitter, video_url=f"{base}/clip.mp4")
        wait_until(lambda: _succeeded(first_job), timeout=30, what="a job done before the outage", log=worker.log)
        # The worker now holds connections to Redis, which the outage breaks.

        node, job_id = node_submit(user=submitter, video_url=f"{base}/gated.mp4")
        assert gated.arrived.wait(timeout=20), worker.log()
        redis_port = int(settings.CACHES["default"]["LOCATION"].rsplit(":", 1)[1].split("/")[0])
        try:
            stopped = services("stop", "redis")
            assert not port_open(redis_port), stopped
            gated.release()  # the job goes on, and meets Redis (cache invalidation) when it moves the node
            wait_until(
                lambda: _job(job_id).attempts == 1,
                timeout=30,
                what="the job failing on Redis and being scheduled again",
                log=worker.log,
            )
            failed = RemixNode.objects.get(pk=node.pk)
            assert failed.status == NodeStatus.ANALYZING, (failed.status, worker.log())
            assert "ConnectionError" in failed.pipeline_error, (failed.pipeline_error, worker.log())
            assert _job(job_id).status == "todo", worker.log()  # the RetryStrategy's wait (5 s), not given up
        finally:
            services("start")  # Redis back, on the same port
        wait_until(lambda: _succeeded(job_id), timeout=30, what="the retried job succeeding", log=worker.log)

        assert worker.alive() and worker.count(RESTARTED) == 0, worker.log()
        assert _job(job_id).attempts == 2  # the failed run and the one that succeeded
        assert _analysed(node) and RemixNode.objects.get(pk=node.pk).pipeline_error == ""


def test_a_job_whose_worker_was_killed_is_queued_again_by_the_sweep_and_completes(
    settings, tmp_path, video_bytes, submitter
):
    settings.JOB_STALLED_AFTER_S = 3  # what the workers here use too (heartbeats every second)
    gated = GatedVideo(video_bytes)
    with serve({"/gated.mp4": gated}) as base, workers(tmp_path) as start:
        doomed = start()
        doomed.wait_for_log(STARTED)
        node, job_id = node_submit(user=submitter, video_url=f"{base}/gated.mp4")
        assert gated.arrived.wait(timeout=20), doomed.log()

        # A live worker's job is left alone however long it runs: its heartbeat is fresh.
        time.sleep(settings.JOB_STALLED_AFTER_S + 1)
        _sweep()
        assert _job(job_id).status == "doing"

        doomed.signal(signal.SIGKILL)
        doomed.proc.wait(timeout=10)
        gated.release()
        assert _job(job_id).status == "doing"  # nobody will finish it: its worker is gone

        def swept() -> bool:
            _sweep()
            return _job(job_id).status == "todo"

        wait_until(swept, timeout=20, what="the sweep queueing the dead worker's job again")
        successor = start()
        wait_until(lambda: _succeeded(job_id), timeout=30, what="the job finished by a new worker", log=successor.log)

        assert _job(job_id).attempts == 2  # the killed run counts as an attempt
        assert _analysed(node)


def test_the_supervisor_of_make_run_restarts_a_killed_worker_and_stops_it_on_sigterm(tmp_path, video_bytes, submitter):
    with serve({"/clip.mp4": file_handler(video_bytes)}) as base, workers(tmp_path) as start:
        supervisor = start("bash", "scripts/supervise.sh", "job worker", sys.executable, "manage.py", "worker")
        supervisor.wait_for_log(STARTED)
        [killed] = children(supervisor.pid)
        os.kill(killed, signal.SIGKILL)

        supervisor.wait_for_log("job worker ended (exit status 137", timeout=10)
        supervisor.wait_for_log(STARTED, times=2)
        [successor] = children(supervisor.pid)
        assert successor != killed
        node, job_id = node_submit(user=submitter, video_url=f"{base}/clip.mp4")
        wait_until(lambda: _succeeded(job_id), timeout=30, what="a job done by the new worker", log=supervisor.log)
        assert _analysed(node)

        supervisor.signal(signal.SIGTERM)  # what `make run` sends on Ctrl-C
        assert supervisor.proc.wait(timeout=20) == 0, supervisor.log()
        assert "SIGTERM: the worker stops once its running job has finished" in supervisor.log()
        assert not Path(f"/proc/{successor}").exists()  # the worker went with it
