"""Background jobs of the campaigns app."""

from __future__ import annotations

from django.db import connection
from procrastinate.contrib.django import app

from campaigns.ksuccess import participations_certify_due


# Every 15 minutes, after the hourly snapshot run (:07) has had time to record counts.
@app.periodic(cron="2,17,32,47 * * * *")
@app.task(queue="maintenance", queueing_lock="ksuccess_certify")
def ksuccess_certify_job(timestamp: int) -> None:
    """Certify verified participations whose video reached the campaign's bar in time (campaigns.ksuccess)."""
    try:
        participations_certify_due()
    finally:
        connection.close()
