"""The admin speaks the language its user chose: Korean by default, English on request.

LocaleMiddleware picks the language from the cookie or the browser's Accept-Language; for a signed-in person who chose
one with the switch in the admin header, their choice (kept on their account, so it follows them to another browser)
wins. The API is used with tokens, not sessions: there Accept-Language decides.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.services import user_language_set
from kmeme.errors import ApplicationError


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        chosen = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if chosen and chosen in dict(settings.LANGUAGES):
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)


def language_switch_view(request: HttpRequest) -> HttpResponse:
    """POST language=<code>, next=<path>: keep the choice on the account and in the cookie, then go back."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    language = request.POST.get("language", "")
    target = request.POST.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("admin:index")
    response = HttpResponseRedirect(target)
    if language not in dict(settings.LANGUAGES):
        return response  # an unknown code changes nothing (the select offers only the known ones)
    if request.user.is_authenticated:
        try:
            user_language_set(user=request.user, language=language)
        except ApplicationError:  # pragma: no cover - the code was checked above
            return response
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )
    translation.activate(language)
    return response
