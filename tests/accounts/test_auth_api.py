"""Sign-in with Firebase, token refresh and logout, through the real firebase-admin SDK in Auth emulator mode."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Model
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.auth import firebase_app
from accounts.models import AuditLog, Consent, Role, User
from accounts.services import user_create
from accounts.signin import auth_tokens_issue, auth_tokens_refresh
from kmeme.errors import ApplicationError
from tests.accounts.firebase_tokens import DROP, PROJECT_ID, b64url, id_token, id_token_claims, unsigned_jwt

pytestmark = pytest.mark.django_db

FIREBASE = "/api/v1/auth/firebase"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/me"

_WRITTEN: tuple[type[Model], ...] = (User, AuditLog, OutstandingToken, BlacklistedToken)


def rows() -> dict[str, int]:
    """What a refused request must leave untouched."""
    return {model.__name__: model.objects.count() for model in _WRITTEN}


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"status", "code", "message", "details", "request_id"}
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code, body
    assert body["error"]["request_id"]
    return body["error"]


def sign_in(client: APIClient, token: str, **extra: Any) -> Any:
    return client.post(FIREBASE, {"id_token": token}, format="json", **extra)


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


# --- Sign-in ---------------------------------------------------------------------------------------------------------


def test_first_sign_in_creates_a_creator_and_returns_a_working_pair(api_client, firebase_emulator):
    response = sign_in(api_client, id_token(uid="uid-mina", email="Mina@Example.com", name="Mina Kim"))

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    user = User.objects.get()
    assert (user.email, user.firebase_uid, user.role, user.display_name) == (
        "mina@example.com",
        "uid-mina",
        Role.CREATOR,
        "Mina Kim",
    )
    assert not user.is_staff and not user.has_usable_password()
    me = bearer(body["access"]).get(ME)
    assert me.status_code == 200
    assert (
        body["user"]
        == me.json()
        == {
            "id": user.pk,
            "email": "mina@example.com",
            "display_name": "Mina Kim",
            "role": "creator",
            "date_joined": me.json()["date_joined"],
        }
    )
    actions = sorted(AuditLog.objects.filter(actor=user).values_list("action", flat=True))
    assert actions == ["auth.firebase_login", "user.created"]
    login = AuditLog.objects.get(action="auth.firebase_login")
    assert login.details == {"provider": "google.com", "created": True, "linked": False}
    assert login.ip == "127.0.0.1"


def test_signing_in_again_reuses_the_account(api_client, firebase_emulator):
    first = sign_in(api_client, id_token(uid="uid-mina", email="mina@example.com"))
    # Firebase may report a changed address later; the account is still found by its uid.
    second = sign_in(api_client, id_token(uid="uid-mina", email="mina.new@example.com"))

    assert first.status_code == second.status_code == 200
    assert first.json()["user"]["id"] == second.json()["user"]["id"]
    assert first.json()["refresh"] != second.json()["refresh"]
    assert User.objects.count() == 1
    assert AuditLog.objects.filter(action="user.created").count() == 1
    assert AuditLog.objects.filter(action="auth.firebase_login").count() == 2


def test_a_creator_account_waiting_for_its_first_sign_in_is_linked_on_the_verified_email(api_client, firebase_emulator):
    """An admin made the account for a creator (no password, never used): their first Firebase sign-in takes it."""
    creator = user_create(email="joon@example.com", role=Role.CREATOR, display_name="Joon")

    response = sign_in(api_client, id_token(uid="uid-joon", email="JOON@example.com", email_verified=True))

    assert response.status_code == 200, response.content
    creator.refresh_from_db()
    assert creator.firebase_uid == "uid-joon"
    assert creator.role == Role.CREATOR and not creator.is_staff
    assert response.json()["user"]["id"] == creator.pk
    assert User.objects.count() == 1
    assert not AuditLog.objects.filter(action="user.created").exists()
    assert AuditLog.objects.get(action="auth.firebase_login").details["linked"] is True


def test_an_existing_account_is_not_linked_on_an_unverified_email(api_client, firebase_emulator):
    owner = user_create(email="joon@example.com", role=Role.EDITOR)
    before = rows()

    response = sign_in(api_client, id_token(uid="uid-attacker", email="joon@example.com", email_verified=False))

    assert_error(response, 403, "email_not_verified")
    owner.refresh_from_db()
    assert owner.firebase_uid is None
    assert rows() == before


def test_an_unverified_email_gets_the_same_answer_whether_or_not_it_is_registered(api_client, firebase_emulator):
    """No endpoint may reveal whether an email has an account: the unverified-token answer cannot depend on it."""
    user_create(email="taken@example.com")
    taken = sign_in(api_client, id_token(uid="uid-a", email="taken@example.com", email_verified=False))
    free = sign_in(api_client, id_token(uid="uid-b", email="free@example.com", email_verified=False))
    assert taken.status_code == free.status_code == 403
    assert taken.json()["error"]["code"] == free.json()["error"]["code"] == "email_not_verified"
    assert taken.json()["error"]["message"] == free.json()["error"]["message"]
    assert not User.objects.filter(email="free@example.com").exists()


def test_an_email_linked_to_another_firebase_account_is_refused_without_details(api_client, firebase_emulator):
    other = user_create(email="mina@example.com", firebase_uid="uid-original", display_name="Mina Original")
    before = rows()

    response = sign_in(api_client, id_token(uid="uid-second", email="mina@example.com"))

    error = assert_error(response, 409, "email_in_use")
    assert error["details"] is None
    text = response.content.decode()
    for secret in ("uid-original", "Mina Original", "creator"):
        assert secret not in text
    assert str(other.pk) not in error["message"]
    other.refresh_from_db()
    assert other.firebase_uid == "uid-original"
    # Nothing written but the record of the refused attempt.
    assert rows() == {**before, "AuditLog": before["AuditLog"] + 1}
    refused = AuditLog.objects.get(action="auth.firebase_link_refused")
    assert (refused.target_id, refused.details["reason"]) == (str(other.pk), "linked_to_another_firebase_account")


def test_a_token_without_an_email_is_refused(api_client, firebase_emulator):
    before = rows()

    response = sign_in(api_client, id_token(uid="uid-phone", email=None, firebase={"sign_in_provider": "phone"}))

    assert_error(response, 400, "firebase_email_missing")
    assert rows() == before


def test_a_disabled_account_gets_no_tokens(api_client, firebase_emulator):
    user = user_create(email="gone@example.com", firebase_uid="uid-gone")
    user.is_active = False
    user.save(update_fields=["is_active"])
    before = rows()

    assert_error(sign_in(api_client, id_token(uid="uid-gone", email="gone@example.com")), 403, "account_disabled")
    assert rows() == before


def _expired() -> dict[str, Any]:
    return id_token_claims(issued_ago=7200, lifetime=3600)


def _claims_json(claims: dict[str, Any], extra: str) -> bytes:
    """The claims as JSON text with `extra` (raw JSON members, which json.dumps would not write) added."""
    return (json.dumps(claims)[:-1] + ", " + extra + "}").encode()


INVALID_TOKENS = {
    "expired": lambda: unsigned_jwt(_expired()),
    "wrong audience": lambda: unsigned_jwt(id_token_claims(aud="someone-elses-project")),
    "wrong issuer": lambda: unsigned_jwt(id_token_claims(iss="https://securetoken.google.com/someone-elses-project")),
    "issuer of another service": lambda: unsigned_jwt(id_token_claims(iss=f"https://evil.example/{PROJECT_ID}")),
    "a custom token, not an ID token": lambda: unsigned_jwt(
        id_token_claims(aud="https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit")
    ),
    "no subject": lambda: unsigned_jwt(id_token_claims(sub=DROP)),
    "empty subject": lambda: unsigned_jwt(id_token_claims(sub="")),
    "subject too long": lambda: unsigned_jwt(id_token_claims(sub="u" * 129)),
    "issued in the future": lambda: unsigned_jwt(id_token_claims(issued_ago=-3600)),
    "no expiry": lambda: unsigned_jwt(id_token_claims(exp=DROP)),
    "expiry not a number": lambda: unsigned_jwt(id_token_claims(exp="tomorrow")),
    "garbage": lambda: "garbage-not-a-jwt",
    "three dots": lambda: "...",
    "not base64": lambda: "@@@.###.$$$",
    "payload is a list": lambda: unsigned_jwt([1, 2, 3]),
    "payload is null": lambda: unsigned_jwt(None),
    "header is not json": lambda: f"{b64url(b'not json')}.{b64url(id_token_claims())}.",
    "non-ascii": lambda: "토큰.토큰.토큰",
    # JSON that Python's json module decodes but we cannot store or trust (see kmeme.strict_json).
    "claims nested 2500 deep": lambda: unsigned_jwt(_claims_json(id_token_claims(), '"x": ' + "[" * 2500 + "]" * 2500)),
    "header nested 2500 deep": lambda: f"{b64url(b'[' * 2500 + b']' * 2500)}.{b64url(id_token_claims())}.",
    "a NUL in the name": lambda: unsigned_jwt(id_token_claims(name="Mina\x00Kim")),
    "a lone surrogate in the name": lambda: unsigned_jwt(id_token_claims(name="Mina \ud800")),
    "a NUL in the email": lambda: unsigned_jwt(id_token_claims(email="mina\x00@example.com")),
    "a NUL in the subject": lambda: unsigned_jwt(id_token_claims(sub="uid\x00", user_id="uid\x00")),
    "a NUL in a key": lambda: unsigned_jwt(id_token_claims(**{"\x00": "x"})),
    "expiry NaN": lambda: unsigned_jwt(_claims_json(id_token_claims(exp=DROP), '"exp": NaN')),
    "expiry Infinity": lambda: unsigned_jwt(_claims_json(id_token_claims(exp=DROP), '"exp": Infinity')),
    "expiry 1e999": lambda: unsigned_jwt(_claims_json(id_token_claims(exp=DROP), '"exp": 1e999')),
}


@pytest.mark.parametrize("make_token", INVALID_TOKENS.values(), ids=INVALID_TOKENS.keys())
def test_invalid_tokens_are_refused_with_401_and_nothing_written(api_client, firebase_emulator, make_token):
    token = make_token()
    before = rows()

    response = sign_in(api_client, token)

    error = assert_error(response, 401, "invalid_firebase_token")
    text = response.content.decode()
    for part in filter(lambda p: len(p) > 3, token.split(".")):
        assert part not in text  # never echo the token
    assert "someone-elses-project" not in text and PROJECT_ID not in text
    assert error["details"]["reason"] in ("expired", "invalid")
    assert rows() == before


def test_an_expired_token_says_so(api_client, firebase_emulator):
    error = assert_error(sign_in(api_client, unsigned_jwt(_expired())), 401, "invalid_firebase_token")
    assert error["details"] == {"reason": "expired"}


def test_a_token_for_another_project_is_refused_after_the_project_setting_changes(
    api_client, firebase_emulator, settings
):
    token = id_token(uid="uid-mina")
    assert sign_in(api_client, token).status_code == 200

    settings.FIREBASE_PROJECT_ID = "kmeme-other"

    assert_error(sign_in(api_client, token), 401, "invalid_firebase_token")
    assert sign_in(api_client, id_token(uid="uid-mina", project_id="kmeme-other")).status_code == 200


def test_without_the_emulator_unsigned_tokens_are_refused(api_client, no_firebase_emulator):
    before = rows()

    assert_error(sign_in(api_client, id_token()), 401, "invalid_firebase_token")
    assert rows() == before


def test_without_the_emulator_unreachable_google_keys_are_a_503_not_a_500(api_client, no_firebase_emulator):
    # Shaped like a real RS256 token, so firebase-admin goes to fetch Google's keys; tests cannot reach Google.
    token = unsigned_jwt(id_token_claims(), header={"alg": "RS256", "kid": "some-key", "typ": "JWT"}) + "c2ln"

    error = assert_error(sign_in(api_client, token), 503, "auth_unavailable")
    assert "c2ln" not in error["message"]
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "id_token"), ({"id_token": ""}, "id_token"), ({"id_token": "x", "role": "admin"}, "role")],
    ids=["missing", "blank", "unknown field"],
)
def test_malformed_sign_in_requests_are_400(api_client, firebase_emulator, body, field):
    error = assert_error(api_client.post(FIREBASE, body, format="json"), 400, "validation_error")
    assert field in error["details"]
    assert not User.objects.exists()


def test_a_stale_authorization_header_does_not_block_signing_in(firebase_emulator):
    client = bearer("expired.or.garbage")
    assert sign_in(client, id_token()).status_code == 200


def test_sign_in_is_throttled_after_twenty_attempts_a_minute(api_client, firebase_emulator):
    for _ in range(20):
        assert_error(sign_in(api_client, "garbage"), 401, "invalid_firebase_token")

    response = sign_in(api_client, id_token())

    error = assert_error(response, 429, "throttled")
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60
    assert error["details"] == {"scope": "auth", "limit": "20/minute", "retry_after_seconds": retry_after}
    assert not User.objects.exists()
    # Per client: another address still gets in.
    assert sign_in(api_client, id_token(), REMOTE_ADDR="127.0.0.2").status_code == 200


# --- Refresh and logout --------------------------------------------------------------------------------------------


@pytest.fixture
def session(api_client, firebase_emulator) -> dict[str, Any]:
    response = sign_in(api_client, id_token(uid="uid-mina", email="mina@example.com"))
    assert response.status_code == 200
    return response.json()


def test_a_refresh_token_works_once(api_client, session):
    first = api_client.post(REFRESH, {"refresh": session["refresh"]}, format="json")

    assert first.status_code == 200, first.content
    pair = first.json()
    assert set(pair) == {"access", "refresh"}
    assert pair["refresh"] != session["refresh"] and pair["access"] != session["access"]
    assert bearer(pair["access"]).get(ME).json()["email"] == "mina@example.com"

    assert_error(api_client.post(REFRESH, {"refresh": session["refresh"]}, format="json"), 401, "token_not_valid")
    # The rotated one is fine, once.
    assert api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json").status_code == 200
    assert_error(api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401, "token_not_valid")


@pytest.mark.parametrize(
    "make_refresh",
    [lambda s: s["access"], lambda s: s["refresh"][:-4] + "AAAA", lambda s: "not-a-token"],
    ids=["an access token", "a tampered signature", "garbage"],
)
def test_refresh_refuses_what_is_not_a_refresh_token(api_client, session, make_refresh):
    before = rows()
    assert_error(api_client.post(REFRESH, {"refresh": make_refresh(session)}, format="json"), 401, "token_not_valid")
    assert rows() == before


def test_refresh_refuses_a_disabled_account(api_client, session):
    User.objects.filter(pk=session["user"]["id"]).update(is_active=False)
    assert_error(api_client.post(REFRESH, {"refresh": session["refresh"]}, format="json"), 401, "token_not_valid")


def test_refresh_refuses_unknown_fields(api_client, session):
    response = api_client.post(REFRESH, {"refresh": session["refresh"], "access": "x"}, format="json")
    assert "access" in assert_error(response, 400, "validation_error")["details"]


def test_refresh_is_throttled_with_sign_in(api_client, firebase_emulator):
    for _ in range(20):
        api_client.post(REFRESH, {"refresh": "not-a-token"}, format="json")
    response = api_client.post(REFRESH, {"refresh": "not-a-token"}, format="json")
    assert_error(response, 429, "throttled")
    assert response["Retry-After"]


def test_logout_blacklists_the_refresh_token(api_client, session):
    client = bearer(session["access"])

    response = client.post(LOGOUT, {"refresh": session["refresh"]}, format="json")

    assert response.status_code == 204, response.content
    assert AuditLog.objects.filter(action="auth.logout", actor_id=session["user"]["id"]).count() == 1
    assert_error(api_client.post(REFRESH, {"refresh": session["refresh"]}, format="json"), 401, "token_not_valid")
    assert_error(client.post(LOGOUT, {"refresh": session["refresh"]}, format="json"), 401, "token_not_valid")


def test_logout_needs_a_signed_in_user(api_client, session):
    assert_error(api_client.post(LOGOUT, {"refresh": session["refresh"]}, format="json"), 401, "not_authenticated")
    assert api_client.post(REFRESH, {"refresh": session["refresh"]}, format="json").status_code == 200


def test_logout_refuses_another_users_refresh_token(api_client, session):
    other = user_create(email="other@example.com")
    other_client = bearer(str(auth_tokens_issue(user=other).access_token))

    response = other_client.post(LOGOUT, {"refresh": session["refresh"]}, format="json")

    assert_error(response, 403, "permission_denied")
    assert not BlacklistedToken.objects.exists()
    assert api_client.post(REFRESH, {"refresh": session["refresh"]}, format="json").status_code == 200


def test_an_expired_refresh_token_is_refused(api_client, session):
    token = auth_tokens_issue(user=User.objects.get(pk=session["user"]["id"]))
    token.set_exp(lifetime=-timedelta(seconds=1))  # signed by us, but past its expiry
    assert_error(api_client.post(REFRESH, {"refresh": str(token)}, format="json"), 401, "token_not_valid")


def test_the_schema_documents_the_auth_endpoints(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    names = ("firebase", "refresh", "logout")
    operations = {name: paths[f"/api/v1/auth/{name}"]["post"]["operationId"] for name in names}
    assert operations == {"firebase": "auth_firebase", "refresh": "auth_refresh", "logout": "auth_logout"}
    assert {"400", "401", "429"} <= set(paths["/api/v1/auth/firebase"]["post"]["responses"])


@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_used_twice_at_once_lets_only_one_through():
    """The second use waits for the first on the token's row, then sees it blacklisted."""
    user = user_create(email="racer@example.com")
    token = auth_tokens_issue(user=user)
    outcomes: list[str] = []

    def second_use() -> None:
        try:
            auth_tokens_refresh(refresh=str(token))
            outcomes.append("refreshed")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    with transaction.atomic():
        # This transaction plays the first use: it holds the row while the second use arrives.
        outstanding = OutstandingToken.objects.select_for_update().order_by("pk").get(jti=token["jti"])
        thread = threading.Thread(target=second_use)
        thread.start()
        deadline = time.monotonic() + 10
        while not _a_session_waits_for_a_lock():
            assert time.monotonic() < deadline, "the second use never waited for the first"
            time.sleep(0.02)
        BlacklistedToken.objects.create(token=outstanding)
    thread.join(timeout=10)

    assert outcomes == ["token_not_valid"]
    assert OutstandingToken.objects.filter(user=user).count() == 1  # no new pair was issued


