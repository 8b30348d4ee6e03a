"""POST /api/v1/analyses: validation, the job in the same transaction, rate limits and the daily quota."""

import threading

import pytest
from django.db import connection
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from accounts.models import Role
from kmeme.errors import ApplicationError
from kmeme.limits import quota_consume
from kmeme.media import MediaError, guard
from remix.models import NodeStatus, RemixNode
from remix.services import node_submit
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
    # The job carries the request's id, so its log lines can be followed back to this request.
    assert job.task_name == "remix.tasks.node_analyze"
    assert job.args == {"node_id": node.pk, "request_id": response["X-Request-ID"]}
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


@pytest.fixture
def guarded_dns(settings, monkeypatch):
    """The address rule on, and the guard's resolver answering without the network: internal names resolve to
    private addresses, every other name to a public one."""
    settings.MEDIA_ALLOW_PRIVATE_HOSTS = False
    table = {
        "localhost": ["127.0.0.1", "::1"],
        "internal.test": ["10.0.0.8"],
        "mixed.test": ["93.184.215.14", "192.168.0.10"],
        "v6.test": ["::1"],
    }
    monkeypatch.setattr(guard, "host_resolve", lambda host, port: table.get(host, ["93.184.215.14"]))


NOT_FETCHED = [
    "http://127.0.0.1/v.mp4",
    "http://localhost:8000/v.mp4",
    "http://[::1]/v.mp4",
    "http://[::ffff:127.0.0.1]/v.mp4",
    "http://[::ffff:7f00:1]/v.mp4",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/v.mp4",
    "http://10.0.0.8/v.mp4",
    "http://192.168.1.1/v.mp4",
    "http://224.0.0.1/v.mp4",
    "http://0.0.0.0/v.mp4",
    "http://[::]/v.mp4",
    "http://240.0.0.1/v.mp4",
    "http://internal.test/v.mp4",
    "http://mixed.test/v.mp4",
    "http://v6.test/v.mp4",
    "https://user:pass@www.tiktok.com/@a/video/1",
    "https://user@cdn.example.com/v.mp4",
]


@pytest.mark.parametrize("url", NOT_FETCHED)
def test_a_link_our_server_must_not_fetch_is_refused_at_submission_and_nothing_is_written(
    creator_client, guarded_dns, url
):
    response = creator_client.post(URL, {"video_url": url}, format="json")

    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (400, "url_not_allowed"), error
    assert error["details"]["url"] == url
    assert not RemixNode.objects.exists() and not ProcrastinateJob.objects.exists()
    # The quota was not spent: the next (public) link still has 49 left after it.
    accepted = creator_client.post(URL, {"video_url": "https://www.tiktok.com/@a/video/1"}, format="json")
    assert accepted.status_code == 202 and accepted.json()["quota_remaining"] == 49


@pytest.mark.parametrize("url", ["http://2130706433/v.mp4", "http://0x7f.1/v.mp4", "http://0177.0.0.1/v.mp4"])
def test_numeric_spellings_of_a_private_address_are_refused_by_the_api_and_by_the_service(guarded_dns, url):
    """The API's URL validator already refuses these spellings (a 400 `validation_error`); the service, which the
    admin, commands and jobs call too, refuses them by the address they spell."""
    client = APIClient()
    user = UserFactory()
    client.force_authenticate(user)
    response = client.post(URL, {"video_url": url}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"

    with pytest.raises(MediaError) as info:
        node_submit(user=user, video_url=url)

    assert (info.value.code, info.value.details["reason"]) == ("url_not_allowed", "address")
    assert not RemixNode.objects.exists() and not ProcrastinateJob.objects.exists()


def test_a_host_that_does_not_resolve_is_refused_at_submission(creator_client, settings, monkeypatch):
    settings.MEDIA_ALLOW_PRIVATE_HOSTS = False

    def no_such_host(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    monkeypatch.setattr(guard, "host_resolve", no_such_host)
    response = creator_client.post(URL, {"video_url": "https://nowhere.example/v.mp4"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "url_unresolvable"
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


def test_editors_adding_masters_do_not_use_a_creators_daily_quota(settings):
    settings.ANALYSIS_RATE_LIMITS = ["1000/m"]
    settings.ANALYSIS_DAILY_QUOTA = 2
    editor = APIClient()
    editor.force_authenticate(UserFactory(role=Role.EDITOR, is_staff=True))
    for i in range(4):
        response = editor.post(URL, {"video_url": f"https://youtu.be/staff{i}"}, format="json")
        assert response.status_code == 202 and response.json()["quota_remaining"] == 2
    creator = APIClient()
    creator.force_authenticate(UserFactory(role=Role.CREATOR))
    assert creator.post(URL, {"video_url": "https://youtu.be/c1"}, format="json").json()["quota_remaining"] == 1
    creator.post(URL, {"video_url": "https://youtu.be/c2"}, format="json")
    assert creator.post(URL, {"video_url": "https://youtu.be/c3"}, format="json").status_code == 429


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
