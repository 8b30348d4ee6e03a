"""factory_boy factories that go through the services, as users' actions would."""

from __future__ import annotations

import factory

from accounts.models import Role
from remix.models import Layer, RemixNode
from remix.services import node_create
from tests.accounts.factories import UserFactory


class NodeFactory(factory.Factory):
    class Meta:
        model = RemixNode

    title = factory.Sequence(lambda n: f"Remix {n}")
    source_url = factory.Sequence(lambda n: f"https://www.tiktok.com/@someone/video/{7300000000000000000 + n}")
    owner = factory.LazyFunction(lambda: UserFactory(role=Role.EDITOR))
    layer = Layer.MASTER
    parent = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> RemixNode:
        return node_create(**kwargs)
