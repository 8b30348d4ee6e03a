"""Creators' participations in campaigns: submission, the location check, and editors' decisions (audited)."""

from __future__ import annotations

from datetime import datetime

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_log_record
from campaigns.models import (
    Campaign,
    Participation,
    ParticipationStatus,
    VerificationResult,
)
from kmeme.errors import ApplicationError
from remix.models import RemixNode


@transaction.atomic
def participation_submit(
    *,
    campaign: Campaign,
    creator: User,
    video_url: str,
    longitude: float | None,
    latitude: float | None,
    fork_node: RemixNode | None = None,
    at: datetime | None = None,
) -> Participation:
    """Record a creator's submission and verify its claimed position against the campaign's locations."""
    position = Point(longitude, latitude, srid=4326) if longitude is not None and latitude is not None else None
    participation = Participation(
        campaign=campaign, creator=creator, video_url=video_url, fork_node=fork_node, claimed_position=position
    )
    participation.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            participation.save()
    except IntegrityError as exc:
        raise ApplicationError(
            "You have already joined this campaign.", code="already_participating", status_code=409
        ) from exc
    participation_verify(participation=participation, at=at)
    return participation


def participation_verify(*, participation: Participation, at: datetime | None = None) -> Participation:
    """Check the claimed position: within a location's radius and within the campaign window."""
    now = at or timezone.now()
    campaign = participation.campaign
    result, status, nearest = VerificationResult.NO_POSITION, ParticipationStatus.REJECTED, None
    if not (campaign.starts_at <= now <= campaign.ends_at):
        result = VerificationResult.OUTSIDE_WINDOW
    elif participation.claimed_position is not None:
        nearest = (
            campaign.locations.annotate(distance=Distance("point", participation.claimed_position))
            .order_by("distance")
            .first()
        )
        if nearest is None or nearest.distance.m > nearest.radius_m:
            result = VerificationResult.OUT_OF_RADIUS
        else:
            result, status = VerificationResult.WITHIN_RADIUS, ParticipationStatus.VERIFIED
    participation.verification_result = result
    participation.status = status
    participation.location = nearest
    participation.distance_m = round(nearest.distance.m, 1) if nearest is not None else None
    participation.verified_at = now
    participation.save(
        update_fields=["verification_result", "status", "location", "distance_m", "verified_at", "updated_at"]
    )
    return participation


def _participation_decide(
    participation: Participation, *, to: str, actor: User, action: str, reason: str = ""
) -> Participation:
    locked = Participation.objects.select_for_update().get(pk=participation.pk)
    before = locked.status
    locked.status = to
    locked.save(update_fields=["status", "updated_at"])
    audit_log_record(actor=actor, action=action, target=locked, details={"from": before, "to": to, "reason": reason})
    participation.status, participation.updated_at = locked.status, locked.updated_at
    return participation


@transaction.atomic
def participation_reverify(*, participation: Participation, actor: User) -> Participation:
    """Check a participation's position again (e.g. after a location was corrected). Audited."""
    before = (participation.status, participation.verification_result)
    participation_verify(participation=participation)
    audit_log_record(
        actor=actor,
        action="participation.verify",
        target=participation,
        details={
            "before": {"status": before[0], "verification_result": before[1]},
            "after": {"status": participation.status, "verification_result": participation.verification_result},
        },
    )
    return participation


@transaction.atomic
def participation_reject(*, participation: Participation, actor: User, reason: str) -> Participation:
    """An editor turns a participation down (e.g. the video does not show the location). A reason is required."""
    if not reason.strip():
        raise ApplicationError("Say why the participation is rejected.", code="reason_required")
    if participation.status == ParticipationStatus.REJECTED:
        raise ApplicationError("This participation is already rejected.", code="invalid_transition", status_code=409)
    return _participation_decide(
        participation, to=ParticipationStatus.REJECTED, actor=actor, action="participation.reject", reason=reason
    )


@transaction.atomic
def participation_certify(*, participation: Participation, actor: User) -> Participation:
    """Certify a verified participation as K-Success (an editor's call until view counts are collected)."""
    if participation.status != ParticipationStatus.VERIFIED:
        raise ApplicationError(
            "Only a participation whose location was verified can be certified K-Success.",
            code="invalid_transition",
            status_code=409,
            details={"from": participation.status, "to": ParticipationStatus.K_SUCCESS},
        )
    return _participation_decide(
        participation, to=ParticipationStatus.K_SUCCESS, actor=actor, action="participation.certify"
    )
