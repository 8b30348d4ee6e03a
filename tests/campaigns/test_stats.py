"""Campaign stats on a campaign built by hand through the services: three locations (one nobody went to), every
status, events on several days around midnight in the project's time zone; the same numbers from Redis as
computed, in two queries however many participations."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from campaigns.ksuccess import participations_certify_due
from campaigns.models import Campaign, Participation, ParticipationStatus
from campaigns.participations import participation_join, participation_reject, participation_submit
from campaigns.services import campaign_location_add
from campaigns.stats import campaign_stats, campaign_stats_compute
from genealogy.services import snapshot_record
from remix.forks import fork_publish, node_fork
from tests.accounts.factories import UserFactory
from tests.campaigns.factories import campaign_launched, location_consent

pytestmark = pytest.mark.django_db

SEONGSU, HONGDAE, JAMSIL = (127.0557, 37.5446), (126.9236, 37.5563), (127.1000, 37.5133)
NEAR_SEONGSU, NEAR_HONGDAE, GANGNAM = (127.0561, 37.5449), (126.9238, 37.5565), (127.0276, 37.4979)


def _submit(campaign: Campaign, name: str, where: tuple[float, float], at: datetime) -> Participation:
    creator = UserFactory(role=Role.CREATOR, display_name=name)
    location_consent(creator)
    fork = node_fork(master=campaign.master_nodes.get(), creator=creator, title=name, mutation_types=["localization"])
    fork_publish(fork=fork, user=creator)
    return participation_submit(
        campaign=campaign,
        creator=creator,
        video_url=f"https://www.tiktok.com/@{name}/video/1",
        fork_node=fork,
        longitude=where[0],
        latitude=where[1],
        at=at,
    )


@pytest.fixture
def start() -> datetime:
    """00:30 in Seoul three days ago: each day's events below happen between 01:30 and 03:00 there, which is the
    evening before in UTC, so counting days in UTC would put every one of them a day early."""
    today = timezone.localdate(timezone=timezone.get_default_timezone())
    midnight = datetime(today.year, today.month, today.day, tzinfo=timezone.get_default_timezone())
    return midnight - timedelta(days=3) + timedelta(minutes=30)


@pytest.fixture
def campaign(start: datetime) -> Campaign:
    campaign = campaign_launched(starts_at=start, ends_at=start + timedelta(days=30), success_views=1000)
    campaign_location_add(campaign=campaign, name="Hongdae", longitude=HONGDAE[0], latitude=HONGDAE[1], radius_m=300)
    campaign_location_add(campaign=campaign, name="Jamsil", longitude=JAMSIL[0], latitude=JAMSIL[1], radius_m=300)
    return campaign


def test_the_numbers_of_a_hand_built_campaign(campaign, start, django_assert_num_queries):
    day = [start + timedelta(days=i, hours=1) for i in range(4)]
    a = _submit(campaign, "a", NEAR_SEONGSU, day[0])  # K-Success on day 1
    b = _submit(campaign, "b", NEAR_SEONGSU, day[1])  # stays verified: its views stay under the bar
    c = _submit(campaign, "c", NEAR_HONGDAE, day[1])  # K-Success on day 2
    d = _submit(campaign, "d", GANGNAM, day[2])  # too far: rejected by the check
    f = _submit(campaign, "f", NEAR_HONGDAE, day[2])  # verified, then rejected by an editor
    participation_reject(participation=f, actor=UserFactory(role=Role.EDITOR), reason="Not the pop-up.")
    participation_join(campaign=campaign, creator=UserFactory(role=Role.CREATOR), at=day[2])  # nothing submitted
    assert d.status == ParticipationStatus.REJECTED
    snapshot_record(node=a.fork_node, captured_at=day[1] + timedelta(minutes=30), views=2000)
    snapshot_record(node=b.fork_node, captured_at=day[1] + timedelta(minutes=30), views=10)
    snapshot_record(node=c.fork_node, captured_at=day[2] + timedelta(minutes=30), views=1500)
    assert participations_certify_due().certified == 2

    with django_assert_num_queries(2):
        stats = campaign_stats_compute(campaign=campaign)

    assert stats["campaign"] == campaign.pk
    assert stats["participations"] == {
        "joined": 1,
        "submitted": 0,
        "verified": 1,
        "rejected": 2,
        "k_success": 2,
        "total": 6,
    }
    assert (stats["submitted"], stats["verified"], stats["k_success"]) == (5, 3, 2)
    assert stats["verified_rate"] == 0.6 and stats["conversion_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert stats["locations"] == [
        {"id": stats["locations"][0]["id"], "name": "Hongdae", "verified": 1, "k_success": 1, "conversion_rate": 1.0},
        {"id": stats["locations"][1]["id"], "name": "Jamsil", "verified": 0, "k_success": 0, "conversion_rate": None},
        {"id": stats["locations"][2]["id"], "name": "Seongsu", "verified": 2, "k_success": 1, "conversion_rate": 0.5},
    ]
    assert {loc["id"] for loc in stats["locations"]} == set(campaign.locations.values_list("id", flat=True))
    dates = [(start + timedelta(days=i)).date().isoformat() for i in range(4)]
    assert stats["daily"] == [
        {"date": dates[0], "submitted": 1, "verified": 1, "k_success": 0},
        {"date": dates[1], "submitted": 2, "verified": 2, "k_success": 1},
        {"date": dates[2], "submitted": 2, "verified": 0, "k_success": 1},  # d and f were rejected
        {"date": dates[3], "submitted": 0, "verified": 0, "k_success": 0},  # today, zero-filled
    ]
    assert datetime.fromisoformat(stats["computed_at"]) <= timezone.now()

    cached = campaign_stats(campaign=campaign)
    assert {k: v for k, v in cached.items() if k != "computed_at"} == {
        k: v for k, v in stats.items() if k != "computed_at"
    }
    # As of the end of day 1: the series stops there.
    assert [d["date"] for d in campaign_stats(campaign=campaign, at=day[1] + timedelta(hours=1))["daily"]] == dates[:2]


def test_an_empty_campaign_has_no_rates_and_a_series_of_zeros(campaign, start):
    stats = campaign_stats_compute(campaign=campaign)
    assert stats["participations"]["total"] == 0 and stats["submitted"] == 0
    assert stats["verified_rate"] is None and stats["conversion_rate"] is None
    assert [loc["conversion_rate"] for loc in stats["locations"]] == [None, None, None]
    assert len(stats["daily"]) == 4 and not any(d["submitted"] + d["verified"] + d["k_success"] for d in stats["daily"])


def test_a_campaign_that_has_not_started_has_no_days_yet():
    later = timezone.now() + timedelta(days=2)
    campaign = campaign_launched(starts_at=later, ends_at=later + timedelta(days=5))
    assert campaign_stats_compute(campaign=campaign)["daily"] == []


def test_the_series_stops_at_the_end_of_a_closed_campaign(campaign, start):
    Campaign.objects.filter(pk=campaign.pk).update(ends_at=start + timedelta(days=1, hours=2))
    campaign.refresh_from_db()
    assert [d["date"] for d in campaign_stats_compute(campaign=campaign)["daily"]] == [
        (start + timedelta(days=i)).date().isoformat() for i in range(2)
    ]


def test_days_follow_a_time_zone_whose_offset_is_not_whole_hours(settings):
    """In Kolkata (UTC+5:30) 18:29 and 18:31 UTC are 23:59 and 00:01: two days, as the brand there counts them."""
    settings.TIME_ZONE = "Asia/Kolkata"
    now = timezone.now()
    midnight_there = (now - timedelta(days=1)).replace(hour=18, minute=30, second=0, microsecond=0)
    campaign = campaign_launched(starts_at=midnight_there - timedelta(days=1), ends_at=now + timedelta(days=5))
    _submit(campaign, "before", NEAR_SEONGSU, midnight_there - timedelta(minutes=1))
    _submit(campaign, "after", NEAR_SEONGSU, midnight_there + timedelta(minutes=1))

    daily = {d["date"]: d["submitted"] for d in campaign_stats_compute(campaign=campaign)["daily"]}

    kolkata = timezone.get_default_timezone()
    day_before = timezone.localtime(midnight_there - timedelta(minutes=1), kolkata).date()
    assert (day_before + timedelta(days=1)).isoformat() == timezone.localtime(
        midnight_there, kolkata
    ).date().isoformat()
    assert daily[day_before.isoformat()] == 1 and daily[(day_before + timedelta(days=1)).isoformat()] == 1
