"""Background jobs of the operations app."""

from __future__ import annotations

from django.db import connection
from procrastinate.contrib.django import app

from operations.services import alerts_evaluate


@app.periodic(cron="* * * * *")
@app.task(queue="maintenance", queueing_lock="alerts_evaluate")
def alerts_evaluate_job(timestamp: int) -> None:
    """Evaluate every alert rule; post to Slack when one starts firing or resolves (operations.services)."""
    try:
        alerts_evaluate()
    finally:
        connection.close()
