"""Reads of campaigns: what creators find near them, and what a brand member may see of their own brands."""

from __future__ import annotations

from datetime import datetime

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.db.models import Min, OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from campaigns.models import Brand, Campaign, CampaignLocation, CampaignStatus, Participation
from remix.models import NodeStatus, RemixNode

NEAR_MAX_RADIUS_M = 50_000
NEAR_LIMIT = 50


def campaigns_running(*, at: datetime | None = None) -> QuerySet[Campaign]:
    """Active campaigns inside their window."""
    now = at or timezone.now()
    return Campaign.objects.filter(status=CampaignStatus.ACTIVE, starts_at__lte=now, ends_at__gte=now)


def campaigns_near(
    *, latitude: float, longitude: float, radius_m: float, at: datetime | None = None, limit: int = NEAR_LIMIT
) -> list[Campaign]:
    """Running campaigns with a location within `radius_m` of the point, nearest first, each annotated with
    `distance_m` (to its nearest location) and `nearest_location_id`. One query: the locations are filtered with
    ST_DWithin on the geography index, then grouped per campaign."""
    here = Point(longitude, latitude, srid=4326)
    nearby = CampaignLocation.objects.filter(
        campaign__in=campaigns_running(at=at), point__dwithin=(here, D(m=radius_m))
    ).annotate(distance=Distance("point", here))
    nearest = nearby.filter(campaign=OuterRef("pk")).order_by("distance", "id")
    campaigns = (
        Campaign.objects.filter(pk__in=nearby.values("campaign"))
        .annotate(
            distance=Subquery(nearest.values("distance")[:1]),
            nearest_location_id=Subquery(nearest.values("id")[:1]),
        )
        .select_related("brand")
        .order_by("distance", "id")[:limit]
    )
    result = list(campaigns)
    for campaign in result:
        campaign.distance_m = round(campaign.distance.m, 1)
    return result


def campaign_public_detail(*, campaign_id: int) -> Campaign | None:
    """A running campaign with its locations and published featured masters, for creators; None otherwise."""
    return (
        campaigns_running()
        .filter(pk=campaign_id)
        .select_related("brand")
        .prefetch_related(
            "locations",
            Prefetch(
                "master_nodes",
                queryset=RemixNode.objects.filter(status=NodeStatus.PUBLISHED).order_by("id"),
                to_attr="featured",
            ),
        )
        .first()
    )


def brands_of(*, user: User) -> QuerySet[Brand]:
    return Brand.objects.filter(memberships__user=user)


def brand_campaigns(*, user: User) -> QuerySet[Campaign]:
    """The campaigns of the brands `user` belongs to (nothing of any other brand)."""
    return (
        Campaign.objects.filter(brand__memberships__user=user)
        .select_related("brand")
        .prefetch_related(
            "locations", Prefetch("master_nodes", queryset=RemixNode.objects.order_by("id"), to_attr="featured")
        )
        .distinct()
        .order_by("-starts_at", "-id")
    )


def participations_of(*, user: User) -> QuerySet[Participation]:
    return Participation.objects.filter(creator=user).select_related("campaign", "location", "fork_node")


def campaign_participations(*, campaign: Campaign) -> QuerySet[Participation]:
    return (
        Participation.objects.filter(campaign=campaign)
        .select_related("location", "fork_node", "creator")
        .order_by("-joined_at", "-id")
    )


def nearest_distance_m(*, campaign: Campaign, latitude: float, longitude: float) -> float | None:
    here = Point(longitude, latitude, srid=4326)
    found = campaign.locations.aggregate(d=Min(Distance("point", here)))["d"]
    return None if found is None else round(found.m, 1)
