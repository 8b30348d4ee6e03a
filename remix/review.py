"""Editors' decisions on nodes and briefs (the review console), each audited, locked and stale-checked.

Every decision goes through here, whether it comes from the review screen, a bulk
action or a command: the same rules, the same audit rows. Two editors cannot
clobber each other: a node under review carries an expiring lock (Redis), and
every write names the brief revision the editor saw, so a form opened before
someone else's change is refused instead of overwriting it. The locks are in
remix.review_locks, a brief's fields and diff in remix.brief_content.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_log_record
from kmeme.ai.offline import brief_placeholders
from kmeme.errors import ApplicationError
from remix.brief_content import BRIEF_FIELDS, brief_clean_content
from remix.cache import node_cache_invalidate
from remix.models import (
    AnalysisStatus,
    BriefSource,
    Layer,
    NodeStatus,
    RemixBrief,
    RemixNode,
    ReviewStatus,
    VideoAnalysis,
)
from remix.prompt_quality import brief_decision_record
from remix.review_locks import review_lock_get, review_lock_release, review_lock_require
from remix.services import analysis_record, brief_create, node_analysis_start, node_transition

# --- Helpers ---------------------------------------------------------------------------------------------------------


def _locked_brief(brief: RemixBrief, expected_revision: int | None) -> RemixBrief:
    current = RemixBrief.objects.select_for_update().select_related("node").get(pk=brief.pk)
    if expected_revision is not None and current.revision != expected_revision:
        raise ApplicationError(
            _(
                "This brief changed since you opened it (someone else saved it). Reload to see their version; "
                "your changes were not saved."
            ),
            code="stale_object",
            status_code=409,
            details={"your_revision": expected_revision, "current_revision": current.revision},
        )
    return current


def _require_current(brief: RemixBrief) -> None:
    latest = brief.node.briefs.order_by("-version").values_list("pk", flat=True).first()
    if latest != brief.pk:
        raise ApplicationError(
            _("Only the latest version of a brief can be reviewed."), code="brief_superseded", status_code=409
        )


def _require_master_or_moderation(node: RemixNode, action: str) -> None:
    if node.layer == Layer.FORK and action not in ("reject", "unpublish"):
        raise ApplicationError(
            _("Forks belong to their creators: editors can only reject or unpublish them."),
            code="fork_read_only",
            status_code=403,
        )


# --- Decisions -----------------------------------------------------------------------------------------------------


@transaction.atomic
def brief_edit(*, brief: RemixBrief, editor: User, content: dict[str, Any], expected_revision: int) -> RemixBrief:
    """Save the editor's version of a brief (kept apart from the generated one)."""
    review_lock_require(node=brief.node, editor=editor)
    brief = _locked_brief(brief, expected_revision)
    _require_current(brief)
    _require_master_or_moderation(brief.node, "edit")
    if brief.review_status != ReviewStatus.PENDING:
        raise ApplicationError(
            _("Only a brief awaiting review can be edited."), code="brief_not_pending", status_code=409
        )
    content = brief_clean_content(content)
    before = brief.content
    if content == before:
        return brief
    brief.edited = content
    brief.revision += 1
    brief.save(update_fields=["edited", "revision", "updated_at"])
    node_cache_invalidate(node=brief.node)
    changed = {
        f: {"before": before.get(f), "after": content.get(f)} for f in BRIEF_FIELDS if before.get(f) != content.get(f)
    }
    audit_log_record(
        actor=editor,
        action="brief.edit",
        target=brief.node,
        details={"brief_version": brief.version, "changes": changed},
    )
    return brief


def _refuse_placeholders(content: dict[str, Any], what: str) -> None:
    """A rule-based draft's placeholders ("[규칙 기반 초안 · AI 작성 아님]", "… 채워 주세요") never reach readers."""
    fields = brief_placeholders(content)
    if fields:
        message = {
            "approved": _(
                "The brief cannot be approved while it still holds the draft's placeholders: fill in or rewrite "
                "%(fields)s."
            ),
            "published": _(
                "The brief cannot be published while it still holds the draft's placeholders: fill in or rewrite "
                "%(fields)s."
            ),
        }[what]
        raise ApplicationError(
            message % {"fields": ", ".join(fields)},
            code="brief_has_placeholders",
            status_code=409,
            details={"fields": fields},
        )


