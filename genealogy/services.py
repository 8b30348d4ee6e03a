from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from accounts.models import User
from genealogy.models import Mutation, MutationType
from genealogy.selectors import node_is_ancestor
from kmeme.errors import ApplicationError
from remix.models import RemixNode

# One lock for all genealogy writes: two concurrent edges (a→b, b→a) must not both pass the cycle check.
_GENEALOGY_LOCK_KEY = 0x6B6D656D65  # "kmeme"


@transaction.atomic
def mutation_create(
    *,
    parent: RemixNode,
    child: RemixNode,
    mutation_types: list[str],
    profile: dict[str, Any] | None = None,
    created_by: User | None = None,
) -> Mutation:
    """Add a parent → child edge. Refuses self-loops, duplicates, unknown types and cycles."""
    unknown = sorted(set(mutation_types) - set(MutationType.values))
    if not mutation_types or unknown:
        raise ApplicationError(
            "Mutation types must be a non-empty list from the vocabulary.",
            code="invalid_mutation_types",
            details={"unknown": unknown, "allowed": list(MutationType.values)},
        )
    if parent.pk == child.pk:
        raise ApplicationError("A node cannot be its own parent.", code="mutation_self_loop")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_GENEALOGY_LOCK_KEY])
    if Mutation.objects.filter(parent=parent, child=child).exists():
        raise ApplicationError("These two nodes are already linked.", code="mutation_exists")
    if node_is_ancestor(ancestor_id=child.pk, node_id=parent.pk):
        raise ApplicationError(
            "This edge would make a node its own ancestor.",
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
    return mutation
