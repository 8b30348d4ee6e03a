from django.contrib import admin

from kmeme.admin_services import ReadOnlyAdmin
from privacy.models import DataExport


@admin.register(DataExport)
class DataExportAdmin(ReadOnlyAdmin):
    """Users' data exports, to follow and to see why one failed: requested through the API (or built by
    `manage.py user_export`, which keeps no row), never made or changed here. The archive itself is not linked:
    it is the user's, for them to download."""

    list_display = ["public_id", "user", "status", "progress", "error_code", "size", "created_at", "expires_at"]
    list_filter = ["status", "error_code"]
    list_select_related = ["user"]
    search_fields = ["=public_id", "user__email"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 100
    fields = [
        "public_id",
        "user",
        "status",
        "progress",
        "step",
        "error_code",
        "error",
        "storage_key",
        "size",
        "files",
        "created_at",
        "started_at",
        "finished_at",
        "expires_at",
    ]
    readonly_fields = fields
