"""Nodes that fell back during a provider outage are analysed again once the provider answers again.

A run that could not reach Gemini or Claude (the provider failed, `provider_error`, or its circuit was open,
`circuit_open`) leaves the node in manual review with a rule-based brief. When that provider's circuit is no
longer open, `nodes_retry_after_outage` (a job, every minute) sends such nodes back to analysis: one at a time
while the circuit is half-open (that call is its trial; no other is sent until it has run), then in batches.
Bounded and visible: at most AI_AUTO_RETRY_MAX times per node, only within AI_AUTO_RETRY_WINDOW_H of the
fallback, never a node an editor has started working on (a review lock, an edited or newer brief, an analysis
filled in by hand), and each retry is a status change in the node's history with its reason; `auto_retries`
counts them (in GET /analyses/{id}).
A budget refusal, a missing key or an unusable answer is not an outage and waits for a person.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from kmeme.ai.circuit import PROVIDERS, circuit_state
from remix.models import NodeStatus, RemixBrief, RemixNode, VideoAnalysis
from remix.review_locks import review_lock_get
from remix.services import node_analysis_start, node_transition

logger = logging.getLogger("kmeme.pipeline")

OUTAGE_CODES = ("provider_error", "circuit_open")


def _retry_candidates(*, provider: str, now: datetime) -> list[RemixNode]:
    """The oldest fallbacks first. Nodes an editor has changed are left out here, in the query: they stay in
    manual review for good, and skipping them after the slice would let them crowd out every other node. Only
    review locks (in Redis, and brief) are checked node by node."""
    window = timedelta(hours=settings.AI_AUTO_RETRY_WINDOW_H)
    edited_brief = RemixBrief.objects.filter(node=OuterRef("pk"), updated_at__gt=OuterRef("fallback_at"))
    newer_analysis = VideoAnalysis.objects.filter(node=OuterRef("pk"), created_at__gt=OuterRef("fallback_at"))
    return list(
        RemixNode.objects.filter(
            status=NodeStatus.NEEDS_REVIEW,
            fallback_provider=provider,
            fallback_code__in=OUTAGE_CODES,
            auto_retries__lt=settings.AI_AUTO_RETRY_MAX,
            fallback_at__gte=now - window,
        )
        .exclude(Exists(edited_brief))
        .exclude(Exists(newer_analysis))
        .order_by("fallback_at", "pk")[: settings.AI_AUTO_RETRY_BATCH * 2]
    )


def _editor_started(node: RemixNode) -> bool:
    """Whether a person has begun on the node since it fell back: then it is theirs, not the machine's."""
    if review_lock_get(node=node) is not None:
        return True
    return (
        node.briefs.filter(updated_at__gt=node.fallback_at).exists()
        or node.analyses.filter(created_at__gt=node.fallback_at).exists()
    )


def node_auto_retry_pending(*, node: RemixNode, now: datetime | None = None) -> bool:
    """Whether the node will be sent back to analysis once its provider answers again (for GET /analyses/{id}):
    the rules nodes_retry_after_outage follows, node by node. False while an editor holds the node's review lock
    (it is theirs for now) and for good once an editor has changed its brief or analysis."""
    now = now or timezone.now()
    return (
        node.status == NodeStatus.NEEDS_REVIEW
        and node.fallback_provider in PROVIDERS
        and node.fallback_code in OUTAGE_CODES
        and node.auto_retries < settings.AI_AUTO_RETRY_MAX
        and node.fallback_at is not None
        and node.fallback_at >= now - timedelta(hours=settings.AI_AUTO_RETRY_WINDOW_H)
        and not _editor_started(node)
    )


def _retry_under_way(provider: str) -> bool:
    """Whether a node sent back after this provider's outage is still being analysed: while the circuit is
    half-open, its call is the trial, and a second node would only find the trial taken (`circuit_open`) and fall
    back again, using up one of its retries. (A node keeps its fallback fields until its run ends.)"""
    return RemixNode.objects.filter(
        status=NodeStatus.ANALYZING,
        fallback_provider=provider,
        fallback_code__in=OUTAGE_CODES,
        auto_retries__gt=0,
    ).exists()


@transaction.atomic
def _retry(node: RemixNode) -> bool:
    node = RemixNode.objects.select_for_update().get(pk=node.pk)
    if node.status != NodeStatus.NEEDS_REVIEW or node.auto_retries >= settings.AI_AUTO_RETRY_MAX:
        return False  # changed since it was selected
    attempt = node.auto_retries + 1
    RemixNode.objects.filter(pk=node.pk).update(auto_retries=attempt)
    node_analysis_start(
        node=node,
        actor=None,
        reason=(
            f"automatic retry {attempt} of {settings.AI_AUTO_RETRY_MAX}: {node.fallback_provider} is answering "
            f"again after {node.fallback_code} ({node.fallback_reason[:200]})"
        ),
    )
    return True


def nodes_retry_after_outage(*, now: datetime | None = None) -> list[RemixNode]:
    """Send back to analysis the nodes that fell back while a provider that now answers was down. Returns them."""
    now = now or timezone.now()
    retried: list[RemixNode] = []
    for provider in PROVIDERS:
        state = circuit_state(provider=provider)["state"]
        if state == "open":
            continue
        if state == "half_open" and _retry_under_way(provider):
            continue  # one node at a time while half-open: the one sent earlier is still on its way
        limit = 1 if state == "half_open" else settings.AI_AUTO_RETRY_BATCH
        sent = 0
        for node in _retry_candidates(provider=provider, now=now):
            if sent >= limit:
                break
            if _editor_started(node) or not _retry(node):
                continue
            sent += 1
            retried.append(node)
            logger.info("node retried after an outage", extra={"node_id": node.pk, "provider": provider})
    return retried


def _nodes_with_live_jobs() -> set[int]:
    """Nodes a pipeline job is queued (retries included) or running for: their jobs take the lock `node-<pk>`."""
    locks = ProcrastinateJob.objects.filter(status__in=("todo", "doing"), lock__startswith="node-")
    return {int(lock[5:]) for lock in locks.values_list("lock", flat=True) if lock[5:].isdigit()}


def nodes_stranded_release(*, now: datetime | None = None) -> list[RemixNode]:
    """Hand to an editor the nodes left in analysis with no job to finish them.

    A job's last failure moves its node to manual review itself (remix.tasks) — unless the database or Redis was
    the very thing failing at that moment, or the job was deleted. A node still `analyzing` PIPELINE_STRANDED_AFTER_S
    after it entered analysis, with no job queued or running for it, goes to `needs_review` with the reason (its
    last error included), so every submitted URL ends in a state someone sees. Returns the nodes moved."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.PIPELINE_STRANDED_AFTER_S)
    stale = list(
        RemixNode.objects.filter(status=NodeStatus.ANALYZING, analysis_requested_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:500]
    )
    if not stale:
        return []
    live = _nodes_with_live_jobs()
    moved = []
    for pk in stale:
        if pk in live:
            continue
        with transaction.atomic():
            node = RemixNode.objects.select_for_update().filter(pk=pk, status=NodeStatus.ANALYZING).first()
            if node is None or node.analysis_requested_at >= cutoff:
                continue
            last_error = f": {node.pipeline_error[:500]}" if node.pipeline_error else ""
            node_transition(
                node=node,
                to=NodeStatus.NEEDS_REVIEW,
                actor=None,
                reason=f"no job is queued or running for this analysis any more{last_error}",
            )
        moved.append(node)
        logger.warning("stranded node sent to manual review", extra={"node_id": pk})
    return moved
