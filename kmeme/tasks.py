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
