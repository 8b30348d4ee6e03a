"""Reads of remix nodes, analyses and briefs (QuerySets with their joins declared here)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from remix.models import RemixBrief, RemixNode, VideoAnalysis


def node_with_latest_work(*, public_id: str, viewer: User) -> RemixNode | None:
    """A node with its latest analysis and brief attached, if the viewer may see its pipeline state."""
    queryset: QuerySet[RemixNode] = RemixNode.objects.prefetch_related(
        Prefetch("analyses", queryset=VideoAnalysis.objects.order_by("-created_at", "-id"), to_attr="analyses_newest"),
        Prefetch("briefs", queryset=RemixBrief.objects.order_by("-version"), to_attr="briefs_newest"),
    )
    if not viewer.is_editor:
        queryset = queryset.filter(owner=viewer)
    node = queryset.filter(public_id=public_id).first()
    if node is not None:
        node.analysis = node.analyses_newest[0] if node.analyses_newest else None
        node.brief = node.briefs_newest[0] if node.briefs_newest else None
    return node
