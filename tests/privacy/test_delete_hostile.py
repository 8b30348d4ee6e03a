"""DELETE /api/v1/me under hostile bodies: never a 5xx, errors in the one shape, and a refusal forgets nothing."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role, User
from tests.accounts.factories import UserFactory
from tests.kmeme.hostile import HOSTILE, assert_handled, bodies, content_types, hostile_text, quoted

pytestmark = pytest.mark.django_db


@pytest.fixture
def creator() -> User:
    return UserFactory(role=Role.CREATOR, display_name="Mina")


@HOSTILE
@given(body=bodies({"confirm": "delete my account"}), content_type=content_types, signed_in=st.booleans())
def test_delete_me(creator, body, content_type, signed_in):
    cache.delete_pattern("*")
    client = APIClient()
    if signed_in:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(creator).access_token}")
    response = assert_handled(lambda: client.generic("DELETE", "/api/v1/me", body, content_type=content_type))
    creator.refresh_from_db()
    if response.status_code == 204:
        assert creator.anonymized_at is not None
        User.objects.filter(pk=creator.pk).update(anonymized_at=None, is_active=True)  # the next example again
    else:
        assert creator.anonymized_at is None and creator.is_active


@HOSTILE
@given(
    body=bodies({}),
    content_type=content_types,
    signed_in=st.booleans(),
    path=st.sampled_from(["/api/v1/me/export", "/api/v1/me/export/00000000-0000-0000-0000-000000000000"]),
    query=hostile_text,
)
def test_export_paths(creator, body, content_type, signed_in, path, query):
    cache.delete_pattern("*")
    client = APIClient()
    if signed_in:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(creator).access_token}")
    assert_handled(lambda: client.generic("POST", path, body, content_type=content_type))
    assert_handled(lambda: client.get(f"{path}/download?token={quoted(query)}"))
