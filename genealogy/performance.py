"""The performance collector: each published node's public counters, read from its own video on its platform.

Which URL: a master's `source_url`; a fork's `posted_url` (the creator's own video, set through the API once
posted). A fork without one is skipped: its source_url may be its master's video, whose counts are not its own.

When (`snapshot_next_due`): from publication, hourly while the node is younger than 3 days, then daily up to 60
days, then never. The job (genealogy.tasks, hourly) and `manage.py snapshots_collect` pick the due nodes, oldest
attempt first, and read each through kmeme.media.stats (yt-dlp, metadata only, behind the SSRF guard) within a
per-platform rate limit counted in Redis (PERFORMANCE_READS_PER_MINUTE). A URL that fails is noted on the node's
NodePerformanceTracking row (code and message, shown in the admin), logged and counted; the run goes on.

Reading "views at age 7 days" for a node: `snapshot_at_age(node=…, age=timedelta(days=7))`, or the same filter
inside a query (genealogy.strategies._views_at_age).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from genealogy.models import NodePerformanceSnapshot, SnapshotSource
from genealogy.services import snapshot_record, tracking_record
from genealogy.strategies import strategy_cache_drop
from kmeme.media.stats import VideoStats, media_stats_read
from kmeme.media.types import MediaError
from kmeme.platforms import Platform, platform_from_url
from remix.models import Layer, NodeStatus, RemixNode

logger = logging.getLogger("kmeme.performance")

HOURLY_UNTIL = timedelta(days=3)  # younger than this: a snapshot an hour
DAILY_UNTIL = timedelta(days=60)  # up to this age: a snapshot a day; older: none
HOURLY = timedelta(hours=1)
DAILY = timedelta(days=1)
# An hourly job started at :07 sees the last attempt 59 min 58 s ago; a few minutes' slack keeps it on schedule.
SLACK = timedelta(minutes=5)
RATE_WINDOW_S = 60


# --- when -----------------------------------------------------------------------------------------------------


def snapshot_interval(*, age: timedelta) -> timedelta | None:
    """How often a node of this age (since publication) is read: hourly, daily, or never (None)."""
    if age < HOURLY_UNTIL:
        return HOURLY
    if age <= DAILY_UNTIL:
        return DAILY
    return None


def snapshot_next_due(
    *, published_at: datetime, last_attempt_at: datetime | None, now: datetime | None = None
) -> datetime | None:
    """When a node is next read: at once if never tried, else one interval (by its age at the last try) after the
    last try; None (never again) once the node, or that next read, is past 60 days of age."""
    now = now or timezone.now()
    if now - published_at > DAILY_UNTIL:
        return None
    if last_attempt_at is None:
        return published_at
    interval = snapshot_interval(age=last_attempt_at - published_at)
    if interval is None or last_attempt_at + interval - published_at > DAILY_UNTIL:
        return None
    return last_attempt_at + interval


def snapshot_is_due(*, published_at: datetime, last_attempt_at: datetime | None, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    due = snapshot_next_due(published_at=published_at, last_attempt_at=last_attempt_at, now=now)
    return due is not None and due <= now + SLACK


def node_snapshot_url(*, node: RemixNode) -> str:
    """The video a node's snapshots follow: a fork's own posted video, a master's source; "" for none."""
    return node.posted_url if node.layer == Layer.FORK else node.source_url


def nodes_due_for_snapshot(*, now: datetime | None = None) -> QuerySet[RemixNode]:
    """Published nodes whose next snapshot is due (the SQL form of snapshot_is_due), never-tried first, then the
    longest-waiting. Forks without a posted URL, and masters made from an upload (no public page to read), are left
    out."""
    now = now or timezone.now()
    attempt = F("performance_tracking__last_attempt_at")
    young_at_attempt = Q(performance_tracking__last_attempt_at__lt=F("published_at") + HOURLY_UNTIL)
    return (
        RemixNode.objects.filter(status=NodeStatus.PUBLISHED, published_at__gte=now - DAILY_UNTIL)
        .filter((Q(layer=Layer.MASTER) & ~Q(platform=Platform.UPLOAD)) | (Q(layer=Layer.FORK) & ~Q(posted_url="")))
        .filter(
            Q(performance_tracking__isnull=True)
            | Q(performance_tracking__last_attempt_at__isnull=True)
            | (young_at_attempt & Q(performance_tracking__last_attempt_at__lte=now - HOURLY + SLACK))
            | (
                ~young_at_attempt
                & Q(performance_tracking__last_attempt_at__lte=now - DAILY + SLACK)
                & Q(performance_tracking__last_attempt_at__lt=F("published_at") + DAILY_UNTIL - DAILY)
            )
        )
        .order_by(attempt.asc(nulls_first=True), "published_at", "id")
        .only("id", "layer", "source_url", "posted_url", "published_at")
    )


def snapshot_at_age(*, node: RemixNode, age: timedelta, tolerance: timedelta = DAILY) -> NodePerformanceSnapshot | None:
    """The latest snapshot at or before published_at + age, no older than `tolerance` before it (how the strategy
    stats read "views at age 7 days"); None for an unpublished node or when there is none in that window."""
    if node.published_at is None:
        return None
    at = node.published_at + age
    return (
        NodePerformanceSnapshot.objects.filter(node=node, captured_at__lte=at, captured_at__gte=at - tolerance)
        .order_by("-captured_at")
        .first()
    )


# --- the rate limit --------------------------------------------------------------------------------------------


