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
        from remix.selectors import review_dashboard

        extra_context = dict(extra_context or {})
        if request.user.has_perm("remix.view_remixnode"):
            extra_context["review"] = review_dashboard()
        return super().index(request, extra_context)