def _brief_decide(
    brief: RemixBrief, editor: User, *, expected_revision: int | None, review_status: str, notes: str, action: str
) -> RemixBrief:
    """Record a review decision on the current, pending brief (caller holds the node lock and a transaction)."""
    brief = _locked_brief(brief, expected_revision)
    _require_current(brief)
    _require_master_or_moderation(brief.node, action)
    if brief.review_status != ReviewStatus.PENDING:
        raise ApplicationError(
            _("This brief is already %(lower)s.") % {"lower": brief.get_review_status_display().lower()},
            code="brief_not_pending",
            status_code=409,
        )
    brief.review_status = review_status
    brief.reviewer, brief.reviewed_at, brief.review_notes = editor, timezone.now(), notes
    brief.revision += 1
    brief.save(update_fields=["review_status", "reviewer", "reviewed_at", "review_notes", "revision", "updated_at"])
    lock = review_lock_get(node=brief.node)  # since when this editor has been on it: the review's time
    started = lock.taken if lock is not None and lock.user_id == editor.pk else None
    brief_decision_record(brief=brief, editor=editor, started_at=started)  # which prompts editors trust
    return brief


@transaction.atomic
def brief_approve(
    *, brief: RemixBrief, editor: User, expected_revision: int, content: dict[str, Any] | None = None, notes: str = ""
) -> RemixBrief:
    """Approve the brief (with the editor's edits, if given): the node moves to approved."""
    if content is not None:
        brief = brief_edit(brief=brief, editor=editor, content=content, expected_revision=expected_revision)
        expected_revision = brief.revision
    else:
        review_lock_require(node=brief.node, editor=editor)
    _refuse_placeholders(brief.content, "approved")
    brief = _brief_decide(
        brief,
        editor,
        expected_revision=expected_revision,
        review_status=ReviewStatus.APPROVED,
        notes=notes,
        action="approve",
    )
    node_transition(node=brief.node, to=NodeStatus.APPROVED, actor=editor, reason="brief approved")
    audit_log_record(
        actor=editor,
        action="brief.approve",
        target=brief.node,
        details={
            "brief_version": brief.version,
            "with_edits": brief.edited is not None,
            "notes": notes,
            "before": {"review_status": "pending"},
            "after": {"review_status": "approved"},
        },
    )
    return brief


@transaction.atomic
def brief_reject(*, brief: RemixBrief, editor: User, reason: str, expected_revision: int | None) -> RemixBrief:
    """Reject with a reason (required): the node moves to rejected."""
    if not reason.strip():
        raise ApplicationError(_("Say why the brief is rejected."), code="reason_required")
    review_lock_require(node=brief.node, editor=editor)
    brief = _brief_decide(
        brief,
        editor,
        expected_revision=expected_revision,
        review_status=ReviewStatus.REJECTED,
        notes=reason.strip(),
        action="reject",
    )
    node_transition(node=brief.node, to=NodeStatus.REJECTED, actor=editor, reason=reason.strip())
    audit_log_record(
        actor=editor,
        action="brief.reject",
        target=brief.node,
        details={
            "brief_version": brief.version,
            "reason": reason.strip(),
            "before": {"review_status": "pending"},
            "after": {"review_status": "rejected"},
        },
    )
    return brief


@transaction.atomic
def brief_request_regeneration(*, brief: RemixBrief, editor: User, notes: str, expected_revision: int | None) -> int:
    """Send the brief back to be written again with the editor's notes. Returns the job id (exactly one job)."""
    if not notes.strip():
        raise ApplicationError(_("Tell the writer what to change."), code="notes_required")
    review_lock_require(node=brief.node, editor=editor)
    brief = _brief_decide(
        brief,
        editor,
        expected_revision=expected_revision,
        review_status=ReviewStatus.REGENERATION_REQUESTED,
        notes=notes.strip(),
        action="regenerate",
    )
    job_id = node_analysis_start(
        node=brief.node, actor=editor, reason="brief regeneration requested", brief_only=True, notes=notes.strip()
    )
    audit_log_record(
        actor=editor,
        action="brief.request_regeneration",
        target=brief.node,
        details={
            "brief_version": brief.version,
            "notes": notes.strip(),
            "job_id": job_id,
        },
    )
    review_lock_release(node=brief.node, editor=editor)
    return job_id


