"""factory_boy factories that go through the services, as users' actions would."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.conf import settings
from django.utils import timezone

from accounts.models import ConsentKind, User
from accounts.services import consent_record
from campaigns.models import Brand, Campaign, CampaignStatus
from campaigns.services import brand_create, campaign_create, campaign_location_add, campaign_transition
from tests.remix.factories import published_master


class BrandFactory(factory.Factory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Brand:
        return brand_create(**kwargs)


class CampaignFactory(factory.Factory):
    class Meta:
        model = Campaign

    brand = factory.SubFactory(BrandFactory)
    title = factory.Sequence(lambda n: f"Campaign {n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=10))
    master_nodes = factory.LazyFunction(lambda: [published_master("Featured latte art")])

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Campaign:
        return campaign_create(**kwargs)


def campaign_launched(**kwargs) -> Campaign:
    """A campaign that is running (launched through the workflow)."""
    campaign = CampaignFactory(**kwargs)
    if not campaign.locations.exists():
        campaign_location_add(campaign=campaign, name="Seongsu", longitude=127.0557, latitude=37.5446, radius_m=300)
    return campaign_transition(campaign=campaign, to=CampaignStatus.ACTIVE, actor=None)


def location_consent(user: User, *, granted: bool = True, version: str | None = None) -> None:
    consent_record(
        user=user,
        kind=ConsentKind.LOCATION,
        granted=granted,
        terms_version=version or settings.CONSENT_TERMS_VERSIONS[ConsentKind.LOCATION],
    )
