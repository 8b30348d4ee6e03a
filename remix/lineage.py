"""The lineage DAG's edges (`Mutation`): the one service that adds them, and the reads remix itself needs.

Edges are the only record of who was remixed from whom. A fork's origin (what the recipe calls its parent)
is its oldest edge; a blend has more. genealogy/ builds the family-tree reads and stats on the same table.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_log_record
from kmeme.errors import ApplicationError
from kmeme.json_limits import json_bounds_check
from remix.models import Layer, Mutation, MutationType, RemixNode

# One lock for all lineage writes: two concurrent edges (a→b, b→a) must not both pass the cycle check.
_LINEAGE_LOCK_KEY = 0x6B6D656D65  # "kmeme"


def node_is_ancestor(*, ancestor_id: int, node_id: int) -> bool:
    """True if `ancestor_id` can be reached by walking parent edges up from `node_id` (or is it). One query."""
    if ancestor_id == node_id:
        return True
    table = Mutation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE up(id) AS (
                SELECT parent_id FROM {table} WHERE child_id = %s
                UNION
                SELECT m.parent_id FROM {table} m JOIN up ON m.child_id = up.id
            )
            SELECT EXISTS (SELECT 1 FROM up WHERE id = %s)
            """,  # noqa: S608 - the table name is our own model's, never user input
            [node_id, ancestor_id],
        )
        return bool(cursor.fetchone()[0])


def node_origin(*, node: RemixNode) -> RemixNode | None:
    """The node `node` was remixed from first (its oldest edge's parent), or None for an original."""
    edge = Mutation.objects.filter(child=node).select_related("parent").order_by("created_at", "id").first()
    return edge.parent if edge is not None else None


def node_parent_ids(*, node_id: int) -> list[int]:
    return list(Mutation.objects.filter(child_id=node_id).values_list("parent_id", flat=True))


@transaction.atomic
def mutation_create(
    *,
    parent: RemixNode,
    child: RemixNode,
    mutation_types: list[str],
    profile: dict[str, Any] | None = None,
    created_by: User | None = None,
) -> Mutation:
    """Add a parent → child edge, audited. Refuses self-loops, duplicates, unknown types, a profile over the free-form
    JSON caps, and cycles (checked under one transaction-scoped lock, so two concurrent edges cannot close a cycle
    together)."""
    unknown = sorted(set(mutation_types) - set(MutationType.values))
    if not mutation_types or unknown:
        raise ApplicationError(
            _("Mutation types must be a non-empty list from the vocabulary."),
            code="invalid_mutation_types",
            details={"unknown": unknown, "allowed": list(MutationType.values)},
        )
    if parent.pk == child.pk:
        raise ApplicationError(_("A node cannot be its own parent."), code="mutation_self_loop")
    json_bounds_check(field="profile", value=profile or {})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LINEAGE_LOCK_KEY])
    if Mutation.objects.filter(parent=parent, child=child).exists():
        raise ApplicationError(_("These two nodes are already linked."), code="mutation_exists")
    if node_is_ancestor(ancestor_id=child.pk, node_id=parent.pk):
        raise ApplicationError(
            _("This edge would make a node its own ancestor."),
            code="mutation_cycle",
            details={"parent": str(parent.public_id), "child": str(child.public_id)},
        )
    mutation = Mutation(
        parent=parent,
        child=child,
        mutation_types=sorted(set(mutation_types)),
        profile=profile or {},
        created_by=created_by,
    )
    mutation.full_clean(validate_constraints=False)  # the constraints were checked above, under the lock
    mutation.save()
    audit_log_record(
        actor=created_by,
        action="mutation.create",
        target=child,
        details={"parent": str(parent.public_id), "mutation_types": mutation.mutation_types},
    )
    return mutation


@transaction.atomic
def mutation_update(
    *,
    edge: Mutation,
    actor: User | None,
    mutation_types: list[str] | None = None,
    profile: dict[str, Any] | None = None,
) -> Mutation:
    """Change what an edge says changed (its types and profile, within the free-form JSON caps); its two ends never
    change. Audited."""
    if profile is not None:
        json_bounds_check(field="profile", value=profile)
    edge = Mutation.objects.select_for_update().select_related("child").get(pk=edge.pk)
    before = {"mutation_types": edge.mutation_types, "profile": edge.profile}
    if mutation_types is not None:
        edge.mutation_types = sorted(set(mutation_types))
    if profile is not None:
        edge.profile = profile
    edge.full_clean(validate_constraints=True)
    edge.save(update_fields=["mutation_types", "profile"])
    after = {"mutation_types": edge.mutation_types, "profile": edge.profile}
    if after != before:
        child = edge.child
        audit_log_record(
            actor=actor,
            action="mutation.update",
            target=child,
            details={"before": before, "after": after},
            authored_by=child.owner if child.layer == Layer.FORK else None,  # a fork's profile is its creator's
        )
    return edge
