"""Background jobs of the AI ledger."""

from __future__ import annotations

import logging

from django.db import connection
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from kmeme.ai.budget import budget_reservations_release

logger = logging.getLogger("kmeme.ai")


def jobs_running(job_ids: list[int]) -> dict[int, int]:
    """The attempt each of these jobs is running now (jobs not running are left out)."""
    running = ProcrastinateJob.objects.filter(id__in=job_ids, status="doing").values_list("id", "attempts")
    return dict(running)


@app.periodic(cron="* * * * *")
@app.task(queue="maintenance", queueing_lock="ai_reservations_release")
def ai_reservations_release(timestamp: int) -> None:
    """Settle budget reservations left open by a killed worker or a failed settlement (kmeme.ai.budget)."""
    try:
        for call in budget_reservations_release(jobs_running=jobs_running):
            logger.warning(
                "budget reservation settled by the sweep",
                extra={"ai_call_id": call.pk, "owner": call.owner, "cost_usd": str(call.cost_usd), "error": call.error},
            )
    finally:
        connection.close()  # sync jobs run in a thread pool: leave no connection open between jobs
