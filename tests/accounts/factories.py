"""factory_boy factories that go through the services, as users' actions would."""

from __future__ import annotations

import factory

from accounts.models import Role, User
from accounts.services import user_create


class UserFactory(factory.Factory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    role = Role.CREATOR
    password = "correct horse battery staple"

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> User:
        return user_create(**kwargs)
