"""The figures operators watch, read from the database (and Redis) at the moment they are asked for: one query each.

The /metrics collector (operations.metrics) exports them as gauges; the alert rules (operations.alerts) decide on the
very same functions, so a gauge and its alert can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from procrastinate.contrib.django import app

from accounts.models import AuditLog
from campaigns.models import Participation, ParticipationStatus
from campaigns.stats import VERIFIED_STATUSES
from kmeme.ai.budget import budget_month_spend
from kmeme.ai.models import AICall, AICallStatus
from remix.models import NodeStatus, RemixNode, VideoAnalysis

# Settled calls: what a provider was asked and answered (or failed to). In-flight reservations and budget refusals
# (the provider was never asked) are not calls of the provider.
SETTLED = (AICallStatus.OK, AICallStatus.ERROR, AICallStatus.INTERRUPTED)
FAILED = (AICallStatus.ERROR, AICallStatus.INTERRUPTED)
# A pipeline run that wanted Gemini but never reached it leaves no ledger row, only its fallback analysis: Gemini
# was not configured, or its circuit was open after repeated failures. Both count as failed Gemini calls.
SKIPPED_CODES = ("not_configured", "circuit_open")
REVIEW_STATUSES = (NodeStatus.IN_REVIEW, NodeStatus.NEEDS_REVIEW)


@dataclass(frozen=True)
class Ratio:
    part: int
    whole: int

    @property
    def value(self) -> float:
        """part ÷ whole, 0 when there is nothing to divide."""
        return self.part / self.whole if self.whole else 0.0


@dataclass(frozen=True)
class ModelCalls:
    provider: str
    model: str
    calls: int  # settled calls
    errors: int  # of them, failed or interrupted
    refused: int  # refused by the monthly budget (never sent)


def ai_calls_by_model(*, since: datetime) -> list[ModelCalls]:
    """Every provider and model's calls since `since`, from the ledger."""
    rows = (
        AICall.objects.filter(created_at__gte=since)
        .order_by()
        .values("provider", "model")
        .annotate(
            calls=Count("id", filter=Q(status__in=SETTLED)),
            errors=Count("id", filter=Q(status__in=FAILED)),
            refused=Count("id", filter=Q(status=AICallStatus.REFUSED_BUDGET)),
        )
        .order_by("provider", "model")
    )
    return [ModelCalls(**row) for row in rows]


def ai_calls_skipped(*, since: datetime) -> dict[str, int]:
    """Gemini analyses that ended without a call since `since` because Gemini was unconfigured or paused (its circuit
    open), by the reason's code."""
    rows = (
        VideoAnalysis.objects.filter(
            created_at__gte=since,
            raw_output__fallback__provider="gemini",
            raw_output__fallback__code__in=SKIPPED_CODES,
        )
        .order_by()
        .values("raw_output__fallback__code")
        .annotate(n=Count("id"))
    )
    return {row["raw_output__fallback__code"]: row["n"] for row in rows}


def ai_error_rate(*, provider: str, since: datetime) -> Ratio:
    """Failed calls ÷ calls of `provider` since `since`: the ledger's settled calls, plus (for Gemini) the analyses
    that could not call it at all (`ai_calls_skipped`)."""
    counts = AICall.objects.filter(provider=provider, created_at__gte=since).aggregate(
        calls=Count("id", filter=Q(status__in=SETTLED)), errors=Count("id", filter=Q(status__in=FAILED))
    )
    skipped = sum(ai_calls_skipped(since=since).values()) if provider == "gemini" else 0
    return Ratio(part=counts["errors"] + skipped, whole=counts["calls"] + skipped)


@dataclass(frozen=True)
class PipelineRuns:
    reached_review: int  # analysing → in review: the AI analysed and briefed it
    needs_review: int  # analysing → needs manual review: a fallback, or the job gave up
    fell_back: int  # nodes whose last run in the window went without AI (rule-based brief or manual review)

    @property
    def total(self) -> int:
        return self.reached_review + self.needs_review

    @property
    def success(self) -> Ratio:
        return Ratio(part=self.reached_review, whole=self.total)

    @property
    def fallback(self) -> Ratio:
        return Ratio(part=min(self.fell_back, self.total), whole=self.total)


def pipeline_runs(*, since: datetime) -> PipelineRuns:
    """The analysis runs that ended since `since`: every move out of `analyzing` made by the pipeline (no actor) is
    in the audit log, with where it went. A run fell back when it left a fallback on its node (`fallback_at`)."""
    counts = AuditLog.objects.filter(
        action="node.transition", actor__isnull=True, created_at__gte=since, details__from=NodeStatus.ANALYZING
    ).aggregate(
        reached_review=Count("id", filter=Q(details__to=NodeStatus.IN_REVIEW)),
        needs_review=Count("id", filter=Q(details__to=NodeStatus.NEEDS_REVIEW)),
    )
    fell_back = RemixNode.objects.filter(fallback_at__gte=since).count()
    return PipelineRuns(**counts, fell_back=fell_back)


@dataclass(frozen=True)
class Backlog:
    status: str
    nodes: int
    oldest_s: float  # how long the longest-waiting node has waited, 0 with none


