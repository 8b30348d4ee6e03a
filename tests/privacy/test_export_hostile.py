"""The export endpoints under hostile input: never a 5xx, errors in the one shape, a refused POST queues nothing,
and whatever is sent, nobody reads an export that is not theirs."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role, User
from privacy.exports import data_export_run, export_request
from privacy.models import DataExport
from tests.accounts.factories import UserFactory
from tests.kmeme.hostile import HOSTILE, assert_handled, bodies, content_types, hostile_text, query_string, quoted

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(settings, tmp_path) -> User:
    settings.MEDIA_ROOT = tmp_path / "media"
    return UserFactory(role=Role.CREATOR, display_name="Mina")


@pytest.fixture
def ready(owner) -> DataExport:
    export, _ = export_request(user=owner)
    return data_export_run(export=export)


def _client(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@HOSTILE
@given(body=bodies({}), content_type=content_types, who=st.sampled_from(["owner", "other", "nobody"]))
def test_post_export(owner, body, content_type, who):
    cache.delete_pattern("*")
    user = {"owner": owner, "other": UserFactory(role=Role.CREATOR), "nobody": None}[who]
    before = DataExport.objects.count()
    client = _client(user)
    response = assert_handled(lambda: client.generic("POST", "/api/v1/me/export", body, content_type=content_type))
    if response.status_code == 202:
        assert DataExport.objects.count() == before + 1 and user is not None
        DataExport.objects.filter(public_id=response.json()["id"]).update(status="failed")  # the next example again
    elif response.status_code != 200:
        assert DataExport.objects.count() == before


@HOSTILE
@given(
    who=st.sampled_from(["owner", "other", "nobody"]),
    segment=st.one_of(hostile_text, st.uuids().map(str), st.just("READY")),
    params=st.lists(st.tuples(st.sampled_from(["page", "page_size", "token", "x"]), hostile_text), max_size=3),
)
def test_get_paths(owner, ready, who, segment, params):
    cache.delete_pattern("*")
    user = {"owner": owner, "other": UserFactory(role=Role.CREATOR), "nobody": None}[who]
    client = _client(user)
    export_id = str(ready.public_id) if segment == "READY" else quoted(segment)
    query = query_string(params)
    for path in (f"/api/v1/me/export/{export_id}", "/api/v1/me/exports", f"/api/v1/me/export/{export_id}/download"):
        response = assert_handled(lambda path=path: client.get(f"{path}?{query}"))
        if response.status_code == 200 and path.endswith("/download"):
            pytest.fail("the archive was served without its token")
        if response.status_code == 200 and user is not owner:
            body = response.json()
            assert str(ready.public_id) not in str(body), "someone else saw the owner's export"
