"""The admin is the editors' workplace: its landing page is their review queue."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse


class KmemeAdminSite(admin.AdminSite):
    site_header = "K-MEME Factory"
    site_title = "K-MEME Factory admin"
    index_title = "Review console"
    index_template = "admin/kmeme_index.html"

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        # Imported here, not at the top: this class is loaded while the app registry is still being populated
        # (AdminConfig.default_site), before remix's models can be imported.
        from remix.selectors import review_dashboard  # noqa: PLC0415

        extra_context = dict(extra_context or {})
        if request.user.has_perm("remix.view_remixnode"):
            extra_context["review"] = review_dashboard()
        return super().index(request, extra_context)
