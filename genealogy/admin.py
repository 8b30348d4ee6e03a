from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from genealogy.models import NodePerformanceSnapshot, NodePerformanceTracking
from genealogy.services import CSV_COUNT_COLUMNS, CSV_MAX_ROWS, snapshots_import_csv
from genealogy.strategies import (
    AGE,
    CATEGORY_MIN_EDGES,
    MIN_TOTAL_EDGES,
    MIN_TYPE_EDGES,
    StrategyTable,
    strategy_report_cached,
)
from kmeme.admin_services import ReadOnlyAdmin
from kmeme.errors import ApplicationError
from kmeme.vocabulary import CommerceCategory


@admin.register(NodePerformanceSnapshot)
class NodePerformanceSnapshotAdmin(ReadOnlyAdmin):
    """Measured counters: read from the platforms by the performance collector, or imported from a CSV (the
    import page, for platforms that hide them), never typed in. An empty count: the platform does not show it."""

    list_display = ["node", "captured_at", "views", "likes", "comments", "shares", "source", "imported_by"]
    list_filter = ["source"]
    list_select_related = ["node", "imported_by"]
    date_hierarchy = "captured_at"
    show_full_result_count = False
    list_per_page = 100
    change_list_template = "admin/genealogy/snapshot_change_list.html"

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.strategies_view)
        import_view = self.admin_site.admin_view(self.import_view)
        return [
            path("strategies/", view, name="genealogy_strategies"),
            path("import/", import_view, name="genealogy_snapshot_import"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    # --- The CSV import: counts of platforms that hide them, all rows or none --------------------------------------

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("genealogy.import_nodeperformancesnapshot")

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = SnapshotImportForm(request.POST or None, request.FILES or None)
        errors: list[dict] = []
        error_count = 0
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                form.add_error("file", _("The file is not UTF-8 text."))
            else:
                try:
                    created = snapshots_import_csv(text=text, actor=request.user, filename=upload.name)
                except ApplicationError as exc:
                    errors = exc.details.get("errors", [])
                    error_count = exc.details.get("error_count", len(errors))
                    self.message_user(request, exc.message, messages.ERROR)
                else:
                    count = len(created)
                    self.message_user(
                        request,
                        ngettext("Imported %d snapshot.", "Imported %d snapshots.", count) % count,
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:genealogy_nodeperformancesnapshot_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import performance snapshots"),
            "opts": self.model._meta,
            "form": form,
            "errors": errors,
            "error_count": error_count,
            "count_columns": CSV_COUNT_COLUMNS,
            "max_rows": CSV_MAX_ROWS,
        }
        return TemplateResponse(request, "admin/genealogy/snapshot_import.html", context)

    # --- Which mutations spread best (issue #11): the strategy tables, for editors --------------------------------

    def strategies_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = strategy_report_cached()
        labels = dict(CommerceCategory.choices)
        tables = [(_("All categories"), report.overall, _chart(report.overall))]
        for category, label in labels.items():
            table = report.for_category(category)
            if table.basis == "category":
                tables.append((label, table, _chart(table)))
        fallback = [labels[c] for c in labels if report.for_category(c).basis != "category"]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Which mutations spread best"),
            "opts": self.model._meta,
            "tables": tables,
            "fallback": fallback,
            "report": report,
            "age_days": AGE.days,
            "min_total_edges": MIN_TOTAL_EDGES,
            "min_type_edges": MIN_TYPE_EDGES,
            "category_min_edges": CATEGORY_MIN_EDGES,
        }
        return TemplateResponse(request, "admin/genealogy/strategies.html", context)


class SnapshotImportForm(forms.Form):
    file = forms.FileField(
        help_text=gettext_lazy(
            "UTF-8 CSV with a header row: node, captured_at, and any of views, likes, comments, shares."
        )
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 5 MB; split it."))
        return upload


@admin.register(NodePerformanceTracking)
class NodePerformanceTrackingAdmin(ReadOnlyAdmin):
    """The collector's notes per node: which video URLs it cannot read, and why (written only by the collector)."""

    list_display = [
        "node",
        "last_attempt_at",
        "last_success_at",
        "last_error_code",
        "consecutive_failures",
        "attempts",
        "last_url",
    ]
    list_filter = ["last_error_code"]
    list_select_related = ["node"]
    search_fields = ["last_url", "last_error"]
    show_full_result_count = False
    list_per_page = 100


CHART_WIDTH = 360  # px of the lift axis
CHART_ROW = 22


def _chart(table: StrategyTable) -> dict:
    """Server-side geometry of the chart: per type a bar from 0 % to the expected lift and a whisker over the 95 %
    interval, on one linear axis clipped to [−100 %, +300 %] so one wide interval cannot flatten the others."""
    if not table.types:
        return {}
    low = max(min(min(e.low_pct for e in table.types), 0.0), -100.0)
    high = min(max(max(e.high_pct for e in table.types), 0.0), 300.0)
    span = (high - low) or 1.0

    def x(pct: float) -> float:
        return round((min(max(pct, low), high) - low) / span * CHART_WIDTH, 1)

    rows = []
    for i, e in enumerate(table.types):
        zero, lift = x(0.0), x(e.lift_pct)
        rows.append(
            {
                "estimate": e,
                "y": i * CHART_ROW,
                "mid": i * CHART_ROW + CHART_ROW / 2,
                "bar_x": min(zero, lift),
                "bar_w": max(abs(lift - zero), 1.0),
                "low_x": x(e.low_pct),
                "high_x": x(e.high_pct),
                "positive": e.lift_pct >= 0,
            }
        )
    return {
        "rows": rows,
        "width": CHART_WIDTH,
        "height": len(rows) * CHART_ROW,
        "zero_x": x(0.0),
        "low": round(low),
        "high": round(high),
    }
