"""A node's search embedding: what it is about (title, category, latest brief and analysis) and the refresh.

The embedders and the choice between them live in kmeme.ai.embeddings; this module picks a node's text and
stores the vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Prefetch

from accounts.selectors import user_personal_names
from kmeme.ai.embeddings import embedding_text_compose, embeddings_compute, embeddings_kind
from remix.models import RemixBrief, RemixNode, VideoAnalysis


def _latest_brief(node: RemixNode) -> RemixBrief | None:
    if hasattr(node, "briefs_newest"):  # prefetched by remix.embeddings.nodes_for_embedding
        return node.briefs_newest[0] if node.briefs_newest else None
    return node.briefs.order_by("-version").first()


def _latest_analysis(node: RemixNode) -> VideoAnalysis | None:
    if hasattr(node, "analyses_newest"):
        return node.analyses_newest[0] if node.analyses_newest else None
    return node.analyses.order_by("-created_at", "-id").only("hook", "keyframes").first()


def embedding_text(node: RemixNode) -> str:
    """What a node is about, for search: its title, category, latest brief and latest analysis, scrubbed."""
    brief = _latest_brief(node)
    analysis = _latest_analysis(node)
    return embedding_text_compose(
        title=node.title,
        commerce_category=node.commerce_category,
        brief=brief.content if brief is not None else None,
        analysis_hook=analysis.hook if analysis is not None else "",
        keyframes=(analysis.keyframes or []) if analysis is not None else (),
        names=user_personal_names(node.owner) if node.owner_id else (),
    )


def nodes_for_embedding() -> Any:
    """Nodes with what embedding_text reads (owner, latest brief, latest analysis) prefetched: no N+1."""
    return RemixNode.objects.select_related("owner").prefetch_related(
        Prefetch("briefs", queryset=RemixBrief.objects.order_by("-version"), to_attr="briefs_newest"),
        Prefetch(
            "analyses",
            queryset=VideoAnalysis.objects.order_by("-created_at", "-id").only("node_id", "hook", "keyframes"),
            to_attr="analyses_newest",
        ),
    )


def nodes_embedding_refresh(*, nodes: Sequence[RemixNode], provider: str = "auto") -> str:
    """Recompute and store the embeddings of `nodes` (in one Gemini request per 100 nodes, or locally).

    `provider`: "auto" follows EMBEDDINGS_PROVIDER; naming the other kind than the setting is refused
    (ValueError), so the table never mixes kinds. When the table holds Gemini embeddings and Gemini is
    unconfigured, over budget or failing, this raises ProviderUnavailable and leaves every vector as it was:
    a local vector in a Gemini table would be a wrong answer, a missing one is only a missing answer.
    Returns the kind written: "gemini" or "local".
    """
    kind = embeddings_kind(provider)
    nodes = list(nodes)
    if not nodes:
        return kind
    texts = [embedding_text(node) for node in nodes]
    vectors = embeddings_compute(texts=texts, node_ids=[node.pk for node in nodes], kind=kind)
    for node, vector in zip(nodes, vectors, strict=True):
        node.embedding = vector
    with transaction.atomic():
        if len(nodes) == 1:
            nodes[0].save(update_fields=["embedding"])
        else:
            RemixNode.objects.bulk_update(nodes, ["embedding"])
        # New vectors change whose neighbours anyone is: every cached similar-list may be wrong now.
        cache.delete_pattern("similar:*")
        transaction.on_commit(lambda: cache.delete_pattern("similar:*"))
    return kind


def node_embedding_refresh(*, node: RemixNode, provider: str = "auto") -> str:
    """Recompute and store one node's embedding; see nodes_embedding_refresh for `provider` and errors."""
    return nodes_embedding_refresh(nodes=[node], provider=provider)
