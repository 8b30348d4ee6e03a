"""Hostile input, property-based, at the auth endpoints: any body at sign-in, refresh and logout, and ID tokens
whose claims are any JSON (deep, NULs, lone surrogates, NaN, 1e999, odd keys), through the real firebase-admin SDK
in Auth emulator mode. The checks are tests/kmeme/hostile.py's: never a 5xx, errors in the one shape, and a refused
request writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from accounts.models import Role, Upload
from tests.accounts.factories import UserFactory
from tests.accounts.firebase_tokens import b64url, id_token, id_token_claims
from tests.kmeme.hostile import (
    HOSTILE,
    ServerClient,
    assert_handled,
    bodies,
    content_types,
    dumps,
    hostile_text,
    json_values,
    quoted,
)

pytestmark = pytest.mark.django_db

FIREBASE = "/api/v1/auth/firebase"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


def send(client: APIClient, path: str, body: str | bytes, content_type: str) -> Any:
    cache.delete_pattern("*")  # the sign-in throttle starts afresh: each example reaches the code behind it
    return assert_handled(lambda: client.generic("POST", path, body, content_type=content_type))


def send_as(client: APIClient, method: str, path: str, body: str | bytes, content_type: str) -> Any:
    cache.delete_pattern("*")
    return assert_handled(lambda: client.generic(method, path, body, content_type=content_type))


@pytest.fixture
def session(api_client, firebase_emulator) -> dict[str, Any]:
    response = api_client.post(FIREBASE, {"id_token": id_token(uid="uid-mina")}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@HOSTILE
@given(body=bodies({"id_token": "eyJhbGciOiJub25lIn0.e30."}), content_type=content_types)
def test_sign_in_with_any_body(api_client, firebase_emulator, body, content_type):
    send(api_client, FIREBASE, body, content_type)


_claim_names = st.sampled_from(
    ["name", "email", "email_verified", "sub", "user_id", "exp", "iat", "auth_time", "aud", "iss", "firebase"]
)
_claims = st.dictionaries(st.one_of(_claim_names, hostile_text), st.one_of(hostile_text, json_values), max_size=4)


@HOSTILE
@given(overrides=_claims, uid=st.sampled_from(["uid-hostile", "uid-other"]))
def test_sign_in_with_any_claims(api_client, firebase_emulator, overrides, uid):
    claims = {**id_token_claims(uid=uid, email=f"{uid}@example.com"), **overrides}
    token = f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(dumps(claims).encode())}."
    response = send(api_client, FIREBASE, dumps({"id_token": token}), "application/json")
    if response.status_code == 200:  # what was accepted is stored and reads back
        me = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
        assert me.status_code == 200


@HOSTILE
@given(body=st.data(), content_type=content_types)
def test_refresh_with_any_body(api_client, session, body, content_type):
    send(api_client, REFRESH, body.draw(bodies({"refresh": session["refresh"]})), content_type)


@HOSTILE
@given(body=st.data(), content_type=content_types, signed_in=st.booleans())
def test_logout_with_any_body(session, body, content_type, signed_in):
    client = APIClient()
    if signed_in:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {session['access']}")
    send(client, LOGOUT, body.draw(bodies({"refresh": session["refresh"]})), content_type)


# --- Uploads ---------------------------------------------------------------------------------------------------------

UPLOADS = "/api/v1/uploads"


class Uploads:
    """Mina's pending upload (with its local signed URL) and Joon's, started through the API on local media."""

    def __init__(self) -> None:
        self.mina = UserFactory(role=Role.CREATOR, display_name="Mina")
        self.joon = UserFactory(role=Role.CREATOR, display_name="Joon")
        self.ticket = (
            self.client(True)
            .post(UPLOADS, {"filename": "clip.mp4", "content_type": "video/mp4", "size": 8}, format="json")
            .json()
        )
        joon = APIClient()
        joon.force_authenticate(self.joon)
        self.joons = joon.post(UPLOADS, {"filename": "j.mp4", "content_type": "video/mp4", "size": 8}, format="json")
        self.joons = self.joons.json()

    def client(self, signed_in: bool) -> APIClient:
        client = APIClient()
        if signed_in:
            client.force_authenticate(self.mina)
        return client


@pytest.fixture
def uploads(settings, tmp_path) -> Uploads:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    settings.AWS_S3_ENDPOINT_URL = None
    return Uploads()


@HOSTILE
@given(
    body=bodies({"filename": "clip.mp4", "content_type": "video/mp4", "size": 1000}),
    content_type=content_types,
    signed_in=st.booleans(),
)
def test_upload_start_with_any_body(uploads, body, content_type, signed_in):
    response = send_as(uploads.client(signed_in), "POST", UPLOADS, body, content_type)
    if response.status_code == 201:  # what was accepted reads back, under the owner's prefix
        upload_id = response.json()["upload"]["id"]
        assert uploads.client(True).get(f"{UPLOADS}/{upload_id}").status_code == 200
        assert Upload.objects.get(public_id=upload_id).key.startswith(f"user_content/{uploads.mina.pk}/")


@HOSTILE
@given(
    body=bodies({}) | st.just(""),
    content_type=content_types,
    signed_in=st.booleans(),
    target=st.sampled_from(["mine", "joons", "random"]),
)
def test_upload_complete_with_any_body(uploads, body, content_type, signed_in, target):
    upload_id = {"mine": uploads.ticket["upload"]["id"], "joons": uploads.joons["upload"]["id"]}.get(
        target, "00000000-0000-4000-8000-000000000000"
    )
    response = send_as(uploads.client(signed_in), "POST", f"{UPLOADS}/{upload_id}/complete", body, content_type)
    assert response.status_code in (401, 404, 409)  # nothing was sent: never completed, and never another's


@HOSTILE
@given(
    body=st.binary(max_size=16),
    content_type=st.one_of(content_types, st.just("video/mp4"), hostile_text),
    token=st.one_of(hostile_text, st.just("valid"), st.just("joons")),
    upload=st.sampled_from(["mine", "joons"]),
)
def test_upload_content_with_any_body_and_token(uploads, body, content_type, token, upload):
    ticket = uploads.ticket if upload == "mine" else uploads.joons
    path, _, query = ticket["url"].partition("?")
    path = path.removeprefix("http://testserver")
    if token == "valid":
        query_string = query
    elif token == "joons":
        query_string = uploads.joons["url"].partition("?")[2]
    else:
        query_string = f"token={quoted(token)}"
    send_as(ServerClient(), "PUT", f"{path}?{query_string}", body, content_type.encode("utf-8", "replace").decode())
