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

    node = models.ForeignKey(
        "remix.RemixNode", on_delete=models.CASCADE, related_name="snapshots", verbose_name=gettext_lazy("node")
    )
    captured_at = models.DateTimeField(db_index=True, verbose_name=gettext_lazy("captured at"))
    views = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text=gettext_lazy("Empty: the platform does not show it."),
        verbose_name=gettext_lazy("views"),
    )
    likes = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text=gettext_lazy("Empty: the platform does not show it."),
        verbose_name=gettext_lazy("likes"),
    )
    comments = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text=gettext_lazy("Empty: the platform does not show it."),
        verbose_name=gettext_lazy("comments"),
    )
    shares = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text=gettext_lazy("Empty: the platform does not show it."),
        verbose_name=gettext_lazy("shares"),
    )
    source = models.CharField(
        max_length=16, choices=SnapshotSource.choices, default=SnapshotSource.YTDLP, verbose_name=gettext_lazy("source")
    )
    source_url = models.URLField(
        max_length=2048,
        blank=True,
        help_text=gettext_lazy("The video page the counters were read from."),
        verbose_name=gettext_lazy("source url"),
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=gettext_lazy("imported by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))

    class Meta:
        verbose_name = gettext_lazy("node performance snapshot")
        verbose_name_plural = gettext_lazy("node performance snapshots")
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
                violation_error_message=gettext_lazy("A snapshot needs at least one count."),
            ),
        ]

    def __str__(self) -> str:
        views = "?" if self.views is None else self.views
        return f"node {self.node_id} @ {self.captured_at:%Y-%m-%d %H:%M}: {views} views"


class NodePerformanceTracking(models.Model):
    """The collector's bookkeeping for one node: when it last tried, and why the last try failed (if it did).

    Written only by genealogy.performance; shown read-only in the admin so failing URLs are visible."""

    node = models.OneToOneField(
        "remix.RemixNode",
        on_delete=models.CASCADE,
        related_name="performance_tracking",
        verbose_name=gettext_lazy("node"),
    )
    last_attempt_at = models.DateTimeField(
        null=True, blank=True, db_index=True, verbose_name=gettext_lazy("last attempt at")
    )
    last_success_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("last success at"))
    last_url = models.URLField(max_length=2048, blank=True, verbose_name=gettext_lazy("last url"))
    last_error_code = models.CharField(max_length=32, blank=True, verbose_name=gettext_lazy("last error code"))
    last_error = models.TextField(blank=True, verbose_name=gettext_lazy("last error"))
    consecutive_failures = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("consecutive failures"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("attempts"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

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
        "remix.RemixNode",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=gettext_lazy("descendant"),
    )
    ancestor = models.ForeignKey(
        "remix.RemixNode",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=gettext_lazy("ancestor"),
    )
    depth = models.PositiveIntegerField(
        help_text=gettext_lazy("The length of the shortest path from the ancestor."), verbose_name=gettext_lazy("depth")
    )
    descendant_published = models.BooleanField(verbose_name=gettext_lazy("descendant published"))

    class Meta:
        verbose_name = gettext_lazy("lineage closure")
        verbose_name_plural = gettext_lazy("lineage closures")
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
