"""Writes in the campaigns admin go through the services: posted as an admin or editor would, checked from outside."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLog, Role
from campaigns.models import (
    Brand,
    BrandMembership,
    Campaign,
    CampaignLocation,
    CampaignStatus,
    Participation,
    ParticipationStatus,
    VerificationResult,
)
from campaigns.participations import participation_certify, participation_submit
from campaigns.services import campaign_location_add, campaign_transition
from remix.forks import node_fork
from tests.accounts.factories import UserFactory
from tests.campaigns.factories import BrandFactory, CampaignFactory, location_consent
from tests.kmeme.admin_forms import admin_action, admin_form, form_errors, form_fields, page_messages
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db

SEONGSU = (127.0557, 37.5446)
CAMPAIGNS = reverse("admin:campaigns_campaign_changelist")
PARTICIPATIONS = reverse("admin:campaigns_participation_changelist")


def _map_point(longitude: float, latitude: float) -> str:
    """A point as the admin's map widget posts it: GeoJSON in the map's Web Mercator projection."""
    return Point(longitude, latitude, srid=4326).transform(3857, clone=True).json


@pytest.fixture
def campaign() -> Campaign:
    campaign = CampaignFactory(title="Seongsu latte week")
    campaign_location_add(campaign=campaign, name="Seongsu", longitude=SEONGSU[0], latitude=SEONGSU[1], radius_m=300)
    return Campaign.objects.get(pk=campaign.pk)


def _change_url(campaign: Campaign) -> str:
    return reverse("admin:campaigns_campaign_change", args=[campaign.pk])


def _audit(action: str, target) -> list[AuditLog]:
    return list(AuditLog.objects.filter(action=action, target_type=target._meta.label_lower, target_id=str(target.pk)))


# --- Campaign: the change form (campaign_update) and its location inline (campaign_location_save) -------------------


def test_a_new_title_is_saved_and_audited_as_exactly_that_change(admin_session, site_admin, campaign):
    data = admin_form(admin_session, _change_url(campaign), "campaign")
    data["title"] = "Seongsu latte fortnight"

    response = admin_session.post(_change_url(campaign), data)

    assert response.status_code == 302, form_errors(response)
    fresh = Campaign.objects.get(pk=campaign.pk)
    assert fresh.title == "Seongsu latte fortnight"
    assert (fresh.starts_at, fresh.ends_at) == (campaign.starts_at, campaign.ends_at)  # untouched fields stay exact
    [entry] = _audit("campaign.update", campaign)
    assert entry.actor == site_admin
    assert entry.details == {"changes": {"title": {"before": "Seongsu latte week", "after": "Seongsu latte fortnight"}}}
    assert not AuditLog.objects.filter(actor=site_admin).exclude(pk=entry.pk)  # the location was left as it was


def test_a_location_added_in_the_inline_is_saved_through_the_service_and_audited(admin_session, site_admin, campaign):
    data = admin_form(admin_session, _change_url(campaign), "campaign")
    assert data["locations-TOTAL_FORMS"] == "1"
    data.update(
        {
            "locations-TOTAL_FORMS": "2",
            "locations-1-name": "Hongdae pop-up",
            "locations-1-address": "Wausan-ro 94",
            "locations-1-point": _map_point(126.9237, 37.5563),
            "locations-1-radius_m": "250",
        }
    )

    response = admin_session.post(_change_url(campaign), data)

    assert response.status_code == 302, form_errors(response)
    hongdae = CampaignLocation.objects.get(campaign=campaign, name="Hongdae pop-up")
    assert (hongdae.radius_m, round(hongdae.point.x, 4), round(hongdae.point.y, 4)) == (250, 126.9237, 37.5563)
    [entry] = [e for e in _audit("campaign.location_add", campaign) if e.actor == site_admin]
    assert entry.details["location"] == hongdae.pk
    assert entry.details["after"]["name"] == "Hongdae pop-up"
    assert CampaignLocation.objects.filter(campaign=campaign).count() == 2
    assert not _audit("campaign.update", campaign)


def test_a_location_the_inline_refuses_leaves_the_whole_campaign_unchanged(admin_session, campaign):
    before, audit_rows = model_to_dict(Campaign.objects.get(pk=campaign.pk)), AuditLog.objects.count()
    data = admin_form(admin_session, _change_url(campaign), "campaign")
    data.update(
        {
            "title": "Renamed with a bad location",
            "locations-TOTAL_FORMS": "2",
            "locations-1-name": "Too small",
            "locations-1-point": _map_point(126.9237, 37.5563),
            "locations-1-radius_m": "5",  # under the 10 m minimum
        }
    )

    response = admin_session.post(_change_url(campaign), data)

    assert response.status_code == 200
    assert any("greater than or equal to 10" in e for e in form_errors(response))
    assert model_to_dict(Campaign.objects.get(pk=campaign.pk)) == before
    assert AuditLog.objects.count() == audit_rows
    assert CampaignLocation.objects.filter(campaign=campaign).count() == 1


def test_featured_nodes_are_masters_only(admin_session, campaign):
    master = published_master("Latte art")
    fork = node_fork(
        master=master, creator=UserFactory(role=Role.CREATOR), title="Busan", mutation_types=["localization"]
    )
    featured = list(campaign.master_nodes.all())
    data = admin_form(admin_session, _change_url(campaign), "campaign")
    data.update(title="With a fork", master_nodes=[str(master.pk), str(fork.pk)])

    response = admin_session.post(_change_url(campaign), data)

    assert response.status_code == 200
    assert any(
        f"Select a valid choice. {fork.pk} is not one of the available choices." in e for e in form_errors(response)
    )
    fresh = Campaign.objects.get(pk=campaign.pk)
    assert (fresh.title, list(fresh.master_nodes.all())) == ("Seongsu latte week", featured)
    assert not _audit("campaign.update", campaign)


def test_a_campaign_added_in_the_admin_features_the_chosen_master(admin_session, site_admin):
    brand, master = BrandFactory(name="Mellow Coffee"), published_master("Latte art")
    url = reverse("admin:campaigns_campaign_add")
    data = admin_form(admin_session, url, "campaign")
    start = timezone.localtime() + timedelta(days=1)
    data.update(
        {
            "brand": str(brand.pk),
            "title": "Latte summer",
            "starts_at_0": start.strftime("%Y-%m-%d"),
            "starts_at_1": "10:00:00",
            "ends_at_0": (start + timedelta(days=30)).strftime("%Y-%m-%d"),
            "ends_at_1": "18:00:00",
            "success_views": "5000",
            "master_nodes": [str(master.pk)],
        }
    )

    response = admin_session.post(url, data)

    assert response.status_code == 302, form_errors(response)
    campaign = Campaign.objects.get(title="Latte summer")
    assert (campaign.brand, campaign.status, list(campaign.master_nodes.all())) == (brand, "draft", [master])
    [entry] = _audit("campaign.create", campaign)
    assert entry.actor == site_admin


def test_a_new_campaign_whose_location_is_refused_is_not_created(admin_session):
    brand = BrandFactory(name="Mellow Coffee")
    url = reverse("admin:campaigns_campaign_add")
    data = admin_form(admin_session, url, "campaign")
    start = timezone.localtime() + timedelta(days=1)
    data.update(
        {
            "brand": str(brand.pk),
            "title": "Half saved",
            "starts_at_0": start.strftime("%Y-%m-%d"),
            "starts_at_1": "10:00:00",
            "ends_at_0": (start + timedelta(days=30)).strftime("%Y-%m-%d"),
            "ends_at_1": "18:00:00",
            "success_views": "5000",
            "locations-TOTAL_FORMS": "1",
            "locations-0-name": "Nowhere",
            "locations-0-point": "",  # no point placed on the map
            "locations-0-radius_m": "200",
        }
    )

    response = admin_session.post(url, data)

    assert response.status_code == 200
    assert "No geometry value provided." in form_errors(response)
    assert 'value="Half saved"' in response.content.decode()  # the page keeps what was typed
    assert not Campaign.objects.exists()
    assert not AuditLog.objects.filter(action="campaign.create").exists()


def test_editors_may_view_campaigns_but_not_change_them(editor_session, campaign):
    assert editor_session.get(_change_url(campaign)).status_code == 200
    response = editor_session.post(_change_url(campaign), {"title": "Editor was here"})
    assert response.status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).title == "Seongsu latte week"
    assert '<option value="launch_selected">' not in editor_session.get(CAMPAIGNS).content.decode()


# --- Campaign: launch / pause / end (campaign_transition) -----------------------------------------------------------


def test_launch_pause_and_end_follow_the_transition_table_with_audit_rows(admin_session, site_admin, campaign):
    for action, status in [
        ("launch_selected", CampaignStatus.ACTIVE),
        ("pause_selected", CampaignStatus.PAUSED),
        ("end_selected", CampaignStatus.ENDED),
    ]:
        response = admin_action(admin_session, CAMPAIGNS, action, [campaign])
        assert response.status_code == 200
        assert Campaign.objects.get(pk=campaign.pk).status == status
    moves = [(e.details["from"], e.details["to"], e.actor) for e in _audit("campaign.transition", campaign)]
    assert sorted(moves) == sorted(
        [("draft", "active", site_admin), ("active", "paused", site_admin), ("paused", "ended", site_admin)]
    )


def test_an_invalid_move_is_refused_with_a_message_and_changes_nothing(admin_session, campaign):
    campaign_transition(campaign=campaign, to=CampaignStatus.ENDED, actor=None)

    response = admin_action(admin_session, CAMPAIGNS, "launch_selected", [campaign])

    assert f"Not launched: {campaign}: A campaign cannot go from 'ended' to 'active'." in page_messages(response)
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.ENDED
    assert len(_audit("campaign.transition", campaign)) == 1  # the ending only


# --- Participation: decided only through the actions -----------------------------------------------------------------


def _participation(campaign: Campaign, *, near: bool) -> Participation:
    longitude, latitude = (127.0561, 37.5449) if near else (127.0276, 37.4979)  # 50 m away, or Gangnam
    if campaign.status == CampaignStatus.DRAFT:
        campaign_transition(campaign=campaign, to=CampaignStatus.ACTIVE, actor=None)
    creator = UserFactory()
    location_consent(creator)
    return participation_submit(
        campaign=campaign,
        creator=creator,
        video_url="https://www.tiktok.com/@c/video/1",
        longitude=longitude,
        latitude=latitude,
    )


def test_the_participation_change_form_cannot_set_a_status(admin_session, campaign):
    p = _participation(campaign, near=False)
    url = reverse("admin:campaigns_participation_change", args=[p.pk])
    assert admin_session.get(url).status_code == 200

    response = admin_session.post(url, {"status": ParticipationStatus.K_SUCCESS, "video_url": p.video_url})

    assert response.status_code == 403
    assert Participation.objects.get(pk=p.pk).status == ParticipationStatus.REJECTED
    assert admin_session.get(reverse("admin:campaigns_participation_add")).status_code == 403


def test_an_editor_certifies_a_verified_participation(editor_session, editor_user, campaign):
    p = _participation(campaign, near=True)
    assert p.status == ParticipationStatus.VERIFIED

    response = _certify_with_reason(editor_session, p, "The brand counted 20k views on Instagram.")

    assert "Certified 1 item." in page_messages(response)
    fresh = Participation.objects.get(pk=p.pk)
    assert (fresh.status, fresh.k_success_by) == (ParticipationStatus.K_SUCCESS, editor_user)
    [entry] = _audit("participation.certify", p)
    assert (entry.actor, entry.details["from"], entry.details["to"]) == (editor_user, "verified", "k_success")
    assert entry.details["reason"] == "The brand counted 20k views on Instagram."


def _certify_with_reason(session, p: Participation, reason: str):
    page = admin_action(session, PARTICIPATIONS, "certify_selected", [p], follow=False)
    assert page.status_code == 200 and "Certify K-Success by hand: 1 participation(s)" in page.content.decode()
    data = form_fields(page.content.decode())
    data.update({"decision-reason": reason, "apply": "Apply to all"})
    return session.post(PARTICIPATIONS, data, follow=True)


def test_certifying_an_unverified_participation_is_refused_with_a_message(editor_session, campaign):
    p = _participation(campaign, near=False)

    response = _certify_with_reason(editor_session, p, "Looks fine to me")

    assert any(
        "Only a participation whose location was verified can be certified" in m for m in page_messages(response)
    )
    assert Participation.objects.get(pk=p.pk).status == ParticipationStatus.REJECTED
    assert not _audit("participation.certify", p)


def test_rejecting_asks_for_a_reason_then_applies_it(editor_session, editor_user, campaign):
    p = _participation(campaign, near=True)

    page = admin_action(editor_session, PARTICIPATIONS, "reject_selected", [p], follow=False)

    assert page.status_code == 200
    assert "Reject: 1 participation(s)" in page.content.decode()
    assert Participation.objects.get(pk=p.pk).status == ParticipationStatus.VERIFIED  # nothing yet
    data = form_fields(page.content.decode())
    data.update({"decision-reason": "The video does not show the pop-up.", "apply": "Apply to all"})
    response = editor_session.post(PARTICIPATIONS, data, follow=True)

    assert "Rejected 1 item." in page_messages(response)
    assert Participation.objects.get(pk=p.pk).status == ParticipationStatus.REJECTED
    [entry] = _audit("participation.reject", p)
    assert (entry.actor, entry.details["reason"]) == (editor_user, "The video does not show the pop-up.")


def test_reverify_checks_the_position_again_after_a_location_moved(editor_session, editor_user, campaign):
    p = _participation(campaign, near=False)
    location = campaign.locations.get()
    location.point = Point(127.0276, 37.4979, srid=4326)  # the pop-up moved to Gangnam (set up as a fact)
    location.save()

    response = admin_action(editor_session, PARTICIPATIONS, "reverify_selected", [p])

    assert "Checked 1 item." in page_messages(response)
    fresh = Participation.objects.get(pk=p.pk)
    assert (fresh.status, fresh.verification_result) == (ParticipationStatus.VERIFIED, VerificationResult.WITHIN_RADIUS)
    [entry] = _audit("participation.verify", p)
    assert entry.actor == editor_user
    assert entry.details["before"]["status"] == "rejected" and entry.details["after"]["status"] == "verified"


def test_certifying_by_hand_without_a_reason_asks_again_and_changes_nothing(editor_session, campaign):
    p = _participation(campaign, near=True)
    page = admin_action(editor_session, PARTICIPATIONS, "certify_selected", [p], follow=False)
    data = form_fields(page.content.decode())
    data.update({"decision-reason": "   ", "apply": "Apply to all"})

    response = editor_session.post(PARTICIPATIONS, data)

    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert Participation.objects.get(pk=p.pk).status == ParticipationStatus.VERIFIED
    assert not _audit("participation.certify", p)


def test_the_campaign_page_shows_its_numbers_and_where_participants_claimed_to_be(editor_session, campaign):
    near, far = _participation(campaign, near=True), _participation(campaign, near=False)
    participation_certify(participation=near, actor=UserFactory(role=Role.EDITOR), reason="Brand confirmed.")

    html = " ".join(editor_session.get(_change_url(campaign)).content.decode().split())

    # The numbers: 2 participations, 1 verified of 2 submitted (50 %), 1 K-Success of 1 verified (100 %).
    assert "<strong>2</strong> participations" in html
    assert "submitted 2 · verified 1 (50 %)" in html and "<strong>100 %</strong>" in html
    assert "<tr><td>Seongsu</td><td>1</td><td>1</td> <td>100 %</td></tr>" in html
    today = timezone.localdate(timezone=timezone.get_default_timezone()).isoformat()
    assert f"<tr><td>{today}</td><td>2</td><td>1</td><td>1</td></tr>" in html
    # The map: the location and both claimed positions, with their coordinates and outcome.
    assert "1 locations, 2 claimed positions" in html
    assert "Seongsu: 37.54460, 127.05570, radius 300 m" in html
    assert "k_success: 37.54490, 127.05610" in html and "rejected: 37.49790, 127.02760" in html
    assert far.status == ParticipationStatus.REJECTED


# --- Brands and memberships -------------------------------------------------------------------------------------------


def test_an_admin_adds_a_brand_and_a_member_through_the_services(admin_session, site_admin):
    url = reverse("admin:campaigns_brand_add")
    data = admin_form(admin_session, url, "brand")
    data["name"] = "Mellow Coffee"
    response = admin_session.post(url, data)
    assert response.status_code == 302, form_errors(response)
    brand = Brand.objects.get(name="Mellow Coffee")
    assert _audit("brand.create", brand)[0].actor == site_admin

    member = UserFactory(role=Role.BRAND)
    url = reverse("admin:campaigns_brandmembership_add")
    data = admin_form(admin_session, url, "brandmembership")
    data.update(brand=str(brand.pk), user=str(member.pk), role="owner")
    response = admin_session.post(url, data)

    assert response.status_code == 302, form_errors(response)
    assert BrandMembership.objects.get(brand=brand, user=member).role == "owner"
    [entry] = _audit("brand.member_set", brand)
    assert (entry.actor, entry.details["user"], entry.details["after"]) == (site_admin, member.pk, {"role": "owner"})


def test_editors_cannot_add_brands(editor_session):
    assert editor_session.get(reverse("admin:campaigns_brand_add")).status_code == 403
    assert editor_session.post(reverse("admin:campaigns_brand_add"), {"name": "Sneaky"}).status_code == 403
    assert not Brand.objects.exists()
