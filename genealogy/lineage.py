"""The family tree as a viewer may see it: ancestors, descendants and the family of a node, one query each.

Edges are `remix.models.Mutation` rows (parent → child; a blend has several parents). The walks are recursive
CTEs in PostgreSQL, so a family of any size costs the same few queries. A walk only passes through nodes the
viewer may see (published ones; their own; everything for editors): another creator's private fork stops the
walk, so neither it nor what lies beyond it through it appears or is counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from accounts.models import User
from remix.models import Mutation, NodeStatus, RemixNode

DIRECTIONS = ("up", "down", "both")
MAX_DEPTH = 10
MAX_NODES = 500


@dataclass
class Lineage:
    """What a walk found: the nodes (each with its signed distance from the start: up < 0 < down) and the edges
    between them, and whether the node cap cut it short."""

    node: RemixNode
    nodes: list[RemixNode] = field(default_factory=list)
    depths: dict[int, int] = field(default_factory=dict)
    edges: list[Mutation] = field(default_factory=list)
    truncated: bool = False

    @property
    def roots(self) -> list[RemixNode]:
        """The nodes found without a parent among the found ones (the family's visible roots, for `up`/`both`)."""
        children = {edge.child_id for edge in self.edges}
        return [n for n in self.nodes if n.pk not in children and self.depths[n.pk] <= 0]


def _visible_sql(viewer: User | None) -> tuple[str, list[Any]]:
    if viewer is not None and viewer.is_authenticated and viewer.is_editor:
        return "TRUE", []
    if viewer is not None and viewer.is_authenticated:
        return "(n.status = %s OR n.owner_id = %s)", [NodeStatus.PUBLISHED, viewer.pk]
    return "n.status = %s", [NodeStatus.PUBLISHED]


def _walk_sql(*, step_from: str, step_to: str, visible: str, sign: str) -> str:
    """One direction's recursive walk. `step_from` is the edge column that matches the node we stand on,
    `step_to` the column of the next node. The path array keeps a walk off nodes it has passed (defence in
    depth: the graph is kept acyclic by remix.lineage)."""
    # Only this module's fixed column names and clauses are interpolated; every value is a query parameter.
    return f"""
        {sign}(id, depth, path) AS (
            SELECT m.{step_to}, 1, ARRAY[%s::bigint, m.{step_to}]
            FROM remix_mutation m JOIN remix_remixnode n ON n.id = m.{step_to}
            WHERE m.{step_from} = %s AND {visible}
          UNION ALL
            SELECT m.{step_to}, w.depth + 1, w.path || m.{step_to}
            FROM {sign} w
            JOIN remix_mutation m ON m.{step_from} = w.id
            JOIN remix_remixnode n ON n.id = m.{step_to}
            WHERE w.depth < %s AND {visible} AND NOT m.{step_to} = ANY(w.path)
        )"""  # noqa: S608


def _walk(*, node: RemixNode, viewer: User | None, direction: str, depth: int, limit: int) -> list[tuple[int, int]]:
    """(node id, signed distance) of every node within `depth` steps that the viewer may see, nearest first."""
    visible, visible_params = _visible_sql(viewer)
    ctes, selects, params = [], [], []
    if direction in ("up", "both"):
        ctes.append(_walk_sql(step_from="child_id", step_to="parent_id", visible=visible, sign="up"))
        params += [node.pk, node.pk, *visible_params, depth, *visible_params]
        selects.append("SELECT id, -MIN(depth) AS depth FROM up GROUP BY id")
    if direction in ("down", "both"):
        ctes.append(_walk_sql(step_from="parent_id", step_to="child_id", visible=visible, sign="down"))
        params += [node.pk, node.pk, *visible_params, depth, *visible_params]
        selects.append("SELECT id, MIN(depth) AS depth FROM down GROUP BY id")
    sql = (  # fixed clauses only, as above
        f"WITH RECURSIVE {', '.join(ctes)} SELECT id, depth FROM ({' UNION ALL '.join(selects)}) found "  # noqa: S608
        "ORDER BY ABS(depth), depth, id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        return list(cursor.fetchall())


def node_lineage(
    *, node: RemixNode, viewer: User | None, direction: str = "both", depth: int = 3, limit: int = MAX_NODES
) -> Lineage:
    """The node's ancestors (`up`), descendants (`down`) or both, up to `depth` steps and `limit` nodes (nearest
    first), as the viewer may see them, with the edges between the nodes found. Three queries whatever the size:
    the walk, the nodes, the edges. The caller has checked the viewer may see `node` itself."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}")
    found = _walk(node=node, viewer=viewer, direction=direction, depth=depth, limit=limit + 1)
    truncated = len(found) > limit
    depths = {node.pk: 0, **dict(found[:limit])}
    by_id = RemixNode.objects.select_related("owner").in_bulk(list(depths))
    nodes = sorted(by_id.values(), key=lambda n: (depths[n.pk], n.pk))
    edges = list(
        Mutation.objects.filter(parent_id__in=depths, child_id__in=depths).order_by("parent_id", "child_id", "pk")
    )
    return Lineage(node=node, nodes=nodes, depths=depths, edges=edges, truncated=truncated)


def node_ancestors(*, node: RemixNode, viewer: User | None, depth: int = 1000) -> Lineage:
    """All the node's visible ancestors, to the roots."""
    return node_lineage(node=node, viewer=viewer, direction="up", depth=depth)


def node_descendants(
    *, node: RemixNode, viewer: User | None, depth: int = MAX_DEPTH, limit: int = MAX_NODES
) -> Lineage:
    """The node's visible descendants within `depth` steps, nearest first, at most `limit`."""
    return node_lineage(node=node, viewer=viewer, direction="down", depth=depth, limit=limit)
