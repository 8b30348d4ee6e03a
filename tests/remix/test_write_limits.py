"""Creators' writes are limited: so many a minute, so many forks an hour, and free-form JSON within its caps.

Each refused request leaves the rows as they were. The rates are the real ones (kmeme/settings_test.py raises a few
for Schemathesis; the `real_rates` fixture, tests/conftest.py, puts them back).
"""

from __future__ import annotations

import json
import threading

import pytest
from django.urls import reverse
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from accounts.models import AuditLog, Role
from kmeme.errors import ApplicationError
from kmeme.throttles import WriteThrottle
from remix.forks import node_fork
from remix.models import Layer, Mutation, RemixNode
from tests.accounts.factories import UserFactory
from tests.kmeme.admin_forms import admin_form, form_errors
from tests.kmeme.throttled import assert_throttled
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


@pytest.fixture
def creator():
    return UserFactory(role=Role.CREATOR, display_name="Mina")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def nested(depth: int) -> dict:
    value: dict = {"leaf": True}
    for _ in range(depth - 1):
        value = {"next": value}
    return value


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


# --- Free-form JSON caps ----------------------------------------------------------------------------------------------


def test_a_fork_with_a_09_mib_profile_is_refused_and_nothing_is_written(creator):
    master = published_master()
    body = json.dumps(fork_body(profile={"notes": "가" * (300 * 1024)}), ensure_ascii=False)  # 0.9 MiB of UTF-8
    assert 0.85 * MIB < len(body.encode()) < MIB  # under the 1 MiB body cap, so the field's own cap refuses it

    response = client_for(creator).generic(
        "POST", f"/api/v1/nodes/{master.public_id}/forks", body, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "too_large"
    assert error["details"]["field"] == "profile" and error["details"]["max_bytes"] == 16 * 1024
    assert error["details"]["bytes"] > 0.85 * MIB
    assert forks() == 0 and not Mutation.objects.exists()


def test_a_profile_nested_20_deep_is_refused_and_nothing_is_written(creator):
    """Deeper than the field's 8 levels, within the body's 32 (kmeme.strict_json refuses deeper bodies whole)."""
    master = published_master()
    response = client_for(creator).post(
        f"/api/v1/nodes/{master.public_id}/forks", fork_body(profile=nested(20)), format="json"
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "too_deep" and error["details"] == {"field": "profile", "max_depth": 8}
    assert forks() == 0 and not Mutation.objects.exists()


def test_a_profile_at_the_caps_is_accepted_and_one_past_them_is_not(creator):
    master = published_master()
    url = f"/api/v1/nodes/{master.public_id}/forks"
    client = client_for(creator)
    just_fits = {"notes": "x" * (16 * 1024 - len('{"notes":""}'))}
    assert client.post(url, fork_body(profile=just_fits), format="json").status_code == 201
    assert client.post(url, fork_body(profile=nested(8)), format="json").status_code == 201

    too_big = {"notes": just_fits["notes"] + "x"}
    assert client.post(url, fork_body(profile=too_big), format="json").json()["error"]["code"] == "too_large"
    assert client.post(url, fork_body(profile=nested(9)), format="json").json()["error"]["code"] == "too_deep"
    assert forks() == 2


@pytest.mark.parametrize(("profile", "code"), [({"notes": "x" * (MIB // 2)}, "too_large"), (nested(20), "too_deep")])
def test_editing_a_fork_keeps_the_same_caps(creator, profile, code):
    fork = node_fork(
        master=published_master(), creator=creator, title="Busan", mutation_types=["localization"], profile={"a": 1}
    )

    response = client_for(creator).patch(
        f"/api/v1/nodes/{fork.public_id}", {"title": "Renamed", "profile": profile}, format="json"
    )

    assert response.status_code == 400 and response.json()["error"]["code"] == code
    fork.refresh_from_db()
    assert fork.title == "Busan" and Mutation.objects.get(child=fork).profile == {"a": 1}


def test_json_nested_deeper_than_the_decoder_reads_is_a_400_not_a_server_error(creator):
    master = published_master()
    body = '{"title": "x", "mutation_types": ["localization"], "profile": {"a": ' + "[" * 50_000 + "]" * 50_000 + "}}"

    response = client_for(creator).generic(
        "POST", f"/api/v1/nodes/{master.public_id}/forks", body, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["details"]["reason"]) == ("malformed_request", "too_deep")
    assert forks() == 0


def test_the_admin_is_held_to_the_same_caps(admin_session, creator):
    fork = node_fork(
        master=published_master(), creator=creator, title="Busan", mutation_types=["localization"], profile={"a": 1}
    )
    edge = Mutation.objects.get(child=fork)
    url = reverse("admin:remix_mutation_change", args=[edge.pk])
    data = admin_form(admin_session, url, "mutation")
    data.update(profile=json.dumps(nested(100)))

    response = admin_session.post(url, data)

    assert response.status_code == 200
    assert form_errors(response) == ["`profile` nests too deeply: at most 8 levels of objects and arrays."]
    edge.refresh_from_db()
    assert edge.profile == {"a": 1}
