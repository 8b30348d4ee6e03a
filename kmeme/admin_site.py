"""The admin is the editors' workplace: its landing page is their review queue."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from accounts.language import language_switch_view
from accounts.two_factor import second_factor_pending
from accounts.two_factor_views import second_factor_view

# Names of third-party models the admin's sidebar shows, for our catalogue: the packages mark them for translation but
# ship no Korean, and the project's catalogue (LOCALE_PATHS) is read before theirs.
THIRD_PARTY_NAMES = (
    gettext_noop("Outstanding Token"),
    gettext_noop("Outstanding Tokens"),
    gettext_noop("Blacklisted Token"),
    gettext_noop("Blacklisted Tokens"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
)


class KmemeAdminSite(admin.AdminSite):
    site_header = "K-MEME Factory"
    site_title = gettext_lazy("K-MEME Factory admin")
    index_title = gettext_lazy("Review console")
    index_template = "admin/kmeme_index.html"
    site_url = "/api/docs/"  # there is no public home page ("/" is a 404): "View site" opens the API's docs

    def has_permission(self, request: HttpRequest) -> bool:
        # django-otp's OTPAdminSite rule, for the accounts that must pass a second factor (accounts.two_factor).
        return super().has_permission(request) and not second_factor_pending(request.user)

    def get_urls(self) -> list[URLPattern]:
        view = never_cache(csrf_protect(self.second_factor))
        return [
            path("second-factor/", view, name="second_factor"),
            # The language switch in every admin page's header; also before sign-in (the login page has it).
            path("language/", never_cache(csrf_protect(language_switch_view)), name="language"),
            # Not behind admin_view (has_permission), so that a session still owing its second factor can log out;
            # Django's LogoutView takes only a POST with a CSRF token and logs out only the session that sent it.
            path("logout/", self.logout, name="logout"),
            *super().get_urls(),
        ]

    def second_factor(self, request: HttpRequest) -> HttpResponse:
        return second_factor_view(request, admin_site=self)

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        # Imported here, not at the top: this class is loaded while the app registry is still being populated
        # (AdminConfig.default_site), before remix's models can be imported.
        from remix.prompt_quality import current_prompt_quality  # noqa: PLC0415
        from remix.selectors import review_dashboard  # noqa: PLC0415

        extra_context = dict(extra_context or {})
        if request.user.has_perm("remix.view_remixnode"):
            extra_context["review"] = review_dashboard(
                category=request.GET.get("category", "")[:16], platform=request.GET.get("platform", "")[:16]
            )
        if request.user.has_perm("remix.view_briefdecision"):
            extra_context["prompt_quality"] = current_prompt_quality()
        return super().index(request, extra_context)
