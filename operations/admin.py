"""The alerts in the admin, read-only: their current state and their history (written by operations.services)."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from operations.alerts import RULES_BY_NAME
from operations.models import AlertEvent, AlertState


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AlertState)
class AlertStateAdmin(_ReadOnly):
    list_display = ["rule", "status", "shown_value", "rule_threshold", "sample", "since", "evaluated_at"]
    list_filter = ["status"]
    readonly_fields = ["rule", "status", "since", "shown_value", "rule_threshold", "sample", "detail", "evaluated_at"]
    fields = readonly_fields
    actions = None

    @admin.display(description=gettext_lazy("value"))
    def shown_value(self, obj: AlertState) -> str:
        rule = RULES_BY_NAME.get(obj.rule)
        if obj.value is None:
            return "—"
        return rule.show(obj.value) if rule else f"{obj.value:g}"

    @admin.display(description=gettext_lazy("fires when"))
    def rule_threshold(self, obj: AlertState) -> str:
        rule = RULES_BY_NAME.get(obj.rule)
        if rule is None:
            return "(rule no longer defined)"
        return format_html(
            "{} {} {} over {} (at least {} events)",
            rule.title,
            rule.comparison,
            rule.show(rule.threshold),
            rule.window_words(),
            rule.min_sample(),
        )


@admin.register(AlertEvent)
class AlertEventAdmin(_ReadOnly):
    list_display = ["created_at", "rule", "kind", "value", "threshold", "sample", "notify_status", "notify_attempts"]
    list_filter = ["rule", "kind", "notify_status"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "rule",
        "kind",
        "value",
        "threshold",
        "comparison",
        "window_s",
        "sample",
        "message",
        "notify_status",
        "notify_attempts",
        "notify_error",
        "notified_at",
        "created_at",
    ]
    fields = readonly_fields
    list_per_page = 50
    show_full_result_count = False
    actions = None
