"""factory_boy factories that go through the services, as users' actions would."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from campaigns.models import Brand, Campaign
from campaigns.services import brand_create, campaign_create


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

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Campaign:
        return campaign_create(**kwargs)
