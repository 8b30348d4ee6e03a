"""GET /metrics in Prometheus's text format: django-prometheus's request metrics (latency histograms per view and
method, counts by status, …) and the business gauges, read from the database at scrape time.

Processes. Under `runserver` (and any single process) django-prometheus's metrics live in the process's default
registry. Under gunicorn's several workers each worker counts its own requests: set PROMETHEUS_MULTIPROC_DIR (an
empty folder, wiped at start by operations.gunicorn_config) and every worker writes its metrics there, so whichever
worker answers the scrape reports the sum over all of them (prometheus_client's multiprocess mode). The business
gauges come from the database and are the same whichever process computes them; each process keeps its last reading
METRICS_CACHE_S seconds.

Protection: see `metrics_access`.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric

from kmeme.errors import error_body
from operations import selectors
from operations.latency import latency_summary
from operations.models import AlertState, AlertStatus

# The classic text format, which every Prometheus version reads (our metric names need nothing newer).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The windows each rate is exported over, by label.
AI_WINDOWS = {"15m": timedelta(minutes=15), "24h": timedelta(hours=24)}
PIPELINE_WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}
JOB_WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}


def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


def business_metrics() -> list[Metric]:
    """Every business gauge, one query (or one Redis round trip) each."""
    now = timezone.now()
    metrics: list[Metric] = []

    calls = _gauge(
        "kmeme_ai_calls", "Settled AI provider calls in the window (ledger)", ["provider", "model", "window"]
    )
    errors = _gauge(
        "kmeme_ai_call_errors", "Failed or interrupted AI calls in the window", ["provider", "model", "window"]
    )
    refused = _gauge(
        "kmeme_ai_calls_refused", "AI calls refused by the monthly budget", ["provider", "model", "window"]
    )
    skipped = _gauge(
        "kmeme_ai_calls_skipped", "Gemini analyses that could not call it", ["provider", "reason", "window"]
    )
    ratio = _gauge(
        "kmeme_ai_error_ratio", "Failed ÷ all calls of a provider (skipped count as failed)", ["provider", "window"]
    )
    sample = _gauge("kmeme_ai_error_sample", "Calls the error ratio is measured on", ["provider", "window"])
    for window, span in AI_WINDOWS.items():
        since = now - span
        for row in selectors.ai_calls_by_model(since=since):
            calls.add_metric([row.provider, row.model, window], row.calls)
            errors.add_metric([row.provider, row.model, window], row.errors)
            refused.add_metric([row.provider, row.model, window], row.refused)
        for code, n in selectors.ai_calls_skipped(since=since).items():
            skipped.add_metric(["gemini", code, window], n)
        for provider in ("gemini", "anthropic"):
            rate = selectors.ai_error_rate(provider=provider, since=since)
            ratio.add_metric([provider, window], rate.value)
            sample.add_metric([provider, window], rate.whole)
    metrics += [calls, errors, refused, skipped, ratio, sample]

    runs = _gauge("kmeme_pipeline_runs", "Analysis runs that ended in the window, by outcome", ["outcome", "window"])
    success = _gauge("kmeme_node_creation_success_ratio", "Runs that reached review ÷ runs that ended", ["window"])
    total = _gauge("kmeme_node_creation_runs", "Analysis runs that ended in the window", ["window"])
    fallback = _gauge("kmeme_pipeline_fallback_ratio", "Runs that went without AI ÷ runs that ended", ["window"])
    for window, span in PIPELINE_WINDOWS.items():
        measured = selectors.pipeline_runs(since=now - span)
        runs.add_metric(["in_review", window], measured.reached_review)
        runs.add_metric(["needs_review", window], measured.needs_review)
        success.add_metric([window], measured.success.value)
        total.add_metric([window], measured.total)
        fallback.add_metric([window], measured.fallback.value)
    metrics += [runs, success, total, fallback]

    spend = selectors.llm_spend()
    metrics.append(
        GaugeMetricFamily("kmeme_llm_spend_usd", "This month's AI spend, settled and reserved", float(spend.spent_usd))
    )
    metrics.append(
        GaugeMetricFamily("kmeme_llm_cap_usd", "The monthly AI budget (LLM_MONTHLY_CAP)", float(spend.cap_usd))
    )
    metrics.append(GaugeMetricFamily("kmeme_llm_spend_ratio", "This month's spend ÷ the cap", spend.ratio))

    waiting = _gauge("kmeme_jobs_waiting", "Jobs due and not started, per queue", ["queue"])
    scheduled = _gauge("kmeme_jobs_scheduled", "Jobs waiting for a later time (retry backoff), per queue", ["queue"])
    running = _gauge("kmeme_jobs_running", "Jobs running, per queue", ["queue"])
    oldest = _gauge("kmeme_jobs_oldest_waiting_seconds", "How long the oldest due job has waited", ["queue"])
    for queue in selectors.job_queues():
        waiting.add_metric([queue.queue], queue.waiting)
        scheduled.add_metric([queue.queue], queue.scheduled)
        running.add_metric([queue.queue], queue.running)
        oldest.add_metric([queue.queue], queue.oldest_waiting_s)
    metrics += [waiting, scheduled, running, oldest]

    failures = _gauge(
        "kmeme_job_failures", "Job runs that raised in the window (retried or not), per task", ["task", "window"]
    )
    for window, span in JOB_WINDOWS.items():
        for task, n in selectors.job_failures(since=now - span).items():
            failures.add_metric([task, window], n)
    metrics.append(failures)
    in_a_row = _gauge("kmeme_job_failed_in_a_row", "Latest runs of a scheduled task that failed in a row", ["task"])
    for task, n in selectors.jobs_failed_in_a_row(tasks=selectors.scheduled_task_names()).items():
        in_a_row.add_metric([task], n)
    metrics.append(in_a_row)

    backlog = _gauge("kmeme_review_backlog", "Nodes waiting for an editor", ["status"])
    backlog_age = _gauge("kmeme_review_oldest_seconds", "How long the longest-waiting node has waited", ["status"])
    for row in selectors.review_backlog(now=now):
        backlog.add_metric([row.status], row.nodes)
        backlog_age.add_metric([row.status], row.oldest_s)
    metrics += [backlog, backlog_age]

    conversion = _gauge(
        "kmeme_ksuccess_conversion_ratio", "K-Success ÷ verified participations (0 with none)", ["window"]
    )
    verified = _gauge("kmeme_ksuccess_verified_participations", "Verified or K-Success participations", ["window"])
    for window, since in (("30d", now - timedelta(days=30)), ("all", None)):
        rate = selectors.ksuccess_conversion(since=since)
        conversion.add_metric([window], rate.value)
        verified.add_metric([window], rate.whole)
    metrics += [conversion, verified]

    latency = latency_summary(minutes=15, now=now.timestamp())
    p95 = _gauge("kmeme_api_latency_p95_seconds", "P95 of /api/ request durations, every process", ["window"])
    p95.add_metric(["15m"], latency.p95_s)
    requests = _gauge("kmeme_api_requests", "/api/ requests timed in the window, every process", ["window"])
    requests.add_metric(["15m"], latency.requests)
    metrics += [p95, requests]

    firing = _gauge(
        "kmeme_alert_firing", "1 while the alert rule fires (operations.alerts), as last evaluated", ["rule"]
    )
    for rule, status in AlertState.objects.order_by("rule").values_list("rule", "status"):
        firing.add_metric([rule], 1 if status == AlertStatus.FIRING else 0)
    metrics.append(firing)
    return metrics


class BusinessCollector:
    """A prometheus_client collector over `business_metrics`, its reading kept `METRICS_CACHE_S` seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._metrics: list[Metric] = []

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._read_at >= settings.METRICS_CACHE_S:
                self._metrics = business_metrics()
                self._read_at = time.monotonic()
            yield from self._metrics

    def forget(self) -> None:
        """Read afresh at the next scrape."""
        with self._lock:
            self._read_at = float("-inf")


