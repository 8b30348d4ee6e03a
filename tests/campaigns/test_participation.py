from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role
from campaigns.models import Participation, ParticipationStatus, VerificationResult
from campaigns.participations import participation_submit, participation_verify
from campaigns.services import campaign_create, campaign_location_add
from kmeme.errors import ApplicationError
from remix.models import Layer
from tests.accounts.factories import UserFactory
from tests.campaigns.factories import BrandFactory, CampaignFactory, campaign_launched, location_consent
from tests.remix.factories import NodeFactory

pytestmark = pytest.mark.django_db

SEONGSU = (127.0557, 37.5446)


def _consenting():
    creator = UserFactory(role=Role.CREATOR)
    location_consent(creator)
    return creator


@pytest.fixture
def campaign():
    campaign = campaign_launched()
    campaign_location_add(campaign=campaign, name="Seongsu", longitude=SEONGSU[0], latitude=SEONGSU[1], radius_m=300)
    campaign_location_add(campaign=campaign, name="Hongdae", longitude=126.9237, latitude=37.5563, radius_m=250)
    return campaign


def test_a_creator_within_the_radius_is_verified_at_the_nearest_location(campaign):
    p = participation_submit(
        campaign=campaign,
        creator=_consenting(),
        video_url="https://www.tiktok.com/@c/video/1",
        longitude=127.0561,
        latitude=37.5449,  # about 50 m from the Seongsu pop-up
    )
    assert p.status == ParticipationStatus.VERIFIED
    assert p.verification_result == VerificationResult.WITHIN_RADIUS
    assert p.location.name == "Seongsu"
    assert 30 < p.distance_m < 70


def test_a_creator_too_far_away_is_rejected_with_the_distance(campaign):
    p = participation_submit(
        campaign=campaign,
        creator=_consenting(),
        video_url="https://www.tiktok.com/@c/video/2",
        longitude=127.0276,
        latitude=37.4979,  # Gangnam station, kilometres away
    )
    assert p.status == ParticipationStatus.REJECTED
    assert p.verification_result == VerificationResult.OUT_OF_RADIUS
    assert p.distance_m > 3000


def test_outside_the_campaign_window_nothing_is_taken(campaign):
    with pytest.raises(ApplicationError) as excinfo:
        participation_submit(
            campaign=campaign,
            creator=_consenting(),
            video_url="https://www.tiktok.com/@c/video/3",
            longitude=SEONGSU[0],
            latitude=SEONGSU[1],
            at=campaign.ends_at + timedelta(minutes=1),
        )
    assert (excinfo.value.code, excinfo.value.status_code) == ("campaign_window_closed", 409)
    assert not Participation.objects.exists()


def test_a_check_run_after_the_window_says_so(campaign):
    p = participation_submit(
        campaign=campaign,
        creator=_consenting(),
        video_url="https://www.tiktok.com/@c/video/3",
        longitude=SEONGSU[0],
        latitude=SEONGSU[1],
    )
    participation_verify(participation=p, at=campaign.ends_at + timedelta(minutes=1))
    assert p.verification_result == VerificationResult.OUTSIDE_WINDOW
    assert p.status == ParticipationStatus.REJECTED and "window" in p.verification_reason


def test_without_a_position_nothing_can_be_verified(campaign):
    p = participation_submit(
        campaign=campaign,
        creator=_consenting(),
        video_url="https://www.tiktok.com/@c/video/4",
        longitude=None,
        latitude=None,
    )
    assert p.verification_result == VerificationResult.NO_POSITION


def test_one_participation_per_creator_and_campaign(campaign):
    creator = _consenting()
    rejected = participation_submit(
        campaign=campaign, creator=creator, video_url="https://x.com/a.mp4", longitude=None, latitude=None
    )
    assert rejected.status == ParticipationStatus.REJECTED
    again = participation_submit(  # a rejected one is submitted again: the same row
        campaign=campaign, creator=creator, video_url="https://x.com/b.mp4", longitude=SEONGSU[0], latitude=SEONGSU[1]
    )
    assert again.pk == rejected.pk and again.status == ParticipationStatus.VERIFIED and again.submissions == 2
    with pytest.raises(ApplicationError) as excinfo:
        participation_submit(
            campaign=campaign, creator=creator, video_url="https://x.com/c.mp4", longitude=None, latitude=None
        )
    assert (excinfo.value.code, excinfo.value.status_code) == ("already_participating", 409)
    assert Participation.objects.filter(creator=creator).count() == 1
    with pytest.raises(IntegrityError, match="participation_once_per_campaign"), transaction.atomic():
        Participation.objects.create(campaign=campaign, creator=creator, video_url="https://x.com/c.mp4")


def test_campaign_must_end_after_it_starts():
    now = timezone.now()
    with pytest.raises(ValidationError, match="A campaign must end after it starts"):
        campaign_create(brand=BrandFactory(), title="Backwards", starts_at=now, ends_at=now - timedelta(days=1))


def test_campaigns_feature_masters_only():
    fork = NodeFactory(layer=Layer.FORK, parent=NodeFactory())  # a fork node linked to its origin
    with pytest.raises(ApplicationError) as excinfo:
        CampaignFactory(master_nodes=[fork])
    assert excinfo.value.code == "campaign_needs_masters"


@pytest.mark.parametrize("radius", [0, 5, 50_001])
def test_location_radius_must_be_sane(radius):
    with pytest.raises(ValidationError) as excinfo:
        campaign_location_add(campaign=CampaignFactory(), name="x", longitude=127.0, latitude=37.5, radius_m=radius)
    assert "radius_m" in excinfo.value.message_dict
