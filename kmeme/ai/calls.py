"""The one path every provider call takes: reuse → circuit → budget → deadline → retries → validate → ledger.

Provider modules supply `send` (one HTTP call through the real SDK, returning text
and token usage) and `parse` (validation); this module does the rest, the same
way for every provider, so no call can skip the budget, the retries or the ledger.

- Reuse: a call made for a step (`request_key`, e.g. one node's analysis in one run) whose answer was paid for
  and stored is not made again: a retried job gets the stored answer. The answer is kept in Redis before the
  ledger row is settled, so a database blip at settlement loses nothing either.
- Deadline: every attempt and every wait between attempts fit in AI_CALL_DEADLINE_S (kmeme.deadline), however
  slowly the provider answers; AI_TIMEOUT_S bounds each socket read inside it.
- Cost: an attempt whose request was sent and whose answer was lost (a timeout, a cut-off body) may be billed by
  the provider: it is counted at the reservation's worst case, and the reservation is raised by that much before
  a retry, so the month's recorded spend still never passes the cap. Refused attempts (an HTTP error status) and
  ones that never connected cost nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpcore2
import httpx2 as httpx
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from redis.exceptions import RedisError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from kmeme.ai.budget import budget_extend, budget_mark_sent, budget_reserve, budget_settle
from kmeme.ai.circuit import circuit_check, circuit_record_failure, circuit_record_success
from kmeme.ai.models import AICall, AICallStatus
from kmeme.ai.pricing import call_cost
from kmeme.ai.types import ProviderResult, ProviderUnavailable
from kmeme.deadline import deadline, deadline_remaining

logger = logging.getLogger("kmeme.ai")

# How long a paid-for answer is kept in Redis for a retry of its step (the ledger keeps it after settlement).
ANSWER_KEEP_S = 24 * 3600


@dataclass(frozen=True)
class RawReply:
    text: str
    input_tokens: int
    output_tokens: int
    data: Any = None  # already-parsed structured output (e.g. a tool_use input), if the SDK gives one


def _deadline_stop(retry_state: RetryCallState) -> bool:
    """Stop retrying when the wait before the next attempt would reach the call's deadline."""
    left = deadline_remaining()
    return left is not None and left <= retry_state.upcoming_sleep + 0.5


def _retrying(is_retryable: Callable[[BaseException], bool]) -> Retrying:
    return Retrying(
        stop=stop_after_attempt(settings.AI_RETRY_ATTEMPTS) | _deadline_stop,
        wait=wait_exponential(multiplier=1, min=settings.AI_RETRY_WAIT_MIN_S, max=settings.AI_RETRY_WAIT_MAX_S),
        retry=retry_if_exception(is_retryable),
        reraise=True,
    )


# Errors raised before the request could reach the provider: nothing can have been billed.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteTimeout,
    httpx.WriteError,
    httpx.UnsupportedProtocol,
    httpcore2.ConnectError,
    httpcore2.ConnectTimeout,
    httpcore2.PoolTimeout,
    httpcore2.WriteTimeout,
    httpcore2.WriteError,
)
# Errors after the request was sent, with the answer lost: the provider may have done (and billed) the work.
_ANSWER_LOST = (
    httpx.ReadTimeout,
    httpx.ReadError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,
    httpcore2.ReadTimeout,
    httpcore2.ReadError,
    httpcore2.RemoteProtocolError,
)


