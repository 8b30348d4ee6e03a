"""Reads of campaigns: what creators find near them, and what a brand member may see of their own brands."""

from __future__ import annotations

from datetime import datetime

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db import connection
from django.db.models import Min, Prefetch, QuerySet
from django.utils import timezone

from accounts.models import User
from campaigns.models import Brand, Campaign, CampaignStatus, Participation
from remix.models import NodeStatus, RemixNode

NEAR_MAX_RADIUS_M = 50_000
NEAR_LIMIT = 50


def campaigns_running(*, at: datetime | None = None) -> QuerySet[Campaign]:
    """Active campaigns inside their window."""
    now = at or timezone.now()
    return Campaign.objects.filter(status=CampaignStatus.ACTIVE, starts_at__lte=now, ends_at__gte=now)


# The nearest locations of running campaigns. Deliberately no ST_DWithin and no tie-breaker in the ORDER BY: with
# either, the planner stops reading the GiST index in distance order and sorts every candidate instead (a bitmap
# scan of the ~4,000 running locations within 5 km of central Seoul in benchmarks/campaigns.py, or a sequential
# scan of all of them: 30-200 ms); as it is, an index scan with `Order By` stops after `size` rows (about 1 ms).
# The radius is applied to the distances read.
NEAR_LOCATIONS_SQL = """
    SELECT l.campaign_id, l.id, ST_Distance(l.point, %(here)s::geography, false)
    FROM campaigns_campaignlocation l JOIN campaigns_campaign c ON c.id = l.campaign_id
    WHERE c.status = %(active)s AND c.starts_at <= %(now)s AND c.ends_at >= %(now)s
    ORDER BY l.point <-> %(here)s::geography
    LIMIT %(size)s
"""


def campaigns_near(
    *, latitude: float, longitude: float, radius_m: float, at: datetime | None = None, limit: int = NEAR_LIMIT
) -> list[Campaign]:
    """Running campaigns with a location within `radius_m` of the point, nearest first, each annotated with
    `distance_m` (to its nearest location, on the sphere: within 0.3 % of the spheroid) and
    `nearest_location_id`.

    The nearest locations are read from the GiST index in distance order (a KNN scan, `<->`: NEAR_LOCATIONS_SQL),
    4 × `limit` of them first; only when those hold fewer than `limit` campaigns and none beyond the radius is a
    four times longer prefix read again (rather than the next page: equal distances have no stable order to page
    by). So the cost follows the number of campaigns asked for, not the number of locations inside the radius.
    Then one query loads those campaigns."""
    now = at or timezone.now()
    here = f"SRID=4326;POINT({float(longitude)!r} {float(latitude)!r})"
    size = max(limit * 4, 100)
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                NEAR_LOCATIONS_SQL, {"here": here, "active": CampaignStatus.ACTIVE, "now": now, "size": size}
            )
            rows = cursor.fetchall()
            nearest: dict[int, tuple[float, int]] = {}
            for campaign_id, location_id, distance in rows:
                if distance <= radius_m and (campaign_id not in nearest or distance < nearest[campaign_id][0]):
                    nearest[campaign_id] = (distance, location_id)
            if len(nearest) >= limit or len(rows) < size or (rows and rows[-1][2] > radius_m):
                break
            size *= 4
    chosen = sorted(nearest.items(), key=lambda item: (item[1][0], item[0]))[:limit]
    campaigns = Campaign.objects.select_related("brand").in_bulk([campaign_id for campaign_id, _ in chosen])
    result = []
    for campaign_id, (distance, location_id) in chosen:
        campaign = campaigns[campaign_id]
        campaign.distance_m, campaign.nearest_location_id = round(distance, 1), location_id
        result.append(campaign)
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