@transaction.atomic
def node_publish(*, node: RemixNode, editor: User) -> RemixNode:
    """Approved master → published."""
    review_lock_require(node=node, editor=editor)
    _require_master_or_moderation(node, "publish")
    approved = node.briefs.filter(review_status=ReviewStatus.APPROVED).order_by("-version").first()
    if approved is not None:
        _refuse_placeholders(approved.content, "published")
    node_transition(node=node, to=NodeStatus.PUBLISHED, actor=editor, reason="published by an editor")
    audit_log_record(
        actor=editor,
        action="node.publish",
        target=node,
        details={"before": {"status": "approved"}, "after": {"status": "published"}},
    )
    return node


@transaction.atomic
def node_unpublish(*, node: RemixNode, editor: User, reason: str = "") -> RemixNode:
    """Take a published node off the public API (back to approved; a fork is rejected instead)."""
    review_lock_require(node=node, editor=editor)
    if node.status != NodeStatus.PUBLISHED:
        # The workflow lets other states reach approved or rejected too; "unpublish" must not be a way there.
        raise ApplicationError(_("Only a published node can be unpublished."), code="not_published", status_code=409)
    target = NodeStatus.REJECTED if node.layer == Layer.FORK else NodeStatus.APPROVED
    if node.layer == Layer.FORK and not reason.strip():
        raise ApplicationError(_("Say why the fork is taken down."), code="reason_required")
    node_transition(node=node, to=target, actor=editor, reason=reason or "unpublished by an editor")
    audit_log_record(
        actor=editor,
        action="node.unpublish",
        target=node,
        details={"before": {"status": "published"}, "after": {"status": target}, "reason": reason},
    )
    return node


@transaction.atomic
def analysis_fill(
    *,
    node: RemixNode,
    editor: User,
    duration_s: Decimal | float,
    bpm: Decimal | float | None,
    commerce_category: str,
    hook: str = "",
    keyframes: list[dict[str, Any]] | None = None,
) -> VideoAnalysis:
    """A manual-review item: the editor supplies the analysis the AI could not."""
    review_lock_require(node=node, editor=editor)
    if node.status != NodeStatus.NEEDS_REVIEW:
        raise ApplicationError(
            _("Only nodes waiting for manual review take a manual analysis."),
            code="not_in_manual_review",
            status_code=409,
        )
    analysis = analysis_record(
        node=node,
        provider="manual",
        status=AnalysisStatus.OK,
        model="",
        duration_s=duration_s,
        bpm=bpm,
        keyframes=keyframes or [],
        hook=hook,
        commerce_category=commerce_category,
        probe=node.probe,
    )
    audit_log_record(
        actor=editor,
        action="analysis.fill",
        target=node,
        details={
            "duration_s": str(duration_s),
            "bpm": None if bpm is None else str(bpm),
            "commerce_category": commerce_category,
            "hook": hook,
            "keyframes": len(keyframes or []),
        },
    )
    return analysis


@transaction.atomic
def brief_write(*, node: RemixNode, editor: User, content: dict[str, Any]) -> RemixBrief:
    """A brief written by the editor (source `editor`), e.g. for a manual-review item; it awaits approval."""
    review_lock_require(node=node, editor=editor)
    _require_master_or_moderation(node, "write")
    brief = brief_create(node=node, content=brief_clean_content(content), source=BriefSource.EDITOR)
    if node.status == NodeStatus.NEEDS_REVIEW:
        node_transition(node=node, to=NodeStatus.IN_REVIEW, actor=editor, reason="brief written by an editor")
    audit_log_record(actor=editor, action="brief.write", target=node, details={"brief_version": brief.version})
    return brief


def brief_generate_for_review(*, node: RemixNode, editor: User, notes: str = "") -> int:
    """From a manual-review item: have the brief written (Claude, or rule-based) in the background."""
    review_lock_require(node=node, editor=editor)
    if not node.analyses.filter(status=AnalysisStatus.OK).exists():
        raise ApplicationError(_("Fill in the analysis first: a brief is written from it."), code="analysis_required")
    with transaction.atomic():
        job_id = node_analysis_start(
            node=node, actor=editor, reason="brief generation requested", brief_only=True, notes=notes
        )
        audit_log_record(actor=editor, action="brief.generate", target=node, details={"notes": notes, "job_id": job_id})
    review_lock_release(node=node, editor=editor)
    return job_id
