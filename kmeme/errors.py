"""One error type for business rules and one JSON shape for every API error.

Every error a client can get from `/api/` has this shape::

    {"error": {"status": 404, "code": "not_found", "message": "…", "details": {…} | null,
               "request_id": "…"}}

`code` is stable and machine-readable; `message` is for humans and may change. The error type itself,
`ApplicationError`, is defined in kmeme/exceptions.py and imported from here.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kmeme.exceptions import ApplicationError
from kmeme.middleware import current_request_id

# DRF's own default codes, renamed where the default is vague.
_CODE_BY_EXCEPTION: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "validation_error"),
    (exceptions.ParseError, "malformed_request"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
]


def error_body(*, status_code: int, code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {
        "error": {
            "status": status_code,
            "code": code,
            "message": message,
            "details": details,
            "request_id": current_request_id(),
        }
    }


def _code_for(exc: exceptions.APIException) -> str:
    # simplejwt's InvalidToken carries a precise code ("token_not_valid"): keep codes like that.
    if isinstance(exc.detail, dict) and isinstance(exc.detail.get("code"), str):
        return str(exc.detail["code"])
    for klass, code in _CODE_BY_EXCEPTION:
        if type(exc) is klass:
            return code
    for klass, code in _CODE_BY_EXCEPTION:
        if isinstance(exc, klass):
            detail_code = exc.get_codes()
            return detail_code if isinstance(detail_code, str) else code
    detail_code = exc.get_codes()
    return detail_code if isinstance(detail_code, str) else "error"


def _render_as_json(context: dict[str, Any]) -> None:
    """An error is JSON whatever the view renders on success (guide.txt is text/plain) and whatever the client's
    Accept header chose: DRF renders an error with the renderer negotiated for the success, so a text renderer
    would turn the error body into a Python dict's repr. The handler runs before `finalize_response` reads the
    request's renderer, so choosing it here covers every view, and a 406 from negotiation itself."""
    request = context.get("request")
    if isinstance(request, Request):
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF EXCEPTION_HANDLER: every error, ours or DRF's, in one shape, always as application/json."""
    response = _error_response(exc, context)
    if response is not None:
        _render_as_json(context)
    return response


def _error_response(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        response = Response(
            error_body(status_code=exc.status_code, code=exc.code, message=exc.message, details=exc.details),
            status=exc.status_code,
        )
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # an unexpected exception: a 500, reported to Sentry by Django

    if isinstance(exc, exceptions.ValidationError):
        message = "The request has invalid fields; see details."
        details: Any = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    else:
        message = str(exc.detail.get("detail", exc.detail)) if isinstance(exc.detail, dict) else str(exc.detail)
        details = getattr(exc, "error_details", None)  # e.g. why a JSON body was refused (kmeme.parsers)
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            details = {"retry_after_seconds": int(exc.wait) + (0 if float(exc.wait).is_integer() else 1)}
    response.data = error_body(status_code=response.status_code, code=_code_for(exc), message=message, details=details)
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        error_body(status_code=404, code="not_found", message="No such endpoint or object."), status=404
    )


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body(status_code=500, code="server_error", message="Something went wrong on our side; it was logged."),
        status=500,
    )
