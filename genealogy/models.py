from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy


class SnapshotSource(models.TextChoices):
    YTDLP = "ytdlp", gettext_lazy("Read from the platform (yt-dlp)")
    CSV_IMPORT = "csv_import", gettext_lazy("CSV import")
    DEMO = "demo", gettext_lazy("Demo data")
    UNKNOWN = "unknown", gettext_lazy("Recorded before sources were kept")


class NodePerformanceSnapshot(models.Model):
    """A node's public counters at one moment, as its platform showed them; the series drives mutation strategy stats.

    A counter is NULL when the platform does not expose it (hidden likes are not zero likes)."""

    node = models.ForeignKey("remix.RemixNode", on_delete=models.CASCADE, related_name="snapshots")
    captured_at = models.DateTimeField(db_index=True)
    views = models.PositiveBigIntegerField(
        null=True, blank=True, help_text=gettext_lazy("Empty: the platform does not show it.")
    )
    likes = models.PositiveBigIntegerField(
        null=True, blank=True, help_text=gettext_lazy("Empty: the platform does not show it.")
    )
    comments = models.PositiveBigIntegerField(
        null=True, blank=True, help_text=gettext_lazy("Empty: the platform does not show it.")
    )
    shares = models.PositiveBigIntegerField(
        null=True, blank=True, help_text=gettext_lazy("Empty: the platform does not show it.")
    )
    source = models.CharField(max_length=16, choices=SnapshotSource.choices, default=SnapshotSource.YTDLP)
    source_url = models.URLField(
        max_length=2048, blank=True, help_text=gettext_lazy("The video page the counters were read from.")
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["node", "-captured_at"]
        get_latest_by = "captured_at"
        permissions = [("import_nodeperformancesnapshot", "Can import performance snapshots from a CSV file")]
        constraints = [
            models.UniqueConstraint(fields=["node", "captured_at"], name="snapshot_one_per_instant"),
            models.CheckConstraint(
                condition=Q(views__isnull=False)
                | Q(likes__isnull=False)
                | Q(comments__isnull=False)
                | Q(shares__isnull=False),
                name="snapshot_has_a_count",
                violation_error_code="snapshot_empty",
                violation_error_message="A snapshot needs at least one count.",
            ),
        ]

    def __str__(self) -> str:
        views = "?" if self.views is None else self.views
        return f"node {self.node_id} @ {self.captured_at:%Y-%m-%d %H:%M}: {views} views"


class NodePerformanceTracking(models.Model):
    """The collector's bookkeeping for one node: when it last tried, and why the last try failed (if it did).

    Written only by genealogy.performance; shown read-only in the admin so failing URLs are visible."""

    node = models.OneToOneField("remix.RemixNode", on_delete=models.CASCADE, related_name="performance_tracking")
    last_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_url = models.URLField(max_length=2048, blank=True)
    last_error_code = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("performance tracking")
        verbose_name_plural = gettext_lazy("performance tracking")
        ordering = ["-last_attempt_at", "-id"]

    def __str__(self) -> str:
        state = f"failing ({self.last_error_code})" if self.last_error_code else "ok"
        return f"node {self.node_id}: {state}"


class LineageClosure(models.Model):
    """The transitive closure of the lineage DAG: one row per (ancestor, descendant) pair with the length of the
    shortest path between them, and whether the descendant is published.

    Kept by PostgreSQL triggers (migration 0004), never by Python: edges are inserted, deleted or updated on
    `remix_mutation`, a node's status changes on `remix_remixnode`, and the rows follow in the same statement, so
    remix (which writes both tables) need not know this table exists. It covers every edge, whoever may see it:
    genealogy.lineage applies the viewer's visibility when it reads (`descendant_published` lets it find the few
    descendants a viewer might not see through a small partial index, instead of reading the whole family)."""

    pk = models.CompositePrimaryKey("descendant", "ancestor")
    # No foreign-key constraints or single-column indexes: the triggers keep the rows in step with the edges, and
    # the primary key and `closure_descendants` lead with each column.
    descendant = models.ForeignKey(
        "remix.RemixNode", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    ancestor = models.ForeignKey(
        "remix.RemixNode", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    depth = models.PositiveIntegerField(help_text=gettext_lazy("The length of the shortest path from the ancestor."))
    descendant_published = models.BooleanField()

    class Meta:
        db_table = "genealogy_lineage_closure"
        default_permissions = ()
        indexes = [
            # A node's descendants, nearest first (an index-only scan answers a page or the whole family).
            models.Index(fields=["ancestor", "depth", "descendant"], name="closure_descendants"),
            # The few descendants some viewer may not see.
            models.Index(
                fields=["ancestor", "depth"], condition=Q(descendant_published=False), name="closure_unpublished"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ancestor_id} →{self.depth} {self.descendant_id}"
