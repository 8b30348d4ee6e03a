"""What the OpenAPI schema says about every operation: the error shape, declared once, request bodies that
refuse fields they do not know, the rate limits each request counts against, the 503 any of them can meet when
PostgreSQL or Redis is down, and `Idempotency-Key` on the writes that take it."""

from __future__ import annotations

import inspect
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from kmeme.idempotency import (
    CLAIM_TIMEOUT,
    IDEMPOTENCY_HEADER,
    KEY_MAX_LENGTH,
    REPLAYED_HEADER,
    RETENTION,
    WRITE_METHODS,
    IdempotentWritesMixin,
)
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


_SERVICE_UNAVAILABLE = (
    "PostgreSQL or Redis cannot be reached (`service_unavailable`, `details.service`: `database` or `redis`); "
    "retry after `Retry-After` seconds."
)
_IDEMPOTENCY_400 = f"An invalid `{IDEMPOTENCY_HEADER}` header (`invalid_idempotency_key`)."
_IDEMPOTENCY_409 = (
    f"`{IDEMPOTENCY_HEADER}` already used for another request (`idempotency_key_reused`), or its first request is "
    "still running (`idempotency_request_in_progress`, with `Retry-After`)."
)
# Refused before a key is looked at (401), or never kept for a replay (429, 5xx).
_NEVER_REPLAYED = frozenset({"401", "429", "503"})
_RETRY_AFTER = {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=IDEMPOTENCY_HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    pattern=rf"^[\x21-\x7e]{{1,{KEY_MAX_LENGTH}}}$",
    description=(
        f"Optional; makes a retry safe. 1–{KEY_MAX_LENGTH} visible ASCII characters, e.g. a fresh UUID per "
        "operation. Kept per user (a refreshed token keeps its keys) for "
        f"{int(RETENTION.total_seconds() // 3600)} hours: the same key with the same method, path and body answers "
        f"the first request's answer again (status, body, with `{REPLAYED_HEADER}: true`) and does nothing; with "
        "another request, 409 `idempotency_key_reused`; while the first still runs, 409 "
        "`idempotency_request_in_progress` with `Retry-After` (a first request cut off mid-way frees its key after "
        f"{int(CLAIM_TIMEOUT.total_seconds() // 60)} minutes). Answers of 500 and above and 429 are not kept, so the "
        "same key can be retried after them; invalid: 400 `invalid_idempotency_key`."
    ),
)


class AutoSchema(SpectacularAutoSchema):
    """Appends to each operation's description the rate limits its request counts against, and adds the responses
    every operation can give whatever its view declares: 503 when PostgreSQL or Redis is down (kmeme.availability),
    and on a write that takes `Idempotency-Key` (kmeme.idempotency) the header, its 400 and 409, and the replay's
    `Idempotent-Replayed` response header.

    The limits are read from the view's own throttles and the configured rates, so the documented limits are the
    enforced ones.
    """

    def _takes_idempotency_key(self) -> bool:
        return isinstance(self.view, IdempotentWritesMixin) and self.method.upper() in WRITE_METHODS

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self._takes_idempotency_key():
            parameters.append(IDEMPOTENCY_KEY_PARAMETER)
        return parameters

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        limits = throttles_description(self.view, self.method)
        if limits:
            operation["description"] = "\n\n".join(filter(None, [operation.get("description", ""), limits]))
        responses = operation.setdefault("responses", {})
        self._error_response(responses, 503, _SERVICE_UNAVAILABLE)
        responses["503"].setdefault("headers", {})["Retry-After"] = _RETRY_AFTER
        if self._takes_idempotency_key():
            self._error_response(responses, 400, _IDEMPOTENCY_400)
            self._error_response(responses, 409, _IDEMPOTENCY_409)
            responses["409"].setdefault("headers", {})["Retry-After"] = {
                **_RETRY_AFTER,
                "description": "With `idempotency_request_in_progress`: seconds to wait before retrying.",
            }
            for code, response in responses.items():
                if code not in _NEVER_REPLAYED:
                    response.setdefault("headers", {})[REPLAYED_HEADER] = {
                        "schema": {"type": "string", "enum": ["true"]},
                        "description": f"Present on an answer replayed for a repeated `{IDEMPOTENCY_HEADER}`.",
                    }
        if "429" in responses:
            responses["429"].setdefault("headers", {})["Retry-After"] = _RETRY_AFTER
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_response(self, responses: dict[str, Any], status: int, description: str) -> None:
        """Document `status` as an error in the one shape; when the view declared it already, add the reason."""
        code = str(status)
        if code in responses:
            declared = responses[code].get("description", "")
            responses[code]["description"] = " ".join(filter(None, [declared, description]))
            return
        error = self.resolve_serializer(ErrorSerializer, "response")
        responses[code] = {"content": {"application/json": {"schema": error.ref}}, "description": description}
