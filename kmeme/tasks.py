"""Project-wide maintenance jobs (procrastinate). App-specific jobs live in each app's tasks.py."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from procrastinate import JobContext
from procrastinate.contrib.django import app

from kmeme.backups import backup_run
from kmeme.idempotency import idempotency_records_prune

JOB_RETENTION_HOURS = 24 * 14

logger = logging.getLogger("kmeme.jobs")


@app.periodic(cron="17 3 * * *")  # nightly, off the hour
@app.task(queue="maintenance", queueing_lock="jobs_prune", pass_context=True)
async def jobs_prune(context: JobContext, timestamp: int) -> None:
    """Delete finished jobs older than two weeks; failed jobs stay for someone to look at."""
    await context.app.job_manager.delete_old_jobs(nb_hours=JOB_RETENTION_HOURS, include_failed=False)


@app.periodic(cron="* * * * *")
@app.task(queue="maintenance", queueing_lock="jobs_retry_stalled", pass_context=True)
async def jobs_retry_stalled(context: JobContext, timestamp: int) -> None:
    """Queue again the jobs whose worker died mid-way: still marked running, but their worker has sent no heartbeat
    for JOB_STALLED_AFTER_S (killed, or cut off from the database), or is gone. Their steps are idempotent.

    A job re-queued here counts as an attempt; one past its task's last attempt runs once more, and its failure
    handling (remix.tasks) then sees it as final."""
    stalled = await context.app.job_manager.get_stalled_jobs(seconds_since_heartbeat=settings.JOB_STALLED_AFTER_S)
    for job in stalled:
        await context.app.job_manager.retry_job(job)
        logger.warning(
            "Queued job %s again: its worker stopped sending heartbeats",
            job.call_string,
            extra={"action": "job_stalled_retry", "job_id": job.id, "worker_id": job.worker_id},
        )


@app.periodic(cron="41 * * * *")  # hourly, off the hour
@app.task(queue="maintenance", queueing_lock="idempotency_keys_prune")
def idempotency_keys_prune(timestamp: int) -> None:
    """Delete the API's Idempotency-Key records older than their 24 hours (kmeme.idempotency)."""
    try:
        idempotency_records_prune()
    finally:
        connection.close()


# Nightly, at a quiet hour, off the hour. WAL is archived continuously by PostgreSQL itself (archive_command); this
# full backup bounds how much WAL a restore replays, and lets pgBackRest expire what its retention no longer keeps.
@app.periodic(cron="23 2 * * *")
@app.task(queue="maintenance", queueing_lock="db_backup_nightly")
def db_backup_nightly(timestamp: int) -> None:
    """A full pgBackRest backup of the database, where this worker can take it (kmeme.backups). A failure raises:
    the job is marked failed, its error logged, and failed jobs are kept for someone to look at (jobs_prune)."""
    backup_run(kind="full")
