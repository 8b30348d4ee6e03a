"""The error shape, declared once for the OpenAPI schema."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "status": serializers.IntegerField(),
                "code": serializers.CharField(help_text="Stable machine-readable code; branch on this."),
                "message": serializers.CharField(help_text="Human-readable; may change."),
                "details": serializers.JSONField(allow_null=True, help_text="Field errors or extra facts."),
                "request_id": serializers.CharField(allow_null=True),
            },
        )
    },
)

_DESCRIPTIONS = {
    400: "Invalid input (`validation_error`, `malformed_request`, or a business rule's code).",
    401: "Not signed in or the token is invalid (`not_authenticated`, `authentication_failed`, `token_not_valid`).",
    403: "Signed in but not allowed (`permission_denied`).",
    404: "No such object, or not visible to you (`not_found`).",
    409: "Conflicts with the current state (e.g. `stale_object`).",
    413: "Request body too large (`payload_too_large`).",
    429: "Too many requests (`throttled`, `quota_exceeded`); see the Retry-After header.",
}


def ERROR_RESPONSES(*statuses: int) -> dict[tuple[int, str], OpenApiResponse]:
    """The error responses of an operation; always application/json, whatever its success is rendered as
    (kmeme.errors renders every error as JSON)."""
    return {
        (code, "application/json"): OpenApiResponse(response=ErrorSerializer, description=_DESCRIPTIONS[code])
        for code in statuses
    }