def _a_session_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # activity is a snapshot per transaction otherwise
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


# --- Configuration --------------------------------------------------------------------------------------------------


def _service_account_file(tmp_path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT_ID,
                "private_key_id": "test-key",
                "private_key": pem.decode(),
                "client_email": f"firebase-adminsdk@{PROJECT_ID}.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    return path


def test_sign_in_works_with_a_service_account_file(api_client, firebase_emulator, settings, tmp_path):
    settings.FIREBASE_CREDENTIALS_FILE = str(_service_account_file(tmp_path))

    assert sign_in(api_client, id_token()).status_code == 200
    assert firebase_app().credential.project_id == PROJECT_ID


def test_an_unreadable_service_account_file_is_a_configuration_error(settings, tmp_path, no_firebase_emulator):
    settings.FIREBASE_CREDENTIALS_FILE = str(tmp_path / "missing.json")
    with pytest.raises(ImproperlyConfigured, match="FIREBASE_CREDENTIALS_FILE"):
        firebase_app()


def test_the_emulator_variable_must_agree_with_the_setting(monkeypatch, settings):
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    settings.FIREBASE_AUTH_EMULATOR_HOST = ""
    with pytest.raises(ImproperlyConfigured, match="FIREBASE_AUTH_EMULATOR_HOST"):
        firebase_app()


# --- Consents at sign-up -----------------------------------------------------------------------------------------


def _consents(*kinds: str, version: str = "2026-01") -> list[dict[str, Any]]:
    return [{"kind": kind, "granted": True, "terms_version": version} for kind in kinds]


def test_sign_up_records_the_consents_sent_once(api_client, firebase_emulator):
    token = id_token(uid="uid-consent", email="consent@example.com")
    body = {"id_token": token, "consents": _consents("terms", "privacy", "marketing")}
    first = api_client.post(FIREBASE, body, format="json")
    assert first.status_code == 200, first.content
    user = User.objects.get(email="consent@example.com")
    assert sorted(Consent.objects.filter(user=user).values_list("kind", flat=True)) == ["marketing", "privacy", "terms"]
    again = api_client.post(FIREBASE, {"id_token": token, "consents": _consents("terms", "privacy")}, format="json")
    assert again.status_code == 200 and Consent.objects.filter(user=user).count() == 3  # unchanged: not repeated


def test_once_terms_are_set_sign_up_needs_terms_and_privacy(api_client, firebase_emulator, settings):
    settings.TERMS_VERSION = "2026-07"
    settings.SIGNUP_CONSENT_REQUIRED = True
    settings.CONSENT_TERMS_VERSIONS = {**settings.CONSENT_TERMS_VERSIONS, "terms": "2026-07"}
    token = id_token(uid="uid-strict", email="strict@example.com")
    bare = sign_in(api_client, token)
    assert bare.status_code == 400 and bare.json()["error"]["code"] == "consent_required"
    assert bare.json()["error"]["details"]["missing"] == ["terms", "privacy"]
    old = api_client.post(
        FIREBASE, {"id_token": token, "consents": _consents("terms", "privacy", version="2026-01")}, format="json"
    )
    assert old.status_code == 400 and old.json()["error"]["code"] == "terms_outdated"
    assert not User.objects.filter(email="strict@example.com").exists() and not Consent.objects.exists()
    body = {
        "id_token": token,
        "consents": [*_consents("terms", version="2026-07"), *_consents("privacy")],
    }
    assert api_client.post(FIREBASE, body, format="json").status_code == 200
    assert Consent.objects.filter(user__email="strict@example.com", granted=True).count() == 2


def test_existing_users_sign_in_without_consents_even_when_required(api_client, firebase_emulator, settings):
    token = id_token(uid="uid-old", email="old@example.com")
    assert sign_in(api_client, token).status_code == 200
    settings.SIGNUP_CONSENT_REQUIRED = True
    assert sign_in(api_client, token).status_code == 200
