from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from genealogy.serializers import NodeStrategiesSerializer
from genealogy.strategies import node_strategies
from kmeme.openapi import ERROR_RESPONSES

# --- Which mutations spread best (issue #11) ------------------------------------------------------------------

_EXAMPLE = {
    "node": "3f1c2a4e-8b7d-4f7e-9a51-0c2d3e4f5a6b",
    "commerce_category": "food",
    "basis": "category",
    "enough_data": True,
    "message": None,
    "age_days": 7,
    "edges": 412,
    "overall": {
        "mutation_type": None,
        "label": "All mutations",
        "rank": None,
        "expected_lift_pct": 8.4,
        "lift_low_pct": 2.1,
        "lift_high_pct": 15.0,
        "edges": 412,
        "enough_data": True,
    },
    "strategies": [
        {
            "mutation_type": "audio_swap",
            "label": "Audio swap",
            "rank": 1,
            "expected_lift_pct": 57.9,
            "lift_low_pct": 41.2,
            "lift_high_pct": 76.5,
            "edges": 96,
            "enough_data": True,
        },
        {
            "mutation_type": "character_change",
            "label": "Character change",
            "rank": None,
            "expected_lift_pct": 12.0,
            "lift_low_pct": -30.5,
            "lift_high_pct": 80.4,
            "edges": 2,
            "enough_data": False,
        },
    ],
    "computed_at": "2025-06-01T09:00:00Z",
}


class NodeStrategiesApi(APIView):
    """Which mutation types spread best for this master's commerce category: expected lift of a child over its
    parent at the same age (7 days), with a 95 % interval and the number of edges behind it.

    Public for published masters; 404 for anything else not published or unknown; 400 `not_a_master` for a
    published fork (strategies are advice on what to remix a master into). Computed over all edges, cached 10 min.
    """

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="nodes_strategies",
        responses={200: NodeStrategiesSerializer, **ERROR_RESPONSES(400, 404, 429)},
        examples=[OpenApiExample("A food master", value=_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, node_id: UUID) -> Response:
        return Response(NodeStrategiesSerializer(node_strategies(public_id=node_id)).data)
