from __future__ import annotations

import contextlib
import hashlib
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from procrastinate.contrib.django import app
from procrastinate.exceptions import AlreadyEnqueued

from accounts.models import Upload, UploadStatus, User
from accounts.selectors import upload_for_owner
from accounts.services import audit_log_record
from kmeme.ai.embeddings import embeddings_provider
from kmeme.changes import changes_apply
from kmeme.errors import ApplicationError
from kmeme.media.guard import url_check
from kmeme.middleware import current_request_id
from kmeme.platforms import Platform, platform_from_url, upload_source_url
from remix.cache import node_cache_invalidate
from remix.embeddings import node_embedding_refresh, nodes_for_embedding
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


def node_create(
    *,
    title: str,
    source_url: str,
    owner: User | None,
    layer: str = Layer.MASTER,
    commerce_category: str = CommerceCategory.NONE,
    source_upload: Upload | None = None,
) -> RemixNode:
    """Create a node in draft. The platform is derived from the URL, never taken from the caller.

    A fork is created only by remix.forks.node_fork, which links it to its origin in the same transaction."""
    node = RemixNode(
        title=title.strip(),
        source_url=source_url.strip(),
        platform=platform_from_url(source_url),
        layer=layer,
        owner=owner,
        commerce_category=commerce_category,
        source_upload=source_upload,
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
            _("A node cannot go from '%(before)s' to '%(to)s'.") % {"before": before, "to": to},
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
    """Store one analysis of a node (an AI result, a fallback, or an editor's manual entry). A node without a
    commerce category takes the analysis's (so the changelist filter and the public `?category=` find it); one
    already set — by an editor, or an earlier analysis — is left alone (an editor corrects it in the node's form)."""
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
    if commerce_category != CommerceCategory.NONE:
        categorized = RemixNode.objects.filter(pk=node.pk, commerce_category=CommerceCategory.NONE).update(
            commerce_category=commerce_category, updated_at=timezone.now()
        )
        if categorized:
            node.commerce_category = commerce_category
            node_cache_invalidate(node=node)
            audit_log_record(
                actor=None,
                action="node.categorize",
                target=node,
                details={
                    "before": {"commerce_category": CommerceCategory.NONE},
                    "after": {"commerce_category": commerce_category},
                    "from": f"analysis #{analysis.pk} ({provider})",
                },
            )
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


def _job_defer(task: str, *, queueing_lock: str, lock: str | None = None, **kwargs: Any) -> int:
    """Queue a job by its task's name (services never import tasks: the tasks call the services), carrying the
    request id of the request that queued it, so the job's log lines share it."""
    job = app.configure_task(task, allow_unknown=False, queueing_lock=queueing_lock, lock=lock)
    return job.defer(**kwargs, request_id=current_request_id() or "")


@transaction.atomic
def node_analysis_start(
    *, node: RemixNode, actor: User | None, reason: str, brief_only: bool = False, notes: str = ""
) -> int:
    """Send a node to analysis (again): it moves to `analyzing` and exactly one job is queued, in one transaction,
    so the job exists if and only if the move committed. `brief_only` keeps the analysis and writes a new brief
    (with the editor's `notes`); otherwise the whole pipeline runs. Returns the job id."""
    node_transition(node=node, to=NodeStatus.ANALYZING, actor=actor, reason=reason)
    if brief_only:
        return _job_defer(
            "remix.tasks.brief_regenerate",
            queueing_lock=f"brief-regenerate-{node.pk}",
            lock=f"node-{node.pk}",
            node_id=node.pk,
            notes=notes,
        )
    return _job_defer(
        "remix.tasks.node_analyze", queueing_lock=f"node-analyze-{node.pk}", lock=f"node-{node.pk}", node_id=node.pk
    )


def _node_submission_lock(*, user: User, video_url: str) -> None:
    """Serialise one user's submissions of one link until the transaction ends (a transaction-level advisory lock,
    keyed on both: other users and other links go on in parallel)."""
    digest = hashlib.sha256(f"node_submit:{user.pk}:{video_url}".encode("utf-8", "surrogatepass")).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)])


@transaction.atomic
def node_submit(*, user: User, video_url: str, title: str = "") -> tuple[RemixNode, int | None]:
    """A submitted video URL becomes a master node in analysis, with its job (API, admin and commands alike).
    Returns the node and the job queued for it.

    A repeated submission — the same user, the same link (as stored: trimmed), while the node made for it is still
    `analyzing` — returns that node and None for the job: nothing is written, no job is queued, no second analysis
    nor brief is paid for (a double-click, a retried request, five taps at once). The user's submissions of one link
    take an advisory lock first, so five at once still make one node. Once the node has left analysis, the same
    link makes a new node.

    A link our server must not fetch (not http(s), with credentials, or resolving to a private, loopback,
    link-local, multicast, reserved or unspecified address) is refused first (MediaError `url_not_allowed`, or
    `url_unresolvable`): nothing is written and no job is queued. The download checks again, connecting only
    to the addresses it checked."""
    video_url = video_url.strip()
    _node_submission_lock(user=user, video_url=video_url)
    in_flight = (
        RemixNode.objects.filter(owner=user, layer=Layer.MASTER, source_url=video_url, status=NodeStatus.ANALYZING)
        .order_by("-created_at", "-id")
        .first()
    )
    if in_flight is not None:
        return in_flight, None
    url_check(url=video_url)
    platform = platform_from_url(video_url)
    node = node_create(title=title.strip() or f"{Platform(platform).label} video", source_url=video_url, owner=user)
    return node, node_analysis_start(node=node, actor=user, reason="analysis requested")