business_collector = BusinessCollector()
_business_registry = CollectorRegistry(auto_describe=False)
_business_registry.register(business_collector)


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def metrics_text() -> bytes:
    """The whole exposition: the request metrics (of every worker, in multiprocess mode), then the business gauges."""
    if _multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_business_registry)


def client_address(request: HttpRequest) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The scraper's address: the peer's, or NUM_PROXIES hops back in X-Forwarded-For behind that many proxies (as
    the API's throttles read it), so a client cannot pick its own."""
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            address = hops[-min(proxies, len(hops))]
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


def metrics_access(request: HttpRequest) -> tuple[int, str] | None:
    """None when the request may read /metrics, else the refusal's (status, code).

    Allowed: `Authorization: Bearer <METRICS_TOKEN>`; a client address in METRICS_ALLOWED_IPS; in development
    (DEBUG), loopback. In production with neither a token nor an allowlist, /metrics is off: 404."""
    token = settings.METRICS_TOKEN
    sent = request.META.get("HTTP_AUTHORIZATION", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return None
    address = client_address(request)
    if address is not None:
        if any(address in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOWED_IPS):
            return None
        if settings.DEBUG and address.is_loopback:
            return None
    if not settings.DEBUG and not token and not settings.METRICS_ALLOWED_IPS:
        return 404, "not_found"
    return 403, "metrics_forbidden"


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    refused = metrics_access(request)
    if refused is not None:
        status, code = refused
        message = (
            "No such endpoint or object."
            if status == 404
            else "Send Authorization: Bearer <METRICS_TOKEN>, or scrape from an address in METRICS_ALLOWED_IPS."
        )
        return JsonResponse(error_body(status_code=status, code=code, message=message), status=status)
    response = HttpResponse(metrics_text(), content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response
