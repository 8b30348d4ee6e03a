from __future__ import annotations

from datetime import datetime

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from campaigns.models import (
    Brand,
    BrandMembership,
    Campaign,
    CampaignLocation,
    Participation,
    ParticipationStatus,
    VerificationResult,
)
from kmeme.errors import ApplicationError
from remix.models import Layer, RemixNode


def brand_create(*, name: str, owner: User | None = None) -> Brand:
    brand = Brand(name=name.strip())
    brand.full_clean()
    brand.save()
    if owner is not None:
        BrandMembership.objects.create(brand=brand, user=owner, role=BrandMembership.Role.OWNER)
    return brand


@transaction.atomic
def campaign_create(
    *,
    brand: Brand,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    description: str = "",
    success_views: int = 10_000,
    master_nodes: list[RemixNode] | None = None,
) -> Campaign:
    forks = [node for node in master_nodes or [] if node.layer != Layer.MASTER]
    if forks:
        raise ApplicationError("Campaigns feature master nodes only.", code="campaign_needs_masters")
    campaign = Campaign(
        brand=brand,
        title=title,
        description=description,
        starts_at=starts_at,
        ends_at=ends_at,
        success_views=success_views,
    )
    campaign.full_clean()
    campaign.save()
    if master_nodes:
        campaign.master_nodes.set(master_nodes)
    return campaign


def campaign_location_add(
    *, campaign: Campaign, name: str, longitude: float, latitude: float, radius_m: int = 200, address: str = ""
) -> CampaignLocation:
    location = CampaignLocation(
        campaign=campaign, name=name, address=address, point=Point(longitude, latitude, srid=4326), radius_m=radius_m
    )
    location.full_clean()
    location.save()
    return location


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
