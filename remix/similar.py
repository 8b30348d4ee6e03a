"""Similar published nodes: nearest neighbours by cosine distance over the HNSW index `node_embedding_hnsw`.

An HNSW scan walks the graph to the `hnsw.ef_search` nearest candidates and only then applies the WHERE
clause. Most nodes are not published, so a plain scan would hand back mostly rows the filter throws away,
and fewer than k results. pgvector 0.8's iterative scan keeps walking until k rows pass the filter.
`relaxed_order` is the faster mode but may return rows slightly out of distance order, so the few rows are
re-sorted here. When the walk still finds fewer than k rows (a small catalogue, or an index full of dead
entries), the exact ranking is used instead. The measured effect of these settings is in benchmarks/similar.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import QuerySet
from pgvector.django import CosineDistance

from remix.models import NodeStatus, RemixNode

# Candidates the graph walk keeps; more means better recall and slower queries (benchmarks/similar.py).
HNSW_EF_SEARCH = 100
HNSW_ITERATIVE_SCAN = "relaxed_order"
HNSW_EF_SEARCH_MAX = 1000  # pgvector's limit


@contextmanager
def _planner_settings(values: dict[str, str]) -> Iterator[None]:
    """Transaction-local planner settings that end with the block, even inside a caller's transaction.

    SET LOCAL lasts until the end of the transaction, and releasing a savepoint keeps it; rolling the
    savepoint back undoes it. The block only reads, so nothing else is lost.
    """
    with transaction.atomic():
        savepoint = transaction.savepoint()
        try:
            with connection.cursor() as cursor:
                calls = ", ".join("set_config(%s, %s, true)" for _ in values)
                cursor.execute(f"SELECT {calls}", [item for pair in values.items() for item in pair])
            yield
        finally:
            transaction.savepoint_rollback(savepoint)


def _search_settings(*, k: int, exact: bool) -> dict[str, str]:
    if exact:
        # Planner flags only penalise a plan: with another path penalised too (a caller's enable_sort = off),
        # the HNSW index could still win. The exact query's ORDER BY has two keys, which no index can answer.
        return {"enable_indexscan": "off", "enable_sort": "on"}
    return {
        "hnsw.iterative_scan": HNSW_ITERATIVE_SCAN,
        "hnsw.ef_search": str(min(HNSW_EF_SEARCH_MAX, max(HNSW_EF_SEARCH, k))),
    }


def _similar_queryset(*, node: RemixNode, k: int, exact: bool) -> QuerySet[RemixNode]:
    # Ordered by distance alone, the HNSW index answers (approximately); by distance and id, only a full ranking
    # of every candidate can, which is what the exact baseline is for.
    ordering = ("distance", "pk") if exact else ("distance",)
    return (
        RemixNode.objects.filter(status=NodeStatus.PUBLISHED, embedding__isnull=False)
        .exclude(pk=node.pk)
        .defer("embedding", "probe")  # 768 floats a row to parse, for nothing
        .annotate(distance=CosineDistance("embedding", node.embedding))
        .order_by(*ordering)[:k]
    )


def _search(*, node: RemixNode, k: int, exact: bool) -> list[tuple[RemixNode, float]]:
    if k < 1:
        raise ValueError("k must be at least 1")
    if node.embedding is None:
        return []
    with _planner_settings(_search_settings(k=k, exact=exact)):
        rows = list(_similar_queryset(node=node, k=k, exact=exact))
    if len(rows) < k and not exact:
        # Fewer than k: either the catalogue is that small, or the graph walk gave up (an index full of dead
        # entries stops the iterative scan at hnsw.max_scan_tuples before vacuum clears them). The exact ranking
        # answers both correctly; on a catalogue of k or more published nodes it is rarely needed.
        with _planner_settings(_search_settings(k=k, exact=True)):
            rows = list(_similar_queryset(node=node, k=k, exact=True))
    rows.sort(key=lambda row: (row.distance, row.pk))  # relaxed_order: exact order, ties by id
    return [(row, 1.0 - row.distance) for row in rows]


def node_similar(*, node: RemixNode, k: int = 10) -> list[tuple[RemixNode, float]]:
    """The k published nodes most like `node` (never itself), nearest first, with cosine similarity
    (1 = same direction). Approximate: the HNSW index answers. A node without an embedding gets []."""
    return _search(node=node, k=k, exact=False)


def node_similar_exact(*, node: RemixNode, k: int = 10) -> list[tuple[RemixNode, float]]:
    """node_similar without the index: every published node is compared. The baseline for recall and
    latency in benchmarks/similar.py; too slow for requests on a large table."""
    return _search(node=node, k=k, exact=True)


def node_similar_plan(*, node: RemixNode, k: int = 10, exact: bool = False) -> str:
    """PostgreSQL's EXPLAIN ANALYZE of the similar query, under the same settings: shows whether the HNSW
    index answered and how many rows the iterative scan read."""
    if node.embedding is None:
        return ""
    with _planner_settings(_search_settings(k=k, exact=exact)):
        return _similar_queryset(node=node, k=k, exact=exact).explain(analyze=True, buffers=True)
