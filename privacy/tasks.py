"""Background jobs of the privacy app."""

from __future__ import annotations

from django.db import connection
from procrastinate import JobContext, RetryStrategy
from procrastinate.contrib.django import app

from privacy.exports import data_export_run, exports_expired_delete
from privacy.models import DataExport, ExportStatus

# One retry a minute later (a storage or database blip); the export shows `queued` with the error meanwhile, and
# `failed` only once no attempt is left, so a user never asks again while a retry is still coming.
EXPORT_RETRY = RetryStrategy(max_attempts=1, wait=60)


@app.task(queue="privacy", retry=EXPORT_RETRY, pass_context=True)
def data_export_build(context: JobContext, export_id: int) -> None:
    """Build one user's data archive (privacy.exports.data_export_run); a failure is recorded on the export."""
    try:
        export = DataExport.objects.select_related("user").filter(pk=export_id).first()
        if export is None or export.status in (ExportStatus.READY, ExportStatus.FAILED):
            return  # deleted meanwhile, or finished by an attempt whose end the stalled-job sweep did not see
        final = EXPORT_RETRY.max_attempts is not None and context.job.attempts >= EXPORT_RETRY.max_attempts
        data_export_run(export=export, final_attempt=final)
    finally:
        connection.close()


@app.periodic(cron="53 4 * * *")  # nightly, off the hour
@app.task(queue="maintenance", queueing_lock="exports_expired_delete")
def exports_expired_delete_job(timestamp: int) -> None:
    """Delete data archives (and records of failed builds) past their keeping time (7 days)."""
    try:
        exports_expired_delete()
    finally:
        connection.close()
