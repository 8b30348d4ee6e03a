"""The one path every provider call takes: circuit → budget → retries → validate → ledger.

Provider modules supply `send` (one HTTP call through the real SDK, returning text
and token usage) and `parse` (validation); this module does the rest, the same
way for every provider, so no call can skip the budget, the retries or the ledger.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from kmeme.ai.budget import budget_reserve, budget_settle
from kmeme.ai.circuit import circuit_check, circuit_record_failure, circuit_record_success
from kmeme.ai.models import AICallStatus
from kmeme.ai.types import ProviderResult, ProviderUnavailable

logger = logging.getLogger("kmeme.ai")


@dataclass(frozen=True)
class RawReply:
    text: str
    input_tokens: int
    output_tokens: int
    data: Any = None  # already-parsed structured output (e.g. a tool_use input), if the SDK gives one


def _retrying(is_retryable: Callable[[BaseException], bool]) -> Retrying:
    return Retrying(
        stop=stop_after_attempt(settings.AI_RETRY_ATTEMPTS),
        wait=wait_exponential(multiplier=1, min=settings.AI_RETRY_WAIT_MIN_S, max=settings.AI_RETRY_WAIT_MAX_S),
        retry=retry_if_exception(is_retryable),
        reraise=True,
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
) -> ProviderResult:
    """Make one budgeted, retried, validated call. Raises ProviderUnavailable for every way it can fail."""
    circuit_check(provider=provider)
    call = budget_reserve(
        provider=provider,
        model=model,
        purpose=purpose,
        node_id=node_id,
        max_input_tokens=max_input_tokens,
        max_output_tokens=max_output_tokens,
    )
    started = time.perf_counter()

    def elapsed_ms() -> int:
        return int((time.perf_counter() - started) * 1000)

    attempts = 0
    try:
        for attempt in _retrying(is_retryable):
            with attempt:
                attempts += 1
                reply = send()
    except Exception as exc:
        circuit_record_failure(provider=provider)
        reason = f"{type(exc).__name__}: {exc}"[:500]
        budget_settle(
            call=call,
            input_tokens=0,
            output_tokens=0,
            latency_ms=elapsed_ms(),
            status=AICallStatus.ERROR,
            error=f"after {attempts} attempt(s): {reason}",
        )
        logger.warning(
            "provider call failed",
            extra={"provider": provider, "purpose": purpose, "node_id": node_id, "attempts": attempts, "error": reason},
        )
        raise ProviderUnavailable(
            f"{provider} failed after {attempts} attempt(s): {reason}", code="provider_error"
        ) from exc

    circuit_record_success(provider=provider)
    latency = elapsed_ms()
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
        )
        raise
    call = budget_settle(
        call=call,
        input_tokens=reply.input_tokens,
        output_tokens=reply.output_tokens,
        latency_ms=latency,
        status=AICallStatus.OK,
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
