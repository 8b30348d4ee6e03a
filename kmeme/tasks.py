"""Project-wide maintenance jobs (procrastinate). App-specific jobs live in each app's tasks.py."""

from __future__ import annotations

from procrastinate import JobContext
from procrastinate.contrib.django import app

JOB_RETENTION_HOURS = 24 * 14


@app.periodic(cron="17 3 * * *")  # nightly, off the hour
@app.task(queue="maintenance", queueing_lock="jobs_prune", pass_context=True)
async def jobs_prune(context: JobContext, timestamp: int) -> None:
    """Delete finished jobs older than two weeks; failed jobs stay for someone to look at."""
    await context.app.job_manager.delete_old_jobs(nb_hours=JOB_RETENTION_HOURS, include_failed=False)


@app.periodic(cron="* * * * *")
@app.task(queue="maintenance", queueing_lock="jobs_retry_stalled", pass_context=True)
async def jobs_retry_stalled(context: JobContext, timestamp: int) -> None:
    """Re-queue jobs whose worker died mid-way (no heartbeat for a minute); their steps are idempotent."""
    for job in await context.app.job_manager.get_stalled_jobs(seconds_since_heartbeat=60):
        await context.app.job_manager.retry_job(job)
