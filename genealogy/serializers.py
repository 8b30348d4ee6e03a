from __future__ import annotations

from typing import Any

from rest_framework import serializers

from genealogy.lineage import MAX_DEPTH, MAX_NODES, Lineage
from kmeme.serializers import StrictSerializer

# --- Which mutations spread best (issue #11) ------------------------------------------------------------------


class StrategyEstimateSerializer(serializers.Serializer):
    mutation_type = serializers.CharField(allow_null=True, help_text="null on the `overall` row: all mutations.")
    label = serializers.CharField()
    rank = serializers.IntegerField(allow_null=True, help_text="1 = best expected lift; null when too little data.")
    expected_lift_pct = serializers.FloatField(
        source="lift_pct", help_text="Child over parent at the same age, in % (geometric mean)."
    )
    lift_low_pct = serializers.FloatField(source="low_pct", help_text="95 % interval, lower end.")
    lift_high_pct = serializers.FloatField(source="high_pct", help_text="95 % interval, upper end.")
    edges = serializers.IntegerField(help_text="Usable parent → child edges carrying this type.")
    enough_data = serializers.BooleanField()


class NodeStrategiesSerializer(serializers.Serializer):
    node = serializers.UUIDField()
    commerce_category = serializers.CharField()
    basis = serializers.ChoiceField(
        choices=["category", "all_categories", "none"],
        help_text="`category`: fitted on this category's edges; `all_categories`: too few, so the all-category "
        "table; `none`: too little data to recommend anything.",
    )
    enough_data = serializers.BooleanField()
    message = serializers.CharField(allow_null=True, help_text="Why nothing (or little) is recommended.")
    age_days = serializers.IntegerField(help_text="Parent and child are compared at this age after publication.")
    edges = serializers.IntegerField(help_text="Usable edges behind the table.")
    overall = StrategyEstimateSerializer(allow_null=True)
    strategies = StrategyEstimateSerializer(many=True, help_text="Ranked first, then the types with too few edges.")
    computed_at = serializers.DateTimeField()


# --- Lineage ------------------------------------------------------------------------------------------------------


class LineageQuerySerializer(StrictSerializer):
    direction = serializers.ChoiceField(
        choices=["up", "down", "both"], default="both", help_text="Ancestors (up), descendants (down) or both."
    )
    depth = serializers.IntegerField(
        min_value=1, max_value=MAX_DEPTH, default=3, help_text=f"Steps from the node (1–{MAX_DEPTH})."
    )


class LineageNodeSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    title = serializers.CharField()
    layer = serializers.CharField()
    status = serializers.CharField()
    commerce_category = serializers.CharField()
    depth = serializers.IntegerField(help_text="Steps from the node asked about: negative above it, positive below.")
    creator = serializers.CharField(help_text='A fork\'s creator (display name); "K-MEME" for masters.')


class LineageEdgeSerializer(serializers.Serializer):
    source = serializers.UUIDField(help_text="The parent (what was remixed).")
    target = serializers.UUIDField(help_text="The child (the remix).")
    mutation_types = serializers.ListField(child=serializers.CharField())


class LineageSerializer(serializers.Serializer):
    node = serializers.UUIDField()
    direction = serializers.CharField()
    depth = serializers.IntegerField()
    nodes = LineageNodeSerializer(many=True)
    edges = LineageEdgeSerializer(many=True)
    roots = serializers.ListField(
        child=serializers.UUIDField(), help_text="Found nodes with no parent among them (the family's roots, upward)."
    )
    truncated = serializers.BooleanField(help_text=f"True when more than {MAX_NODES} nodes were found (nearest kept).")


def lineage_data(lineage: Lineage, *, direction: str, depth: int) -> dict[str, Any]:
    """A Lineage in the API's shape: nodes and edges by public id, as graph libraries take them."""
    public = {n.pk: n.public_id for n in lineage.nodes}
    nodes = [
        {
            "public_id": n.public_id,
            "title": n.title,
            "layer": n.layer,
            "status": n.status,
            "commerce_category": n.commerce_category,
            "depth": lineage.depths[n.pk],
            "creator": n.public_creator,
        }
        for n in lineage.nodes
    ]
    edges = [
        {"source": public[e.parent_id], "target": public[e.child_id], "mutation_types": list(e.mutation_types)}
        for e in lineage.edges
    ]
    return LineageSerializer(
        {
            "node": lineage.node.public_id,
            "direction": direction,
            "depth": depth,
            "nodes": nodes,
            "edges": edges,
            "roots": [n.public_id for n in lineage.roots] if direction != "down" else [],
            "truncated": lineage.truncated,
        }
    ).data
