"""Request ids: every request gets one (or keeps a sane one from the proxy), logs and errors carry it."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current_request_id() -> str | None:
    return _request_id.get()


@contextmanager
def request_id_bound(request_id: str | None) -> Iterator[str]:
    """Run a block (a job) under a request id: the one of the request that queued it, else a fresh one, so its
    log lines can be followed back to the request."""
    bound = request_id if request_id and _SAFE_ID.match(request_id) else f"job-{uuid.uuid4().hex[:16]}"
    token = _request_id.set(bound)
    try:
        yield bound
    finally:
        _request_id.reset(token)


api_log = logging.getLogger("kmeme.api")


class ApiRequestLogMiddleware:
    """One `api_request` line per API request: method, route (the URL pattern, never the ids in the path), status,
    duration and the user's id (never an email). Placed right under RequestIdMiddleware, so it sees the final status
    (503s from the availability middleware included) and its line carries the request id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        try:  # the session's user may need the database, which may be the very thing that is down
            user = getattr(request, "user", None)
            user_id = user.pk if user is not None and user.is_authenticated else None
        except Exception:
            user_id = None
        api_log.info(
            "api_request",
            extra={
                "event": "api_request",
                "method": request.method,
                "route": f"/{match.route}" if match is not None and match.route else "-",
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user_id": user_id,
            },
        )
        return response


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


class ApiCacheControlMiddleware:
    """No shared cache (a CDN, a company proxy) and no browser disk cache keeps an API answer meant for one viewer.

    An answer to a request that carries credentials (a bearer token or a session cookie), or that is signed in,
    or that is not a read, gets `Cache-Control: private, no-store`, replacing whatever the view set: it may be a
    private node, someone's analysis, their profile, or a pair of tokens. Every API answer also varies on
    `Authorization` and `Cookie`, so a cache that keeps an anonymous answer (a published recipe) never serves it
    to a signed-in viewer, for whom the same URL can show more (their own private node), nor the other way round.
    Anonymous reads keep the caching their view chose.
    """

    prefix = "/api/"
    _READS = ("GET", "HEAD", "OPTIONS")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(self.prefix):
            return response
        patch_vary_headers(response, ("Authorization", "Cookie"))
        if self._depends_on_viewer(request):
            if response.has_header("Cache-Control"):
                del response["Cache-Control"]  # replaced, not merged: a view's public max-age must not survive
            patch_cache_control(response, private=True, no_store=True)
        return response

    def _depends_on_viewer(self, request: HttpRequest) -> bool:
        if request.method not in self._READS:
            return True
        if "HTTP_AUTHORIZATION" in request.META or settings.SESSION_COOKIE_NAME in request.COOKIES:
            return True
        # DRF sets the user it authenticated on the Django request too (also a test's force_authenticate).
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated)