def review_backlog(*, now: datetime | None = None) -> list[Backlog]:
    """Nodes waiting for an editor (in review, needs manual review), and the wait of the oldest: since its analysis
    was requested (its creation, if it never was)."""
    now = now or timezone.now()
    rows = {
        row["status"]: row
        for row in RemixNode.objects.filter(status__in=REVIEW_STATUSES)
        .order_by()
        .values("status")
        .annotate(n=Count("id"), oldest=Min(Coalesce("analysis_requested_at", "created_at")))
    }
    result = []
    for status in REVIEW_STATUSES:
        row = rows.get(status)
        oldest = max((now - row["oldest"]).total_seconds(), 0.0) if row else 0.0
        result.append(Backlog(status=str(status), nodes=row["n"] if row else 0, oldest_s=oldest))
    return result


def ksuccess_conversion(*, since: datetime | None = None) -> Ratio:
    """K-Success ÷ verified-or-K-Success participations (all of them, or those verified since `since`)."""
    rows = Participation.objects.filter(status__in=VERIFIED_STATUSES)
    if since is not None:
        rows = rows.filter(verified_at__gte=since)
    counts = rows.aggregate(verified=Count("id"), k_success=Count("id", filter=Q(status=ParticipationStatus.K_SUCCESS)))
    return Ratio(part=counts["k_success"], whole=counts["verified"])


@dataclass(frozen=True)
class Spend:
    spent_usd: Decimal
    cap_usd: Decimal

    @property
    def ratio(self) -> float:
        return float(self.spent_usd / self.cap_usd) if self.cap_usd else 0.0


def llm_spend() -> Spend:
    """This month's spend (settled plus reserved, kmeme.ai.budget) against LLM_MONTHLY_CAP."""
    return Spend(spent_usd=budget_month_spend(), cap_usd=Decimal(str(settings.LLM_MONTHLY_CAP)))


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    waiting: int  # due now and not started
    scheduled: int  # waiting for a later time (a retry's backoff, a deferred schedule)
    running: int
    oldest_waiting_s: float  # how long the longest-waiting due job has waited, 0 with none


_QUEUES_SQL = """
SELECT j.queue_name,
       count(*) FILTER (WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())),
       count(*) FILTER (WHERE j.status = 'todo' AND j.scheduled_at > now()),
       count(*) FILTER (WHERE j.status = 'doing'),
       COALESCE(EXTRACT(EPOCH FROM now() - min(
           COALESCE(j.scheduled_at, (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id))
       ) FILTER (WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now()))), 0)
FROM procrastinate_jobs j
WHERE j.status IN ('todo', 'doing')
GROUP BY j.queue_name
ORDER BY j.queue_name
"""


def job_queues() -> list[QueueDepth]:
    """Queued and running jobs per queue (procrastinate's table), and the age of the oldest due job: since it was
    deferred, or since the time it was scheduled for."""
    with connection.cursor() as cursor:
        cursor.execute(_QUEUES_SQL)
        return [
            QueueDepth(queue=q, waiting=w, scheduled=s, running=r, oldest_waiting_s=max(float(age), 0.0))
            for q, w, s, r, age in cursor.fetchall()
        ]


_FAILURES_SQL = """
SELECT j.task_name, count(*)
FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id
WHERE e.type IN ('failed', 'deferred_for_retry') AND e.at >= %s
GROUP BY j.task_name
ORDER BY j.task_name
"""


def job_failures(*, since: datetime) -> dict[str, int]:
    """Failed job runs per task since `since`: runs that raised, whether procrastinate retries them or not (an index
    of operations' migration 0002 answers it)."""
    with connection.cursor() as cursor:
        cursor.execute(_FAILURES_SQL, [since])
        return dict(cursor.fetchall())


_IN_A_ROW_SQL = """
SELECT t.name, ARRAY(
    SELECT j.status::text FROM procrastinate_jobs j
    WHERE j.task_name = t.name AND j.status IN ('succeeded', 'failed')
    ORDER BY j.id DESC
    LIMIT %s
)
FROM unnest(%s::text[]) AS t(name)
"""


def scheduled_task_names() -> list[str]:
    """The periodic tasks the worker's scheduler runs."""
    return sorted({p.task.name for p in app.periodic_registry.periodic_tasks.values()})


def jobs_failed_in_a_row(*, tasks: list[str], runs: int = 10) -> dict[str, int]:
    """For each of `tasks`, how many of its latest finished runs (up to `runs`) failed in a row: a nightly job that
    failed the last three nights shows 3 (an hour's window never sees more than one of its runs). Tasks whose
    latest run succeeded are left out. One query (an index of operations' migration 0003)."""
    with connection.cursor() as cursor:
        cursor.execute(_IN_A_ROW_SQL, [runs, tasks])
        rows = cursor.fetchall()
    streaks = {}
    for task, statuses in rows:
        streak = next((i for i, status in enumerate(statuses) if status != "failed"), len(statuses))
        if streak:
            streaks[task] = streak
    return streaks


def window_start(window: timedelta, *, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - window
