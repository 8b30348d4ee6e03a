"""Creators' writes are limited: so many a minute, so many forks an hour.

Each refused request leaves the rows as they were. The rates are the real ones (kmeme/settings_test.py raises a few
for Schemathesis; the `real_rates` fixture, tests/conftest.py, puts them back).
"""

from __future__ import annotations

import threading

import pytest
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from accounts.models import AuditLog, Role
from kmeme.errors import ApplicationError
from kmeme.throttles import WriteThrottle
from remix.forks import node_fork
from remix.models import Layer, Mutation, RemixNode
from tests.accounts.factories import UserFactory
from tests.kmeme.throttled import assert_throttled
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db


@pytest.fixture
def creator():
    return UserFactory(role=Role.CREATOR, display_name="Mina")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def forks() -> int:
    return RemixNode.objects.filter(layer=Layer.FORK).count()


def fork_body(**extra) -> dict:
    return {"title": "Busan edition", "mutation_types": ["localization"], **extra}


# --- Rate limits ------------------------------------------------------------------------------------------------------


def test_the_eleventh_fork_in_an_hour_is_refused_and_not_written(real_rates, creator):
    assert real_rates["fork"] == "10/hour"
    master = published_master()
    url = f"/api/v1/nodes/{master.public_id}/forks"
    client = client_for(creator)
    for i in range(10):
        assert client.post(url, fork_body(title=f"Fork {i}"), format="json").status_code == 201

    assert_throttled(client.post(url, fork_body(), format="json"), scope="fork", limit="10/hour", longest_wait=3600)

    assert forks() == 10 and Mutation.objects.count() == 10
    assert AuditLog.objects.filter(action="node.fork").count() == 10
    # Per creator: someone else still forks.
    assert client_for(UserFactory(role=Role.CREATOR)).post(url, fork_body(), format="json").status_code == 201


def test_a_write_burst_past_thirty_a_minute_is_refused_and_changes_nothing(real_rates, creator):
    assert real_rates["write"] == "30/minute"
    fork = node_fork(master=published_master(), creator=creator, title="Busan", mutation_types=["localization"])
    url = f"/api/v1/nodes/{fork.public_id}"
    client = client_for(creator)
    for i in range(30):
        assert client.patch(url, {"title": f"Busan {i}"}, format="json").status_code == 200
    audit_rows = AuditLog.objects.count()

    assert_throttled(
        client.patch(url, {"title": "one too many"}, format="json"), scope="write", limit="30/minute", longest_wait=60
    )
    assert client.post(f"{url}/publish", {"published": True}, format="json").status_code == 429
    assert client.delete(url).status_code == 429

    fork.refresh_from_db()
    assert (fork.title, fork.status) == ("Busan 29", "draft")
    assert AuditLog.objects.count() == audit_rows
    assert client.get(url).json()["title"] == "Busan 29"  # reading is not a write
    other = UserFactory(role=Role.CREATOR)
    theirs = node_fork(master=published_master("Seoul"), creator=other, title="Seoul", mutation_types=["localization"])
    response = client_for(other).patch(f"/api/v1/nodes/{theirs.public_id}", {"title": "Mine"}, format="json")
    assert response.status_code == 200  # per user


@pytest.mark.django_db(transaction=True)
def test_the_write_limit_is_exact_when_requests_arrive_at_once(real_rates):
    """64 writes of one user at once from 16 threads: exactly 30 pass (a read-then-write counter lets more through)."""
    user = UserFactory(role=Role.CREATOR)
    barrier = threading.Barrier(16)
    allowed: list[int] = []
    refused: list[str] = []

    def write(n: int) -> None:
        barrier.wait()
        for _ in range(n):
            request = Request(APIRequestFactory().patch("/api/v1/nodes/x"))
            request.user = user
            try:
                WriteThrottle().allow_request(request, view=None)
                allowed.append(1)
            except ApplicationError as exc:
                refused.append(exc.code)

    threads = [threading.Thread(target=write, args=(4,)) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 30 and len(refused) == 34 and set(refused) == {"throttled"}
