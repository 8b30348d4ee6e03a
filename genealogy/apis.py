from __future__ import annotations

from uuid import UUID

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from genealogy.graph import lineage_svg
from genealogy.lineage import Lineage, node_lineage
from genealogy.serializers import LineageQuerySerializer, LineageSerializer, NodeStrategiesSerializer, lineage_data
from genealogy.strategies import node_strategies
from kmeme.exceptions import ApplicationError
from kmeme.openapi import ERROR_RESPONSES
from remix.selectors import node_for_viewer

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


# --- Lineage ------------------------------------------------------------------------------------------------------

_LINEAGE_EXAMPLE = {
    "node": "3f1c2a4e-8b7d-4f7e-9a51-0c2d3e4f5a6b",
    "direction": "both",
    "depth": 3,
    "nodes": [
        {
            "id": "0b9e6c1d-2f3a-4b5c-8d7e-6f5a4b3c2d1e",
            "title": "Seongsu latte art",
            "layer": "master",
            "status": "published",
            "commerce_category": "food",
            "depth": -1,
            "creator": "K-MEME",
        },
        {
            "id": "3f1c2a4e-8b7d-4f7e-9a51-0c2d3e4f5a6b",
            "title": "Latte art, Busan version",
            "layer": "fork",
            "status": "published",
            "commerce_category": "food",
            "depth": 0,
            "creator": "Mina",
        },
        {
            "id": "7d6c5b4a-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
            "title": "Busan version with a K-pop hook",
            "layer": "fork",
            "status": "published",
            "commerce_category": "food",
            "depth": 1,
            "creator": "Joon",
        },
    ],
    "edges": [
        {
            "source": "0b9e6c1d-2f3a-4b5c-8d7e-6f5a4b3c2d1e",
            "target": "3f1c2a4e-8b7d-4f7e-9a51-0c2d3e4f5a6b",
            "mutation_types": ["localization"],
        },
        {
            "source": "3f1c2a4e-8b7d-4f7e-9a51-0c2d3e4f5a6b",
            "target": "7d6c5b4a-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
            "mutation_types": ["audio_swap", "caption_change"],
        },
    ],
    "roots": ["0b9e6c1d-2f3a-4b5c-8d7e-6f5a4b3c2d1e"],
    "truncated": False,
}


def _requested_lineage(request: Request, node_id: UUID) -> tuple[Lineage, str, int]:
    """The lineage the query asks for (400 on a bad query, 404 for a node the caller may not see)."""
    query = LineageQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    node = node_for_viewer(public_id=str(node_id), viewer=request.user)
    if node is None:
        raise ApplicationError(_("No such remix."), code="not_found", status_code=404)
    direction, depth = query.validated_data["direction"], query.validated_data["depth"]
    return node_lineage(node=node, viewer=request.user, direction=direction, depth=depth), direction, depth


class NodeLineageApi(APIView):
    """The node's family: its ancestors (`up`), descendants (`down`) or both within `depth` steps, as nodes and
    edges a graph library draws directly (edges carry their mutation types; `depth` on a node is its signed
    distance). Only what the caller may see: published remixes, their own, everything for editors; another
    creator's private fork never appears, nor anything reached only through it. At most 500 nodes, nearest first
    (`truncated` says when more exist)."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="nodes_lineage",
        parameters=[LineageQuerySerializer],
        responses={200: LineageSerializer, **ERROR_RESPONSES(400, 404, 429)},
        examples=[OpenApiExample("A fork between its master and a remix of it", value=_LINEAGE_EXAMPLE)],
    )
    def get(self, request: Request, node_id: UUID) -> Response:
        lineage, direction, depth = _requested_lineage(request, node_id)
        return Response(lineage_data(lineage, direction=direction, depth=depth))


class _SvgOrJsonErrors(BaseContentNegotiation):
    """The picture is SVG whatever the request accepts (an <img> asks for images); errors stay the API's JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class NodeLineageSvgApi(APIView):
    """The node's family drawn by Graphviz, as an SVG image: the same nodes and edges as `…/lineage` (same query,
    same visibility), edges labelled and coloured by mutation type, nodes filled by status and shaped by layer
    (masters boxes, forks ellipses), the node asked about drawn with a double border. 503 `graph_unavailable` when
    the server cannot draw it."""

    permission_classes = [AllowAny]
    content_negotiation_class = _SvgOrJsonErrors

    @extend_schema(
        operation_id="nodes_lineage_svg",
        parameters=[LineageQuerySerializer],
        responses={
            (200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.STR, description="An SVG document."),
            **ERROR_RESPONSES(400, 404, 429),
        },
    )
    def get(self, request: Request, node_id: UUID) -> HttpResponse:
        svg = lineage_svg(_requested_lineage(request, node_id)[0])
        response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
        # An image, never a page: no script, no outside resource, even if opened on its own.
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        response["X-Content-Type-Options"] = "nosniff"
        return response
