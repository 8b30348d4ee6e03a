"""A circuit breaker per provider, in Redis so every worker shares it.

Closed: calls go through. After `AI_CIRCUIT_FAILURES` failed calls within the
cool-down window it opens: calls are skipped (straight to the fallback) for
`AI_CIRCUIT_COOLDOWN_S`. Then it is half-open: one trial call is let through; its
success closes the circuit, its failure opens it again.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache

from kmeme.ai.types import ProviderUnavailable

PROVIDERS = ("gemini", "anthropic")


def _keys(provider: str) -> tuple[str, str, str]:
    return f"circuit:{provider}:failures", f"circuit:{provider}:open_until", f"circuit:{provider}:trial"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def circuit_check(*, provider: str) -> None:
    """Raise ProviderUnavailable(circuit_open) when calls to this provider are being skipped."""
    _, open_key, trial_key = _keys(provider)
    open_until = cache.get(open_key)
    if open_until is None:
        return
    if open_until > time.time():
        raise ProviderUnavailable(
            f"{provider} failed repeatedly; calls are paused until {_iso(open_until)}.", code="circuit_open"
        )
    # Half-open: exactly one caller gets the trial call.
    if not cache.add(trial_key, 1, timeout=max(int(settings.AI_TIMEOUT_S * 4), 30)):
        raise ProviderUnavailable(f"{provider} is being tried again by another call.", code="circuit_open")


def circuit_record_success(*, provider: str) -> None:
    cache.delete_many(list(_keys(provider)))


def circuit_record_failure(*, provider: str) -> None:
    failures_key, open_key, trial_key = _keys(provider)
    cooldown = settings.AI_CIRCUIT_COOLDOWN_S
    if cache.get(open_key) is not None:  # the half-open trial failed: open again
        cache.set(open_key, time.time() + cooldown, timeout=cooldown * 10)
        cache.delete(trial_key)
        return
    cache.add(failures_key, 0, timeout=cooldown)
    try:
        failures = cache.incr(failures_key)
    except ValueError:  # expired between add and incr
        cache.add(failures_key, 1, timeout=cooldown)
        failures = 1
    if failures >= settings.AI_CIRCUIT_FAILURES:
        cache.set(open_key, time.time() + cooldown, timeout=cooldown * 10)
        cache.delete_many([failures_key, trial_key])


def circuit_state(*, provider: str) -> dict[str, Any]:
    failures_key, open_key, _ = _keys(provider)
    values = cache.get_many([failures_key, open_key])
    open_until = values.get(open_key)
    if open_until is None:
        return {"state": "closed", "recent_failures": int(values.get(failures_key) or 0)}
    return {"state": "open" if open_until > time.time() else "half_open", "open_until": _iso(open_until)}
