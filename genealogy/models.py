from __future__ import annotations

from django.db import models


class NodePerformanceSnapshot(models.Model):
    """A node's public counters at one moment; the series drives mutation strategy stats."""

    node = models.ForeignKey("remix.RemixNode", on_delete=models.CASCADE, related_name="snapshots")
    views = models.PositiveBigIntegerField(default=0)
    likes = models.PositiveBigIntegerField(default=0)
    shares = models.PositiveBigIntegerField(default=0)
    captured_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["node", "-captured_at"]
        get_latest_by = "captured_at"
        constraints = [models.UniqueConstraint(fields=["node", "captured_at"], name="snapshot_one_per_instant")]

    def __str__(self) -> str:
        return f"node {self.node_id} @ {self.captured_at:%Y-%m-%d %H:%M}: {self.views} views"
