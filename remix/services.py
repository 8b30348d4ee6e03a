from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_log_record
from kmeme.errors import ApplicationError
from remix.cache import node_cache_invalidate
from remix.models import (
    FORK_TRANSITIONS,
    NODE_TRANSITIONS,
    AnalysisProvider,
    AnalysisStatus,
    BriefSource,
    CommerceCategory,
    Layer,
    NodeStatus,
    RemixBrief,
    RemixNode,
    VideoAnalysis,
)
from remix.platforms import platform_from_url


def node_create(
    *,
    title: str,
    source_url: str,
    owner: User | None,
    layer: str = Layer.MASTER,
    parent: RemixNode | None = None,
    commerce_category: str = CommerceCategory.NONE,
) -> RemixNode:
    """Create a node in draft. The platform is derived from the URL, never taken from the caller."""
    node = RemixNode(
        title=title.strip(),
        source_url=source_url.strip(),
        platform=platform_from_url(source_url),
        layer=layer,
        parent=parent,
        owner=owner,
        commerce_category=commerce_category,
    )
    node.full_clean()
    node.save()
    return node


@transaction.atomic
def node_transition(*, node: RemixNode, to: str, actor: User | None, reason: str = "") -> RemixNode:
    """Move a node along the status workflow, or refuse with `invalid_transition`.

    Locks the node's row, so two concurrent moves cannot both start from the same state.
    """
    locked = RemixNode.objects.select_for_update().get(pk=node.pk)
    before = locked.status
    transitions = FORK_TRANSITIONS if locked.layer == Layer.FORK else NODE_TRANSITIONS
    if to not in transitions.get(before, frozenset()):
        raise ApplicationError(
            f"A node cannot go from '{before}' to '{to}'.",
            code="invalid_transition",
            status_code=409,
            details={"from": before, "to": to, "allowed": sorted(transitions.get(before, ()))},
        )
    locked.status = to
    if to == NodeStatus.ANALYZING:
        locked.analysis_requested_at = timezone.now()
    if to == NodeStatus.PUBLISHED:
        locked.published_at = timezone.now()
    elif before == NodeStatus.PUBLISHED:
        locked.published_at = None
    locked.save(update_fields=["status", "published_at", "analysis_requested_at", "updated_at"])
    audit_log_record(
        actor=actor, action="node.transition", target=locked, details={"from": before, "to": to, "reason": reason}
    )
    node_cache_invalidate(node=locked, publication_changed=NodeStatus.PUBLISHED in (before, to))
    if to == NodeStatus.PUBLISHED:
        node_embedding_schedule(node=locked)
    node.status, node.published_at, node.updated_at = locked.status, locked.published_at, locked.updated_at
    node.analysis_requested_at = locked.analysis_requested_at
    return node


def analysis_record(
    *,
    node: RemixNode,
    provider: str,
    status: str,
    model: str = "",
    duration_s: Decimal | float | None = None,
    bpm: Decimal | float | None = None,
    keyframes: list[dict[str, Any]] | None = None,
    hook: str = "",
    commerce_category: str = CommerceCategory.NONE,
    probe: dict[str, Any] | None = None,
    raw_output: Any = None,
    error: str = "",
    **usage: Any,
) -> VideoAnalysis:
    """Store one analysis of a node (an AI result, a fallback, or an editor's manual entry)."""
    analysis = VideoAnalysis(
        node=node,
        provider=AnalysisProvider(provider),
        status=AnalysisStatus(status),
        model=model,
        duration_s=None if duration_s is None else Decimal(str(duration_s)),
        bpm=None if bpm is None else Decimal(str(bpm)),
        keyframes=keyframes or [],
        hook=hook,
        commerce_category=commerce_category,
        probe=probe or {},
        raw_output=raw_output,
        error=error,
        **usage,
    )
    analysis.full_clean()
    analysis.save()
    return analysis


@transaction.atomic
def brief_create(
    *,
    node: RemixNode,
    content: dict[str, Any],
    source: str,
    model: str = "",
    prompt_version: str = "",
    regeneration_notes: str = "",
) -> RemixBrief:
    """Add the next brief version to a node; earlier pending versions are superseded."""
    RemixNode.objects.select_for_update().filter(pk=node.pk).first()  # serialise version numbering per node
    latest = node.briefs.aggregate(v=Max("version"))["v"] or 0
    node.briefs.filter(review_status="pending").update(review_status="superseded")
    brief = RemixBrief(
        node=node,
        version=latest + 1,
        source=BriefSource(source),
        model=model,
        prompt_version=prompt_version,
        generated=content,
        regeneration_notes=regeneration_notes,
    )
    brief.full_clean()
    brief.save()
    node_cache_invalidate(node=node)
    return brief


def node_embedding_schedule(*, node: RemixNode) -> None:
    """Give a newly published node its search embedding: at once when local (a few ms of hashing),
    through a job when it takes a Gemini call (the job is queued only if the publication commits)."""
    from remix.embeddings import embeddings_provider, node_embedding_refresh, nodes_for_embedding

    if embeddings_provider() == "local":
        node_embedding_refresh(node=nodes_for_embedding().get(pk=node.pk))
        return
    from procrastinate.exceptions import AlreadyEnqueued

    from remix.tasks import node_embed

    with contextlib.suppress(AlreadyEnqueued):
        node_embed.configure(queueing_lock=f"node-embed-{node.pk}").defer(node_id=node.pk)