def reads_per_minute(platform: str) -> int:
    limits = settings.PERFORMANCE_READS_PER_MINUTE
    return int(limits.get(platform, limits.get("default", 30)))


def rate_take(*, platform: str) -> bool:
    """Take one read of `platform` from this minute's allowance in Redis (shared by every worker and command);
    False when it is used up. `cache.add` then `incr`: atomic, so parallel runs cannot overshoot between them."""
    window = int(time.time() // RATE_WINDOW_S)
    key = f"performance:reads:{platform}:{window}"
    cache.add(key, 0, timeout=RATE_WINDOW_S * 2)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=RATE_WINDOW_S * 2)
        used = 1
    return used <= reads_per_minute(platform)


def _seconds_to_next_window() -> float:
    return RATE_WINDOW_S - (time.time() % RATE_WINDOW_S) + 0.05


# --- one node, and a run -----------------------------------------------------------------------------------------

RECORDED, FAILED, RATE_LIMITED = "recorded", "failed", "rate_limited"


@dataclass(frozen=True)
class ReadFailure:
    node_id: int
    url: str
    code: str
    message: str


@dataclass
class CollectReport:
    due: int = 0
    recorded: int = 0
    failed: int = 0
    rate_limited: int = 0
    failures: list[ReadFailure] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (
            f"Performance snapshots: {self.due} due, {self.recorded} recorded, {self.failed} failed, "
            f"{self.rate_limited} left for the next run (rate limit)."
        )


def node_snapshot_take(*, node: RemixNode, url: str | None = None) -> tuple[str, ReadFailure | None]:
    """Read one node's counters now and record them, or note why not; never raises for a bad URL or platform."""
    url = url if url is not None else node_snapshot_url(node=node)
    code, message, stats = "", "", None
    try:
        stats = media_stats_read(url=url)
    except MediaError as exc:
        code, message = exc.code, exc.message
        reason = (exc.details or {}).get("reason")
        if reason:
            message = f"{message} ({reason})"
    except Exception as exc:  # one broken page or extractor must not stop the run
        logger.exception("performance read crashed", extra={"node_id": node.pk, "url": url})
        code, message = "read_failed", f"{type(exc).__name__}: {exc}"
    if stats is not None and not stats.exposes_any:
        code, message = "no_counts", "The page shows no views, likes, comments or shares."
    at = timezone.now()
    with transaction.atomic():
        if not code and stats is not None:
            _record(node=node, url=url, stats=stats, at=at)
        tracking_record(node=node, url=url, at=at, error_code=code, error=message)
    if code:
        logger.warning("performance read failed: %s", message, extra={"node_id": node.pk, "url": url, "code": code})
        return FAILED, ReadFailure(node_id=node.pk, url=url, code=code, message=message)
    return RECORDED, None


def _record(*, node: RemixNode, url: str, stats: VideoStats, at: datetime) -> None:
    snapshot_record(
        node=node,
        captured_at=at,
        views=stats.views,
        likes=stats.likes,
        comments=stats.comments,
        shares=stats.shares,
        source=SnapshotSource.YTDLP,
        source_url=url,
    )


def performance_collect(
    *,
    limit: int | None = None,
    batch_size: int = 100,
    max_wait_s: float = 0.0,
    progress: Callable[[Iterable[int], int], Iterable[int]] | None = None,
) -> CollectReport:
    """Read every due node (at most `limit`), `batch_size` nodes loaded at a time. A platform whose per-minute
    allowance is used up is passed over and its nodes tried again once the window turns, while `max_wait_s`
    lasts; those still unread then count as `rate_limited` and stay due for the next run. `progress` wraps the
    iteration over node ids (the command's progress bar)."""
    due_ids = list(nodes_due_for_snapshot().values_list("id", flat=True)[: limit or None])
    report = CollectReport(due=len(due_ids))
    ids: Iterable[int] = progress(due_ids, len(due_ids)) if progress else due_ids
    waiting: list[int] = []
    batch: list[int] = []
    for node_id in ids:
        batch.append(node_id)
        if len(batch) >= batch_size:
            waiting += _collect_batch(batch, report)
            batch = []
    if batch:
        waiting += _collect_batch(batch, report)
    give_up_at = time.monotonic() + max_wait_s
    while waiting and time.monotonic() + _seconds_to_next_window() <= give_up_at:
        time.sleep(_seconds_to_next_window())
        retry, waiting = waiting, []
        for start in range(0, len(retry), batch_size):
            waiting += _collect_batch(retry[start : start + batch_size], report)
    report.rate_limited = len(waiting)
    if report.recorded:
        strategy_cache_drop()
    logger.info(
        report.summary,
        extra={
            "due": report.due,
            "recorded": report.recorded,
            "failed": report.failed,
            "rate_limited": report.rate_limited,
        },
    )
    return report


def _collect_batch(node_ids: list[int], report: CollectReport) -> list[int]:
    """Read a batch; returns the ids passed over for the rate limit."""
    nodes = RemixNode.objects.filter(pk__in=node_ids).only("id", "layer", "source_url", "posted_url", "published_at")
    passed_over = []
    for node in sorted(nodes, key=lambda n: node_ids.index(n.pk)):
        url = node_snapshot_url(node=node)
        if not url:
            continue
        if not rate_take(platform=platform_from_url(url)):
            passed_over.append(node.pk)
            continue
        _, failure = node_snapshot_take(node=node, url=url)
        if failure is not None:
            report.failed += 1
            report.failures.append(failure)
        else:
            report.recorded += 1
    return passed_over
