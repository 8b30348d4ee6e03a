"""Hostile input, property-based, at the campaign API and the consents: arbitrary JSON bodies, query parameters and
path ids, signed in as a brand member, a creator, or not at all.

Every answer must be below 500, every error the one JSON shape with a `code`, and every refusal must write nothing
(tests/kmeme/hostile.py; campaigns, locations, participations and consents are among the tables watched).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role
from campaigns.models import CampaignStatus
from campaigns.services import brand_create, campaign_create, campaign_location_add, campaign_transition
from remix.forks import fork_publish, node_fork
from tests.accounts.factories import UserFactory
from tests.campaigns.factories import location_consent
from tests.kmeme.hostile import (
    HOSTILE,
    assert_handled,
    bodies,
    content_types,
    datetimes_text,
    hostile_text,
    numbers_text,
    query_string,
    quoted,
)
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db

NOW = timezone.now()
CAMPAIGN_BODY = {
    "title": "Latte week",
    "starts_at": (NOW - timedelta(hours=1)).isoformat(),
    "ends_at": (NOW + timedelta(days=7)).isoformat(),
    "success_views": 5000,
    "success_grace_days": 3,
    "featured_masters": [],
}
LOCATION_BODY = {"name": "Seongsu", "latitude": 37.5446, "longitude": 127.0557, "radius_m": 300}
SUBMISSION_BODY = {
    "fork": "",
    "video_url": "https://www.tiktok.com/@a/video/7311",
    "latitude": 37.5449,
    "longitude": 127.0561,
}


class World:
    """A running campaign of a brand with one location, a creator with a published fork of its master and
    location consent, and a draft campaign: set up through the services."""

    def __init__(self) -> None:
        self.master = published_master("Dalgona latte")
        self.manager = UserFactory(role=Role.BRAND)
        brand = brand_create(name="Seongsu Roasters", owner=self.manager)
        self.campaign = campaign_create(
            brand=brand,
            title="Latte week",
            starts_at=NOW - timedelta(days=1),
            ends_at=NOW + timedelta(days=7),
            master_nodes=[self.master],
        )
        self.location = campaign_location_add(
            campaign=self.campaign, name="Seongsu", longitude=127.0557, latitude=37.5446
        )
        campaign_transition(campaign=self.campaign, to=CampaignStatus.ACTIVE, actor=None)
        self.draft = campaign_create(
            brand=brand, title="Next", starts_at=NOW, ends_at=NOW + timedelta(days=3), master_nodes=[self.master]
        )
        self.creator = UserFactory(role=Role.CREATOR)
        location_consent(self.creator)
        self.fork = node_fork(master=self.master, creator=self.creator, title="Busan", mutation_types=["localization"])
        fork_publish(fork=self.fork, user=self.creator)
        self.tokens = {
            "brand": str(RefreshToken.for_user(self.manager).access_token),
            "creator": str(RefreshToken.for_user(self.creator).access_token),
        }

    def client(self, who: str | None) -> APIClient:
        client = APIClient()
        if who is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.tokens[who]}")
        return client


@pytest.fixture
def world() -> World:
    return World()


whom = st.sampled_from([None, "brand", "creator"])


def send(client: APIClient, method: str, path: str, body: str | bytes, content_type: str) -> Any:
    cache.delete_pattern("*")
    return assert_handled(lambda: client.generic(method, path, body, content_type=content_type))


@HOSTILE
@given(body=bodies(CAMPAIGN_BODY), content_type=content_types, who=whom)
def test_campaign_create(world, body, content_type, who):
    send(world.client(who), "POST", "/api/v1/brand/campaigns", body, content_type)


@HOSTILE
@given(
    body=bodies({"title": "Renamed", "ends_at": (NOW + timedelta(days=9)).isoformat(), "success_views": 10}),
    content_type=content_types,
    who=whom,
)
def test_campaign_patch(world, body, content_type, who):
    send(world.client(who), "PATCH", f"/api/v1/brand/campaigns/{world.campaign.pk}", body, content_type)


@HOSTILE
@given(body=bodies({"status": "paused", "reason": "x"}), content_type=content_types, who=whom, draft=st.booleans())
def test_campaign_status(world, body, content_type, who, draft):
    campaign = world.draft if draft else world.campaign
    send(world.client(who), "POST", f"/api/v1/brand/campaigns/{campaign.pk}/status", body, content_type)


@HOSTILE
@given(body=bodies(LOCATION_BODY), content_type=content_types, who=whom, method=st.sampled_from(["POST", "PATCH"]))
def test_location_writes(world, body, content_type, who, method):
    path = f"/api/v1/brand/campaigns/{world.draft.pk}/locations"
    if method == "PATCH":
        path = f"/api/v1/brand/campaigns/{world.campaign.pk}/locations/{world.location.pk}"
    send(world.client(who), method, path, body, content_type)


@HOSTILE
@given(body=bodies({}), content_type=content_types, who=whom)
def test_join(world, body, content_type, who):
    send(world.client(who), "POST", f"/api/v1/campaigns/{world.campaign.pk}/join", body, content_type)


@HOSTILE
@given(body=st.data(), content_type=content_types, who=whom)
def test_submission(world, body, content_type, who):
    valid = {**SUBMISSION_BODY, "fork": str(world.fork.public_id)}
    payload = body.draw(bodies(valid))
    send(world.client(who), "POST", f"/api/v1/campaigns/{world.campaign.pk}/submission", payload, content_type)


@HOSTILE
@given(
    body=bodies({"kind": "location", "granted": True, "terms_version": settings.CONSENT_TERMS_VERSIONS["location"]}),
    content_type=content_types,
    who=whom,
)
def test_consent_decisions(world, body, content_type, who):
    send(world.client(who), "POST", "/api/v1/me/consents", body, content_type)


_near_params = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["lat", "lng", "radius_m"]), numbers_text),
        st.tuples(st.sampled_from(["lat", "lng"]), st.floats(allow_nan=True, allow_infinity=True).map(repr)),
        st.tuples(hostile_text, hostile_text),
    ),
    max_size=4,
)


@HOSTILE
@given(params=_near_params, who=whom)
def test_near_with_any_query(world, params, who):
    cache.delete_pattern("*")
    response = assert_handled(lambda: world.client(who).get(f"/api/v1/campaigns/near?{query_string(params)}"))
    assert response.status_code in (200, 400, 429)


@HOSTILE
@given(
    params=st.lists(st.tuples(st.sampled_from(["page", "page_size"]), numbers_text | datetimes_text), max_size=3),
    who=whom,
    path=st.sampled_from(["brand/campaigns", "me/participations", "me/consents"]),
)
def test_lists_with_any_page(world, params, who, path):
    cache.delete_pattern("*")
    assert_handled(lambda: world.client(who).get(f"/api/v1/{path}?{query_string(params)}"))


@HOSTILE
@given(
    campaign_id=hostile_text | numbers_text,
    suffix=st.sampled_from(["", "/join", "/submission", "/status", "/locations", "/participations", "/locations/1"]),
    prefix=st.sampled_from(["/api/v1/campaigns/", "/api/v1/brand/campaigns/"]),
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE"]),
    who=whom,
)
def test_paths_with_any_id(world, campaign_id, suffix, prefix, method, who):
    send(world.client(who), method, f"{prefix}{quoted(campaign_id)}{suffix}", '{"title": "x"}', "application/json")
