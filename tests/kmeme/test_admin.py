"""Every model is registered, and every admin page an editor or admin opens renders."""

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import AuditLog, Role
from kmeme.demo import demo_load
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"ai", "accounts", "remix", "genealogy", "campaigns"}


@pytest.fixture
def admin_client(client):
    demo_load()
    client.force_login(UserFactory(role=Role.ADMIN))
    return client


def _project_models():
    from django.apps import apps

    # Django's admin cannot show a model with a composite primary key (genealogy.LineageClosure: rows kept by
    # database triggers, derived from the Mutations, which have their admin).
    return [
        m
        for app in PROJECT_APPS
        for m in apps.get_app_config(app).get_models()
        if not m._meta.auto_created and not m._meta.is_composite_pk
    ]


def test_every_project_model_has_an_admin():
    missing = [m._meta.label for m in _project_models() if m not in admin.site._registry]
    assert missing == []


@pytest.mark.parametrize("model", _project_models(), ids=lambda m: m._meta.label)
def test_changelist_and_change_pages_render_with_demo_content(admin_client, model):
    opts = model._meta
    changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    if model._meta.label == "ai.AICall":  # the ledger is written by the pipeline; demo content has no AI calls
        model.objects.create(provider="anthropic", model="claude", purpose="brief", status="ok", cost_usd="0.01")
    obj = model.objects.first()
    assert obj is not None, f"demo data has no {opts.label}"
    change = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    assert change.status_code == 200
    assert str(obj)[:20].replace("&", "&amp;").replace("'", "&#x27;") in change.content.decode()


def test_campaign_locations_are_edited_on_a_map(admin_client):
    from campaigns.models import CampaignLocation

    location = CampaignLocation.objects.first()
    page = admin_client.get(reverse("admin:campaigns_campaignlocation_change", args=[location.pk])).content.decode()
    assert "OSMWidget" in page or "ol.js" in page or "openlayers" in page.lower()


def test_the_audit_log_is_read_only_even_for_superusers(admin_client):
    entry = AuditLog.objects.first()
    response = admin_client.post(reverse("admin:accounts_auditlog_change", args=[entry.pk]), {"action": "tampered"})
    assert response.status_code == 403
    assert admin_client.get(reverse("admin:accounts_auditlog_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:accounts_auditlog_delete", args=[entry.pk]), {"post": "yes"}).status_code
        == 403
    )


def test_creators_and_brands_have_no_admin_access(client):
    for role in (Role.CREATOR, Role.BRAND):
        client.force_login(UserFactory(role=role))
        response = client.get("/admin/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_campaigns_locations_are_placed_on_a_map_inside_the_campaign(admin_client):
    from campaigns.models import Campaign

    campaign = Campaign.objects.first()
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert 'id="id_locations-0-point_map" class="dj_map"' in page
    assert 'id="id_locations-1-point_map" class="dj_map"' in page


def test_the_genealogy_link_of_a_review_screen_finds_the_nodes_edges(admin_client):
    from remix.models import RemixNode

    fork = RemixNode.objects.get(title="Latte-art transition, Busan edition")
    page = admin_client.get(reverse("admin:remix_mutation_changelist"), {"q": str(fork.public_id)})
    assert "Latte-art transition, Busan edition" in page.content.decode()


def test_view_site_leads_to_a_page_that_exists(admin_client):
    """The admin header's "View site" link: there is no public home page, so it opens the API's docs."""
    index = admin_client.get("/admin/").content.decode()
    assert 'href="/api/docs/"' in index
    assert admin_client.get("/api/docs/").status_code == 200
