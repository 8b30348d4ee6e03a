"""Rate limits (django-ratelimit's window counters, in Redis) and the daily analysis quota (a Redis counter).

Both refuse with a 429 in the API's error shape and a Retry-After header. The API's throttles (kmeme/throttles.py)
count through `rate_limit_count` too, so every limit a client can meet is counted, and refused, the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage

from kmeme.exceptions import ApplicationError

_PERIOD_WORDS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


def rate_text(rate: str) -> str:
    """ "10/m" or "10/minute" as "10 per minute"."""
    count, _, period = rate.partition("/")
    return f"{count} per {_PERIOD_WORDS.get(period[:1], period)}"


def rate_limit_count(
    *, request: HttpRequest, scope: str, rate: str, key: str | Callable[[str, HttpRequest], str]
) -> None:
    """Count this request against `rate` for `key` (a django-ratelimit key, e.g. "user") in `scope`; refuse past it.

    The counter is a `cache.add` then `cache.incr` in the default cache (Redis): atomic, so requests at once can never
    take more than the rate between them. Windows are fixed, jittered per key so they do not all end together.
    """
    usage = get_usage(request, group=f"{scope}:{rate}", key=key, rate=rate, increment=True)
    if usage and usage["should_limit"]:
        wait = max(int(usage["time_left"]), 1)
        raise ApplicationError(
            _("Too many requests: at most %(rate_text)s (%(scope)s). Try again in %(wait)s s.")
            % {"rate_text": rate_text(rate), "scope": scope, "wait": wait},
            code="throttled",
            status_code=429,
            details={"scope": scope, "limit": rate, "retry_after_seconds": wait},
            retry_after=wait,
        )


def rate_limits_check(*, request: HttpRequest, group: str, rates: list[str]) -> None:
    """Count this request against each rate ("10/m", "100/h") for the signed-in user; refuse past any of them."""
    for rate in rates:
        rate_limit_count(request=request, scope=group, rate=rate, key="user")


def quota_key(user_id: int) -> str:
    return f"quota:{user_id}:daily"


def _seconds_to_midnight(now: datetime | None = None) -> int:
    local = timezone.localtime(now or timezone.now())
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(int((midnight - local).total_seconds()), 1)


def quota_consume(*, user: AbstractBaseUser) -> int:
    """Take one analysis from the user's daily quota (reset at midnight, TIME_ZONE); returns what is left.

    INCR is atomic, so concurrent requests can never take more than the quota between them.
    """
    key, limit = quota_key(user.pk), settings.ANALYSIS_DAILY_QUOTA
    ttl = _seconds_to_midnight()
    cache.add(key, 0, timeout=ttl)
    used = cache.incr(key)
    if used > limit:
        cache.decr(key)
        raise ApplicationError(
            _("Daily analysis quota reached (%(limit)s per day); it resets at midnight (%(TIME_ZONE)s).")
            % {"limit": limit, "TIME_ZONE": settings.TIME_ZONE},
            code="quota_exceeded",
            status_code=429,
            details={"limit": limit, "retry_after_seconds": ttl},
            retry_after=ttl,
        )
    return limit - used


def quota_refund(*, user: AbstractBaseUser) -> None:
    """Give back one unit when the request it was taken for did not go through."""
    with suppress(ValueError):  # expired at midnight in between: nothing to give back
        cache.decr(quota_key(user.pk))
