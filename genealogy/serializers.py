from __future__ import annotations

from rest_framework import serializers

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
