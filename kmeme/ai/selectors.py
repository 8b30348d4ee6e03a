"""Reads of the AI call ledger: the review console's health panel and the monthly spend report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, Sum

from kmeme.ai.models import AICall, AICallStatus


def ai_call_outcomes(*, since: datetime) -> dict[str, int]:
    """Calls that reached a provider since `since`: how many answered (`ok`) and how many failed (`error`)."""
    return AICall.objects.filter(created_at__gte=since).aggregate(
        ok=Count("id", filter=Q(status=AICallStatus.OK)), error=Count("id", filter=Q(status=AICallStatus.ERROR))
    )


def ai_spend_by_model(*, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """One row per provider, model and purpose in [start, end): calls by outcome, tokens and cost."""
    return list(
        AICall.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("provider", "model", "purpose")
        .annotate(
            calls=Count("id"),
            ok=Count("id", filter=Q(status=AICallStatus.OK)),
            errors=Count("id", filter=Q(status=AICallStatus.ERROR)),
            refused=Count("id", filter=Q(status=AICallStatus.REFUSED_BUDGET)),
            tokens_in=Sum("input_tokens"),
            tokens_out=Sum("output_tokens"),
            cost=Sum("cost_usd"),
        )
        .order_by("provider", "model", "purpose")
    )
