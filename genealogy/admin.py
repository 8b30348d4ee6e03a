from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from genealogy.models import NodePerformanceSnapshot
from genealogy.strategies import (
    AGE,
    CATEGORY_MIN_EDGES,
    MIN_TOTAL_EDGES,
    MIN_TYPE_EDGES,
    StrategyTable,
    strategy_report_cached,
)
from kmeme.admin_services import ReadOnlyAdmin
from kmeme.vocabulary import CommerceCategory


@admin.register(NodePerformanceSnapshot)
class NodePerformanceSnapshotAdmin(ReadOnlyAdmin):
    """Measured counters: recorded by the performance collector, never typed in."""

    list_display = ["node", "captured_at", "views", "likes", "shares"]
    list_select_related = ["node"]
    date_hierarchy = "captured_at"
    show_full_result_count = False
    change_list_template = "admin/genealogy/snapshot_change_list.html"

    # --- Which mutations spread best (issue #11): the strategy tables, for editors --------------------------------

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.strategies_view)
        return [path("strategies/", view, name="genealogy_strategies"), *super().get_urls()]

    def strategies_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = strategy_report_cached()
        labels = dict(CommerceCategory.choices)
        tables = [("All categories", report.overall, _chart(report.overall))]
        for category, label in labels.items():
            table = report.for_category(category)
            if table.basis == "category":
                tables.append((label, table, _chart(table)))
        fallback = [labels[c] for c in labels if report.for_category(c).basis != "category"]
        context = {
            **self.admin_site.each_context(request),
            "title": "Which mutations spread best",
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
