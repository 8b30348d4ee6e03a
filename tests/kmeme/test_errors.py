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
