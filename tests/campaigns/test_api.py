"""The O2O loop through the API alone: a brand member runs a campaign, a creator nearby finds it, consents, forks a
featured master, submits and is verified (or told why not); another brand sees none of it. Bad input is a 4xx in
the error shape with nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditLog, Consent, Role
from campaigns.models import Campaign, CampaignLocation, CampaignStatus, Participation, ParticipationStatus
from campaigns.services import brand_create, brand_member_add
from tests.accounts.factories import UserFactory
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db

SEONGSU = {"latitude": 37.5446, "longitude": 127.0557}
HONGDAE = {"latitude": 37.5563, "longitude": 126.9237}
NEAR_SEONGSU = {"latitude": 37.5449, "longitude": 127.0561}  # about 50 m away
GANGNAM = {"latitude": 37.4979, "longitude": 127.0276}  # kilometres from both


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def brand_member(name: str):
    user = UserFactory(role=Role.BRAND, display_name=f"{name} manager")
    brand_create(name=name, owner=user)
    return user


@pytest.fixture
def master():
    return published_master("Dalgona latte")


@pytest.fixture
def manager():
    return brand_member("Seongsu Roasters")


def draft_body(master, **changes):
    now = timezone.now()
    body = {
        "title": "Latte art at our pop-ups",
        "description": "Remix it at one of our cafés.",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=14)).isoformat(),
        "success_views": 5000,
        "success_grace_days": 3,
        "featured_masters": [str(master.public_id)],
    }
    return {**body, **changes}


def running_campaign(manager, master) -> dict:
    brand = client_for(manager)
    created = brand.post("/api/v1/brand/campaigns", draft_body(master), format="json")
    assert created.status_code == 201, created.content
    campaign_id = created.json()["id"]
    assert created.json()["status"] == "draft" and created.json()["featured_masters"][0]["title"] == "Dalgona latte"
    for name, point in (("Seongsu pop-up", SEONGSU), ("Hongdae pop-up", HONGDAE)):
        added = brand.post(
            f"/api/v1/brand/campaigns/{campaign_id}/locations",
            {"name": name, "address": "Seoul", "radius_m": 300, **point},
            format="json",
        )
        assert added.status_code == 201, added.content
    launched = brand.post(f"/api/v1/brand/campaigns/{campaign_id}/status", {"status": "active"}, format="json")
    assert launched.status_code == 200, launched.content
    assert launched.json()["status"] == "active" and len(launched.json()["locations"]) == 2
    return launched.json()


def fork_of(creator, node_id: str, title: str = "Busan dalgona") -> str:
    client = client_for(creator)
    made = client.post(
        f"/api/v1/nodes/{node_id}/forks", {"title": title, "mutation_types": ["localization"]}, format="json"
    )
    assert made.status_code == 201, made.content
    fork_id = made.json()["id"]
    assert client.post(f"/api/v1/nodes/{fork_id}/publish", {"published": True}, format="json").status_code == 200
    return fork_id


def consent(creator) -> None:
    body = {"kind": "location", "granted": True, "terms_version": settings.CONSENT_TERMS_VERSIONS["location"]}
    response = client_for(creator).post("/api/v1/me/consents", body, format="json")
    assert response.status_code == 201, response.content
    assert next(s for s in response.json() if s["kind"] == "location")["in_force"] is True


def submit(creator, campaign_id, fork_id, point, video="https://www.tiktok.com/@mina/video/7311111111111111111"):
    body = {"fork": fork_id, "video_url": video, **point}
    return client_for(creator).post(f"/api/v1/campaigns/{campaign_id}/submission", body, format="json")


def test_the_whole_loop_through_the_api(manager, master):
    campaign = running_campaign(manager, master)
    creator = UserFactory(role=Role.CREATOR, display_name="Mina")
    me = client_for(creator)

    # Near Seongsu, the campaign is found with the distance to its nearest location; far away, it is not.
    found = me.get("/api/v1/campaigns/near", {"lat": 37.5449, "lng": 127.0561, "radius_m": 1000})
    assert found.status_code == 200
    assert [c["id"] for c in found.json()] == [campaign["id"]]
    assert 30 < found.json()[0]["distance_m"] < 70
    nearest = next(loc for loc in campaign["locations"] if loc["name"] == "Seongsu pop-up")
    assert found.json()[0]["nearest_location"] == nearest["id"]
    assert me.get("/api/v1/campaigns/near", {"lat": 35.1, "lng": 129.0, "radius_m": 1000}).json() == []
    detail = me.get(f"/api/v1/campaigns/{campaign['id']}").json()
    assert {loc["name"] for loc in detail["locations"]} == {"Seongsu pop-up", "Hongdae pop-up"}
    assert [m["id"] for m in detail["featured_masters"]] == [str(master.public_id)]

    # Join; a fork of a fork of the featured master counts.
    joined = me.post(f"/api/v1/campaigns/{campaign['id']}/join")
    assert joined.status_code == 201 and joined.json()["status"] == "joined"
    someone = UserFactory(role=Role.CREATOR)
    their_fork = fork_of(someone, str(master.public_id), "Jeju dalgona")
    mine = fork_of(creator, their_fork, "Jeju dalgona, K-pop hook")

    # Without location consent the position is refused, nothing written.
    refused = submit(creator, campaign["id"], mine, NEAR_SEONGSU)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "consent_required"
    assert refused.json()["error"]["details"]["consent"] == "location"
    assert Participation.objects.get(creator=creator).submissions == 0
    consent(creator)

    # From Gangnam: recorded as rejected, with the reason.
    far = submit(creator, campaign["id"], mine, GANGNAM)
    assert far.status_code == 200, far.content
    assert far.json()["status"] == "rejected" and far.json()["verification_result"] == "out_of_radius"
    assert "km from the nearest location" in far.json()["verification_reason"]

    # From the pop-up: verified, at the nearest location, the distance recorded.
    near = submit(creator, campaign["id"], mine, NEAR_SEONGSU)
    assert near.status_code == 200, near.content
    body = near.json()
    assert body["status"] == "verified" and body["verification_result"] == "within_radius"
    assert body["location"]["name"] == "Seongsu pop-up" and 30 < body["distance_m"] < 70
    assert body["submissions"] == 2 and body["fork"] == mine
    assert me.get(f"/api/v1/nodes/{mine}").json()["posted_url"] == body["video_url"]  # its views are followed
    mine_listed = me.get("/api/v1/me/participations").json()["results"]
    assert [p["id"] for p in mine_listed] == [body["id"]]

    # The brand sees the participation (not the position); another brand sees nothing of the campaign.
    brand_view = client_for(manager).get(f"/api/v1/brand/campaigns/{campaign['id']}/participations").json()
    assert brand_view["results"][0]["status"] == "verified" and "latitude" not in brand_view["results"][0]
    rival = client_for(brand_member("Rival Coffee"))
    assert rival.get("/api/v1/brand/campaigns").json()["results"] == []
    for method, path, data in (
        ("get", f"/api/v1/brand/campaigns/{campaign['id']}", None),
        ("patch", f"/api/v1/brand/campaigns/{campaign['id']}", {"title": "Mine now"}),
        ("post", f"/api/v1/brand/campaigns/{campaign['id']}/status", {"status": "ended"}),
        ("get", f"/api/v1/brand/campaigns/{campaign['id']}/participations", None),
        ("post", f"/api/v1/brand/campaigns/{campaign['id']}/locations", {"name": "x", **GANGNAM}),
        ("delete", f"/api/v1/brand/campaigns/{campaign['id']}/locations/{nearest['id']}", None),
    ):
        response = getattr(rival, method)(path, data, format="json")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", (path, response)
    fresh = Campaign.objects.get(pk=campaign["id"])
    assert fresh.title == "Latte art at our pop-ups" and fresh.status == CampaignStatus.ACTIVE
    assert fresh.locations.count() == 2


def test_the_brand_edits_pauses_and_closes_with_an_audit_trail(manager, master):
    campaign = running_campaign(manager, master)
    brand = client_for(manager)
    url = f"/api/v1/brand/campaigns/{campaign['id']}"
    edited = brand.patch(url, {"title": "Latte week", "success_views": 8000}, format="json")
    assert edited.status_code == 200 and edited.json()["title"] == "Latte week"
    location = campaign["locations"][0]
    moved = brand.patch(f"{url}/locations/{location['id']}", {"radius_m": 500}, format="json")
    assert moved.status_code == 200 and moved.json()["radius_m"] == 500
    assert moved.json()["latitude"] == location["latitude"]
    assert brand.post(f"{url}/status", {"status": "paused"}, format="json").json()["status"] == "paused"
    creator = UserFactory(role=Role.CREATOR)
    assert client_for(creator).get(f"/api/v1/campaigns/{campaign['id']}").status_code == 404  # not running
    assert client_for(creator).post(f"/api/v1/campaigns/{campaign['id']}/join").status_code == 404
    assert brand.post(f"{url}/status", {"status": "ended"}, format="json").json()["status"] == "ended"
    again = brand.post(f"{url}/status", {"status": "active"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    actions = list(
        AuditLog.objects.filter(target_id=str(campaign["id"]), actor=manager).values_list("action", flat=True)
    )
    assert actions.count("campaign.transition") == 3 and "campaign.update" in actions
    assert "campaign.location_update" in actions and actions.count("campaign.location_add") == 2


def test_launching_needs_a_location(manager, master):
    brand = client_for(manager)
    campaign_id = brand.post("/api/v1/brand/campaigns", draft_body(master), format="json").json()["id"]
    refused = brand.post(f"/api/v1/brand/campaigns/{campaign_id}/status", {"status": "active"}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "campaign_incomplete"
    assert refused.json()["error"]["details"]["missing"] == ["locations"]


def test_a_location_participations_were_checked_against_stays(manager, master):
    campaign = running_campaign(manager, master)
    creator = UserFactory(role=Role.CREATOR)
    consent(creator)
    submit(creator, campaign["id"], fork_of(creator, str(master.public_id)), NEAR_SEONGSU)
    used = Participation.objects.get(creator=creator).location_id
    url = f"/api/v1/brand/campaigns/{campaign['id']}/locations"
    refused = client_for(manager).delete(f"{url}/{used}")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "location_in_use"
    other = next(loc["id"] for loc in campaign["locations"] if loc["id"] != used)
    assert client_for(manager).delete(f"{url}/{other}").status_code == 204
    last = client_for(manager).delete(f"{url}/{used}")
    assert last.status_code == 409
    assert CampaignLocation.objects.filter(campaign_id=campaign["id"]).count() == 1


def test_a_user_of_no_brand_cannot_create_and_a_member_of_two_must_say_which(master):
    outsider = client_for(UserFactory(role=Role.CREATOR))
    refused = outsider.post("/api/v1/brand/campaigns", draft_body(master), format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_a_brand_member"
    both = brand_member("First brand")
    second = brand_create(name="Second brand")
    brand_member_add(brand=second, user=both, role="member", actor=None)
    unclear = client_for(both).post("/api/v1/brand/campaigns", draft_body(master), format="json")
    assert unclear.status_code == 400 and "brand" in unclear.json()["error"]["details"]
    named = client_for(both).post("/api/v1/brand/campaigns", draft_body(master, brand=second.pk), format="json")
    assert named.status_code == 201 and named.json()["brand"]["name"] == "Second brand"
    assert not Campaign.objects.exclude(brand=second).exists()


# --- bad input: 4xx in the error shape, nothing written -------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"lat": "91", "lng": "127"},
        {"lat": "-90.0001", "lng": "127"},
        {"lat": "37", "lng": "180.5"},
        {"lat": "NaN", "lng": "127"},
        {"lat": "37", "lng": "Infinity"},
        {"lat": "37", "lng": "-inf"},
        {"lat": "37", "lng": "127", "radius_m": "0"},
        {"lat": "37", "lng": "127", "radius_m": "-5"},
        {"lat": "37", "lng": "127", "radius_m": "1e9"},
        {"lat": "37", "lng": "127", "radius_m": "nan"},
        {"lng": "127"},
        {"lat": "37", "lng": "127", "color": "red"},
    ],
)
def test_near_refuses_impossible_places_and_radii(query):
    response = client_for().get("/api/v1/campaigns/near", query)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ends_at": "2026-01-01T00:00:00Z", "starts_at": "2026-02-01T00:00:00Z"}, "ends_at"),
        ({"success_views": 0}, "success_views"),
        ({"success_views": -10}, "success_views"),
        ({"success_grace_days": 91}, "success_grace_days"),
        ({"featured_masters": ["not-a-uuid"]}, "featured_masters"),
        ({"title": ""}, "title"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_campaign_is_refused_and_nothing_is_created(manager, master, changes, field):
    response = client_for(manager).post("/api/v1/brand/campaigns", draft_body(master, **changes), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert not Campaign.objects.exists()


def test_featured_nodes_must_be_published_masters(manager, master):
    creator = UserFactory(role=Role.CREATOR)
    fork = fork_of(creator, str(master.public_id))
    response = client_for(manager).post(
        "/api/v1/brand/campaigns", draft_body(master, featured_masters=[fork]), format="json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "campaign_needs_masters"
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    "point",
    [
        {"latitude": 91, "longitude": 127},
        {"latitude": 37, "longitude": -181},
        {"latitude": "NaN", "longitude": 127},
        {"latitude": 37, "longitude": "Infinity"},
    ],
)
def test_impossible_positions_and_radii_of_locations_are_refused(manager, master, point):
    campaign_id = client_for(manager).post("/api/v1/brand/campaigns", draft_body(master), format="json").json()["id"]
    url = f"/api/v1/brand/campaigns/{campaign_id}/locations"
    response = client_for(manager).post(url, {"name": "x", **point}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"
    tiny = client_for(manager).post(url, {"name": "x", "radius_m": 0, **SEONGSU}, format="json")
    assert tiny.status_code == 400 and "radius_m" in tiny.json()["error"]["details"]
    assert not CampaignLocation.objects.exists()


def test_submissions_that_cannot_be_taken_write_nothing(manager, master):
    campaign = running_campaign(manager, master)
    creator, stranger = UserFactory(role=Role.CREATOR), UserFactory(role=Role.CREATOR)
    consent(creator)
    consent(stranger)
    strangers = fork_of(stranger, str(master.public_id))
    mine = fork_of(creator, str(master.public_id))
    unrelated = fork_of(creator, str(published_master("Something else").public_id), "Unrelated")
    cases = [
        (submit(creator, campaign["id"], strangers, NEAR_SEONGSU), 403, "fork_not_yours"),
        (submit(creator, campaign["id"], str(master.public_id), NEAR_SEONGSU), 403, "fork_not_yours"),
        (submit(creator, campaign["id"], mine, {"latitude": "NaN", "longitude": 127}), 400, "validation_error"),
        (submit(creator, campaign["id"], mine, {"latitude": 95, "longitude": 127}), 400, "validation_error"),
        (submit(creator, campaign["id"], mine, NEAR_SEONGSU, video="ftp://x"), 400, "validation_error"),
        (submit(creator, 999_999, mine, NEAR_SEONGSU), 404, "not_found"),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.content
    assert not Participation.objects.exists()

    # A fork of another master is checked and rejected with the reason (the creator can fix and resubmit).
    wrong = submit(creator, campaign["id"], unrelated, NEAR_SEONGSU).json()
    assert wrong["status"] == "rejected" and wrong["verification_result"] == "not_derived"
    verified = submit(creator, campaign["id"], mine, NEAR_SEONGSU).json()
    assert verified["status"] == "verified"
    # A second participation once verified: refused, the verified one kept.
    again = submit(creator, campaign["id"], mine, GANGNAM)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_participating"
    joined_again = client_for(creator).post(f"/api/v1/campaigns/{campaign['id']}/join")
    assert joined_again.status_code == 409 and joined_again.json()["error"]["code"] == "already_participating"
    assert Participation.objects.get(creator=creator).status == ParticipationStatus.VERIFIED

    # After the window: refused at the door.
    Campaign.objects.filter(pk=campaign["id"]).update(ends_at=timezone.now() - timedelta(minutes=1))
    late = UserFactory(role=Role.CREATOR)
    consent(late)
    late_fork = fork_of(late, str(master.public_id))
    response = submit(late, campaign["id"], late_fork, NEAR_SEONGSU)
    assert response.status_code == 404  # no longer running: not offered
    assert not Participation.objects.filter(creator=late).exists()


def test_consents_are_versioned_and_withdrawal_stops_submissions(manager, master):
    campaign = running_campaign(manager, master)
    creator = UserFactory(role=Role.CREATOR)
    me = client_for(creator)
    states = me.get("/api/v1/me/consents").json()
    assert {s["kind"] for s in states} == {"terms", "privacy", "marketing", "third_party", "location"}
    assert all(s["granted"] is None and s["in_force"] is False for s in states)
    outdated = me.post(
        "/api/v1/me/consents", {"kind": "location", "granted": True, "terms_version": "2020-01"}, format="json"
    )
    assert outdated.status_code == 400 and outdated.json()["error"]["code"] == "terms_outdated"
    assert not Consent.objects.filter(user=creator).exists()
    consent(creator)
    version = settings.CONSENT_TERMS_VERSIONS["location"]
    withdrawn = me.post(
        "/api/v1/me/consents", {"kind": "location", "granted": False, "terms_version": version}, format="json"
    )
    assert next(s for s in withdrawn.json() if s["kind"] == "location")["in_force"] is False
    assert Consent.objects.filter(user=creator).count() == 2  # history kept
    response = submit(creator, campaign["id"], fork_of(creator, str(master.public_id)), NEAR_SEONGSU)
    assert response.status_code == 403 and response.json()["error"]["code"] == "consent_required"
    decisions = AuditLog.objects.filter(actor=creator, action__startswith="consent.")
    assert sorted(decisions.values_list("action", flat=True)) == ["consent.grant", "consent.withdraw"]


def test_a_new_terms_version_needs_consent_again(settings, manager, master):
    campaign = running_campaign(manager, master)
    creator = UserFactory(role=Role.CREATOR)
    consent(creator)
    settings.CONSENT_TERMS_VERSIONS = {**settings.CONSENT_TERMS_VERSIONS, "location": "2027-01"}
    response = submit(creator, campaign["id"], fork_of(creator, str(master.public_id)), NEAR_SEONGSU)
    assert response.status_code == 403 and response.json()["error"]["details"]["terms_version"] == "2027-01"


def test_an_admin_assigning_a_creator_to_a_brand_makes_a_brand_account(master):
    creator = UserFactory(role=Role.CREATOR)
    brand = brand_create(name="Mellow Coffee")
    assert client_for(creator).post("/api/v1/brand/campaigns", draft_body(master), format="json").status_code == 403
    brand_member_add(brand=brand, user=creator, role="member", actor=UserFactory(role=Role.ADMIN))
    creator.refresh_from_db()
    assert creator.role == Role.BRAND
    assert AuditLog.objects.filter(action="user.role_set", target_id=str(creator.pk)).exists()
    assert client_for(creator).post("/api/v1/brand/campaigns", draft_body(master), format="json").status_code == 201
