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
from django.db.models import F
from django.db.models.expressions import RawSQL

from accounts.models import User
from remix.models import Mutation, NodeStatus, RemixNode

DIRECTIONS = ("up", "down", "both")
LINEAGE_NODE_FIELDS = ("public_id", "title", "layer", "status", "commerce_category", "owner")
MAX_DEPTH = 10
MAX_NODES = 500


@dataclass
class Lineage:
    """What a walk found: the nodes (each with its signed distance from the start: up < 0 < down) and the edges
    between them, and whether the node cap cut it short."""

    node: RemixNode
    nodes: list[RemixNode] = field(default_factory=list)
    depths: dict[int, int] = field(default_factory=dict)
    edges: list[Any] = field(default_factory=list)  # rows with parent_id, child_id, mutation_types
    truncated: bool = False

    @property
    def roots(self) -> list[RemixNode]:
        """The nodes found without a parent among the found ones (the family's visible roots, for `up`/`both`)."""
        children = {edge.child_id for edge in self.edges}
        return [n for n in self.nodes if n.pk not in children and self.depths[n.pk] <= 0]


def _visible_sql(viewer: User | None) -> tuple[str, dict[str, Any]]:
    """Whether the node `n` may be seen by the viewer, as SQL and its (named) parameters."""
    if viewer is not None and viewer.is_authenticated and viewer.is_editor:
        return "TRUE", {}
    if viewer is not None and viewer.is_authenticated:
        return "(n.status = %(published)s OR n.owner_id = %(viewer)s)", {
            "published": NodeStatus.PUBLISHED,
            "viewer": viewer.pk,
        }
    return "n.status = %(published)s", {"published": NodeStatus.PUBLISHED}


def _walk_sql(*, step_from: str, step_to: str, visible: str, sign: str, gate: str = "TRUE") -> str:
    """One direction's recursive walk. `step_from` is the edge column that matches the node we stand on,
    `step_to` the column of the next node. UNION (not UNION ALL) keeps each (node, distance) once, so a family
    full of blends costs one row per node and distance, not one per path; the depth bound ends the walk (the
    graph itself is kept acyclic by remix.lineage). A false `gate` (a condition on no row) skips the walk."""
    # Only this module's fixed column names and clauses are interpolated; every value is a query parameter.
    return f"""
        {sign}(id, depth) AS (
            SELECT m.{step_to}, 1
            FROM remix_mutation m JOIN remix_remixnode n ON n.id = m.{step_to}
            WHERE {gate} AND m.{step_from} = %(start)s AND {visible}
          UNION
            SELECT m.{step_to}, w.depth + 1
            FROM {sign} w
            JOIN remix_mutation m ON m.{step_from} = w.id
            JOIN remix_remixnode n ON n.id = m.{step_to}
            WHERE w.depth < %(depth)s AND {visible}
        )"""  # noqa: S608


def _reach_sql(*, step_from: str, step_to: str, visible: str, sign: str) -> str:
    """An unbounded walk: every node reachable, each once (UNION on the id alone), without distances."""
    return f"""
        {sign}(id) AS (
            SELECT m.{step_to}
            FROM remix_mutation m JOIN remix_remixnode n ON n.id = m.{step_to}
            WHERE m.{step_from} = %(start)s AND {visible}
          UNION
            SELECT m.{step_to}
            FROM {sign} w
            JOIN remix_mutation m ON m.{step_from} = w.id
            JOIN remix_remixnode n ON n.id = m.{step_to}
            WHERE {visible}
        )"""  # noqa: S608


