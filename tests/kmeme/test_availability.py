"""PostgreSQL or Redis down: every request answers 503 with Retry-After — the error shape under /api/, a short page
elsewhere — whether it fails in a middleware, a throttle, authentication or the view, in DEBUG and in production
settings alike; and a bug still answers 500. The outages are real (tests/kmeme/outages.py): nothing is mocked."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.test import Client
from django.urls import include, path
from django_redis import get_redis_connection
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import AuditLog, Role
from remix.models import RemixNode
from tests.accounts.factories import UserFactory
from tests.kmeme.outages import database_down, redis_down
from tests.remix.factories import published_master

ANALYSES = "/api/v1/analyses"
SUBMISSION = {"video_url": "https://www.tiktok.com/@a/video/7300000000000000009", "title": "Latte"}


def _bearer_client(user) -> APIClient:
    # Like a deployed server: an exception Django answered with an error page is not re-raised into the test.
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def _assert_503_json(response, service: str) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert 1 <= int(response["Retry-After"]) <= 30
    assert "no-store" in response["Cache-Control"]
    error = response.json()["error"]
    assert set(error) == {"status", "code", "message", "details", "request_id"}
    assert (error["status"], error["code"]) == (503, "service_unavailable")
    assert error["details"] == {"service": service, "retry_after_seconds": int(response["Retry-After"])}
    assert error["request_id"] == response["X-Request-ID"]


def _assert_503_page(response) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert 1 <= int(response["Retry-After"]) <= 30
    page = response.content.decode()
    assert "Service unavailable" in page and "try again" in page
    assert "Traceback" not in page and "OperationalError" not in page and "ConnectionError" not in page


def _written() -> tuple[int, int, int]:
    return RemixNode.objects.count(), ProcrastinateJob.objects.count(), AuditLog.objects.count()


# --- Redis down -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_a_submission_with_redis_down_is_a_503_in_the_error_shape_and_writes_nothing(settings, debug):
    settings.DEBUG = debug
    client = _bearer_client(UserFactory(role=Role.CREATOR))
    before = _written()

    with redis_down():
        response = client.post(ANALYSES, SUBMISSION, format="json")

    _assert_503_json(response, "redis")  # the throttles count in Redis, before the view runs
    assert _written() == before


@pytest.mark.django_db
def test_an_anonymous_read_with_redis_down_is_a_503_not_a_500():
    with redis_down():
        response = APIClient(raise_request_exception=False).get("/api/v1/nodes")
    _assert_503_json(response, "redis")


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
# DEBUG's error reporter still runs (and logs); redis-py's errors chain to themselves, which it warns about.
@pytest.mark.filterwarnings("ignore::django.views.debug.ExceptionCycleWarning")
def test_a_recipe_page_with_redis_down_is_a_short_503_page(settings, debug):
    node = published_master("Latte art")
    settings.DEBUG = debug

    with redis_down():
        response = Client(raise_request_exception=False).get(f"/recipes/{node.public_id}/")

    _assert_503_page(response)  # the page reads its recipe through the cache: a plain Django view, outside DRF
    assert Client().get(f"/recipes/{node.public_id}/").status_code == 200  # and Redis back, the page is back


# --- PostgreSQL down --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("debug", [False, True])
def test_a_submission_with_the_database_down_is_a_503_and_works_again_once_it_is_back(settings, debug):
    settings.DEBUG = debug
    client = _bearer_client(UserFactory(role=Role.CREATOR))
    before = _written()

    with database_down():
        response = client.post(ANALYSES, SUBMISSION, format="json")

    _assert_503_json(response, "database")  # authentication reads the user: the first thing to fail
    assert _written() == before
    assert client.post(ANALYSES, SUBMISSION, format="json").status_code == 202


@pytest.mark.django_db(transaction=True)
def test_an_api_request_on_a_session_with_the_database_down_is_a_503():
    client = APIClient(raise_request_exception=False)
    client.force_login(UserFactory(role=Role.CREATOR))

    with database_down():
        response = client.get("/api/v1/me")

    _assert_503_json(response, "database")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("debug", [False, True])
def test_an_admin_page_with_the_database_down_is_a_short_503_page_not_a_technical_500(settings, debug):
    session = Client(raise_request_exception=False)
    session.force_login(UserFactory(role=Role.EDITOR))
    settings.DEBUG = debug

    with database_down():
        response = session.get("/admin/")

    # The second-factor middleware asks whether the session's user owes a second factor: it fails there.
    _assert_503_page(response)
    assert session.get("/admin/").status_code == 200


# --- What stays a 500: bugs, whatever their exception's module -------------------------------------------------------


def _plain_database_view(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


def _missing_table_view(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table_anywhere")
    return HttpResponse("unreachable")


class _MissingTableApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response(_missing_table_view(request))


class _StatementTimeoutApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 10")
            try:
                cursor.execute("SELECT pg_sleep(1)")  # canceled by the server: an OperationalError, but no outage
            finally:
                cursor.execute("RESET statement_timeout")
        return Response({"ok": True})


class _RedisCommandApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        get_redis_connection("default").execute_command("NO_SUCH_COMMAND")  # a ResponseError from a live Redis
        return Response({"ok": True})


urlpatterns = [
    path("api/v1/plain-database", _plain_database_view),
    path("api/v1/missing-table", _MissingTableApi.as_view()),
    path("api/v1/statement-timeout", _StatementTimeoutApi.as_view()),
    path("api/v1/redis-command", _RedisCommandApi.as_view()),
    path("plain/missing-table", _missing_table_view),
    path("", include("kmeme.urls")),
]
handler500 = "kmeme.views.server_error"


@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
def test_a_plain_django_view_under_the_api_with_the_database_down_is_a_503_in_the_error_shape():
    client = Client(raise_request_exception=False)
    with database_down():
        response = client.get("/api/v1/plain-database")
    _assert_503_json(response, "database")
    assert client.get("/api/v1/plain-database").json() == {"ok": True}


@pytest.mark.urls(__name__)
@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    "path", ["/api/v1/missing-table", "/api/v1/statement-timeout", "/api/v1/redis-command", "/plain/missing-table"]
)
def test_a_bug_stays_a_500_with_postgresql_and_redis_up(settings, path, debug):
    settings.DEBUG = debug
    response = Client(raise_request_exception=False).get(path)
    assert response.status_code == 500
    assert "Retry-After" not in response
    if path.startswith("/api/") and not debug:
        assert response.json()["error"]["code"] == "server_error"
