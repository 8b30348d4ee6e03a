"""Verifying Firebase ID tokens with firebase-admin.

The frontend signs people in with Firebase Authentication and sends us the ID token; we verify it here and the
services turn its claims into our own user and JWT pair. Nothing else in the project talks to Firebase.

Modes, chosen by settings and the environment:

- `FIREBASE_CREDENTIALS_FILE` set: firebase-admin runs with that service account.
- Otherwise no credentials at all: verifying an ID token needs only Google's public keys (fetched over HTTPS,
  cached), so we never fall back to Application Default Credentials and their metadata-server lookups.
- `FIREBASE_AUTH_EMULATOR_HOST` in the environment (firebase-admin reads the variable itself): the Auth emulator's
  tokens are accepted. They are unsigned, so this mode must never be switched on in production.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
from typing import Any

import firebase_admin
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from firebase_admin import auth as firebase_auth
from firebase_admin import credentials as firebase_credentials
from firebase_admin import exceptions as firebase_exceptions
from google.auth.credentials import AnonymousCredentials
from rest_framework import status

from kmeme.errors import ApplicationError
from kmeme.strict_json import json_loads_strict

logger = logging.getLogger(__name__)

FIREBASE_APP_NAME = "kmeme-auth"
EMULATOR_HOST_ENV_VAR = "FIREBASE_AUTH_EMULATOR_HOST"
# Phones and servers disagree on the time by a few seconds; Firebase's own default of 0 refuses fresh tokens.
CLOCK_SKEW_SECONDS = 10
# Fetching Google's public keys is the only network call a verification makes; firebase-admin waits 120 s by default.
HTTP_TIMEOUT_SECONDS = 10

_app_lock = threading.Lock()
_app_config: tuple[str, str, str] | None = None


def firebase_emulator_host() -> str:
    """The emulator firebase-admin will trust (it reads the environment variable, not Django settings)."""
    return os.environ.get(EMULATOR_HOST_ENV_VAR, "")


def _current_config() -> tuple[str, str, str]:
    return (settings.FIREBASE_PROJECT_ID, settings.FIREBASE_CREDENTIALS_FILE, firebase_emulator_host())


def _registered_app() -> firebase_admin.App | None:
    try:
        return firebase_admin.get_app(FIREBASE_APP_NAME)
    except ValueError:
        return None


def firebase_app() -> firebase_admin.App:
    """Our named firebase_admin App, initialised once (and again only if the settings it was built from change)."""
    global _app_config
    config = _current_config()
    project_id, credentials_file, emulator_host = config
    if emulator_host != settings.FIREBASE_AUTH_EMULATOR_HOST:
        # firebase-admin obeys the environment variable; settings must say the same, or nobody can tell which
        # tokens are trusted.
        raise ImproperlyConfigured(
            f"{EMULATOR_HOST_ENV_VAR} in the environment ({emulator_host!r}) differs from the setting "
            f"({settings.FIREBASE_AUTH_EMULATOR_HOST!r})."
        )
    with _app_lock:
        existing = _registered_app()
        if existing is not None and _app_config == config:
            return existing
        if existing is not None:
            firebase_admin.delete_app(existing)
        if not project_id:
            raise ImproperlyConfigured("FIREBASE_PROJECT_ID is empty: Firebase ID tokens cannot be verified.")
        credential: firebase_credentials.Base | AnonymousCredentials
        if credentials_file:
            try:
                credential = firebase_credentials.Certificate(credentials_file)
            except (OSError, ValueError) as exc:
                raise ImproperlyConfigured(
                    f"FIREBASE_CREDENTIALS_FILE ({credentials_file}) is not a readable service-account JSON file."
                ) from exc
        else:
            credential = AnonymousCredentials()
        app = firebase_admin.initialize_app(
            credential,
            options={"projectId": project_id, "httpTimeout": HTTP_TIMEOUT_SECONDS},
            name=FIREBASE_APP_NAME,
        )
        _app_config = config
        if emulator_host:
            logger.warning(
                "Firebase Auth emulator mode (%s=%s): ID tokens are accepted WITHOUT a signature check.",
                EMULATOR_HOST_ENV_VAR,
                emulator_host,
            )
        return app


def firebase_app_reset() -> None:
    """Forget the App, so the next verification builds it from the settings of that moment (tests, reloads)."""
    global _app_config
    with _app_lock:
        existing = _registered_app()
        if existing is not None:
            firebase_admin.delete_app(existing)
        _app_config = None


def _invalid_token(reason: str) -> ApplicationError:
    # Never echo the token or firebase-admin's message: both can contain the token and the expected project.
    return ApplicationError(
        _("The Firebase ID token is invalid or expired; sign in with Firebase again."),
        code="invalid_firebase_token",
        status_code=status.HTTP_401_UNAUTHORIZED,
        details={"reason": reason},
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_times(claims: dict[str, Any]) -> None:
    """exp / iat / auth_time, checked by us as well: firebase-admin skips them for emulator tokens (it returns the
    unverified payload once aud, iss and sub look right), and a token must not outlive its expiry in any mode."""
    now = time.time()
    exp, iat, auth_time = claims.get("exp"), claims.get("iat"), claims.get("auth_time")
    if not _is_number(exp) or not _is_number(iat):
        raise _invalid_token("invalid")
    if exp <= now - CLOCK_SKEW_SECONDS:
        raise _invalid_token("expired")
    if iat > now + CLOCK_SKEW_SECONDS or iat >= exp:
        raise _invalid_token("invalid")
    if auth_time is not None and (not _is_number(auth_time) or auth_time > now + CLOCK_SKEW_SECONDS):
        raise _invalid_token("invalid")


def _check_segments(id_token: str) -> None:
    """The token's header and claims, decoded by our strict JSON decoder before firebase-admin's lenient one sees
    them: nesting deep enough to exhaust its recursion, NaN or 1e999 (an `exp` that never comes), NUL characters or
    lone surrogates (a name or uid PostgreSQL cannot store) make the whole token invalid, as any other defect does."""
    segments = id_token.split(".")
    if len(segments) != 3:
        raise _invalid_token("invalid")
    for segment in segments[:2]:
        try:
            json_loads_strict(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        except ValueError as exc:  # binascii.Error and JsonRefused are ValueErrors
            logger.info("Firebase ID token refused (%s).", type(exc).__name__)
            raise _invalid_token("invalid") from exc


def firebase_token_verify(*, id_token: str) -> dict[str, Any]:
    """The verified claims of a Firebase ID token (with `uid`), or ApplicationError:
    401 `invalid_firebase_token` for any bad token, 503 `auth_unavailable` when Google's keys cannot be fetched."""
    app = firebase_app()
    _check_segments(id_token)
    try:
        claims = firebase_auth.verify_id_token(
            id_token, app=app, check_revoked=False, clock_skew_seconds=CLOCK_SKEW_SECONDS
        )
    except firebase_auth.CertificateFetchError as exc:
        logger.warning("Firebase public keys could not be fetched: %s", type(exc.cause).__name__)
        raise ApplicationError(
            _("Sign-in is temporarily unavailable; try again in a moment."),
            code="auth_unavailable",
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        ) from exc
    except firebase_auth.ExpiredIdTokenError as exc:
        raise _invalid_token("expired") from exc
    except (firebase_exceptions.FirebaseError, ValueError, TypeError, KeyError, AttributeError) as exc:
        # Malformed tokens surface as any of these, depending on which decoding step gives up.
        logger.info("Firebase ID token refused (%s).", type(exc).__name__)
        raise _invalid_token("invalid") from exc
    if not isinstance(claims, dict):
        raise _invalid_token("invalid")
    _check_times(claims)
    return claims
