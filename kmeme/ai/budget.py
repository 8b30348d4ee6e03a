"""The monthly LLM budget: a hard cap that concurrent workers cannot overshoot.

Before a call, `budget_reserve` takes a transaction-scoped advisory lock, sums the
month's ledger (settled costs plus in-flight reservations at their worst-case
price) and either books a reservation or refuses. After the call,
`budget_settle` replaces the estimate with the price of the real usage. Since a
reservation is the most a call can cost, the month's spend never passes the cap.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from kmeme.ai.models import AICall, AICallStatus
from kmeme.ai.pricing import call_cost
from kmeme.ai.types import ProviderUnavailable

_BUDGET_LOCK_KEY = 0x6B6D6D62  # one lock for every budget decision
_COUNTED = (AICallStatus.RESERVED, AICallStatus.OK, AICallStatus.ERROR)


def month_start(at: datetime | None = None) -> datetime:
    local = timezone.localtime(at or timezone.now())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def budget_month_spend(*, at: datetime | None = None) -> Decimal:
    """Settled costs plus open reservations of the month containing `at` (default: now)."""
    start = month_start(at)
    next_month = (start.replace(day=28) + timezone.timedelta(days=4)).replace(day=1)
    total = AICall.objects.filter(created_at__gte=start, created_at__lt=next_month, status__in=_COUNTED).aggregate(
        s=Sum("cost_usd")
    )["s"]
    return total or Decimal(0)


def budget_reserve(
    *, provider: str, model: str, purpose: str, node_id: int | None, max_input_tokens: int, max_output_tokens: int
) -> AICall:
    """Book the worst-case price of a call, or refuse (recording the refusal) when it would pass the cap."""
    estimate = call_cost(model=model, input_tokens=max_input_tokens, output_tokens=max_output_tokens)
    cap = Decimal(str(settings.LLM_MONTHLY_CAP))
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_BUDGET_LOCK_KEY])
        spent = budget_month_spend()
        if spent + estimate <= cap:
            return AICall.objects.create(
                provider=provider,
                model=model,
                purpose=purpose,
                node_id=node_id,
                status=AICallStatus.RESERVED,
                cost_usd=estimate,
                input_tokens=max_input_tokens,
                output_tokens=max_output_tokens,
            )
    # Recorded outside the locked transaction, so the refusal stays in the ledger.
    AICall.objects.create(
        provider=provider,
        model=model,
        purpose=purpose,
        node_id=node_id,
        status=AICallStatus.REFUSED_BUDGET,
        error=f"monthly cap ${cap} reached: ${spent} spent or reserved, this call may cost up to ${estimate}",
    )
    raise ProviderUnavailable(
        f"The monthly LLM budget (${cap}) is used up: ${spent} spent or reserved.", code="budget_exceeded"
    )


def budget_settle(
    *, call: AICall, input_tokens: int, output_tokens: int, latency_ms: int, status: str, error: str = ""
) -> AICall:
    """Replace a reservation by what the call really used (a failed call that returned no usage costs 0)."""
    call.input_tokens = input_tokens
    call.output_tokens = output_tokens
    call.cost_usd = call_cost(model=call.model, input_tokens=input_tokens, output_tokens=output_tokens)
    call.latency_ms = latency_ms
    call.status = status
    call.error = error[:2000]
    call.save(update_fields=["input_tokens", "output_tokens", "cost_usd", "latency_ms", "status", "error"])
    return call
