"""The monthly LLM budget: a hard cap that concurrent workers cannot overshoot.

Before a call, `budget_reserve` takes a transaction-scoped advisory lock, sums the
month's ledger (settled costs plus in-flight reservations at their worst-case
price) and either books a reservation or refuses. After the call,
`budget_settle` replaces the estimate with the price of the real usage. Since a
reservation is the most a call can cost, the month's spend never passes the cap.

A reservation has an owner (the job and attempt, or the process, that made it) and
an expiry (the call's total deadline plus a grace period). A worker killed during
the call, or a database blip at settlement, leaves the reservation open;
`budget_reservations_release` (a periodic job) settles it once its job is gone or
its expiry passed: at $0 if no request was sent, else at the reservation's worst
case (the provider may have answered and billed it; the ledger errs high, never low).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from kmeme.ai.models import AICall, AICallStatus
from kmeme.ai.pricing import call_cost
from kmeme.ai.types import ProviderUnavailable

_BUDGET_LOCK_KEY = 0x6B6D6D62  # one lock for every budget decision
_COUNTED = (AICallStatus.RESERVED, AICallStatus.OK, AICallStatus.ERROR, AICallStatus.INTERRUPTED)
# How long after its total deadline a reservation is still expected to be settled by its own call.
RESERVATION_GRACE_S = 60

_owner: ContextVar[str] = ContextVar("kmeme_ai_call_owner", default="")


@contextmanager
def ai_calls_owned_by(owner: str) -> Iterator[None]:
    """Name the owner of the reservations made in the block (a job: `job:<id>:<attempt>`), so the sweep can tell
    when it is gone."""
    token = _owner.set(owner)
    try:
        yield
    finally:
        _owner.reset(token)


def _current_owner() -> str:
    return _owner.get() or f"{socket.gethostname()}:{os.getpid()}"


def _budget_lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_BUDGET_LOCK_KEY])


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
    *,
    provider: str,
    model: str,
    purpose: str,
    node_id: int | None,
    max_input_tokens: int,
    max_output_tokens: int,
    deadline_s: float | None = None,
    request_key: str = "",
    prompt_version: str = "",
) -> AICall:
    """Book the worst-case price of a call, or refuse (recording the refusal) when it would pass the cap.
    The reservation expires `deadline_s` (default AI_CALL_DEADLINE_S) plus a grace period from now."""
    estimate = call_cost(model=model, input_tokens=max_input_tokens, output_tokens=max_output_tokens)
    cap = Decimal(str(settings.LLM_MONTHLY_CAP))
    deadline_s = settings.AI_CALL_DEADLINE_S if deadline_s is None else deadline_s
    with transaction.atomic():
        _budget_lock()
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
                owner=_current_owner()[:200],
                expires_at=timezone.now() + timedelta(seconds=deadline_s + RESERVATION_GRACE_S),
                request_key=request_key[:200],
                prompt_version=prompt_version[:40],
            )
    # Recorded outside the locked transaction, so the refusal stays in the ledger.
    AICall.objects.create(
        provider=provider,
        model=model,
        purpose=purpose,
        node_id=node_id,
        status=AICallStatus.REFUSED_BUDGET,
        owner=_current_owner()[:200],
        error=f"monthly cap ${cap} reached: ${spent} spent or reserved, this call may cost up to ${estimate}",
    )
    raise ProviderUnavailable(
        f"The monthly LLM budget (${cap}) is used up: ${spent} spent or reserved.", code="budget_exceeded"
    )


def budget_extend(*, call: AICall, amount: Decimal) -> None:
    """Raise an open reservation by `amount` (a retry after an attempt that may have been billed needs a second
    worst case), or refuse with ProviderUnavailable(budget_exceeded) when that would pass the cap."""
    cap = Decimal(str(settings.LLM_MONTHLY_CAP))
    with transaction.atomic():
        _budget_lock()
        spent = budget_month_spend()
        if spent + amount > cap:
            raise ProviderUnavailable(
                f"The monthly LLM budget (${cap}) leaves no room to retry: ${spent} spent or reserved.",
                code="budget_exceeded",
            )
        AICall.objects.filter(pk=call.pk, status=AICallStatus.RESERVED).update(cost_usd=F("cost_usd") + amount)
    call.refresh_from_db(fields=["cost_usd"])


def budget_mark_sent(*, call: AICall, attempts: int) -> None:
    """Record that attempt number `attempts` is about to send its request (from then on it may be billed)."""
    now = timezone.now()
    AICall.objects.filter(pk=call.pk).update(attempts=attempts, sent_at=call.sent_at or now)
    call.attempts, call.sent_at = attempts, call.sent_at or now


def budget_settle(
    *,
    call: AICall,
    input_tokens: int,
    output_tokens: int,
    latency_ms: int,
    status: str,
    error: str = "",
    uncertain_usd: Decimal = Decimal(0),
    response: Any = None,
) -> AICall:
    """Replace a reservation by what the call cost: the price of the usage the provider reported, plus
    `uncertain_usd` for attempts that were sent and whose answer was lost (a timeout, a cut-off body: the provider
    may bill them; their worst case is counted). A failed call that sent nothing costs 0. `response`, the
    validated answer, is kept for a retry of the same step to reuse."""
    call.input_tokens = input_tokens
    call.output_tokens = output_tokens
    call.cost_usd = call_cost(model=call.model, input_tokens=input_tokens, output_tokens=output_tokens) + uncertain_usd
    call.latency_ms = latency_ms
    call.status = status
    call.error = error[:2000]
    call.response = response
    call.expires_at = None
    call.save(
        update_fields=[
            "input_tokens",
            "output_tokens",
            "cost_usd",
            "latency_ms",
            "status",
            "error",
            "response",
            "expires_at",
        ]
    )
    return call


def _job_owner_gone(owners: Iterable[str], jobs_running: Callable[[list[int]], dict[int, int]]) -> set[str]:
    """Of `owners` naming a job attempt (`job:<id>:<attempt>`), those whose attempt no longer runs."""
    parsed: dict[str, tuple[int, int]] = {}
    for owner in owners:
        parts = owner.split(":")
        if len(parts) == 3 and parts[0] == "job" and parts[1].isdigit() and parts[2].isdigit():
            parsed[owner] = (int(parts[1]), int(parts[2]))
    if not parsed:
        return set()
    running = jobs_running(sorted({job for job, _ in parsed.values()}))
    return {owner for owner, (job, attempt) in parsed.items() if running.get(job) != attempt}


def _process_owner_gone(owner: str) -> bool:
    """Whether `owner` names a process of this host (`<host>:<pid>`) that no longer runs."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False


