"""POST /api/v1/analyses: validation, the job in the same transaction, rate limits and the daily quota."""

import threading

import pytest
from django.db import connection
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from accounts.models import Role
from kmeme.errors import ApplicationError
from kmeme.limits import quota_consume
from remix.models import NodeStatus, RemixNode
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/analyses"


@pytest.fixture
def creator_client():
    client = APIClient()
    client.force_authenticate(UserFactory(role=Role.CREATOR, display_name="Mina"))
    return client


def test_submitting_a_url_creates_a_node_in_analysis_and_one_job(creator_client):
    response = creator_client.post(
        URL, {"video_url": "https://www.tiktok.com/@a/video/1", "title": "Latte"}, format="json"
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    node = RemixNode.objects.get(public_id=body["node"]["id"])
    assert (node.status, node.platform, node.title) == (NodeStatus.ANALYZING, "tiktok", "Latte")
    job = ProcrastinateJob.objects.get(id=body["job_id"])
    assert job.task_name == "remix.tasks.node_analyze" and job.args == {"node_id": node.pk}
    assert body["quota_remaining"] == 49


def test_the_owner_can_follow_the_analysis_but_others_cannot(creator_client):
    body = creator_client.post(URL, {"video_url": "https://youtu.be/abc"}, format="json").json()
    status = creator_client.get(f"{URL}/{body['node']['id']}")
    assert status.status_code == 200
    assert status.json()["status"] == "analyzing" and status.json()["analysis"] is None
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    assert stranger.get(f"{URL}/{body['node']['id']}").json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "video_url"),
        ({"video_url": "not a url"}, "video_url"),
        ({"video_url": "ftp://example.com/v.mp4"}, "video_url"),
        ({"video_url": "javascript:alert(1)"}, "video_url"),
        ({"video_url": "https://x.com/" + "a" * 3000}, "video_url"),
        ({"video_url": "https://x.com/v.mp4", "title": "t" * 201}, "title"),
        ({"video_url": "https://x.com/v.mp4", "owner": 1}, "owner"),
        ({"video_url": ["https://x.com/v.mp4"]}, "video_url"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_written(creator_client, payload, field):
    response = creator_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["details"]
    assert not RemixNode.objects.exists() and not ProcrastinateJob.objects.exists()


def test_anonymous_callers_are_refused():
    response = APIClient().post(URL, {"video_url": "https://youtu.be/abc"}, format="json")
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


def test_the_eleventh_request_in_a_minute_is_throttled_with_retry_after(creator_client):
    for i in range(10):
        assert creator_client.post(URL, {"video_url": f"https://youtu.be/v{i}"}, format="json").status_code == 202
    response = creator_client.post(URL, {"video_url": "https://youtu.be/v11"}, format="json")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "throttled" and error["details"]["limit"] == "10/m"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert RemixNode.objects.count() == 10


def test_the_daily_quota_stops_at_fifty_with_the_time_to_midnight(creator_client, settings):
    settings.ANALYSIS_RATE_LIMITS = ["1000/m"]
    for i in range(50):
        assert creator_client.post(URL, {"video_url": f"https://youtu.be/q{i}"}, format="json").status_code == 202
    response = creator_client.post(URL, {"video_url": "https://youtu.be/q51"}, format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "quota_exceeded"
    assert 0 < int(response["Retry-After"]) <= 24 * 3600
    assert RemixNode.objects.count() == 50


@pytest.mark.django_db(transaction=True)
def test_the_quota_is_exact_under_concurrency():
    user = UserFactory()
    barrier = threading.Barrier(16)
    granted: list[int] = []
    refused: list[str] = []

    def take(n: int) -> None:
        barrier.wait()
        for _ in range(n):
            try:
                quota_consume(user=user)
                granted.append(1)
            except ApplicationError as exc:
                refused.append(exc.code)
        connection.close()

    threads = [threading.Thread(target=take, args=(5,)) for _ in range(16)]  # 80 attempts at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 50 and len(refused) == 30 and set(refused) == {"quota_exceeded"}
