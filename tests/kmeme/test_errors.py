"""Every API error, whatever raised it, reaches the client in one shape with a stable code."""

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from kmeme.errors import ApplicationError
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


class _Input(serializers.Serializer):
    title = serializers.CharField(max_length=10)


class ValidateApi(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        _Input(data=request.data).is_valid(raise_exception=True)
        return Response({"ok": True})


class AdminOnlyApi(APIView):
    permission_classes = [IsAdminUser]

    def get(self, request):
        return Response({"ok": True})


class _OnePerMinute(AnonRateThrottle):
    rate = "1/minute"
    scope = "errors-test"


class ThrottledApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [_OnePerMinute]

    def get(self, request):
        return Response({"ok": True})


class RuleApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise ApplicationError("Not now.", code="invalid_transition", status_code=409, details={"from": "draft"})


class ModelRuleApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise DjangoValidationError({"radius_m": ["Too small."]})


urlpatterns = [
    path("api/v1/validate", ValidateApi.as_view()),
    path("api/v1/admin-only", AdminOnlyApi.as_view()),
    path("api/v1/throttled", ThrottledApi.as_view()),
    path("api/v1/rule", RuleApi.as_view()),
    path("api/v1/model-rule", ModelRuleApi.as_view()),
]


def _assert_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"status", "code", "message", "details", "request_id"}
    assert error["status"] == status and error["code"] == code
    assert error["message"] and isinstance(error["message"], str)
    assert error["request_id"] == response["X-Request-ID"]
    return error


@pytest.mark.urls(__name__)
def test_400_validation_error_lists_the_fields(client):
    error = _assert_shape(
        client.post("/api/v1/validate", {"title": "x" * 11}, content_type="application/json"), 400, "validation_error"
    )
    assert "title" in error["details"]


@pytest.mark.urls(__name__)
def test_400_malformed_json(client):
    _assert_shape(
        client.post("/api/v1/validate", "{not json", content_type="application/json"), 400, "malformed_request"
    )


DEEP = "[" * 10_000 + "]" * 10_000


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("body", "reason", "at"),
    [
        (DEEP, "too_deep", None),
        ('{"title": ' + DEEP + "}", "too_deep", None),
        ('{"title": "a\\u0000b"}', "nul_character", "title"),
        ('{"title": "\\ud800"}', "lone_surrogate", "title"),
        ('{"title": "\\udc00\\ud800"}', "lone_surrogate", "title"),  # a pair in the wrong order is two lone halves
        ('{"\\ud800": "x"}', "lone_surrogate", "\\ud800 (the key)"),
        ('{"a": {"b\\u0000": 1}}', "nul_character", "a.b\\u0000 (the key)"),
        ('{"title": 1e999}', "non_finite_number", None),
        ('{"title": [-1e400]}', "non_finite_number", None),
        ('{"title": NaN}', "non_finite_number", None),
        ('{"title": -Infinity}', "non_finite_number", None),
        ('{"title": ' + "9" * 5000 + "}", "number_too_large", None),
        (b'{"title": "\xed\xa0\x80"}', "encoding", None),  # a surrogate encoded raw: not UTF-8
        (b'{"title": "\xff"}', "encoding", None),
        ("{not json", "syntax", None),
    ],
)
def test_400_json_we_cannot_store_is_refused_whole_with_the_reason(client, body, reason, at):
    error = _assert_shape(
        client.generic("POST", "/api/v1/validate", body, content_type="application/json"), 400, "malformed_request"
    )
    assert error["details"] == {"reason": reason, "at": at}


@pytest.mark.urls(__name__)
def test_json_nested_to_the_limit_is_fine_and_one_more_level_is_not(client):
    nested = "[" * 31 + "]" * 31  # 31 levels in the body's object: 32 in all
    ok = client.generic(
        "POST", "/api/v1/validate", '{"title": "x", "n": ' + nested + "}", content_type="application/json"
    )
    assert ok.status_code == 200
    deeper = client.generic("POST", "/api/v1/validate", '{"n": [' + nested + "]}", content_type="application/json")
    _assert_shape(deeper, 400, "malformed_request")


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_415_the_api_takes_json_only(client, content_type):
    _assert_shape(
        client.generic("POST", "/api/v1/validate", "title=x", content_type=content_type), 415, "unsupported_media_type"
    )


def test_401_without_credentials(client):
    _assert_shape(client.get("/api/v1/me"), 401, "not_authenticated")


def test_401_with_a_bad_token(client):
    error = _assert_shape(client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer not-a-jwt"), 401, "token_not_valid")
    assert error["details"] is None


@pytest.mark.urls(__name__)
def test_403_signed_in_but_not_allowed(client):
    client.force_login(UserFactory())
    _assert_shape(client.get("/api/v1/admin-only"), 403, "permission_denied")


def test_404_for_an_unknown_api_path(client):
    _assert_shape(client.get("/api/v1/no-such-thing"), 404, "not_found")


@pytest.mark.urls(__name__)
def test_429_when_throttled_with_retry_after(client):
    assert client.get("/api/v1/throttled").status_code == 200
    response = client.get("/api/v1/throttled")
    error = _assert_shape(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert error["details"]["retry_after_seconds"] == int(response["Retry-After"])


@pytest.mark.urls(__name__)
def test_business_rule_errors_keep_their_own_code_and_status(client):
    error = _assert_shape(client.get("/api/v1/rule"), 409, "invalid_transition")
    assert error["details"] == {"from": "draft"}


@pytest.mark.urls(__name__)
def test_model_validation_errors_become_400_with_field_details(client):
    error = _assert_shape(client.get("/api/v1/model-rule"), 400, "validation_error")
    assert error["details"] == {"radius_m": ["Too small."]}


def test_request_id_from_a_proxy_is_kept_when_sane(client):
    response = client.get("/api/v1/me", HTTP_X_REQUEST_ID="edge-1234abcd")
    assert response["X-Request-ID"] == "edge-1234abcd"
    assert client.get("/api/v1/me", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"] != "bad id\n"
