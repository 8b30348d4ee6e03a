"""The API's throttles: DRF throttle classes whose counters live in Redis.

The defaults (REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]) apply to every API view:

- `anon`: every request of an anonymous client, per client IP address (`NUM_PROXIES` decides which one);
- `user`: every request of a signed-in user, per user;
- `write`: every POST/PUT/PATCH/DELETE of a signed-in user, per user, on top of `user`.

Views add a scope where one default is wrong for them (`similar`, `fork`, `auth`) with `throttle_classes =
with_default_throttles(...)`. Rates are REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (THROTTLE_*_RATE in .env.example),
read at each request.

DRF's own SimpleRateThrottle keeps a list of timestamps that it reads and writes back: requests sent at once all read
the same list and all pass, which is exactly how a burst gets through. These count with `kmeme.limits.rate_limit_count`
instead (Redis INCR, atomic), the same counter as the analyses limits, and refuse with the same 429: code `throttled`,
details `{scope, limit, retry_after_seconds}` and a Retry-After header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from kmeme.limits import rate_limit_count, rate_text

if TYPE_CHECKING:  # rest_framework.views loads this module while it defines APIView
    from rest_framework.views import APIView


def throttle_rate(scope: str) -> str:
    return api_settings.DEFAULT_THROTTLE_RATES[scope]


def _signed_in(request: Request) -> bool:
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated)


def _view_allows_anonymous(view: APIView) -> bool:
    return not any(isinstance(permission, IsAuthenticated) for permission in view.get_permissions())


def _view_authenticates(view: APIView) -> bool:
    return bool(view.get_authenticators())


class RedisThrottle(BaseThrottle):
    """Counts the requests it `applies` to against its scope's rate; past it, a 429 (raised, naming the scope)."""

    scope = ""
    key_text = "user or IP address"

    def applies(self, request: Request) -> bool:
        return True

    def ident(self, request: Request) -> str:
        if _signed_in(request):
            return f"user:{request.user.pk}"
        return f"ip:{self.get_ident(request)}"

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.applies(request):
            ident = self.ident(request)
            rate_limit_count(request=request, scope=self.scope, rate=throttle_rate(self.scope), key=lambda *_: ident)
        return True

    # --- for the OpenAPI descriptions (kmeme.openapi.AutoSchema) ---------------------------------------------------

    def documented(self, view: APIView, method: str) -> bool:
        """Whether a request to `view` with `method` can meet this limit."""
        return True

    def describe(self) -> str:
        return f"{rate_text(throttle_rate(self.scope))} per {self.key_text} (`{self.scope}`)"


class AnonThrottle(RedisThrottle):
    scope = "anon"
    key_text = "IP address for anonymous clients"

    def applies(self, request: Request) -> bool:
        return not _signed_in(request)

    def documented(self, view: APIView, method: str) -> bool:
        return _view_allows_anonymous(view)


class UserThrottle(RedisThrottle):
    scope = "user"
    key_text = "signed-in user"

    def applies(self, request: Request) -> bool:
        return _signed_in(request)

    def documented(self, view: APIView, method: str) -> bool:
        return _view_authenticates(view)


class WriteThrottle(RedisThrottle):
    scope = "write"
    key_text = "user for writes"

    def applies(self, request: Request) -> bool:
        return _signed_in(request) and request.method not in SAFE_METHODS

    def documented(self, view: APIView, method: str) -> bool:
        return _view_authenticates(view) and method not in SAFE_METHODS


class SimilarThrottle(RedisThrottle):
    """Similar search ranks embeddings, and each `k` is its own cache entry: costlier than a read."""

    scope = "similar"
    key_text = "user or IP address, for similar searches"


class ForkThrottle(RedisThrottle):
    """New forks, on top of `write`: each one is a node, an edge and an audit row that stay."""

    scope = "fork"
    key_text = "user, for new forks"


class AuthThrottle(RedisThrottle):
    """Signing in and refreshing: unauthenticated by design, so per client address."""

    scope = "auth"
    key_text = "IP address, sign-in and refresh together"

    def ident(self, request: Request) -> str:
        return f"ip:{self.get_ident(request)}"


def with_default_throttles(*extra: type[BaseThrottle]) -> list[type[BaseThrottle]]:
    """The default throttles plus a view's own (a view's `throttle_classes` replaces the defaults otherwise)."""
    return [*api_settings.DEFAULT_THROTTLE_CLASSES, *extra]


def throttles_description(view: APIView, method: str) -> str:
    """The limits a request to `view` with `method` counts against, in words, for its OpenAPI description."""
    limits = [
        throttle.describe()
        for throttle in view.get_throttles()
        if isinstance(throttle, RedisThrottle) and throttle.documented(view, method.upper())
    ]
    if not limits:
        return ""
    return "Rate limits: " + "; ".join(limits) + ". Past any of them: 429 `throttled` with `Retry-After`."
