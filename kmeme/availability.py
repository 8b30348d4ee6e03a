"""PostgreSQL or Redis down: every request answers 503 with Retry-After, never a 500 (nor DEBUG's technical page).

Inside a DRF view (authentication, throttles, the view itself) kmeme.errors.api_exception_handler answers. Anything
else — a middleware that loads the session or the user, a plain Django view, an admin page — fails before or outside
DRF, and Django turns the exception into a 500 right where it was raised, before an outer middleware could see the
exception itself. So: Django's `got_request_exception` signal, sent while that exception is being handled, marks the
request with the service the exception says is unreachable (kmeme.errors.unreachable_service), and
`ServiceUnavailableMiddleware`, outside every middleware that can touch PostgreSQL or Redis, swaps that request's 500
for the 503 (the error shape under /api/, a short page elsewhere). A 500 whose exception is a bug stays a 500.
Django still logs the exception (and Sentry still gets it): an outage is worth knowing about.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse

from kmeme.errors import service_unavailable_response, unreachable_service

_MARK = "_kmeme_unreachable_service"


def request_mark_unreachable_service(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """`got_request_exception` receiver: Django sends it from inside its `except` block, so the exception is the one
    being handled now."""
    service = unreachable_service(sys.exc_info()[1])
    if request is not None and service is not None:
        setattr(request, _MARK, service)


class ServiceUnavailableMiddleware:
    """Turns the 500 of a request that failed because PostgreSQL or Redis is unreachable into a 503.

    Belongs right inside RequestIdMiddleware (the 503 carries the request id) and outside everything else.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        got_request_exception.connect(request_mark_unreachable_service, dispatch_uid=__name__)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        service = getattr(request, _MARK, None)
        if service is not None and response.status_code == 500:
            return service_unavailable_response(request, service)
        return response
