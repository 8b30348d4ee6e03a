"""What the OpenAPI schema says about every operation: the error shape, declared once, request bodies that
refuse fields they do not know, and the rate limits each request counts against."""

from __future__ import annotations

import inspect
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from kmeme.serializers import StrictSerializer
from kmeme.throttles import throttles_description

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
    400: (
        "Invalid input (`validation_error`, `malformed_request`, `too_large` / `too_deep` for free-form JSON over its "
        "caps, or a business rule's code)."
    ),
    401: "Not signed in or the token is invalid (`not_authenticated`, `authentication_failed`, `token_not_valid`).",
    403: "Signed in but not allowed (`permission_denied`).",
    404: "No such object, or not visible to you (`not_found`).",
    409: "Conflicts with the current state (e.g. `stale_object`).",
    413: "Request body too large (`payload_too_large`).",
    429: "Too many requests (`throttled`, `quota_exceeded`); see the Retry-After header.",
}


# A paginated list's own reasons (kmeme.pagination).
_LIST_DESCRIPTIONS = {
    400: "Invalid filters or `page_size` (`validation_error`).",
    404: "No such page: `page` is not a whole number from 1, or lies past the last page (`invalid_page`).",
}


def ERROR_RESPONSES(*statuses: int, paginated: bool = False) -> dict[tuple[int, str], OpenApiResponse]:
    """The error responses of an operation; always application/json, whatever its success is rendered as
    (kmeme.errors renders every error as JSON). `paginated`: a list's 400 and 404 are about its query."""
    descriptions = {**_DESCRIPTIONS, **_LIST_DESCRIPTIONS} if paginated else _DESCRIPTIONS
    return {
        (code, "application/json"): OpenApiResponse(response=ErrorSerializer, description=descriptions[code])
        for code in statuses
    }


class StrictSerializerExtension(OpenApiSerializerExtension):
    """A StrictSerializer's request body says `additionalProperties: false`, as the server refuses unknown fields
    (400 `validation_error`); generated clients and schema-driven tests then know it too."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        if schema.get("description") == inspect.getdoc(StrictSerializer):
            del schema["description"]  # the base class's docstring, inherited: it says nothing about this body
        return schema


class AutoSchema(SpectacularAutoSchema):
    """Appends to each operation's description the rate limits its request counts against.

    Read from the view's own throttles and the configured rates, so the documented limits are the enforced ones.
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        limits = throttles_description(self.view, self.method) if operation is not None else ""
        if limits:
            operation["description"] = "\n\n".join(filter(None, [operation.get("description", ""), limits]))
        return operation
