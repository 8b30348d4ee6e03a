"""Request ids: every request gets one (or keeps a sane one from the proxy), logs and errors carry it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps

from django.http import HttpRequest, HttpResponse

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current_request_id() -> str | None:
    return _request_id.get()


class RequestIdMiddleware:
    header = "X-Request-ID"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(self.header, "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[self.header] = request_id
        return response


def content_security_policy(**extra_sources: str) -> Callable:
    """Decorator: a restrictive Content-Security-Policy for a server-rendered page.

    Nothing but our own origin loads, no scripts at all unless a source is named; `frame_src=...` etc.
    add sources for one directive (underscores become dashes).
    """
    directives = {
        "default-src": "'self'",
        "script-src": "'none'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: https:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
        "frame-src": "'none'",
    }
    for name, sources in extra_sources.items():
        directives[name.replace("_", "-")] = sources
    policy = "; ".join(f"{name} {value}" for name, value in directives.items())

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = view(request, *args, **kwargs)
            response["Content-Security-Policy"] = policy
            return response

        return wrapped

    return decorator


# Every other HTML page (the admin, the API docs) gets this baseline. It allows what Django's admin
# and Swagger UI need (their inline scripts; OpenLayers from jsDelivr for the campaign map) and
# nothing else: no plugins, no framing by other sites, forms only to us.
BASELINE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "img-src 'self' data: https:",
        "connect-src 'self'",
        "frame-src https://www.youtube-nocookie.com",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class BaselineContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html") and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = BASELINE_CSP
        return response
