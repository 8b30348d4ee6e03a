"""Real outages for tests: PostgreSQL or Redis pointed at a loopback port where nothing listens.

A socket bound to a port but never listening refuses every connection to it at once (and holds the port, so
nothing else can start listening there meanwhile). No mock: the drivers really connect and really fail.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.test import override_settings

from kmeme.settings import CACHES


@contextmanager
def refused_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@contextmanager
def redis_down() -> Iterator[None]:
    """The default cache (sessions' cache, rate limits, quotas, cached reads) on a port where Redis is not."""
    with refused_port() as port:
        broken = {"default": {**CACHES["default"], "LOCATION": f"redis://127.0.0.1:{port}/0"}}
        with override_settings(CACHES=broken):  # Django's setting_changed handler drops the cache objects
            yield


@contextmanager
def database_down() -> Iterator[None]:
    """This thread's database connection closed and pointed at a port where PostgreSQL is not, then put back.

    Needs a test outside a transaction (`django_db(transaction=True)`): closing the connection ends it."""
    with refused_port() as port:
        connection.close()
        saved = connection.settings_dict["PORT"]
        connection.settings_dict["PORT"] = str(port)
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict["PORT"] = saved
