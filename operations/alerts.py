"""The alert rules of the design documents (PRODUCT.md, "alerts"; API latency target), each measured over its window
by the same selectors the /metrics gauges use. operations.services.alerts_evaluate runs them every minute and posts
to Slack only when one starts firing or resolves.

A rate rule fires only on at least ALERT_MIN_SAMPLE events in its window (one failed call out of three must not page
anyone). While a firing rule's window holds fewer, it keeps firing until the numbers say otherwise: no traffic is no
proof of recovery, and no breach at all (e.g. no error in the window) resolves it.

deploy/prometheus/alerts.yml states the same rules on the exported metrics, for those who run Alertmanager.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse

from operations import selectors
from operations.latency import latency_summary

COMPARISONS: dict[str, Callable[[float, float], bool]] = {">": operator.gt, "<": operator.lt, ">=": operator.ge}


@dataclass(frozen=True)
class Measurement:
    value: float
    sample: int  # how many events the value was measured on
    detail: str  # the numbers, in words, for the Slack post and the admin


@dataclass(frozen=True)
class AlertRule:
    name: str
    title: str
    window: timedelta
    threshold: float
    comparison: str  # fires while `value <comparison> threshold`
    unit: str  # "ms", "%" or "" (how the value and threshold are written for people)
    measure: Callable[[datetime], Measurement]
    related_admin: Callable[[], str]  # the admin page listing what the numbers count
    needs_sample: bool = True

    def min_sample(self) -> int:
        return settings.ALERT_MIN_SAMPLE if self.needs_sample else 0

    def breached(self, value: float) -> bool:
        return COMPARISONS[self.comparison](value, self.threshold)

    def show(self, value: float) -> str:
        if self.unit == "%":
            return f"{value * 100:.1f} %"
        if self.unit == "ms":
            return f"{value * 1000:.0f} ms"
        return f"{value:g}"

    def window_words(self) -> str:
        seconds = int(self.window.total_seconds())
        if seconds % 86400 == 0:
            return f"{seconds // 86400} d" if seconds > 86400 else "24 h"
        if seconds % 3600 == 0:
            return f"{seconds // 3600} h"
        return f"{seconds // 60} min"


def _percent(ratio: selectors.Ratio, what: str, of: str) -> str:
    return f"{ratio.part} {what} of {ratio.whole} {of}"


def _api_latency(now: datetime) -> Measurement:
    summary = latency_summary(minutes=15, now=now.timestamp())
    return Measurement(
        value=summary.p95_s,
        sample=summary.requests,
        detail=f"P95 {summary.p95_s * 1000:.0f} ms over {summary.requests} API requests",
    )


def _gemini_errors(now: datetime) -> Measurement:
    since = selectors.window_start(timedelta(minutes=15), now=now)
    ratio = selectors.ai_error_rate(provider="gemini", since=since)
    skipped = selectors.ai_calls_skipped(since=since)
    extra = f" ({', '.join(f'{n} {code}' for code, n in sorted(skipped.items()))} without a call)" if skipped else ""
    return Measurement(value=ratio.value, sample=ratio.whole, detail=_percent(ratio, "failed", "Gemini calls") + extra)


def _node_success(now: datetime) -> Measurement:
    runs = selectors.pipeline_runs(since=selectors.window_start(timedelta(hours=1), now=now))
    return Measurement(
        value=runs.success.value,
        sample=runs.total,
        detail=f"{runs.reached_review} of {runs.total} analyses reached review; {runs.needs_review} need manual review",
    )


def _ksuccess(now: datetime) -> Measurement:
    ratio = selectors.ksuccess_conversion(since=selectors.window_start(timedelta(days=30), now=now))
    return Measurement(
        value=ratio.value, sample=ratio.whole, detail=_percent(ratio, "K-Success", "verified participations")
    )


def _jobs_failing(now: datetime) -> Measurement:
    """The worst of: failed runs of one task in the last hour (a frequent job), and the latest runs of one scheduled
    task that failed in a row (a nightly job failing night after night)."""
    failures = selectors.job_failures(since=selectors.window_start(timedelta(hours=1), now=now))
    in_a_row = selectors.jobs_failed_in_a_row(tasks=selectors.scheduled_task_names())
    worst = max([*failures.values(), *in_a_row.values()], default=0)
    parts = [f"{task} ×{n} in the last hour" for task, n in sorted(failures.items(), key=lambda kv: -kv[1]) if n >= 3]
    parts += [f"{task}: last {n} runs failed" for task, n in sorted(in_a_row.items(), key=lambda kv: -kv[1]) if n >= 3]
    return Measurement(
        value=float(worst),
        sample=sum(failures.values()),
        detail="failing: " + ", ".join(parts) if parts else "no task failed 3 times in an hour or 3 runs in a row",
    )


RULES: tuple[AlertRule, ...] = (
    AlertRule(
        name="api_latency_p95",
        title="API latency P95",
        window=timedelta(minutes=15),
        threshold=0.5,
        comparison=">",
        unit="ms",
        measure=_api_latency,
        related_admin=lambda: reverse("admin:index"),
    ),
    AlertRule(
        name="gemini_error_rate",
        title="Gemini error rate",
        window=timedelta(minutes=15),
        threshold=0.05,
        comparison=">",
        unit="%",
        measure=_gemini_errors,
        related_admin=lambda: reverse("admin:ai_aicall_changelist") + "?provider__exact=gemini",
    ),
    AlertRule(
        name="node_creation_success_rate",
        title="Node-creation success rate",
        window=timedelta(hours=1),
        threshold=0.95,
        comparison="<",
        unit="%",
        measure=_node_success,
        related_admin=lambda: reverse("admin:remix_remixnode_changelist") + "?status__exact=needs_review",
    ),
    AlertRule(
        name="ksuccess_conversion",
        title="K-Success conversion",
        window=timedelta(days=30),
        threshold=0.05,
        comparison="<",
        unit="%",
        measure=_ksuccess,
        related_admin=lambda: reverse("admin:campaigns_participation_changelist"),
    ),
    AlertRule(
        name="job_keeps_failing",
        title="A job keeps failing",
        window=timedelta(hours=1),
        threshold=3,
        comparison=">=",
        unit="",
        measure=_jobs_failing,
        related_admin=lambda: reverse("admin:procrastinate_procrastinatejob_changelist") + "?status__exact=failed",
        needs_sample=False,
    ),
)

RULES_BY_NAME = {rule.name: rule for rule in RULES}
