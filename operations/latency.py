"""The API's request durations, kept in Redis so every web process (gunicorn's workers, several hosts) adds to one
histogram, for the P95 latency alert (operations.alerts) and its gauge.

One Redis hash per minute (`ops:latency:<unix minute>`): a counter per histogram bucket (the edges of
PROMETHEUS_LATENCY_BUCKETS, the same as django-prometheus's histogram), kept 20 minutes. A request costs one
pipelined HINCRBY + EXPIRE. The P95 of the last N minutes sums their buckets and interpolates inside the bucket
holding the 95th percentile, as Prometheus's histogram_quantile does; since 0.5 s is a bucket edge, "above 500 ms"
is decided exactly.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django_redis import get_redis_connection
from redis.exceptions import RedisError

logger = logging.getLogger("kmeme.operations")

KEEP_S = 20 * 60
API_PREFIX = "/api/"


def _key(minute: int) -> str:
    return cache.make_key(f"ops:latency:{minute}")


def _edges() -> list[float]:
    return [float(edge) for edge in settings.PROMETHEUS_LATENCY_BUCKETS]


def latency_record(*, seconds: float, at: float | None = None) -> None:
    """Count one API request of `seconds` in the minute of `at` (default now). Never raises: a Redis outage must not
    fail the request it measures."""
    bucket = bisect_left(_edges(), seconds)
    key = _key(int((at or time.time()) // 60))
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        pipe.hincrby(key, str(bucket), 1)
        pipe.expire(key, KEEP_S)
        pipe.execute()
    except RedisError as exc:
        logger.debug("could not record an API request's latency: %s", exc)


@dataclass(frozen=True)
class LatencySummary:
    requests: int
    p95_s: float  # 0 with no requests


def latency_summary(*, minutes: int = 15, now: float | None = None, quantile: float = 0.95) -> LatencySummary:
    """The API requests of the last `minutes` minutes (the current one included) and their P95."""
    edges = _edges()
    current = int((now or time.time()) // 60)
    pipe = get_redis_connection("default").pipeline(transaction=False)
    for minute in range(current - minutes + 1, current + 1):
        pipe.hgetall(_key(minute))
    counts = [0] * len(edges)
    for buckets in pipe.execute():
        for index, count in buckets.items():
            position = int(index)
            if 0 <= position < len(edges):
                counts[position] += int(count)
    total = sum(counts)
    if not total:
        return LatencySummary(requests=0, p95_s=0.0)
    rank = quantile * total
    seen = 0
    for position, count in enumerate(counts):
        if count and seen + count >= rank:
            upper = edges[position]
            lower = edges[position - 1] if position else 0.0
            if upper == float("inf"):  # past the last finite edge: that edge is all we know
                return LatencySummary(requests=total, p95_s=lower)
            return LatencySummary(requests=total, p95_s=lower + (upper - lower) * (rank - seen) / count)
        seen += count
    return LatencySummary(requests=total, p95_s=edges[-2])


class ApiLatencyMiddleware:
    """Times every /api/ request, whatever its answer, from the outside of the stack (after django-prometheus's
    first middleware only)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        started = time.perf_counter()
        try:
            return self.get_response(request)
        finally:
            latency_record(seconds=time.perf_counter() - started)
