"""K-Success through the API and the real collector, then the rule's edges: the bar reached in time certifies
(once, audited), late or hidden counts do not, a later dip never takes it back; the brand's stats show the
conversion rate; editors certify by hand only with a reason."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from procrastinate.contrib.django import app

from accounts.models import AuditLog, Role
from campaigns.ksuccess import participations_certify_due
from campaigns.models import Campaign, Participation, ParticipationStatus
from campaigns.participations import (
    participation_certify,
    participation_reject,
    participation_reverify,
    participation_submit,
    participation_verify,
)
from campaigns.stats import campaign_stats, campaign_stats_compute
from genealogy.services import snapshot_record
from kmeme.errors import ApplicationError
from remix.forks import fork_publish, node_fork
from remix.models import RemixNode
from tests.accounts.factories import UserFactory
from tests.campaigns.factories import campaign_launched, location_consent
from tests.campaigns.test_api import (
    GANGNAM,
    NEAR_SEONGSU,
    brand_member,
    client_for,
    consent,
    fork_of,
    running_campaign,
    submit,
)
from tests.genealogy.pages import page_handler, recording_handler, video_page
from tests.kmeme.media.helpers import serve
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db


@pytest.fixture
def master():
    return published_master("Dalgona latte")


@pytest.fixture
def manager():
    return brand_member("Seongsu Roasters")


def test_the_snapshot_job_sees_the_bar_passed_and_the_brand_sees_the_conversion(settings, manager, master):
    settings.PERFORMANCE_READS_PER_MINUTE = {"default": 100}
    campaign = running_campaign(manager, master)  # success bar: 5,000 views
    views = {"hit": 12_000, "miss": 900}
    box: list[str] = []
    routes = {
        f"/{name}": page_handler(lambda n=name, v=count: video_page(box[0], name=n, views=v))
        for name, count in views.items()
    }
    with serve(routes, fallback=recording_handler([])) as base:
        box.append(base)
        outcomes = {}
        for name in ("hit", "miss", "far"):
            creator = UserFactory(role=Role.CREATOR, display_name=name)
            consent(creator)
            fork = fork_of(creator, str(master.public_id), f"{name} latte")
            where = GANGNAM if name == "far" else NEAR_SEONGSU
            video = f"{base}/{'miss' if name == 'far' else name}"
            outcomes[name] = submit(creator, campaign["id"], fork, where, video=video).json()
        assert [outcomes[n]["status"] for n in ("hit", "miss", "far")] == ["verified", "verified", "rejected"]
        RemixNode.objects.filter(pk=master.pk).update(source_url=f"{base}/miss")  # the master is read too
        out = StringIO()
        call_command("snapshots_collect", stdout=out, stderr=StringIO())  # the hourly job's code
    assert "0 failed" in out.getvalue(), out.getvalue()

    call_command("ksuccess_certify", stdout=(summary := StringIO()))  # the 15-minute job's code
    assert "1 certified" in summary.getvalue()
    hit = Participation.objects.get(pk=outcomes["hit"]["id"])
    assert hit.status == ParticipationStatus.K_SUCCESS and hit.k_success_views == 12_000 and hit.k_success_by is None
    assert AuditLog.objects.filter(action="participation.k_success", target_id=str(hit.pk)).count() == 1
    mine = client_for(hit.creator).get("/api/v1/me/participations").json()["results"][0]
    assert mine["status"] == "k_success" and mine["k_success_views"] == 12_000

    stats = client_for(manager).get(f"/api/v1/brand/campaigns/{campaign['id']}/stats")
    assert stats.status_code == 200, stats.content
    body = stats.json()
    assert body["participations"] == {
        "joined": 0,
        "submitted": 0,
        "verified": 1,
        "rejected": 1,
        "k_success": 1,
        "total": 3,
    }
    assert (body["submitted"], body["verified"], body["k_success"]) == (3, 2, 1)
    assert body["verified_rate"] == pytest.approx(2 / 3, abs=1e-4) and body["conversion_rate"] == 0.5
    seongsu = next(loc for loc in body["locations"] if loc["name"] == "Seongsu pop-up")
    assert (seongsu["verified"], seongsu["k_success"], seongsu["conversion_rate"]) == (2, 1, 0.5)
    today = body["daily"][-1]
    assert (today["submitted"], today["verified"], today["k_success"]) == (3, 2, 1)
    rival = client_for(UserFactory(role=Role.BRAND))
    assert rival.get(f"/api/v1/brand/campaigns/{campaign['id']}/stats").status_code == 404

    # Running again certifies nothing more; a later dip takes nothing back.
    assert participations_certify_due().certified == 0
    snapshot_record(node=hit.fork_node, captured_at=timezone.now() + timedelta(minutes=5), views=10)
    participations_certify_due()
    participation_verify(participation=hit)
    assert Participation.objects.get(pk=hit.pk).status == ParticipationStatus.K_SUCCESS


def _verified(campaign: Campaign, *, name: str) -> Participation:
    creator = UserFactory(role=Role.CREATOR, display_name=name)
    location_consent(creator)
    fork = node_fork(master=campaign.master_nodes.get(), creator=creator, title=name, mutation_types=["localization"])
    fork_publish(fork=fork, user=creator)
    p = participation_submit(
        campaign=campaign,
        creator=creator,
        video_url=f"https://www.tiktok.com/@{name}/video/1",
        fork_node=fork,
        longitude=127.0561,
        latitude=37.5449,
    )
    assert p.status == ParticipationStatus.VERIFIED
    return p


def test_only_counts_in_time_and_known_certify():
    campaign = campaign_launched(success_views=1000, success_grace_days=2)
    late, hidden, early, in_grace = (_verified(campaign, name=n) for n in ("late", "hidden", "early", "grace"))
    end = campaign.ends_at
    snapshot_record(node=late.fork_node, captured_at=end + timedelta(days=2, minutes=1), views=5000)
    snapshot_record(node=hidden.fork_node, captured_at=end, likes=9000)  # views hidden: NULL, never 0 or a pass
    snapshot_record(node=early.fork_node, captured_at=campaign.starts_at - timedelta(hours=1), views=5000)
    snapshot_record(node=in_grace.fork_node, captured_at=end + timedelta(days=1), views=999)
    snapshot_record(node=in_grace.fork_node, captured_at=end + timedelta(days=1, hours=1), views=1000)
    assert participations_certify_due(at=end + timedelta(days=3)).certified == 1  # run once all those were taken
    statuses = dict(Participation.objects.values_list("creator__display_name", "status"))
    assert statuses == {"late": "verified", "hidden": "verified", "early": "verified", "grace": "k_success"}
    assert Participation.objects.get(pk=in_grace.pk).k_success_at == end + timedelta(days=1, hours=1)


def test_an_editor_certifies_by_hand_only_with_a_reason():
    campaign = campaign_launched()
    p = _verified(campaign, name="hand")
    editor = UserFactory(role=Role.EDITOR)
    with pytest.raises(ApplicationError) as excinfo:
        participation_certify(participation=p, actor=editor, reason="  ")
    assert excinfo.value.code == "reason_required"
    participation_certify(participation=p, actor=editor, reason="The brand counted 20k views on Instagram.")
    fresh = Participation.objects.get(pk=p.pk)
    assert fresh.status == ParticipationStatus.K_SUCCESS and fresh.k_success_by == editor
    assert fresh.decision_reason.startswith("The brand counted")


def test_stats_cost_the_same_queries_however_many_participations(django_assert_num_queries):
    campaign = campaign_launched()
    for i in range(6):
        _verified(campaign, name=f"c{i}")
    with django_assert_num_queries(2):
        stats = campaign_stats_compute(campaign=campaign)
    assert stats["verified"] == 6 and stats["conversion_rate"] == 0.0
    assert campaign_stats(campaign=campaign) == campaign_stats(campaign=campaign)  # the second from Redis
    with django_assert_num_queries(0):
        campaign_stats(campaign=campaign)
    participation_certify(
        participation=Participation.objects.filter(campaign=campaign).first(), actor=UserFactory(), reason="seen"
    )
    assert campaign_stats(campaign=campaign)["k_success"] == 1  # a change shows at once


def test_editors_see_the_numbers_and_the_map_and_certify_from_the_admin(editor_session):
    campaign = campaign_launched()
    p = _verified(campaign, name="adminpick")
    page = editor_session.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "conversion" in html and "1 locations, 1 claimed positions" in html and 'fill="#2e7d32"' in html
    url = reverse("admin:campaigns_participation_changelist")
    ask = editor_session.post(url, {"action": "certify_selected", "_selected_action": [p.pk]})
    assert ask.status_code == 200 and "Reason" in ask.content.decode()
    done = editor_session.post(
        url,
        {"action": "certify_selected", "_selected_action": [p.pk], "apply": "1", "decision-reason": "Brand confirmed"},
    )
    assert done.status_code == 302
    assert Participation.objects.get(pk=p.pk).status == ParticipationStatus.K_SUCCESS


def test_the_first_snapshot_at_the_bar_certifies_once_with_one_audit_row():
    campaign = campaign_launched(success_views=1000)
    p = _verified(campaign, name="once")
    now = timezone.now()
    snapshot_record(node=p.fork_node, captured_at=now - timedelta(hours=3), views=400)
    first = snapshot_record(node=p.fork_node, captured_at=now - timedelta(hours=2), views=1200)
    snapshot_record(node=p.fork_node, captured_at=now - timedelta(hours=1), views=5000)

    assert participations_certify_due().certified == 1
    assert participations_certify_due().certified == 0  # the second run finds nothing new

    fresh = Participation.objects.get(pk=p.pk)
    assert (fresh.status, fresh.k_success_at, fresh.k_success_views) == ("k_success", first.captured_at, 1200)
    [entry] = AuditLog.objects.filter(action="participation.k_success", target_id=str(p.pk))
    assert entry.actor is None
    assert entry.details == {
        "views": 1200,
        "bar": 1000,
        "snapshot": first.pk,
        "reached_at": first.captured_at.isoformat(),
    }


def test_a_dip_and_a_recheck_after_certification_take_nothing_back(editor_user):
    campaign = campaign_launched(success_views=1000)
    p = _verified(campaign, name="dip")
    snapshot_record(node=p.fork_node, captured_at=timezone.now() - timedelta(hours=2), views=1500)
    participations_certify_due()
    snapshot_record(node=p.fork_node, captured_at=timezone.now() - timedelta(hours=1), views=3)  # deleted views
    assert participations_certify_due().certified == 0
    participation_reverify(participation=Participation.objects.get(pk=p.pk), actor=editor_user)
    fresh = Participation.objects.get(pk=p.pk)
    assert (fresh.status, fresh.k_success_views) == (ParticipationStatus.K_SUCCESS, 1500)
    assert AuditLog.objects.filter(action="participation.k_success", target_id=str(p.pk)).count() == 1


def test_only_the_submitted_videos_views_count():
    """The collector records which URL it read; counts the fork's earlier (or later) video had are not this one's."""
    campaign = campaign_launched(success_views=1000)
    p = _verified(campaign, name="switch")
    now = timezone.now()
    snapshot_record(
        node=p.fork_node,
        captured_at=now - timedelta(hours=3),
        views=900_000,
        source_url="https://www.tiktok.com/@someone-famous/video/9",
    )
    assert participations_certify_due().certified == 0
    hit = snapshot_record(node=p.fork_node, captured_at=now - timedelta(hours=1), views=1000, source_url=p.video_url)
    assert participations_certify_due().certified == 1
    assert Participation.objects.get(pk=p.pk).k_success_views == hit.views


def test_as_of_a_moment_later_snapshots_are_not_known_yet():
    campaign = campaign_launched(success_views=1000)
    p = _verified(campaign, name="asof")
    reached = timezone.now() - timedelta(hours=1)
    snapshot_record(node=p.fork_node, captured_at=reached, views=1000)
    assert participations_certify_due(at=reached - timedelta(minutes=1)).certified == 0
    assert participations_certify_due(at=reached).certified == 1


def test_a_participation_without_a_fork_or_not_verified_is_never_certified_by_the_job():
    campaign = campaign_launched(success_views=1000)
    p = _verified(campaign, name="rejected-later")
    participation_reject(participation=p, actor=UserFactory(role=Role.EDITOR), reason="Wrong place in the video.")
    snapshot_record(node=p.fork_node, captured_at=timezone.now() - timedelta(hours=1), views=50_000)
    assert participations_certify_due().certified == 0
    assert Participation.objects.get(pk=p.pk).status == ParticipationStatus.REJECTED


def test_certifying_by_hand_is_only_from_verified():
    campaign = campaign_launched()
    p = _verified(campaign, name="twice")
    editor = UserFactory(role=Role.EDITOR)
    participation_certify(participation=p, actor=editor, reason="Brand confirmed the views.")
    with pytest.raises(ApplicationError) as excinfo:
        participation_certify(participation=p, actor=editor, reason="Again")
    assert excinfo.value.code == "invalid_transition"
    assert AuditLog.objects.filter(action="participation.certify", target_id=str(p.pk)).count() == 1


def test_the_job_is_scheduled_every_15_minutes_on_the_maintenance_queue():
    periodic = {p.task.name: p for p in app.periodic_registry.periodic_tasks.values()}
    job = periodic["campaigns.tasks.ksuccess_certify_job"]
    assert job.cron == "2,17,32,47 * * * *"
    assert (job.task.queue, job.task.queueing_lock) == ("maintenance", "ksuccess_certify")
