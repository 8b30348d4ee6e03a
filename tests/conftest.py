"""Suite-wide fixtures: real PostgreSQL/PostGIS/pgvector and Redis, no outgoing network."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.models import Role
from tests.accounts.factories import UserFactory

pytest_plugins = ["tests.doubles.fixtures"]

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) else None
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded(real):
    def connect(self: socket.socket, address: object):
        if not _is_loopback(address):
            raise ConnectionRefusedError(f"tests may not reach the network (tried {address!r}); use a loopback double")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True)
def _no_outgoing_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Each test starts with an empty cache; only the test key prefix is touched."""
    cache.delete_pattern("*")
    yield
    cache.delete_pattern("*")


@pytest.fixture
def real_rates(settings) -> dict[str, str]:
    """The API's real rate limits (kmeme/settings_test.py raises a few for the tests that need volume)."""
    rates = dict(settings.THROTTLE_RATES)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    return rates


@pytest.fixture
def editor_user():
    """An editor (staff, in the Editors group), made as an admin would make one."""
    return UserFactory(role=Role.EDITOR, display_name="Editor Kim")


@pytest.fixture
def site_admin():
    """An admin (a superuser, through the role service)."""
    return UserFactory(role=Role.ADMIN, display_name="Admin Lee")


@pytest.fixture
def editor_session(editor_user) -> Client:
    """A browser session of `editor_user` in the admin."""
    session = Client()
    session.force_login(editor_user)
    return session


@pytest.fixture
def admin_session(site_admin) -> Client:
    """A browser session of `site_admin` in the admin."""
    session = Client()
    session.force_login(site_admin)
    return session
