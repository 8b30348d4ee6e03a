"""The admin's *Prompt quality* page: which prompts editors trust, from their own decisions (remix.prompt_quality)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kmeme.admin_services import ReadOnlyAdmin
from remix.models import BriefDecision
from remix.prompt_quality import current_brief_prompt, prompt_quality

WINDOWS = {"30": 30, "90": 90, "all": None}


@admin.register(BriefDecision)
class BriefDecisionAdmin(ReadOnlyAdmin):
    """Each editor decision on a brief, measured against the writer's version; written by the review services."""

    list_display = [
        "decided_at",
        "brief_of",
        "decision",
        "prompt_version",
        "model",
        "source",
        "edit_distance",
        "changed_fields",
        "review_seconds",
        "editor",
    ]
    list_filter = ["decision", "source", "prompt_version", "model"]
    list_select_related = ["brief__node", "editor"]
    date_hierarchy = "decided_at"
    show_full_result_count = False
    change_list_template = "admin/remix/briefdecision_change_list.html"

    @admin.display(description=gettext_lazy("Brief"), ordering="brief__node__title")
    def brief_of(self, obj: BriefDecision) -> str:
        return f"{obj.brief.node.title} · v{obj.brief.version}"

    @admin.display(description=gettext_lazy("Fields changed"))
    def changed_fields(self, obj: BriefDecision) -> str:
        return ", ".join(obj.fields_changed) or "—"

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.quality_view)
        return [path("quality/", view, name="remix_prompt_quality"), *super().get_urls()]

    def quality_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        window = request.GET.get("days", "90")
        if window not in WINDOWS:
            window = "90"
        context = {
            **self.admin_site.each_context(request),
            "title": _("Prompt quality"),
            "opts": self.model._meta,
            "rows": prompt_quality(days=WINDOWS[window]),
            "window": window,
            "windows": WINDOWS,
            "current": current_brief_prompt(),
        }
        return TemplateResponse(request, "admin/remix/prompt_quality.html", context)
