"""Reads of remix nodes, analyses and briefs (QuerySets with their joins declared here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from kmeme.ai.budget import budget_month_spend
from kmeme.ai.selectors import ai_call_outcomes
from kmeme.platforms import Platform
from kmeme.vocabulary import CommerceCategory
from remix.models import (
    AnalysisStatus,
    Mutation,
    NodeStatus,
    RemixBrief,
    RemixNode,
    ReviewStatus,
    VideoAnalysis,
)
from remix.review_locks import review_locks_for

STUCK_AFTER = timedelta(minutes=30)
NEXT_BATCH = 50  # queue items whose locks are read in one round trip when looking for the next free one


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


def review_dashboard(
    *, now: datetime | None = None, limit: int = 15, category: str = "", platform: str = ""
) -> dict[str, Any]:
    """What awaits editors, and how the AI is doing: one query per panel, whatever the table size. The two queues
    can be narrowed to a commerce category and a platform."""
    narrowed = Q()
    if category:
        narrowed &= Q(commerce_category=category)
    if platform:
        narrowed &= Q(platform=platform)
    now = now or timezone.now()
    day_ago = now - timedelta(hours=24)
    by_status = dict(RemixNode.objects.order_by().values_list("status").annotate(n=Count("id")))
    counts = {status: by_status.get(status, 0) for status in NodeStatus.values}
    calls = ai_call_outcomes(since=day_ago)
    analyses = VideoAnalysis.objects.filter(created_at__gte=day_ago).aggregate(
        total=Count("id"), fallback=Count("id", filter=Q(status=AnalysisStatus.FALLBACK))
    )
    spent, cap = budget_month_spend(at=now), Decimal(str(settings.LLM_MONTHLY_CAP))
    attempted = calls["ok"] + calls["error"]
    in_review = list(
        RemixBrief.objects.filter(node__status=NodeStatus.IN_REVIEW, review_status=ReviewStatus.PENDING)
        .filter(**{f"node__{k}": v for k, v in (("commerce_category", category), ("platform", platform)) if v})
        .select_related("node", "node__owner")
        .order_by("created_at")[:limit]
    )
    manual_review = list(
        RemixNode.objects.filter(narrowed, status=NodeStatus.NEEDS_REVIEW)
        .select_related("owner")
        .order_by("updated_at")[:limit]
    )
    # Who is on each item, from one MGET of their review locks.
    locks = review_locks_for(node_ids=[b.node_id for b in in_review] + [n.pk for n in manual_review])
    for brief in in_review:
        brief.node.review_lock = locks.get(brief.node_id)
    for node in manual_review:
        node.review_lock = locks.get(node.pk)
    return {
        "counts": [(NodeStatus(status).label, status, n) for status, n in counts.items()],
        "category": category,
        "platform": platform,
        "categories": CommerceCategory.choices,
        "platforms": Platform.choices,
        "in_review": in_review,
        "manual_review": manual_review,
        "stuck": list(
            RemixNode.objects.filter(status=NodeStatus.ANALYZING, analysis_requested_at__lt=now - STUCK_AFTER).order_by(
                "analysis_requested_at"
            )[:limit]
        ),
        "spend": {"spent": spent, "cap": cap, "share": (spent / cap * 100) if cap else Decimal(0)},
        "ai_error_rate": (calls["error"] / attempted * 100) if attempted else None,
        "ai_calls_24h": attempted,
        "fallback_rate": (analyses["fallback"] / analyses["total"] * 100) if analyses["total"] else None,
        "analyses_24h": analyses["total"],
    }


def review_next_node(*, after: RemixNode | None = None, editor: User | None = None) -> RemixNode | None:
    """The next item of the queue: the oldest brief in review, then the oldest manual-review item — skipping those
    another editor is reviewing (their lock). Takes no lock itself."""
    for queryset in (
        RemixNode.objects.filter(status=NodeStatus.IN_REVIEW).order_by("updated_at", "id"),
        RemixNode.objects.filter(status=NodeStatus.NEEDS_REVIEW).order_by("updated_at", "id"),
    ):
        queryset = queryset.exclude(pk=after.pk if after else None)
        while True:
            candidates = list(queryset[:NEXT_BATCH])
            locks = review_locks_for(node_ids=[n.pk for n in candidates])
            for candidate in candidates:
                lock = locks.get(candidate.pk)
                if lock is None or (editor is not None and lock.user_id == editor.pk):
                    return candidate
            if len(candidates) < NEXT_BATCH:
                break
            last = candidates[-1]
            queryset = queryset.filter(
                Q(updated_at__gt=last.updated_at) | Q(updated_at=last.updated_at, id__gt=last.id)
            )
    return None


def _origin_public_id() -> Subquery:
    """The public id of the node a node was remixed from first (its oldest edge's parent), as a subquery."""
    edges = Mutation.objects.filter(child=OuterRef("pk")).order_by("created_at", "id")
    return Subquery(edges.values("parent__public_id")[:1])


def node_list_public() -> QuerySet[RemixNode]:
    """Published nodes, newest first, with what the list shows joined in."""
    return (
        RemixNode.objects.filter(status=NodeStatus.PUBLISHED)
        .select_related("owner")
        .annotate(origin_public_id=_origin_public_id())
        .order_by("-published_at", "-id")
    )


def node_for_recipe(*, pk: int) -> RemixNode:
    """A node with everything its recipe shows, in five queries whatever its history."""
    origin_edges = (
        Mutation.objects.select_related("parent")
        .prefetch_related(Prefetch("parent__briefs", queryset=RemixBrief.objects.order_by("-version")))
        .order_by("created_at", "id")
    )
    return (
        RemixNode.objects.select_related("owner")
        .prefetch_related(
            Prefetch("briefs", queryset=RemixBrief.objects.order_by("-version")),
            Prefetch("parent_mutations", queryset=origin_edges, to_attr="origin_edges"),
            Prefetch("analyses", queryset=VideoAnalysis.objects.order_by("-created_at", "-id")),
        )
        .get(pk=pk)
    )


def node_for_viewer(*, public_id: str, viewer: User | None) -> RemixNode | None:
    """A node the viewer may see: published ones for everyone, others for their owner and editors only.

    Anything else is None — the caller answers 404, so nobody learns that a private node exists.
    One query; the recipe's own data is loaded separately, only when it is not cached.
    """
    node = RemixNode.objects.filter(public_id=public_id).first()
    if node is None:
        return None
    if node.status == NodeStatus.PUBLISHED:
        return node
    if viewer is not None and viewer.is_authenticated and (node.owner_id == viewer.pk or viewer.is_editor):
        return node
    return None
