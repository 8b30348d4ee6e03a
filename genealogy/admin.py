from django.contrib import admin

from genealogy.models import NodePerformanceSnapshot
from kmeme.admin_services import ReadOnlyAdmin


@admin.register(NodePerformanceSnapshot)
class NodePerformanceSnapshotAdmin(ReadOnlyAdmin):
    """Measured counters: recorded by the performance collector, never typed in."""

    list_display = ["node", "captured_at", "views", "likes", "shares"]
    list_select_related = ["node"]
    date_hierarchy = "captured_at"
    show_full_result_count = False