def upload_usable(*, user: User, upload_id: Any) -> Upload:
    """One of `user`'s own uploads whose file has arrived, to use as a video source (an analysis, a campaign
    submission). Anyone else's, or none, is a 404 (its existence is not revealed); one not yet completed is a 409."""
    upload = upload_for_owner(owner=user, public_id=upload_id)
    if upload is None:
        raise ApplicationError(_("No such upload."), code="not_found", status_code=404)
    if upload.status != UploadStatus.UPLOADED:
        raise ApplicationError(
            _("This upload has not been completed: send the file, then POST /api/v1/uploads/{id}/complete."),
            code="upload_not_completed",
            status_code=409,
            details={"upload_id": str(upload.public_id), "upload_status": upload.status},
        )
    return upload


@transaction.atomic
def node_submit_upload(*, user: User, upload_id: Any, title: str = "") -> tuple[RemixNode, int | None]:
    """A video the user uploaded becomes a master node in analysis, like a submitted link (node_submit): the
    pipeline copies the stored file instead of downloading one. Only the user's own completed uploads; a repeat
    while the first node is still in analysis returns that node and no job."""
    upload = upload_usable(user=user, upload_id=upload_id)
    source_url = upload_source_url(upload_public_id=upload.public_id, filename=upload.filename)
    _node_submission_lock(user=user, video_url=source_url)
    in_flight = (
        RemixNode.objects.filter(owner=user, source_upload=upload, status=NodeStatus.ANALYZING)
        .order_by("-created_at", "-id")
        .first()
    )
    if in_flight is not None:
        return in_flight, None
    node = node_create(
        title=(title.strip() or upload.original_filename or upload.filename)[:200],
        source_url=source_url,
        owner=user,
        source_upload=upload,
    )
    return node, node_analysis_start(node=node, actor=user, reason="analysis of an uploaded video requested")


NODE_EDITABLE_FIELDS = ("title", "source_url", "commerce_category")
FORK_EDITABLE_FIELDS = (*NODE_EDITABLE_FIELDS, "posted_url")  # a master's counts follow its source_url
NODE_LINK_FIELDS = ("source_url", "posted_url")  # links our server fetches: held to the submission's rules


def node_link_check(*, node: RemixNode, changes: dict[str, Any]) -> None:
    """A changed video link (the source, or a fork's posted video) is held to the submission's rules (400
    `url_not_allowed`); clearing the posted link is always allowed. Call it before taking the node's row lock: it
    may wait on DNS."""
    for field in NODE_LINK_FIELDS:
        url = changes.get(field)
        if url is not None and url.strip() and url.strip() != getattr(node, field):
            url_check(url=url.strip())


def node_change(*, node: RemixNode, actor: User | None, changes: dict[str, Any], action: str = "node.update") -> bool:
    """Apply field changes to a node the caller holds a row lock on: validate, save, audit before → after, drop
    its cached reads, and re-embed it if it is public. The platform always follows the URL. Returns whether
    anything changed. Precondition: a changed link passed node_link_check."""
    unknown = set(changes) - set(FORK_EDITABLE_FIELDS if node.layer == Layer.FORK else NODE_EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(
            _("These fields are not edited here: %(join)s.") % {"join": ", ".join(sorted(unknown))}, code="read_only"
        )
    cleaned = {field: value.strip() if isinstance(value, str) else value for field, value in changes.items()}
    diff = changes_apply(node, cleaned)
    if not diff:
        return False
    node.platform = platform_from_url(node.source_url)
    node.full_clean()
    node.save(update_fields=[*diff, "platform", "updated_at"])
    author = node.owner if node.layer == Layer.FORK else None  # a fork's title and links are its creator's writing
    audit_log_record(actor=actor, action=action, target=node, details={"changes": diff}, authored_by=author)
    node_cache_invalidate(node=node)
    if node.status == NodeStatus.PUBLISHED:
        node_embedding_schedule(node=node)
    return True


@transaction.atomic
def node_update(*, node: RemixNode, editor: User, **changes: Any) -> RemixNode:
    """An editor's correction of a master's title, video URL or category (the admin's change form).

    Forks belong to their creators (remix.forks.fork_update). Audited with before → after; the public API shows
    the change at once (caches dropped now and on commit); a published node's search embedding follows it.
    """
    node_link_check(node=node, changes=changes)
    locked = RemixNode.objects.select_for_update().get(pk=node.pk)
    if locked.layer == Layer.FORK:
        raise ApplicationError(
            _("Forks belong to their creators: editors can only reject or unpublish them."),
            code="fork_read_only",
            status_code=403,
        )
    node_change(node=locked, actor=editor, changes=changes)
    return locked


def node_embedding_schedule(*, node: RemixNode) -> None:
    """Give a published node its search embedding: at once when local (a few ms of hashing), through a job when
    it takes a Gemini call (the job is queued only if the surrounding transaction commits)."""
    if embeddings_provider() == "local":
        node_embedding_refresh(node=nodes_for_embedding().get(pk=node.pk))
        return
    with contextlib.suppress(AlreadyEnqueued):
        _job_defer("remix.tasks.node_embed", queueing_lock=f"node-embed-{node.pk}", node_id=node.pk)
