"""Background jobs of the genealogy app."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from procrastinate.contrib.django import app

from genealogy.performance import performance_collect


# Hourly, off the hour (other hourly jobs run at :17 and :41). One run at a time (queueing_lock); a run that waits
# for the rate limit ends within PERFORMANCE_RUN_MAX_WAIT_S, before the next one is deferred.
@app.periodic(cron="7 * * * *")
@app.task(queue="performance", queueing_lock="performance_collect")
def performance_collect_job(timestamp: int) -> None:
    """Read the public counters of every published node that is due (genealogy.performance)."""
    try:
        performance_collect(max_wait_s=settings.PERFORMANCE_RUN_MAX_WAIT_S)
    finally:
        connection.close()