def _closure_down_sql(*, visible: str, route: str) -> str:
    """The descendants within `depth` steps that the viewer may see, each once at its shortest visible distance,
    as the CTE `down(id, depth)`, read from the closure table (genealogy.LineageClosure) where it can answer.

    The closure knows every edge, so it cannot say by itself what lies only through a node the viewer may not
    see. It can say which those nodes are, cheaply: only unpublished ones can be hidden, and a partial index
    holds a family's unpublished rows (usually none, or a few drafts). Below them, within reach, lies the
    "shadow": the hidden nodes and their descendants no farther than `depth` from the start through them.
    Outside the shadow no path within reach passes through a hidden node, so every node there is visible at
    exactly the closure's distance (an index-only scan). Into the shadow the pruning walk goes, edge by edge
    through visible nodes, from the parents outside it; the shortest visible path to a node in the shadow
    enters it for the last time from such a parent, so nothing else needs walking.

    Finding where the walk enters costs a look-up per node in the shadow (~10 µs, against ~1 µs a node outside it
    and ~5 µs a node walked): when the shadow is over a quarter of the
    family (a hidden fork with a big subtree), the whole family is walked as before instead (`route` "auto";
    "closure" always reads the closure, for the tests). Either way one statement."""
    if route == "closure":
        by_closure = "TRUE"
    else:
        by_closure = """CASE WHEN NOT EXISTS (SELECT FROM hidden) THEN TRUE ELSE
                4 * (SELECT count(*) FROM hidden h JOIN genealogy_lineage_closure c
                     ON c.ancestor_id = h.id AND c.depth <= %(depth)s - h.depth)
                <= (SELECT count(*) FROM genealogy_lineage_closure c
                    WHERE c.ancestor_id = %(start)s AND c.depth <= %(depth)s)
            END"""
    walked = _walk_sql(
        step_from="parent_id",
        step_to="child_id",
        visible=visible,
        sign="walked",
        gate="NOT (SELECT yes FROM by_closure)",
    )
    return f"""
        hidden(id, depth) AS MATERIALIZED (
            SELECT c.descendant_id, c.depth
            FROM genealogy_lineage_closure c JOIN remix_remixnode n ON n.id = c.descendant_id
            WHERE c.ancestor_id = %(start)s AND NOT c.descendant_published AND c.depth <= %(depth)s
              AND NOT {visible}
        ),
        by_closure(yes) AS MATERIALIZED (SELECT {by_closure}),
        shadow(id) AS MATERIALIZED (
            SELECT id FROM hidden
          UNION
            SELECT c.descendant_id
            FROM hidden h JOIN genealogy_lineage_closure c ON c.ancestor_id = h.id AND c.depth <= %(depth)s - h.depth
        ),
        shaded(id, depth) AS (
            SELECT m.child_id, COALESCE(c.depth, 0) + 1
            FROM shadow s
            JOIN remix_mutation m ON m.child_id = s.id
            JOIN remix_remixnode n ON n.id = m.child_id
            LEFT JOIN genealogy_lineage_closure c ON c.ancestor_id = %(start)s AND c.descendant_id = m.parent_id
            WHERE (SELECT yes FROM by_closure) AND {visible}
              AND (m.parent_id = %(start)s OR c.depth < %(depth)s AND m.parent_id NOT IN (SELECT id FROM shadow))
          UNION
            SELECT m.child_id, w.depth + 1
            FROM shaded w
            JOIN remix_mutation m ON m.parent_id = w.id
            JOIN shadow s ON s.id = m.child_id
            JOIN remix_remixnode n ON n.id = m.child_id
            WHERE w.depth < %(depth)s AND {visible}
        ),
        {walked},
        down(id, depth) AS (
            SELECT c.descendant_id, c.depth
            FROM genealogy_lineage_closure c
            WHERE (SELECT yes FROM by_closure) AND c.ancestor_id = %(start)s AND c.depth <= %(depth)s
              AND c.descendant_id NOT IN (SELECT id FROM shadow)
          UNION ALL
            SELECT id, MIN(depth) FROM shaded GROUP BY id
          UNION ALL
            SELECT id, MIN(depth) FROM walked GROUP BY id
        )"""  # noqa: S608


# The closure's stand-in for "no depth limit" (a path longer than the number of nodes cannot exist).
UNBOUNDED = 2**31 - 1


