"""Project-wide error pages: JSON in the API's error shape under /api/, Django's pages elsewhere."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from kmeme.errors import error_body, json_not_found, json_server_error


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse(
                error_body(
                    status_code=413,
                    code="payload_too_large",
                    message="The request body is larger than the API accepts.",
                ),
                status=413,
            )
        return JsonResponse(
            error_body(status_code=400, code="bad_request", message="The request is malformed."), status=400
        )
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_server_error(request)
    return defaults.server_error(request)
