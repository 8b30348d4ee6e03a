from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q


class MutationType(models.TextChoices):
    AUDIO_SWAP = "audio_swap", "Audio swap"
    LOCALIZATION = "localization", "Localization"
    FORMAT_CHANGE = "format_change", "Format change"
    PRODUCT_SWAP = "product_swap", "Product swap"
    CAPTION_CHANGE = "caption_change", "Caption change"
    SETTING_CHANGE = "setting_change", "Setting change"
    CHARACTER_CHANGE = "character_change", "Character change"


class Mutation(models.Model):
    """An edge of the genealogy DAG: `child` was remixed from `parent` through these mutations.

    A child may have several parents (a blend), so this is a graph, not a tree;
    services keep it acyclic.
    """

    parent = models.ForeignKey("remix.RemixNode", on_delete=models.CASCADE, related_name="child_mutations")
    child = models.ForeignKey("remix.RemixNode", on_delete=models.CASCADE, related_name="parent_mutations")
    mutation_types = ArrayField(models.CharField(max_length=32, choices=MutationType.choices), size=len(MutationType))
    profile = models.JSONField(default=dict, blank=True, help_text="Free-form details of what changed.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "child"],
                name="mutation_one_edge_per_pair",
                violation_error_message="These two nodes are already linked.",
            ),
            models.CheckConstraint(
                condition=~Q(parent=F("child")),
                name="mutation_no_self_loop",
                violation_error_code="mutation_self_loop",
                violation_error_message="A node cannot be its own parent.",
            ),
            models.CheckConstraint(
                condition=Q(mutation_types__len__gt=0) & Q(mutation_types__contained_by=list(MutationType.values)),
                name="mutation_types_known_nonempty",
            ),
        ]
        indexes = [models.Index(fields=["child"], name="mutation_child")]

    def __str__(self) -> str:
        return f"{self.parent_id} → {self.child_id} ({', '.join(self.mutation_types)})"


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
