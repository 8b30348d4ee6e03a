from django.contrib import admin
from django.db import models

from remix.models import AICall, RemixBrief, RemixNode, VideoAnalysis


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


@admin.register(RemixNode)
class RemixNodeAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["title", "layer", "status", "platform", "commerce_category", "owner", "created_at"]
    list_filter = ["status", "layer", "platform", "commerce_category", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["title", "=public_id"]
    readonly_fields = ["public_id", "platform", "status", "published_at", "created_at", "updated_at"]
    raw_id_fields = ["parent", "owner"]
    show_full_result_count = False
    list_per_page = 50
    date_hierarchy = "created_at"
    inlines = [VideoAnalysisInline, RemixBriefInline]


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