def maybe_billed(exc: BaseException) -> bool:
    """Whether a failed attempt may still be billed: its request was sent and its answer lost. An HTTP error
    status (the provider refused or failed the request) is not billed; an error we cannot place is assumed
    billed, so the ledger errs high."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _NOT_SENT):
            return False
        if isinstance(current, _ANSWER_LOST):
            return True
        if getattr(current, "status_code", None) or (getattr(current, "code", None) in range(400, 600)):
            return False  # an SDK's HTTP status error: the provider answered with an error
        current = current.__cause__ or current.__context__
    return True


def _answer_key(request_key: str) -> str:
    return f"ai:answer:{request_key}"


def _answer_keep(request_key: str, answer: dict[str, Any]) -> None:
    try:
        cache.set(_answer_key(request_key), answer, ANSWER_KEEP_S)
    except RedisError:  # the ledger row keeps it too once settled
        logger.warning("could not keep the provider's answer in Redis", extra={"request_key": request_key})


def _answer_reuse(*, request_key: str, provider: str, model: str) -> ProviderResult | None:
    """The paid-for answer of an earlier call for the same step, or None."""
    done = (
        AICall.objects.filter(request_key=request_key, provider=provider, model=model, status=AICallStatus.OK)
        .exclude(response=None)
        .order_by("-created_at", "-id")
        .first()
    )
    if done is not None:
        return ProviderResult(
            provider=provider,
            model=model,
            content=done.response,
            input_tokens=done.input_tokens,
            output_tokens=done.output_tokens,
            cost_usd=done.cost_usd,
            latency_ms=done.latency_ms or 0,
            prompt_version=done.prompt_version,
            cached=True,
        )
    try:
        kept = cache.get(_answer_key(request_key))
    except RedisError:
        kept = None
    if not kept or kept.get("provider") != provider or kept.get("model") != model:
        return None
    # The answer arrived but its settlement did not (a database blip, a killed worker): settle it now.
    call = AICall.objects.filter(pk=kept["call_id"], status__in=(AICallStatus.RESERVED, AICallStatus.INTERRUPTED))
    call = call.first()
    if call is not None:
        budget_settle(
            call=call,
            input_tokens=kept["input_tokens"],
            output_tokens=kept["output_tokens"],
            latency_ms=kept["latency_ms"],
            status=AICallStatus.OK,
            uncertain_usd=Decimal(kept["uncertain_usd"]),
            response=kept["content"],
        )
    logger.info("provider answer reused", extra={"provider": provider, "request_key": request_key})
    return ProviderResult(
        provider=provider,
        model=model,
        content=kept["content"],
        input_tokens=kept["input_tokens"],
        output_tokens=kept["output_tokens"],
        cost_usd=call.cost_usd if call is not None else Decimal(0),
        latency_ms=kept["latency_ms"],
        prompt_version=kept.get("prompt_version", ""),
        cached=True,
    )


def provider_call(
    *,
    provider: str,
    model: str,
    purpose: str,
    node_id: int | None,
    max_input_tokens: int,
    max_output_tokens: int,
    send: Callable[[], RawReply],
    parse: Callable[[RawReply], dict[str, Any]],
    is_retryable: Callable[[BaseException], bool],
    prompt_version: str = "",
    request_key: str = "",
) -> ProviderResult:
    """Make one budgeted, retried, validated call within AI_CALL_DEADLINE_S, or reuse the stored answer of an
    earlier call with the same `request_key`. Raises ProviderUnavailable for every way it can fail."""
    if request_key:
        reused = _answer_reuse(request_key=request_key, provider=provider, model=model)
        if reused is not None:
            return reused
    circuit_check(provider=provider)
    deadline_s = settings.AI_CALL_DEADLINE_S
    call = budget_reserve(
        provider=provider,
        model=model,
        purpose=purpose,
        node_id=node_id,
        max_input_tokens=max_input_tokens,
        max_output_tokens=max_output_tokens,
        deadline_s=deadline_s,
        request_key=request_key,
        prompt_version=prompt_version,
    )
    worst_case = call_cost(model=model, input_tokens=max_input_tokens, output_tokens=max_output_tokens)
    started = time.perf_counter()

    def elapsed_ms() -> int:
        return int((time.perf_counter() - started) * 1000)

    attempts = lost = 0
    last_lost = False
    try:
        with deadline(deadline_s):
            for attempt in _retrying(is_retryable):
                if last_lost:  # the last attempt may be billed: the next one needs a worst case of its own
                    budget_extend(call=call, amount=worst_case)
                with attempt:
                    attempts += 1
                    budget_mark_sent(call=call, attempts=attempts)
                    try:
                        reply = send()
                    except Exception as exc:
                        last_lost = maybe_billed(exc)
                        lost += last_lost
                        raise
    except (DatabaseError, RedisError):
        raise  # our own services failed: the job retries; the sweep settles the reservation
    except Exception as exc:
        circuit_record_failure(provider=provider)
        reason = f"{type(exc).__name__}: {exc}"[:500]
        if isinstance(exc, ProviderUnavailable):
            reason = str(exc)
        uncertain = worst_case * lost
        budget_settle(
            call=call,
            input_tokens=0,
            output_tokens=0,
            latency_ms=elapsed_ms(),
            status=AICallStatus.ERROR,
            error=f"after {attempts} attempt(s), {lost} of them possibly billed (counted at worst case ${uncertain}):"
            f" {reason}",
            uncertain_usd=uncertain,
        )
        logger.warning(
            "provider call failed",
            extra={"provider": provider, "purpose": purpose, "node_id": node_id, "attempts": attempts, "error": reason},
        )
        if isinstance(exc, ProviderUnavailable):
            raise
        raise ProviderUnavailable(
            f"{provider} failed after {attempts} attempt(s): {reason}", code="provider_error"
        ) from exc

    circuit_record_success(provider=provider)
    latency = elapsed_ms()
    uncertain = worst_case * lost
    try:
        content = parse(reply)
    except ProviderUnavailable as exc:
        # The provider answered (and charged); the answer was unusable.
        budget_settle(
            call=call,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            latency_ms=latency,
            status=AICallStatus.ERROR,
            error=str(exc),
            uncertain_usd=uncertain,
        )
        raise
    if request_key:
        _answer_keep(
            request_key,
            {
                "call_id": call.pk,
                "provider": provider,
                "model": model,
                "content": content,
                "input_tokens": reply.input_tokens,
                "output_tokens": reply.output_tokens,
                "latency_ms": latency,
                "uncertain_usd": str(uncertain),
                "prompt_version": prompt_version,
            },
        )
    call = budget_settle(
        call=call,
        input_tokens=reply.input_tokens,
        output_tokens=reply.output_tokens,
        latency_ms=latency,
        status=AICallStatus.OK,
        uncertain_usd=uncertain,
        response=content if request_key else None,
    )
    logger.info(
        "provider call ok",
        extra={
            "provider": provider,
            "purpose": purpose,
            "node_id": node_id,
            "attempts": attempts,
            "cost_usd": str(call.cost_usd),
            "latency_ms": latency,
        },
    )
    return ProviderResult(
        provider=provider,
        model=model,
        content=content,
        input_tokens=reply.input_tokens,
        output_tokens=reply.output_tokens,
        cost_usd=call.cost_usd,
        latency_ms=latency,
        prompt_version=prompt_version,
    )
