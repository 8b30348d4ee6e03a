"""Creators' participations in campaigns: joining, submitting, the verification that runs at once, and editors'
decisions (audited).

A participation is one row per creator and campaign. It is `joined` first, then submitted with the creator's own
fork of a featured master (or of a descendant of one), the posted video and the position the video was shot at;
verification runs at once and leaves it `verified` or `rejected`, with the reason the creator sees. A rejected one
can be submitted again (the same row: its history is in the audit log).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ConsentKind, Upload, User
from accounts.selectors import consent_current
from accounts.services import audit_log_record
from campaigns.models import (
    Campaign,
    CampaignStatus,
    Participation,
    ParticipationStatus,
    VerificationResult,
)
from campaigns.stats import campaign_stats_invalidate
from kmeme.errors import ApplicationError
from remix.forks import fork_update
from remix.models import Layer, NodeStatus, RemixNode

RESUBMITTABLE = frozenset({ParticipationStatus.JOINED, ParticipationStatus.REJECTED})


def location_consent_check(*, user: User) -> None:
    """403 `consent_required` unless the user's latest location decision is a grant of the current terms."""
    version = settings.CONSENT_TERMS_VERSIONS[ConsentKind.LOCATION]
    consent = consent_current(user=user, kind=ConsentKind.LOCATION)
    if consent is None or not consent.granted or consent.terms_version != version:
        raise ApplicationError(
            _(
                "Sending the position a video was shot at needs your consent to location use for "
                "campaigns (terms version %(version)s): POST /api/v1/me/consents with kind 'location'."
            )
            % {"version": version},
            code="consent_required",
            status_code=403,
            details={"consent": ConsentKind.LOCATION, "terms_version": version},
        )


def _campaign_open(campaign: Campaign, now: datetime) -> None:
    if campaign.status != CampaignStatus.ACTIVE:
        raise ApplicationError(
            _("This campaign is not running."),
            code="campaign_not_active",
            status_code=409,
            details={"status": campaign.status},
        )
    if not (campaign.starts_at <= now <= campaign.ends_at):
        raise ApplicationError(
            _("This campaign's window is closed.")
            if now > campaign.ends_at
            else _("This campaign has not started yet."),
            code="campaign_window_closed",
            status_code=409,
            details={"starts_at": campaign.starts_at.isoformat(), "ends_at": campaign.ends_at.isoformat()},
        )


@transaction.atomic
def participation_join(*, campaign: Campaign, creator: User, at: datetime | None = None) -> Participation:
    """The creator joins a running campaign (409 `already_participating` the second time)."""
    _campaign_open(campaign, at or timezone.now())
    participation = Participation(campaign=campaign, creator=creator, status=ParticipationStatus.JOINED)
    try:
        with transaction.atomic():
            participation.save()
    except IntegrityError as exc:
        raise ApplicationError(
            _("You have already joined this campaign."), code="already_participating", status_code=409
        ) from exc
    audit_log_record(actor=creator, action="participation.join", target=participation, details={})
    campaign_stats_invalidate(campaign_id=campaign.pk)
    return participation


