"""The node list and change form, the read-only AI output, and lineage edges. Every write calls a service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kmeme.admin_services import ReadOnlyAdmin, ServiceAdmin, ServiceModelForm
from kmeme.errors import ApplicationError
from remix.admin_review import ReviewAdminMixin
from remix.lineage import mutation_create, mutation_update
from remix.models import Layer, Mutation, RemixBrief, RemixNode, VideoAnalysis
from remix.services import NODE_EDITABLE_FIELDS, node_submit, node_update


class NodeAddForm(ServiceModelForm):
    """An editor pastes a video URL and a title: the same submission as the API's, so the analysis job starts."""

    source_url = forms.URLField(label=gettext_lazy("Video URL"), max_length=2048, assume_scheme="https")

    class Meta:
        model = RemixNode
        fields = ["source_url", "title"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False
        self.fields["title"].help_text = _("Optional: the platform's name is used when empty.")

    def save_service(self, data: dict[str, Any]) -> RemixNode:
        node, job_id = node_submit(user=self.request.user, video_url=data["source_url"], title=data["title"])
        if job_id is None:  # the editor's own submission of this link is still in analysis: nothing was added
            raise ApplicationError(
                _(
                    "You submitted this video already and it is still being analysed: “%(title)s” "
                    "(%(public_id)s). Find it in the list, or wait until its analysis ends to submit "
                    "it again."
                )
                % {"title": node.title, "public_id": node.public_id},
                code="submission_in_flight",
            )
        return node


class NodeChangeForm(ServiceModelForm):
    """An editor's correction of a master's title, video URL or category (node_update: audited, caches dropped)."""

    source_url = forms.URLField(label=gettext_lazy("Source URL"), max_length=2048, assume_scheme="https")

    class Meta:
        model = RemixNode
        fields = list(NODE_EDITABLE_FIELDS)

    def save_service(self, data: dict[str, Any]) -> RemixNode:
        return node_update(node=self.instance, editor=self.request.user, **data)


class VideoAnalysisInline(admin.TabularInline):
    model = VideoAnalysis
    extra = 0
    can_delete = False
    fields = ["created_at", "provider", "model", "status", "duration_s", "bpm", "commerce_category", "error"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class RemixBriefInline(admin.TabularInline):
    model = RemixBrief
    extra = 0
    can_delete = False
    fields = ["version", "source", "review_status", "reviewer", "reviewed_at", "created_at"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class JobErrorFilter(admin.SimpleListFilter):
    title = gettext_lazy("analysis job")
    parameter_name = "job"

    def lookups(self, request, model_admin):
        return [("error", _("Last run failed"))]

    def queryset(self, request, queryset):
        return queryset.exclude(pipeline_error="") if self.value() == "error" else queryset


@admin.register(RemixNode)
class RemixNodeAdmin(ReviewAdminMixin, ServiceAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "title",
        "review_link",
        "review_lock_holder",
        "layer",
        "status",
        "platform",
        "commerce_category",
        "owner",
        "created_at",
    ]
    list_filter = ["status", "layer", "platform", "commerce_category", JobErrorFilter, "created_at"]
    list_select_related = ["owner"]
    search_fields = ["title", "=public_id"]
    form = NodeChangeForm
    add_form = NodeAddForm
    # A node's layer and owner are facts of how it was made (a fork only through forking); its status moves
    # only through the review screen's decisions.
    readonly_fields = [
        "public_id",
        "layer",
        "owner",
        "platform",
        "status",
        "published_at",
        "created_at",
        "updated_at",
        "probe_summary",
        "pipeline_error",
    ]
    show_full_result_count = False
    list_per_page = 50
    # No date_hierarchy: its year/month links scan every row; the "created" filter does the same job.
    inlines = [VideoAnalysisInline, RemixBriefInline]

    @admin.display(description=gettext_lazy("Review"))
    def review_link(self, obj: RemixNode) -> str:
        return format_html('<a href="{}">{} ›</a>', reverse("admin:remix_remixnode_review", args=[obj.pk]), _("Review"))

    def has_change_permission(self, request, obj=None):
        # Forks belong to their creators: editors moderate them from the review screen, never edit them.
        if obj is not None and obj.layer == Layer.FORK and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> type:
        if obj is None:
            kwargs["form"] = self.add_form
            kwargs["fields"] = list(self.add_form.Meta.fields)
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        if obj is None:
            return [(None, {"fields": list(self.add_form.Meta.fields)})]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list:
        return [] if obj is None else self.inlines

    @admin.display(description=gettext_lazy("Measured by the platform"))
    def probe_summary(self, obj: RemixNode) -> str:
        probe = obj.probe or {}
        if not probe:
            return _("Not measured yet.") if obj.media_name == "" else "—"
        facts = [
            (_("Duration"), _("%(seconds)s s") % {"seconds": number_format(probe.get("duration_s", 0), 2)}),
            (_("Frame rate"), _("%(fps)s fps") % {"fps": number_format(probe["fps"], 2)} if probe.get("fps") else "—"),
            (_("Resolution"), f"{probe.get('width')}×{probe.get('height')}" if probe.get("width") else "—"),
            (_("Audio"), _("yes") if probe.get("has_audio") else _("no")),
            (_("Tempo"), f"{number_format(probe['bpm'], 1)} BPM" if probe.get("bpm") else _("no clear beat")),
            (
                _("Scene cuts"),
                ", ".join(
                    _("%(seconds)s s") % {"seconds": number_format(k["t"], 2)} for k in probe.get("keyframes", [])
                )
                or "—",
            ),
        ]
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", facts)
        return format_html('<table class="kmeme-probe">{}</table>', rows)


@admin.register(VideoAnalysis)
class VideoAnalysisAdmin(ReadOnlyAdmin):
    """AI output is evidence: nobody edits an analysis in place (a manual one is filled on the review screen)."""

    list_display = ["node", "provider", "model", "status", "duration_s", "bpm", "cost_usd", "created_at"]
    list_filter = ["status", "provider"]
    list_select_related = ["node"]
    raw_id_fields = ["node"]
    show_full_result_count = False


@admin.register(RemixBrief)
class RemixBriefAdmin(ReadOnlyAdmin):
    """Briefs change only through the review screen, which keeps the AI version beside the editor version."""

    list_display = ["node", "version", "source", "review_status", "reviewer", "created_at"]
    list_filter = ["review_status", "source"]
    list_select_related = ["node", "reviewer"]
    raw_id_fields = ["node", "reviewer"]
    show_full_result_count = False


class MutationAddForm(ServiceModelForm):
    class Meta:
        model = Mutation
        fields = ["parent", "child", "mutation_types", "profile"]

    def save_service(self, data: dict[str, Any]) -> Mutation:
        return mutation_create(
            parent=data["parent"],
            child=data["child"],
            mutation_types=list(data["mutation_types"]),
            profile=data.get("profile") or {},
            created_by=self.request.user,
        )


class MutationChangeForm(ServiceModelForm):
    class Meta:
        model = Mutation
        fields = ["mutation_types", "profile"]

    def save_service(self, data: dict[str, Any]) -> Mutation:
        return mutation_update(
            edge=self.instance,
            actor=self.request.user,
            mutation_types=list(data["mutation_types"]),
            profile=data.get("profile") or {},
        )


@admin.register(Mutation)
class MutationAdmin(ServiceAdmin):
    """Lineage edges: added through mutation_create (cycle check under the lock); their two ends never change."""

    form = MutationChangeForm
    list_display = ["parent", "child", "mutation_types", "created_by", "created_at"]
    list_select_related = ["parent", "child", "created_by"]
    search_fields = ["=parent__public_id", "=child__public_id", "parent__title", "child__title"]
    raw_id_fields = ["parent", "child"]
    readonly_fields = ["parent", "child", "created_by", "created_at"]
    show_full_result_count = False

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> type:
        if obj is None:
            kwargs["form"] = MutationAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["created_by", "created_at"] if obj is None else self.readonly_fields


from remix import admin_prompt_quality  # noqa: E402, F401  (registers the decisions' admin and its page)