def budget_reservations_release(
    *, jobs_running: Callable[[list[int]], dict[int, int]] | None = None, now: datetime | None = None
) -> list[AICall]:
    """Settle the reservations whose call can no longer settle them itself: their expiry passed, their process
    (on this host) is gone, or (given `jobs_running`, which maps job ids to the attempt each job is running now)
    their job attempt is over.
    A call that sent no request is settled at $0; one that did keeps its worst case (the provider may have billed
    it), marked `interrupted`. Returns the calls settled."""
    now = now or timezone.now()
    open_calls = list(AICall.objects.filter(status=AICallStatus.RESERVED).values_list("pk", "owner", "expires_at"))
    owners = {owner for _, owner, _ in open_calls}
    gone = _job_owner_gone(owners, jobs_running) if jobs_running else set()
    gone |= {owner for owner in owners if _process_owner_gone(owner)}
    due = [pk for pk, owner, expires_at in open_calls if owner in gone or (expires_at is not None and expires_at < now)]
    settled = []
    for pk in due:
        with transaction.atomic():
            locked = AICall.objects.select_for_update(skip_locked=True)
            call = locked.filter(pk=pk, status=AICallStatus.RESERVED).first()
            if call is None:  # settled meanwhile by its own call
                continue
            why = "its job or process is no longer running" if call.owner in gone else "it outlived its deadline"
            if call.sent_at is None:
                call.cost_usd, call.input_tokens, call.output_tokens = Decimal(0), 0, 0
                call.error = f"released: {why} before any request was sent"
            else:
                call.error = (
                    f"interrupted: {why} after {call.attempts} request(s) were sent with no answer recorded; "
                    "counted at the reservation's worst case"
                )
            call.status = AICallStatus.INTERRUPTED
            call.expires_at = None
            call.save(update_fields=["cost_usd", "input_tokens", "output_tokens", "error", "status", "expires_at"])
            settled.append(call)
    return settled
