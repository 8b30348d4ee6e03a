from __future__ import annotations

from django.db import connection

from remix.models import RemixNode


def node_is_ancestor(*, ancestor_id: int, node_id: int) -> bool:
    """True if `ancestor_id` can be reached by walking parent edges up from `node_id` (or is it)."""
    if ancestor_id == node_id:
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE up(id) AS (
                SELECT parent_id FROM genealogy_mutation WHERE child_id = %s
                UNION
                SELECT m.parent_id FROM genealogy_mutation m JOIN up ON m.child_id = up.id
            )
            SELECT EXISTS (SELECT 1 FROM up WHERE id = %s)
            """,
            [node_id, ancestor_id],
        )
        return bool(cursor.fetchone()[0])


def node_parents(*, node: RemixNode) -> list[RemixNode]:
    return list(RemixNode.objects.filter(child_mutations__child=node).order_by("id"))
