"""One error type for business rules and one JSON shape for every API error.

Every error a client can get from `/api/` has this shape::

    {"error": {"status": 404, "code": "not_found", "message": "…", "details": {…} | null,
               "request_id": "…"}}

`code` is stable and machine-readable; `message` is for humans and may change. The error type itself,
`ApplicationError`, is defined in kmeme/exceptions.py and imported from here.

A request that fails because PostgreSQL or Redis cannot be reached is a 503 `service_unavailable` with `Retry-After`
(`details.service`: `database` or `redis`), never a 500: inside a DRF view through `api_exception_handler`, anywhere
else (a middleware, a plain Django view, an admin page) through kmeme.availability. `unreachable_service` decides
which exceptions say so; a bug (a ProgrammingError, an IntegrityError, a Redis ResponseError) stays a 500.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.html import escape
from django.utils.translation import gettext as _
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from kmeme.exceptions import ApplicationError
from kmeme.middleware import current_request_id

logger = logging.getLogger("kmeme.errors")

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
        error = response.data.get("error", {}) if isinstance(response.data, dict) else {}
        logger.log(
            logging.WARNING if response.status_code >= 500 else logging.INFO,
            "error",
            extra={"event": "error", "code": error.get("code"), "status": response.status_code},
        )
    return response


def _error_response(exc: Exception, context: dict[str, Any]) -> Response | None:
    service = unreachable_service(exc)
    if service is not None:
        return _service_unavailable_api_response(exc, service)
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
        message = _("The request has invalid fields; see details.")
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
        error_body(status_code=404, code="not_found", message=_("No such endpoint or object.")), status=404
    )


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body(status_code=500, code="server_error", message=_("Something went wrong on our side; it was logged.")),
        status=500,
    )


# --- PostgreSQL or Redis unreachable: 503 ---------------------------------------------------------------------------

# How long a client should wait before retrying: a restarted server or a failed-over connection is usually back by
# then, and a short wait keeps a client from hammering a server that is coming back up.
SERVICE_UNAVAILABLE_RETRY_AFTER_S = 10

_SERVICE_NAMES = {"database": "the database", "redis": "the cache (Redis)"}

# PostgreSQL SQLSTATEs that mean "the server is not there for you": class 08 (connection exception), the server
# shutting down or starting up (57P01-57P03), no connection slot left (53300). Any other error the server sends
# (a statement timeout, a deadlock, a missing table) is about the query and stays what it is.
_UNREACHABLE_SQLSTATE_CLASSES = ("08",)
_UNREACHABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def unreachable_service(exc: BaseException | None) -> str | None:
    """`"database"` or `"redis"` when `exc` says that service could not be reached, else None.

    Follows the explicit cause chain (`raise … from …`): Django wraps psycopg's errors in django.db's, django-redis
    raises redis-py's errors directly or wrapped in ConnectionInterrupted, procrastinate wraps the driver's. From
    psycopg, an OperationalError without a SQLSTATE (connection refused or lost, a closed connection, a pool
    timeout) or with a connection-level one, and any InterfaceError; from redis-py, ConnectionError and TimeoutError
    (a ResponseError, which django-redis wraps the same way, is a bug and stays a 500).
    """
    for _step in range(8):  # a cause chain is short; a cycle must not loop forever
        if exc is None:
            return None
        if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
            return "redis"
        if isinstance(exc, psycopg.InterfaceError):
            return "database"
        if isinstance(exc, psycopg.OperationalError):
            state = exc.sqlstate
            if state is None or state.startswith(_UNREACHABLE_SQLSTATE_CLASSES) or state in _UNREACHABLE_SQLSTATES:
                return "database"
            return None
        exc = exc.__cause__
    return None


def service_unavailable_body(service: str) -> dict[str, Any]:
    return error_body(
        status_code=503,
        code="service_unavailable",
        message=_("The service cannot reach %(get)s right now; try again shortly.")
        % {"get": _SERVICE_NAMES.get(service, service)},
        details={"service": service, "retry_after_seconds": SERVICE_UNAVAILABLE_RETRY_AFTER_S},
    )


def _unavailable_headers(response: HttpResponse) -> HttpResponse:
    response["Retry-After"] = str(SERVICE_UNAVAILABLE_RETRY_AFTER_S)
    add_never_cache_headers(response)  # an outage answer must not outlive the outage in any cache
    return response


def _service_unavailable_api_response(exc: BaseException, service: str) -> Response:
    logger.error("503: %s unreachable (%s: %s)", service, type(exc).__name__, exc)
    set_rollback()
    response = Response(service_unavailable_body(service), status=503)
    return _unavailable_headers(response)


_UNAVAILABLE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Service unavailable</title></head>
<body><h1>Service unavailable</h1>
<p>K-MEME Factory cannot reach {service} right now. Please try again in a few seconds.</p></body></html>
"""


def service_unavailable_response(request: HttpRequest, service: str) -> HttpResponse:
    """The 503 for a request outside DRF: the error shape under /api/, a short page elsewhere (the admin, the
    recipe pages). Built without templates, the session or the user: whatever they need may be what is down."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(service_unavailable_body(service), status=503)
    else:
        page = _UNAVAILABLE_PAGE.format(service=escape(_SERVICE_NAMES.get(service, service)))
        response = HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
    return _unavailable_headers(response)