def featured_origin(*, campaign: Campaign, node: RemixNode) -> RemixNode | None:
    """The campaign's featured master that `node` derives from (itself a fork of it, or of one of its descendants,
    through any chain of edges, whoever can see the nodes in between); None when it derives from none. One query."""
    featured = list(campaign.master_nodes.values_list("id", flat=True))
    if not featured:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE up(id) AS (
                SELECT parent_id FROM remix_mutation WHERE child_id = %s
              UNION
                SELECT m.parent_id FROM up JOIN remix_mutation m ON m.child_id = up.id
            )
            SELECT id FROM up WHERE id = ANY(%s) LIMIT 1
            """,
            [node.pk, featured],
        )
        row = cursor.fetchone()
    return RemixNode.objects.get(pk=row[0]) if row else None


@transaction.atomic
def participation_submit(
    *,
    campaign: Campaign,
    creator: User,
    video_url: str,
    longitude: float | None,
    latitude: float | None,
    fork_node: RemixNode | None = None,
    upload: Upload | None = None,
    at: datetime | None = None,
) -> Participation:
    """Submit (or, after a rejection, submit again): the fork, its posted video and where it was shot. Joins on the
    way when the creator has not. Refusals are 4xx with nothing written: the campaign not running or outside its
    window (409), a fork that is not the creator's (403 `fork_not_yours`) or not a fork (400 `not_a_fork`), a
    position without location consent (403 `consent_required`), a draft fork (409 `fork_not_published`: only
    published remixes have their views followed), a participation already verified (409). A
    submission that is checked and fails is not a refusal: it is recorded as rejected, with the reason. `upload` is
    the video as shot, one of the creator's own completed uploads (remix.services.upload_usable finds it); the views
    that decide K-Success are still those of a posted video (`video_url`, or the fork's posted link)."""
    now = at or timezone.now()
    if upload is not None and upload.owner_id != creator.pk:
        raise ApplicationError(_("No such upload."), code="not_found", status_code=404)
    _campaign_open(campaign, now)
    if fork_node is not None:
        if fork_node.owner_id != creator.pk:
            raise ApplicationError(_("You can only submit your own fork."), code="fork_not_yours", status_code=403)
        if fork_node.layer != Layer.FORK:
            raise ApplicationError(_("Submit your fork of a featured master, not a master."), code="not_a_fork")
        if fork_node.status != NodeStatus.PUBLISHED:
            raise ApplicationError(
                _("Publish your fork first: its posted video's views are followed only for published remixes."),
                code="fork_not_published",
                status_code=409,
            )
    if longitude is not None and latitude is not None:
        location_consent_check(user=creator)
        position = Point(longitude, latitude, srid=4326)
    else:
        position = None
    participation = Participation.objects.select_for_update().filter(campaign=campaign, creator=creator).first()
    if participation is None:
        participation = Participation(campaign=campaign, creator=creator, status=ParticipationStatus.JOINED)
    elif participation.status not in RESUBMITTABLE:
        raise ApplicationError(
            _("This participation is already verified; it cannot be submitted again."),
            code="already_participating",
            status_code=409,
            details={"status": participation.status},
        )
    before = participation.status if participation.pk else None
    participation.video_url, participation.fork_node, participation.claimed_position = video_url, fork_node, position
    participation.upload = upload
    participation.submitted_at = now
    participation.submissions += 1
    participation.decision_reason = ""
    participation.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            participation.save()
    except IntegrityError as exc:  # a parallel first submission won the row
        raise ApplicationError(
            _("You have already joined this campaign."), code="already_participating", status_code=409
        ) from exc
    if fork_node is not None and video_url and fork_node.posted_url != video_url:
        fork_update(fork=fork_node, user=creator, posted_url=video_url)  # its snapshots follow the posted video
    participation_verify(participation=participation, at=now)
    audit_log_record(
        actor=creator,
        action="participation.submit",
        target=participation,
        details={
            "before": before,
            "after": participation.status,
            "verification_result": participation.verification_result,
            "distance_m": participation.distance_m,
            "submission": participation.submissions,
        },
    )
    return participation


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{metres:.0f} m"


def participation_verify(*, participation: Participation, at: datetime | None = None) -> Participation:
    """The checks, in order: the campaign running and inside its window, the fork derived from a featured master,
    the claimed position inside the radius of some location (geography distance in metres, recorded)."""
    now = at or timezone.now()
    campaign = participation.campaign
    result, nearest, reason = VerificationResult.WITHIN_RADIUS, None, ""
    position, fork = participation.claimed_position, participation.fork_node
    if position is not None:
        nearest = campaign.locations.annotate(distance=Distance("point", position)).order_by("distance", "id").first()
    if campaign.status != CampaignStatus.ACTIVE:
        result, reason = VerificationResult.CAMPAIGN_INACTIVE, f"The campaign is {campaign.get_status_display()}."
    elif not (campaign.starts_at <= now <= campaign.ends_at):
        result = VerificationResult.OUTSIDE_WINDOW
        reason = f"Outside the campaign window ({campaign.starts_at:%Y-%m-%d} – {campaign.ends_at:%Y-%m-%d})."
    elif fork is not None and featured_origin(campaign=campaign, node=fork) is None:
        result, reason = VerificationResult.NOT_DERIVED, "The fork is not derived from any of the campaign's masters."
    elif position is None:
        result, reason = VerificationResult.NO_POSITION, "No position was given."
    elif nearest is None or nearest.distance.m > nearest.radius_m:
        result = VerificationResult.OUT_OF_RADIUS
        reason = (
            "The campaign has no location."
            if nearest is None
            else f"{_km(nearest.distance.m)} from the nearest location, {nearest.name}, "
            f"whose radius is {_km(nearest.radius_m)}."
        )
    else:
        reason = f"{_km(nearest.distance.m)} from {nearest.name} (radius {_km(nearest.radius_m)})."
    ok = result == VerificationResult.WITHIN_RADIUS
    participation.verification_result = result
    participation.verification_reason = reason
    if participation.status != ParticipationStatus.K_SUCCESS:  # a certification is never taken back by a check
        participation.status = ParticipationStatus.VERIFIED if ok else ParticipationStatus.REJECTED
    participation.location = nearest
    participation.distance_m = round(nearest.distance.m, 1) if nearest is not None else None
    participation.verified_at = now
    campaign_stats_invalidate(campaign_id=participation.campaign_id)
    participation.save(
        update_fields=[
            "verification_result",
            "verification_reason",
            "status",
            "location",
            "distance_m",
            "verified_at",
            "updated_at",
        ]
    )
    return participation


def _participation_decide(
    participation: Participation, *, to: str, actor: User, action: str, reason: str = ""
) -> Participation:
    locked = Participation.objects.select_for_update().get(pk=participation.pk)
    before = locked.status
    locked.status = to
    locked.decision_reason = reason
    locked.save(update_fields=["status", "decision_reason", "updated_at"])
    campaign_stats_invalidate(campaign_id=locked.campaign_id)
    audit_log_record(actor=actor, action=action, target=locked, details={"from": before, "to": to, "reason": reason})
    participation.status, participation.updated_at = locked.status, locked.updated_at
    participation.decision_reason = locked.decision_reason
    return participation


@transaction.atomic
def participation_reverify(*, participation: Participation, actor: User) -> Participation:
    """Check a participation's position again (e.g. after a location was corrected). Audited."""
    if participation.status == ParticipationStatus.JOINED:
        raise ApplicationError(_("Nothing has been submitted yet."), code="invalid_transition", status_code=409)
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
        raise ApplicationError(_("Say why the participation is rejected."), code="reason_required")
    if participation.status == ParticipationStatus.REJECTED:
        raise ApplicationError(_("This participation is already rejected."), code="invalid_transition", status_code=409)
    return _participation_decide(
        participation, to=ParticipationStatus.REJECTED, actor=actor, action="participation.reject", reason=reason
    )


@transaction.atomic
def participation_certify(*, participation: Participation, actor: User, reason: str) -> Participation:
    """An editor certifies a verified participation as K-Success by hand (e.g. the platform hides its view count
    and the brand confirmed it), with the reason: audited, and the editor recorded as who certified it. The job
    (campaigns.ksuccess) certifies from view counts without anyone."""
    if not reason.strip():
        raise ApplicationError(_("Say why this participation is certified by hand."), code="reason_required")
    locked = Participation.objects.select_for_update().get(pk=participation.pk)
    if locked.status != ParticipationStatus.VERIFIED:
        raise ApplicationError(
            _("Only a participation whose location was verified can be certified K-Success."),
            code="invalid_transition",
            status_code=409,
            details={"from": locked.status, "to": ParticipationStatus.K_SUCCESS},
        )
    locked.status = ParticipationStatus.K_SUCCESS
    locked.k_success_at, locked.k_success_by, locked.k_success_views = timezone.now(), actor, None
    locked.decision_reason = reason.strip()
    locked.save(
        update_fields=["status", "k_success_at", "k_success_by", "k_success_views", "decision_reason", "updated_at"]
    )
    campaign_stats_invalidate(campaign_id=locked.campaign_id)
    audit_log_record(
        actor=actor,
        action="participation.certify",
        target=locked,
        details={"from": ParticipationStatus.VERIFIED, "to": ParticipationStatus.K_SUCCESS, "reason": reason.strip()},
    )
    participation.status, participation.k_success_at = locked.status, locked.k_success_at
    participation.k_success_by, participation.decision_reason = actor, locked.decision_reason
    return participation
