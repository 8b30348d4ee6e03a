"""Quotas and rate-limit counters live in Redis; with the persistence of scripts/redis.conf (the same file the local
stack and docker-compose.yml start Redis with) they survive a restart, clean or not.

The test starts a Redis server of its own (its port, its folder under tmp_path): the shared test Redis is never
restarted here."""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from kmeme.limits import quota_consume
from tests.accounts.factories import UserFactory

REDIS_CONF = Path(settings.BASE_DIR) / "scripts" / "redis.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OwnRedis:
    def __init__(self, folder: Path) -> None:
        self.folder, self.port, self.process = folder, free_port(), None

    def start(self) -> None:
        command = ["redis-server", str(REDIS_CONF), "--bind", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(  # noqa: S603
            [*command, "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                time.sleep(0.05)
        # A server restarted from its append-only file answers before it has loaded it: wait until it has.
        while client.info("persistence")["loading"]:
            time.sleep(0.05)
        client.close()

    def stop(self, *, clean: bool) -> None:
        if clean:  # as scripts/services.sh stops it
            redis.Redis(port=self.port).shutdown(nosave=True)
        else:  # a crash: no chance to write anything more
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        cache.close()  # the app's connections to the old server are gone with it


@pytest.fixture
def own_redis(tmp_path, settings) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{server.port}/0"
    settings.CACHES = caches  # Django opens new cache connections when CACHES changes
    yield server
    cache.close()
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()


def test_the_persistence_is_the_append_only_file_synced_every_second(own_redis):
    config = redis.Redis(port=own_redis.port).config_get("append*")
    assert (config["appendonly"], config["appendfsync"]) == ("yes", "everysec")


@pytest.mark.django_db
@pytest.mark.parametrize("clean", [True, False], ids=["clean shutdown", "killed"])
def test_a_daily_quota_survives_a_redis_restart(own_redis, clean):
    user = UserFactory()
    for _ in range(3):
        left = quota_consume(user=user)
    assert left == settings.ANALYSIS_DAILY_QUOTA - 3
    if not clean:
        time.sleep(1.5)  # appendfsync everysec: what is a second old is on disk even if the server is killed
    own_redis.stop(clean=clean)
    own_redis.start()
    assert quota_consume(user=user) == settings.ANALYSIS_DAILY_QUOTA - 4
    assert os.listdir(own_redis.folder / "appendonlydir")  # the AOF is what brought it back, not a snapshot
