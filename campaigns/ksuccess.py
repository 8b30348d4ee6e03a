"""K-Success: a verified participation whose video reached the campaign's success bar in time.

The bar is `Campaign.success_views` views; the video is the participation's fork, whose posted video the performance
collector reads (genealogy.performance). A participation is certified by the first snapshot of its fork, captured
between the campaign's start and its end plus `success_grace_days`, with views at or above the bar, read from the
participation's own video (a snapshot the collector took of another URL the fork pointed to before or after the
submission counts for nothing; an imported snapshot without a URL counts). A snapshot whose views the platform hid
(NULL) never reaches a bar. Certification
is audited (`participation.k_success`, by the job: no actor), idempotent (a certified participation is never looked
at again, and parallel runs skip rows another holds) and final: a later dip in the counts never takes it back, and a
re-check of the position keeps it (campaigns.participations.participation_verify).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import (
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from accounts.services import audit_log_record
from campaigns.models import Participation, ParticipationStatus
from campaigns.stats import campaign_stats_invalidate
from genealogy.models import NodePerformanceSnapshot

logger = logging.getLogger("kmeme.campaigns")

BATCH = 500


@dataclass
class CertifyReport:
    certified: int = 0
    checked: int = 0

    @property
    def summary(self) -> str:
        return f"K-Success: {self.checked} verified participations checked, {self.certified} certified."


def _deadline() -> ExpressionWrapper:
    return ExpressionWrapper(
        F("campaign__ends_at") + F("campaign__success_grace_days") * Value(timedelta(days=1), DurationField()),
        output_field=DateTimeField(),
    )


def _first_hit(field: str, at: datetime) -> Subquery:
    """The first snapshot of the participation's video at or above its campaign's bar, inside start … deadline,
    known at `at`. One index range scan of the fork's snapshots (node, captured_at)."""
    return Subquery(
        NodePerformanceSnapshot.objects.filter(
            Q(source_url="") | Q(source_url=OuterRef("video")),
            node_id=OuterRef("fork_node_id"),
            views__gte=OuterRef("campaign__success_views"),
            captured_at__gte=OuterRef("campaign__starts_at"),
            captured_at__lte=OuterRef("deadline"),
        )
        .filter(captured_at__lte=at)
        .order_by("captured_at", "id")
        .values(field)[:1]
    )


def participations_due(*, at: datetime | None = None) -> QuerySet[Participation]:
    """Verified participations whose video had reached the bar in time by `at` (default now), with the reaching
    snapshot annotated: `hit_at`, `hit_views`, `hit_id`."""
    at = at or timezone.now()
    return (
        Participation.objects.filter(status=ParticipationStatus.VERIFIED, fork_node__isnull=False)
        # The submitted video; the fork's posted URL for a participation submitted without one.
        .annotate(video=Coalesce(NullIf(F("video_url"), Value("")), F("fork_node__posted_url")))
        .annotate(deadline=_deadline())
        .annotate(hit_at=_first_hit("captured_at", at), hit_views=_first_hit("views", at), hit_id=_first_hit("id", at))
        .filter(hit_at__isnull=False)
    )


def participations_certify_due(*, at: datetime | None = None) -> CertifyReport:
    """Certify every participation due at `at` (default now; see the module), in batches of 500 in id order, each
    batch in its own transaction holding its rows (`FOR UPDATE SKIP LOCKED`: a parallel run, or an editor deciding
    on one of them, is skipped, not waited for). Each batch resumes after the last id of the previous one, so the
    verified participations not due are read once per run, not once per batch. Running again certifies nothing new:
    a certified participation is no longer `verified`."""
    now = at or timezone.now()
    report = CertifyReport(
        checked=Participation.objects.filter(status=ParticipationStatus.VERIFIED, fork_node__isnull=False).count()
    )
    after = 0
    while True:
        with transaction.atomic():
            batch = list(
                participations_due(at=now)
                .filter(pk__gt=after)
                .select_related("campaign")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("id")[:BATCH]
            )
            written = timezone.now()
            for participation in batch:
                participation.status = ParticipationStatus.K_SUCCESS
                participation.k_success_at = participation.hit_at
                participation.k_success_views = participation.hit_views
                participation.k_success_by = None
                participation.updated_at = written  # bulk_update does not apply auto_now
                audit_log_record(
                    actor=None,
                    action="participation.k_success",
                    target=participation,
                    details={
                        "views": participation.hit_views,
                        "bar": participation.campaign.success_views,
                        "snapshot": participation.hit_id,
                        "reached_at": participation.hit_at.isoformat(),
                    },
                )
            Participation.objects.bulk_update(
                batch, ["status", "k_success_at", "k_success_views", "k_success_by", "updated_at"]
            )
            for campaign_id in {p.campaign_id for p in batch}:
                campaign_stats_invalidate(campaign_id=campaign_id)
        report.certified += len(batch)
        if len(batch) < BATCH:
            break
        after = batch[-1].pk
    logger.info(report.summary, extra={"certified": report.certified, "checked": report.checked})
    return report