def _walk(
    *,
    node: RemixNode,
    viewer: User | None,
    direction: str,
    depth: int | None,
    limit: int,
    route: str = "auto",
) -> list[tuple[int, int]]:
    """(node id, signed distance) of every node within `depth` steps that the viewer may see, nearest first.
    Descendants come from the closure table where it can answer, with their exact distances (`route` "walk":
    the pruning CTE alone, the reference the tests compare it with); ancestors, few, from the CTE. With `depth`
    None the walk is unbounded, and an unbounded CTE walk gives only the distance's sign (node_lineage works it
    out)."""
    visible, params = _visible_sql(viewer)
    params |= {"start": node.pk, "depth": UNBOUNDED if depth is None else depth, "limit": limit}
    ctes, selects = [], []
    for name, step_from, step_to, sign in (("up", "child_id", "parent_id", "-"), ("down", "parent_id", "child_id", "")):
        if direction not in (name, "both"):
            continue
        if name == "down" and route != "walk":
            ctes.append(_closure_down_sql(visible=visible, route=route))
            select = "SELECT id, depth FROM down"
        elif depth is None:
            ctes.append(_reach_sql(step_from=step_from, step_to=step_to, visible=visible, sign=name))
            select = f"SELECT id, {sign}1 AS depth FROM {name}"  # noqa: S608
        else:
            ctes.append(_walk_sql(step_from=step_from, step_to=step_to, visible=visible, sign=name))
            select = f"SELECT id, {sign}MIN(depth) AS depth FROM {name} GROUP BY id"  # noqa: S608
        # Each direction's nearest `limit` first (the nearest `limit` of both are among them), in an order an index
        # gives: the closure's (ancestor, depth, descendant) reads a page of descendants and stops.
        order = "depth DESC, id" if name == "up" else "depth, id"
        selects.append(f"(SELECT * FROM ({select}) {name} ORDER BY {order} LIMIT %(limit)s)")  # noqa: S608
    sql = f"WITH RECURSIVE {', '.join(ctes)} "  # fixed clauses only, as above
    if len(selects) == 1:  # one direction: already in order
        sql += selects[0][1:-1]
    else:
        sql += (
            f"SELECT id, depth FROM ({' UNION ALL '.join(selects)}) found "  # noqa: S608
            "ORDER BY ABS(depth), depth, id LIMIT %(limit)s"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _distances(start: int, edges: list[Any], depths: dict[int, int]) -> dict[int, int]:
    """Shortest signed distances from `start` over the found edges (for unbounded walks, which find without
    measuring): breadth first upwards through parents and downwards through children."""
    parents: dict[int, list[int]] = {}
    children: dict[int, list[int]] = {}
    for edge in edges:
        parents.setdefault(edge.child_id, []).append(edge.parent_id)
        children.setdefault(edge.parent_id, []).append(edge.child_id)
    result = {start: 0}
    for links, sign in ((parents, -1), (children, 1)):
        frontier, step = [start], 0
        while frontier:
            step += 1
            nxt = []
            for pk in frontier:
                for other in links.get(pk, ()):
                    if other not in result and other in depths and depths[other] * sign > 0:
                        result[other] = sign * step
                        nxt.append(other)
            frontier = nxt
    return {pk: result.get(pk, depths[pk]) for pk in depths}


def node_lineage(
    *,
    node: RemixNode,
    viewer: User | None,
    direction: str = "both",
    depth: int | None = 3,
    limit: int = MAX_NODES,
    route: str = "auto",
) -> Lineage:
    """The node's ancestors (`up`), descendants (`down`) or both, up to `depth` steps (None: all of them) and
    `limit` nodes (nearest first when bounded), as the viewer may see them, with the edges between the nodes
    found. Three queries whatever the size: the walk, the nodes, the edges. The caller has checked the viewer may
    see `node` itself. `route` "walk" walks the edges without the closure table (the benchmark's baseline)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}")
    found = _walk(node=node, viewer=viewer, direction=direction, depth=depth, limit=limit + 1, route=route)
    truncated = len(found) > limit
    depths = {node.pk: 0, **dict(found[:limit])}
    ids = list(depths)
    # Only what a family view shows (no embedding, probe or media fields); ids as one array parameter, not an
    # IN list of thousands, so a whole 100k family loads in one cheap query each.
    # The owner's display name comes as a column, not as a second model per node (half the objects to build).
    found_nodes = (
        RemixNode.objects.only(*LINEAGE_NODE_FIELDS)
        .annotate(owner_display_name=F("owner__display_name"))
        .filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [ids]))
    )
    nodes = sorted(found_nodes, key=lambda n: (depths[n.pk], n.pk))
    # Edges as light rows (parent_id, child_id, mutation_types): all a family view reads of them.
    edges = list(
        Mutation.objects.filter(child_id__in=RawSQL("SELECT unnest(%s::bigint[])", [ids]))
        .order_by("parent_id", "child_id", "pk")
        .values_list("parent_id", "child_id", "mutation_types", named=True)
    )
    edges = [edge for edge in edges if edge.parent_id in depths]
    if depth is None and (direction != "down" or route == "walk"):  # else the closure measured them already
        depths = _distances(node.pk, edges, depths)
    return Lineage(node=node, nodes=nodes, depths=depths, edges=edges, truncated=truncated)


def node_ancestors(*, node: RemixNode, viewer: User | None) -> Lineage:
    """All the node's visible ancestors, to the roots."""
    return node_lineage(node=node, viewer=viewer, direction="up", depth=None, limit=1_000_000)


def node_descendants(
    *, node: RemixNode, viewer: User | None, depth: int | None = MAX_DEPTH, limit: int = MAX_NODES
) -> Lineage:
    """The node's visible descendants within `depth` steps (None: all), at most `limit` (nearest first when
    bounded: a page of the family)."""
    return node_lineage(node=node, viewer=viewer, direction="down", depth=depth, limit=limit)
