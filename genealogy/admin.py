from django.contrib import admin

from genealogy.models import Mutation, NodePerformanceSnapshot


@admin.register(Mutation)
class MutationAdmin(admin.ModelAdmin):
    list_display = ["parent", "child", "mutation_types", "created_by", "created_at"]
    list_select_related = ["parent", "child", "created_by"]
    search_fields = ["=parent__public_id", "=child__public_id", "parent__title", "child__title"]
    raw_id_fields = ["parent", "child", "created_by"]
    readonly_fields = ["created_at"]
    show_full_result_count = False


@admin.register(NodePerformanceSnapshot)
class NodePerformanceSnapshotAdmin(admin.ModelAdmin):
    list_display = ["node", "captured_at", "views", "likes", "shares"]
    list_select_related = ["node"]
    raw_id_fields = ["node"]
    date_hierarchy = "captured_at"
    show_full_result_count = False
