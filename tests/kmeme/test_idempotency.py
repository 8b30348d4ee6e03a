"""`Idempotency-Key` on the API's writes (kmeme/idempotency.py): a retry gets the first answer again and does
nothing; another request with a used key, or a retry while the first still runs, is a 409; an invalid key a 400;
answers a client should retry (5xx, 429) are not kept. On the real endpoints, on the real stack."""

from __future__ import annotations

import threading
import time
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver, path
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role
from kmeme.ai.models import AICall
from kmeme.errors import ApplicationError
from kmeme.idempotency import (
    CLAIM_TIMEOUT,
    RETENTION,
    WRITE_METHODS,
    IdempotentWritesMixin,
    idempotency_begin,
    idempotency_records_prune,
)
from kmeme.limits import quota_key
from kmeme.models import IdempotencyRecord
from remix.models import RemixBrief, RemixNode
from remix.services import _node_submission_lock
from tests.accounts.factories import UserFactory
from tests.kmeme.outages import redis_down
from tests.remix.factories import published_master

ANALYSES = "/api/v1/analyses"
URL = "https://www.tiktok.com/@a/video/7300000000000000042"
SUBMISSION = {"video_url": URL, "title": "Latte"}


def bearer(user) -> APIClient:
    """A client signed in with a fresh access token of `user` (each call: another token, as after a refresh)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def submit(client: APIClient, key: str | None, body: dict | None = None):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(ANALYSES, body or SUBMISSION, format="json", **headers)


def written() -> dict[str, int]:
    # Jobs of the nodes there are: procrastinate's table outlives the tests run outside a transaction.
    nodes = list(RemixNode.objects.values_list("pk", flat=True))
    return {
        "nodes": len(nodes),
        "jobs": ProcrastinateJob.objects.filter(args__node_id__in=nodes).count(),
        "briefs": RemixBrief.objects.count(),
        "ai calls": AICall.objects.count(),
    }


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (status, code)
    return error


@pytest.fixture
def creator():
    return UserFactory(role=Role.CREATOR, display_name="Mina")


# --- Replays ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_retry_with_the_same_key_gets_the_first_answer_and_does_nothing(creator):
    client = bearer(creator)
    first = submit(client, "retry-1")
    assert first.status_code == 202, first.content
    assert "Idempotent-Replayed" not in first
    after_first = written()

    again = submit(client, "retry-1")

    assert again.status_code == 202
    assert again.content == first.content  # the same node, the same job id, the same quota count
    assert again["Content-Type"] == first["Content-Type"]
    assert again["Idempotent-Replayed"] == "true"
    assert written() == after_first == {"nodes": 1, "jobs": 1, "briefs": 0, "ai calls": 0}
    assert RemixNode.objects.get().public_id.hex == first.json()["node"]["id"].replace("-", "")
    assert cache.get(quota_key(creator.pk)) == 1  # a replay uses no quota


@pytest.mark.django_db
def test_five_submissions_with_one_key_make_one_node_and_one_job_and_five_identical_answers(creator):
    client = bearer(creator)
    answers = [submit(client, "five-taps") for _ in range(5)]

    assert {answer.status_code for answer in answers} == {202}
    assert len({answer.content for answer in answers}) == 1
    assert [answer.get("Idempotent-Replayed") for answer in answers] == [None, "true", "true", "true", "true"]
    assert written() == {"nodes": 1, "jobs": 1, "briefs": 0, "ai calls": 0}


@pytest.mark.django_db
def test_keys_belong_to_the_user_not_to_the_token(creator):
    first = submit(bearer(creator), "same-user")
    after_refresh = submit(bearer(creator), "same-user")  # another access token of the same user
    assert after_refresh["Idempotent-Replayed"] == "true" and after_refresh.content == first.content

    someone_else = submit(bearer(UserFactory(role=Role.CREATOR)), "same-user")
    assert someone_else.status_code == 202 and "Idempotent-Replayed" not in someone_else
    assert RemixNode.objects.count() == 2


@pytest.mark.django_db
def test_a_fork_an_edit_a_publish_and_a_delete_are_each_done_once(creator):
    master = published_master("Seongsu latte art")
    client = bearer(creator)
    body = {"title": "Busan edition", "mutation_types": ["localization"]}
    forks = [client.post(f"/api/v1/nodes/{master.public_id}/forks", body, format="json", HTTP_IDEMPOTENCY_KEY="f")]
    forks.append(client.post(f"/api/v1/nodes/{master.public_id}/forks", body, format="json", HTTP_IDEMPOTENCY_KEY="f"))
    assert [r.status_code for r in forks] == [201, 201] and forks[0].content == forks[1].content
    assert RemixNode.objects.filter(owner=creator).count() == 1
    fork = f"/api/v1/nodes/{forks[0].json()['id']}"

    for _ in range(2):
        edited = client.patch(fork, {"title": "Busan 2"}, format="json", HTTP_IDEMPOTENCY_KEY="e")
        assert edited.status_code == 200 and edited.json()["title"] == "Busan 2"
    for _ in range(2):
        published = client.post(f"{fork}/publish", {"published": True}, format="json", HTTP_IDEMPOTENCY_KEY="p")
        assert published.status_code == 200, published.content

    deleted = [client.delete(fork, HTTP_IDEMPOTENCY_KEY="d") for _ in range(2)]
    assert [r.status_code for r in deleted] == [204, 204]  # not a 404 the second time: the first answer again
    assert deleted[1]["Idempotent-Replayed"] == "true" and deleted[1].content == b""
    assert client.delete(fork).status_code == 404  # without the key, a new request, on a node that is gone


@pytest.mark.django_db
def test_a_logout_retried_with_its_key_answers_as_the_first_did(creator):
    refresh = RefreshToken.for_user(creator)
    client = bearer(creator)
    first = client.post("/api/v1/auth/logout", {"refresh": str(refresh)}, format="json", HTTP_IDEMPOTENCY_KEY="out")
    again = client.post("/api/v1/auth/logout", {"refresh": str(refresh)}, format="json", HTTP_IDEMPOTENCY_KEY="out")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (204, 204, "true")


@pytest.mark.django_db
def test_a_refusal_is_kept_and_replayed_too(creator):
    client = bearer(creator)
    refused = submit(client, "bad-url", {"video_url": "ftp://example.com/v.mp4"})
    assert_error(refused, 400, "validation_error")
    again = submit(client, "bad-url", {"video_url": "ftp://example.com/v.mp4"})
    assert again.status_code == 400 and again.content == refused.content and again["Idempotent-Replayed"] == "true"


# --- 409 and 400 -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_key_used_again_for_another_body_or_path_is_a_409_and_does_nothing(creator):
    master = published_master("Seongsu latte art")
    client = bearer(creator)
    submit(client, "k1")
    before = written()

    other_body = submit(client, "k1", {"video_url": "https://www.tiktok.com/@a/video/1", "title": "Other"})
    other_path = client.post(
        f"/api/v1/nodes/{master.public_id}/forks",
        {"title": "Busan", "mutation_types": ["localization"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )

    error = assert_error(other_body, 409, "idempotency_key_reused")
    assert error["details"] == {"first_request": {"method": "POST", "path": ANALYSES}}
    assert_error(other_path, 409, "idempotency_key_reused")
    assert written() == before
    assert submit(client, "k1")["Idempotent-Replayed"] == "true"  # the key still answers its own request


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key", ["", " ", "a" * 256, "tab\there", "with space", "caf\u00e9", "line\nbreak", "\x00"], ids=repr
)
def test_an_invalid_key_is_a_400_and_nothing_is_written(creator, key):
    response = submit(bearer(creator), key)
    error = assert_error(response, 400, "invalid_idempotency_key")
    assert error["details"] == {"header": "Idempotency-Key", "max_length": 255}
    assert written() == {"nodes": 0, "jobs": 0, "briefs": 0, "ai calls": 0}
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_the_longest_key_is_accepted(creator):
    assert submit(bearer(creator), "k" * 255).status_code == 202


@pytest.mark.django_db
def test_an_anonymous_request_with_a_key_is_refused_as_without_one_and_keeps_nothing():
    response = submit(APIClient(), "anonymous")
    assert_error(response, 401, "not_authenticated")
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_a_key_on_a_read_is_ignored(creator):
    client = bearer(creator)
    assert client.get("/api/v1/me", HTTP_IDEMPOTENCY_KEY="").status_code == 200
    assert client.get("/api/v1/me", HTTP_IDEMPOTENCY_KEY="read").status_code == 200
    assert not IdempotencyRecord.objects.exists()


# --- In flight, abandoned, expired -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_first_request_runs_is_a_409_with_retry_after_then_gets_its_answer(creator):
    """The first request really runs, held in node_submit by its own advisory lock, taken by another transaction."""
    holding, release = threading.Event(), threading.Event()
    first: dict = {}

    def hold_the_submission_lock() -> None:
        with transaction.atomic():
            _node_submission_lock(user=creator, video_url=URL)
            holding.set()
            release.wait(30)
        connection.close()

    def first_request() -> None:
        first["response"] = submit(bearer(creator), "slow")
        connection.close()

    holder = threading.Thread(target=hold_the_submission_lock)
    holder.start()
    assert holding.wait(10)
    runner = threading.Thread(target=first_request)
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while not IdempotencyRecord.objects.filter(key="slow").exists():
            assert time.monotonic() < deadline, "the first request never claimed its key"
            time.sleep(0.02)

        retry = submit(bearer(creator), "slow")

        error = assert_error(retry, 409, "idempotency_request_in_progress")
        assert 1 <= int(retry["Retry-After"]) <= 30 and error["details"]["retry_after_seconds"] >= 1
    finally:
        release.set()
        runner.join(30)
        holder.join(30)
    assert first["response"].status_code == 202
    later = submit(bearer(creator), "slow")
    assert later.content == first["response"].content and later["Idempotent-Replayed"] == "true"
    assert written()["nodes"] == 1 and written()["jobs"] == 1


def _claim_and_vanish(user, key: str) -> None:
    """A request that claimed its key and then never finished (its worker was killed, the client cut off): the
    real claim, made as the API makes it, with nothing after it."""
    request = APIRequestFactory().post(ANALYSES, SUBMISSION, format="json", HTTP_IDEMPOTENCY_KEY=key)
    drf_request = Request(request)
    drf_request.user = user
    assert idempotency_begin(request=drf_request) is not None


@pytest.mark.django_db
def test_an_abandoned_claim_blocks_retries_until_it_expires_then_the_retry_runs(creator):
    _claim_and_vanish(creator, "cut-off")
    client = bearer(creator)
    assert_error(submit(client, "cut-off"), 409, "idempotency_request_in_progress")
    assert written()["nodes"] == 0

    IdempotencyRecord.objects.filter(key="cut-off").update(claimed_at=timezone.now() - CLAIM_TIMEOUT)
    retry = submit(client, "cut-off")

    assert retry.status_code == 202 and "Idempotent-Replayed" not in retry
    assert written()["nodes"] == 1
    assert submit(client, "cut-off").content == retry.content


@pytest.mark.django_db
def test_a_key_older_than_a_day_counts_as_new_and_the_prune_deletes_it(creator):
    client = bearer(creator)
    submit(client, "yesterday")
    submit(client, "today", {"video_url": "https://www.tiktok.com/@a/video/2"})
    IdempotencyRecord.objects.filter(key="yesterday").update(created_at=timezone.now() - RETENTION)

    # Counted as new: it runs (and, its node still analysing, answers with that node), another body is no 409.
    rerun = submit(client, "yesterday", {"video_url": "https://www.tiktok.com/@a/video/3"})
    assert rerun.status_code == 202 and "Idempotent-Replayed" not in rerun

    IdempotencyRecord.objects.filter(key="yesterday").update(created_at=timezone.now() - RETENTION)
    assert idempotency_records_prune(dry_run=True) == 1
    out = StringIO()
    call_command("prune_idempotency_keys", stdout=out)
    assert out.getvalue().strip() == "Deleted 1 idempotency key(s) older than 24 h."
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["today"]


# --- What is not kept: answers that invite a retry ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_503_is_not_kept_so_the_same_key_runs_once_redis_is_back(creator):
    client = bearer(creator)
    with redis_down():
        assert_error(submit(client, "outage"), 503, "service_unavailable")
    assert not IdempotencyRecord.objects.exists()

    after = submit(client, "outage")
    assert after.status_code == 202 and "Idempotent-Replayed" not in after


_calls: list[str] = []


class _FlakyApi(IdempotentWritesMixin, APIView):
    """Fails the way its query parameter says on its first call, then succeeds: 500, 503 or 429."""

    permission_classes = [AllowAny]

    def post(self, request):
        _calls.append(request.query_params["fail"])
        if len(_calls) == 1:
            if request.query_params["fail"] == "500":
                raise RuntimeError("a bug")
            raise ApplicationError("Later.", code="later", status_code=int(request.query_params["fail"]), retry_after=1)
        return Response({"call": len(_calls)}, status=201)


urlpatterns = [path("api/v1/flaky", _FlakyApi.as_view())]


@pytest.mark.urls(__name__)
@pytest.mark.django_db
@pytest.mark.parametrize("status", ["500", "503", "429"])
def test_an_answer_that_invites_a_retry_is_not_kept(creator, status):
    _calls.clear()
    client = bearer(creator)
    client.raise_request_exception = False

    failed = client.post(f"/api/v1/flaky?fail={status}", {}, format="json", HTTP_IDEMPOTENCY_KEY="flaky")
    retried = client.post(f"/api/v1/flaky?fail={status}", {}, format="json", HTTP_IDEMPOTENCY_KEY="flaky")
    replayed = client.post(f"/api/v1/flaky?fail={status}", {}, format="json", HTTP_IDEMPOTENCY_KEY="flaky")

    assert failed.status_code == int(status)
    assert (retried.status_code, retried.json()) == (201, {"call": 2})
    assert replayed.json() == {"call": 2} and replayed["Idempotent-Replayed"] == "true"
    assert len(_calls) == 2


# --- Every write takes a key, and the schema says so --------------------------------------------------------------


def _api_views(resolver: URLResolver, prefix: str = "") -> list[tuple[str, type]]:
    views = []
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            views += _api_views(pattern, route)
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
            views.append((route, pattern.callback.cls))
    return views


def test_every_signed_in_write_of_the_api_takes_an_idempotency_key():
    writes = [
        (route, view)
        for route, view in _api_views(get_resolver())
        if route.startswith("api/v1/")
        and any(hasattr(view, method.lower()) for method in WRITE_METHODS)
        and view.authentication_classes  # sign-in and refresh authenticate nobody: no user to keep keys for
    ]
    assert {route for route, _ in writes} >= {"api/v1/analyses", "api/v1/nodes/<uuid:node_id>/forks"}
    assert [route for route, view in writes if not issubclass(view, IdempotentWritesMixin)] == []


@pytest.mark.django_db
def test_the_schema_documents_the_key_on_every_write_and_the_503_everywhere():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = [
        (f"{method.upper()} {route}", operation)
        for route, item in schema["paths"].items()
        for method, operation in item.items()
    ]
    keyed = {
        name
        for name, operation in operations
        if any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    writes = {name for name, _ in operations if name.split(" ")[0] in ("POST", "PUT", "PATCH", "DELETE")}
    # No user to keep keys for: sign-in, refresh, and an upload's bytes sent with its signed URL's token.
    unauthenticated = {
        "POST /api/v1/auth/firebase",
        "POST /api/v1/auth/refresh",
        "PUT /api/v1/uploads/{upload_id}/content",
    }
    assert keyed == writes - unauthenticated
    assert keyed >= {
        "POST /api/v1/analyses",
        "POST /api/v1/auth/logout",
        "PATCH /api/v1/nodes/{node_id}",
        "DELETE /api/v1/nodes/{node_id}",
        "POST /api/v1/nodes/{node_id}/forks",
        "POST /api/v1/nodes/{node_id}/publish",
        "DELETE /api/v1/me",
        "POST /api/v1/me/consents",
        "POST /api/v1/campaigns/{campaign_id}/submission",
    }
    for name, operation in operations:
        unavailable = operation["responses"]["503"]
        assert "service_unavailable" in unavailable["description"], name
        assert "Retry-After" in unavailable["headers"], name
        if name in keyed:
            assert "idempotency_key_reused" in operation["responses"]["409"]["description"], name
            assert "invalid_idempotency_key" in operation["responses"]["400"]["description"], name


@pytest.mark.django_db
def test_a_browser_on_the_frontend_may_send_the_key_and_read_the_retry_headers(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.kmeme.example"]
    preflight = client.options(
        ANALYSES,
        HTTP_ORIGIN="https://app.kmeme.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key",
    )
    assert "idempotency-key" in preflight["Access-Control-Allow-Headers"]
    answer = client.get("/api/v1/nodes", HTTP_ORIGIN="https://app.kmeme.example")
    exposed = {h.strip().lower() for h in answer["Access-Control-Expose-Headers"].split(",")}
    assert {"retry-after", "idempotent-replayed"} <= exposed
