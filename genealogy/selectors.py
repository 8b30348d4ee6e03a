"""Reads of the family tree. The edges themselves live in remix (remix.models.Mutation), one layer down."""

from __future__ import annotations

from remix.models import RemixNode


def node_parents(*, node: RemixNode) -> list[RemixNode]:
    return list(RemixNode.objects.filter(child_mutations__child=node).order_by("id"))
