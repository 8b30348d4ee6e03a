"""Firebase fixtures: the Auth emulator mode of the real firebase-admin SDK, with a fresh App in every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from accounts.auth import EMULATOR_HOST_ENV_VAR, firebase_app_reset
from tests.accounts.firebase_tokens import PROJECT_ID
from tests.doubles.server import HttpDouble


@pytest.fixture(autouse=True)
def _fresh_firebase_app(settings) -> Iterator[None]:
    """No firebase_admin App outlives a test, so each one is built from that test's settings and environment."""
    settings.FIREBASE_PROJECT_ID = PROJECT_ID
    settings.FIREBASE_CREDENTIALS_FILE = ""
    firebase_app_reset()
    yield
    firebase_app_reset()


@pytest.fixture
def no_firebase_emulator(monkeypatch: pytest.MonkeyPatch, settings) -> None:
    """Production mode: real signatures required, Google's keys fetched over HTTPS (blocked in tests)."""
    monkeypatch.delenv(EMULATOR_HOST_ENV_VAR, raising=False)
    settings.FIREBASE_AUTH_EMULATOR_HOST = ""


@pytest.fixture
def firebase_emulator(monkeypatch: pytest.MonkeyPatch, settings) -> Iterator[HttpDouble]:
    """Emulator mode, pointed at a loopback server standing in for the Auth emulator.

    Verifying an ID token needs no call to the emulator (firebase-admin decodes the unsigned token locally); the
    server is there so that any call firebase-admin did make would stay on loopback, and the test checks none came.
    """
    with HttpDouble("firebase-auth-emulator") as double:
        host = double.base_url.removeprefix("http://")
        monkeypatch.setenv(EMULATOR_HOST_ENV_VAR, host)
        settings.FIREBASE_AUTH_EMULATOR_HOST = host
        yield double
        assert double.requests == [], "token verification called the Auth emulator"


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()
