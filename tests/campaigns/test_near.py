"""Campaigns near a point: running ones only, nearest first, with the distance to their nearest location, within the
radius; a campaign whose many locations fill the first read of the index does not hide the next campaign."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus
from campaigns.selectors import campaigns_near
from campaigns.services import campaign_location_add, campaign_transition
from tests.campaigns.factories import CampaignFactory

pytestmark = pytest.mark.django_db

HERE = (127.0557, 37.5446)
M_PER_DEG_LAT = 111_195.0  # on PostGIS's sphere


def _campaign(title: str, *north_m: float, status: str = CampaignStatus.ACTIVE, **kwargs) -> Campaign:
    """A campaign with a location `m` metres north of HERE for each of `north_m`."""
    campaign = CampaignFactory(title=title, **kwargs)
    for i, metres in enumerate(north_m):
        campaign_location_add(
            campaign=campaign,
            name=f"{title} {i}",
            longitude=HERE[0],
            latitude=HERE[1] + metres / M_PER_DEG_LAT,
            radius_m=100,
        )
    if status != CampaignStatus.DRAFT:
        campaign = campaign_transition(campaign=campaign, to=CampaignStatus.ACTIVE, actor=None)
    if status == CampaignStatus.PAUSED:
        campaign = campaign_transition(campaign=campaign, to=CampaignStatus.PAUSED, actor=None)
    return campaign


def _near(radius_m: float, **kwargs) -> list[tuple[str, float]]:
    found = campaigns_near(latitude=HERE[1], longitude=HERE[0], radius_m=radius_m, **kwargs)
    return [(c.title, c.distance_m) for c in found]


def test_running_campaigns_within_the_radius_nearest_first_with_their_nearest_location():
    two = _campaign("Two places", 3000, 1000)
    _campaign("Next door", 100)
    _campaign("Far", 2500)
    _campaign("Paused", 50, status=CampaignStatus.PAUSED)
    _campaign("Draft", 60, status=CampaignStatus.DRAFT)
    later = timezone.now() + timedelta(days=1)
    _campaign("Not started", 70, starts_at=later, ends_at=later + timedelta(days=3))

    found = _near(2000)

    assert [title for title, _ in found] == ["Next door", "Two places"]
    assert [d for _, d in found] == [pytest.approx(100, abs=1), pytest.approx(1000, abs=3)]
    [_, second] = campaigns_near(latitude=HERE[1], longitude=HERE[0], radius_m=2000)
    assert second.nearest_location_id == two.locations.get(name="Two places 1").pk
    assert [title for title, _ in _near(2600)] == ["Next door", "Two places", "Far"]
    assert _near(50) == []


def test_a_campaign_with_many_close_locations_does_not_hide_the_next_one():
    _campaign("Crowded", *[10 + i for i in range(110)])  # more locations than the first read of the index
    _campaign("Behind it", 400)

    assert [title for title, _ in _near(1000, limit=2)] == ["Crowded", "Behind it"]
    assert [title for title, _ in _near(1000, limit=1)] == ["Crowded"]
