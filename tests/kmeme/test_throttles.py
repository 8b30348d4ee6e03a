"""The API's rate limits, at their real values: past one, a 429 in the error shape with Retry-After.

The suite raises a few rates for the tests that need volume (kmeme/settings_test.py); each test here puts the
real ones back with the `real_rates` fixture (tests/conftest.py).
"""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Role
from tests.accounts.factories import UserFactory
from tests.kmeme.throttled import assert_throttled
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db


def signed_in(user=None) -> APIClient:
    client = APIClient()
    client.force_authenticate(user or UserFactory(role=Role.CREATOR))
    return client


def test_the_sixty_first_anonymous_read_in_a_minute_is_refused(real_rates):
    assert real_rates["anon"] == "60/minute"
    master = published_master()
    anonymous = APIClient()
    reads = ["/api/v1/nodes", f"/api/v1/nodes/{master.public_id}", f"/api/v1/nodes/{master.public_id}/guide.txt"]
    for i in range(60):  # the list, a recipe and its guide share one budget
        assert anonymous.get(reads[i % 3]).status_code == 200, i

    assert_throttled(anonymous.get("/api/v1/nodes"), scope="anon", limit="60/minute", longest_wait=60)

    # Per client address; signed-in users are counted per user instead.
    assert anonymous.get("/api/v1/nodes", REMOTE_ADDR="127.0.0.2").status_code == 200
    assert signed_in().get("/api/v1/nodes").status_code == 200


def test_similar_search_is_limited_tighter_than_other_reads(real_rates):
    assert real_rates["similar"] == "20/minute"
    master = published_master()
    url = f"/api/v1/nodes/{master.public_id}/similar"
    anonymous = APIClient()
    for k in range(1, 21):
        assert anonymous.get(url, {"k": k}).status_code == 200

    assert_throttled(anonymous.get(url), scope="similar", limit="20/minute", longest_wait=60)

    assert anonymous.get("/api/v1/nodes").status_code == 200  # the rest of the catalog is still there
    assert signed_in().get(url).status_code == 200  # a signed-in user has a budget of their own


def test_a_signed_in_user_gets_six_hundred_requests_a_minute(real_rates):
    assert real_rates["user"] == "600/minute"
    user = UserFactory(role=Role.CREATOR)
    client = signed_in(user)
    for _ in range(600):
        assert client.get("/api/v1/me").status_code == 200

    assert_throttled(client.get("/api/v1/me"), scope="user", limit="600/minute", longest_wait=60)
    assert_throttled(client.get("/api/v1/nodes"), scope="user", limit="600/minute", longest_wait=60)

    assert signed_in().get("/api/v1/me").status_code == 200  # another user is not held back
    assert APIClient().get("/api/v1/nodes").status_code == 200  # nor is the same address, anonymously


def test_the_counters_live_in_redis_and_clearing_them_lifts_the_limit(real_rates, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**real_rates, "anon": "2/hour"},
    }
    anonymous = APIClient()
    assert [anonymous.get("/api/v1/nodes").status_code for _ in range(3)] == [200, 200, 429]
    # Counted in the Redis cache every worker process shares (django-ratelimit's "rl:" keys), not in memory.
    assert cache.keys("rl:*")

    cache.delete_pattern("rl:*")

    assert anonymous.get("/api/v1/nodes").status_code == 200


def test_a_limit_resets_when_its_window_ends(real_rates, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**real_rates, "anon": "2/second"},
    }
    anonymous = APIClient()
    time.sleep(1 - time.time() % 1)  # start at the beginning of a one-second window
    assert anonymous.get("/api/v1/nodes").status_code == 200
    assert anonymous.get("/api/v1/nodes").status_code == 200
    retry_after = assert_throttled(anonymous.get("/api/v1/nodes"), scope="anon", limit="2/second", longest_wait=1)

    time.sleep(retry_after)

    assert anonymous.get("/api/v1/nodes").status_code == 200


def test_every_operation_documents_its_limits_and_its_429(real_rates, client):
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    operations = {op["operationId"]: op for methods in paths.values() for op in methods.values()}
    for name, operation in operations.items():
        assert "429" in operation["responses"], name
        assert "Rate limits: " in operation["description"], name

    def says(name: str) -> str:
        return operations[name]["description"]

    assert "60 per minute per IP address for anonymous clients (`anon`)" in says("nodes_list")
    assert "600 per minute per signed-in user (`user`)" in says("nodes_list")
    assert "`write`" not in says("nodes_list")
    assert "20 per minute per user or IP address, for similar searches (`similar`)" in says("nodes_similar")
    assert "30 per minute per user for writes (`write`)" in says("nodes_partial_update")
    assert "10 per hour per user, for new forks (`fork`)" in says("nodes_fork")
    assert "20 per minute per IP address, sign-in and refresh together (`auth`)" in says("auth_refresh")
    assert "`anon`" not in says("me_retrieve")
    assert "10 per minute and 100 per hour per user" in says("analyses_create")
