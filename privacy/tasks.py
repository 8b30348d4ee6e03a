"""Background jobs of the privacy app."""

from __future__ import annotations

from django.db import connection
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from privacy.exports import data_export_run, exports_expired_delete
from privacy.models import DataExport


@app.task(queue="privacy", retry=RetryStrategy(max_attempts=2, wait=30))
def data_export_build(export_id: int) -> None:
    """Build one user's data archive (privacy.exports); a failure is recorded on the export."""
    try:
        export = DataExport.objects.select_related("user").filter(pk=export_id).first()
        if export is not None:
            data_export_run(export=export)
    finally:
        connection.close()


@app.periodic(cron="53 4 * * *")  # nightly, off the hour
@app.task(queue="maintenance", queueing_lock="exports_expired_delete")
def exports_expired_delete_job(timestamp: int) -> None:
    """Delete data archives past their keeping time (7 days)."""
    try:
        exports_expired_delete()
    finally:
        connection.close()
