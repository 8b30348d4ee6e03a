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

from tests.accounts.firebase_tokens import b64url, id_token, id_token_claims
from tests.kmeme.hostile import HOSTILE, assert_handled, bodies, content_types, dumps, hostile_text, json_values

pytestmark = pytest.mark.django_db

FIREBASE = "/api/v1/auth/firebase"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


def send(client: APIClient, path: str, body: str | bytes, content_type: str) -> Any:
    cache.delete_pattern("*")  # the sign-in throttle starts afresh: each example reaches the code behind it
    return assert_handled(lambda: client.generic("POST", path, body, content_type=content_type))


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
