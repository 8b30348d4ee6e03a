from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from kmeme.ai.budget import budget_month_spend
from kmeme.ai.circuit import PROVIDERS, circuit_state
from remix.admin_review import ReviewAdminMixin
from remix.models import AICall, Layer, RemixBrief, RemixNode, VideoAnalysis


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
    title = "analysis job"
    parameter_name = "job"

    def lookups(self, request, model_admin):
        return [("error", "Last run failed")]

    def queryset(self, request, queryset):
        return queryset.exclude(pipeline_error="") if self.value() == "error" else queryset


@admin.register(RemixNode)
class RemixNodeAdmin(ReviewAdminMixin, admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["title", "review_link", "layer", "status", "platform", "commerce_category", "owner", "created_at"]
    list_filter = ["status", "layer", "platform", "commerce_category", JobErrorFilter, "created_at"]
    list_select_related = ["owner"]
    search_fields = ["title", "=public_id"]
    readonly_fields = [
        "public_id",
        "platform",
        "status",
        "published_at",
        "created_at",
        "updated_at",
        "probe_summary",
        "pipeline_error",
    ]
    raw_id_fields = ["parent", "owner"]
    show_full_result_count = False
    list_per_page = 50
    # No date_hierarchy: its year/month links scan every row; the "created" filter does the same job.
    inlines = [VideoAnalysisInline, RemixBriefInline]

    @admin.display(description="Review")
    def review_link(self, obj: RemixNode) -> str:
        return format_html('<a href="{}">Review ›</a>', reverse("admin:remix_remixnode_review", args=[obj.pk]))

    def has_change_permission(self, request, obj=None):
        # Forks belong to their creators: editors moderate them from the review screen, never edit them.
        if obj is not None and obj.layer == Layer.FORK and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # nodes are archived through the workflow, never deleted

    @admin.display(description="Measured by the platform")
    def probe_summary(self, obj: RemixNode) -> str:
        probe = obj.probe or {}
        if not probe:
            return "Not measured yet." if obj.media_name == "" else "—"
        facts = [
            ("Duration", f"{probe.get('duration_s', 0):.2f} s"),
            ("Frame rate", f"{probe['fps']:.2f} fps" if probe.get("fps") else "—"),
            ("Resolution", f"{probe.get('width')}x{probe.get('height')}" if probe.get("width") else "—"),
            ("Audio", "yes" if probe.get("has_audio") else "no"),
            ("Tempo", f"{probe['bpm']:.1f} BPM" if probe.get("bpm") else "no clear beat"),
            ("Scene cuts", ", ".join(f"{k['t']:.2f} s" for k in probe.get("keyframes", [])) or "—"),
        ]
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", facts)
        return format_html('<table class="kmeme-probe">{}</table>', rows)


@admin.register(VideoAnalysis)
class VideoAnalysisAdmin(admin.ModelAdmin):
    list_display = ["node", "provider", "model", "status", "duration_s", "bpm", "cost_usd", "created_at"]
    list_filter = ["status", "provider"]
    list_select_related = ["node"]
    raw_id_fields = ["node"]
    show_full_result_count = False
    readonly_fields = ["raw_output", "input_tokens", "output_tokens", "cost_usd", "latency_ms", "created_at"]


@admin.register(RemixBrief)
class RemixBriefAdmin(admin.ModelAdmin):
    list_display = ["node", "version", "source", "review_status", "reviewer", "created_at"]
    list_filter = ["review_status", "source"]
    list_select_related = ["node", "reviewer"]
    raw_id_fields = ["node", "reviewer"]
    show_full_result_count = False
    readonly_fields = ["version", "source", "model", "prompt_version", "generated", "revision", "created_at"]


@admin.register(AICall)
class AICallAdmin(admin.ModelAdmin):
    """The spend ledger: written by the pipeline only."""

    list_display = ["created_at", "provider", "model", "purpose", "status", "input_tokens", "output_tokens", "cost_usd"]
    list_filter = ["provider", "purpose", "status"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # The state of the spend and the providers, where operators look at the ledger.
        spent, cap = budget_month_spend(), settings.LLM_MONTHLY_CAP
        self.message_user(request, f"This month: ${spent:.2f} of the ${cap:.2f} cap spent or reserved.", messages.INFO)
        for provider in PROVIDERS:
            state = circuit_state(provider=provider)
            level = messages.INFO if state["state"] == "closed" else messages.WARNING
            detail = f" until {state['open_until']}" if "open_until" in state else ""
            self.message_user(request, f"{provider} circuit: {state['state']}{detail}.", level)
        return super().changelist_view(request, extra_context)
