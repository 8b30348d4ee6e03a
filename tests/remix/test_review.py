"""Editors' decisions: state rules, locks, stale forms, regeneration jobs and the audit trail."""

from __future__ import annotations

import json

import pytest
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts.models import AuditLog, Role
from kmeme.errors import ApplicationError
from remix import brief_content, review, review_locks
from remix.models import BriefSource, Layer, NodeStatus, RemixNode, ReviewStatus
from remix.pipeline import brief_regenerate_run
from remix.services import analysis_record, node_create, node_transition
from tests.accounts.factories import UserFactory
from tests.remix.factories import BRIEF, node_in_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor():
    return UserFactory(role=Role.EDITOR, display_name="Editor Kim")


@pytest.fixture
def other_editor():
    return UserFactory(role=Role.EDITOR, display_name="Editor Park")


def _code(call) -> str:
    with pytest.raises(ApplicationError) as excinfo:
        call()
    return excinfo.value.code


def test_approve_moves_the_node_and_audits_before_and_after(editor):
    node, brief = node_in_review()
    review.brief_approve(brief=brief, editor=editor, expected_revision=brief.revision, notes="good")
    brief.refresh_from_db()
    node.refresh_from_db()
    assert (brief.review_status, brief.reviewer, node.status) == (ReviewStatus.APPROVED, editor, NodeStatus.APPROVED)
    entry = AuditLog.objects.get(action="brief.approve")
    assert entry.actor == editor and entry.details["before"] == {"review_status": "pending"}
    assert entry.details["after"] == {"review_status": "approved"}


def test_approve_with_edits_keeps_the_generated_version_apart(editor):
    _node, brief = node_in_review()
    edited = {**BRIEF, "caption": "성수에서 찍은 라떼 전환 ☕"}
    review.brief_approve(brief=brief, editor=editor, expected_revision=brief.revision, content=edited)
    brief.refresh_from_db()
    assert brief.generated["caption"] == "성수 카페 투어" and brief.content["caption"] == edited["caption"]
    change = AuditLog.objects.get(action="brief.edit").details["changes"]
    assert change == {"caption": {"before": "성수 카페 투어", "after": edited["caption"]}}
    assert [row["field"] for row in brief_content.brief_diff(brief=brief) if row["changed"]] == ["caption"]


def test_an_edit_that_breaks_the_schema_is_refused(editor):
    _node, brief = node_in_review()
    assert (
        _code(
            lambda: review.brief_edit(
                brief=brief, editor=editor, content={**BRIEF, "hashtags": ["nohash"]}, expected_revision=brief.revision
            )
        )
        == "invalid_brief"
    )


def test_a_stale_form_is_refused_instead_of_overwriting(editor):
    _node, brief = node_in_review()
    opened_at = brief.revision
    review.brief_edit(brief=brief, editor=editor, content={**BRIEF, "hook": "first save"}, expected_revision=opened_at)
    code = _code(
        lambda: review.brief_edit(
            brief=brief, editor=editor, content={**BRIEF, "hook": "second tab"}, expected_revision=opened_at
        )
    )
    assert code == "stale_object"
    brief.refresh_from_db()
    assert brief.content["hook"] == "first save"


def test_a_second_editor_cannot_save_over_the_lock_holder_until_taking_over(editor, other_editor):
    node, brief = node_in_review()
    assert review_locks.review_lock_acquire(node=node, editor=editor)[0]
    held, lock = review_locks.review_lock_acquire(node=node, editor=other_editor)
    assert not held and lock.user_name == "Editor Kim"
    assert (
        _code(lambda: review.brief_approve(brief=brief, editor=other_editor, expected_revision=brief.revision))
        == "locked"
    )
    review_locks.review_lock_takeover(node=node, editor=other_editor)
    assert AuditLog.objects.get(action="review.lock_takeover").details == {"from": "Editor Kim", "to": "Editor Park"}
    assert (
        _code(lambda: review.brief_edit(brief=brief, editor=editor, content=BRIEF, expected_revision=brief.revision))
        == "locked"
    )
    review.brief_approve(brief=brief, editor=other_editor, expected_revision=brief.revision)


def test_reject_needs_a_reason(editor):
    node, brief = node_in_review()
    assert _code(lambda: review.brief_reject(brief=brief, editor=editor, reason="  ", expected_revision=None)) == (
        "reason_required"
    )
    review.brief_reject(brief=brief, editor=editor, reason="uses copyrighted music", expected_revision=None)
    node.refresh_from_db()
    brief.refresh_from_db()
    assert node.status == NodeStatus.REJECTED and brief.review_notes == "uses copyrighted music"
    assert AuditLog.objects.get(action="brief.reject").details["reason"] == "uses copyrighted music"


def test_regeneration_enqueues_exactly_one_job_and_the_new_version_sees_the_notes(editor, settings, tmp_path):
    node, brief = node_in_review()
    job_id = review.brief_request_regeneration(
        brief=brief, editor=editor, notes="부산 배경으로", expected_revision=None
    )
    assert ProcrastinateJob.objects.filter(task_name="remix.tasks.brief_regenerate").count() == 1
    args = ProcrastinateJob.objects.get(id=job_id).args
    assert args == {"node_id": node.pk, "notes": "부산 배경으로", "request_id": ""}  # queued outside a request
    assert (
        _code(
            lambda: review.brief_request_regeneration(brief=brief, editor=editor, notes="again", expected_revision=None)
        )
        == "brief_not_pending"
    )
    assert ProcrastinateJob.objects.filter(task_name="remix.tasks.brief_regenerate").count() == 1

    assert brief_regenerate_run(node_id=node.pk, notes="부산 배경으로") == NodeStatus.IN_REVIEW
    new = node.briefs.order_by("-version").first()
    assert new.version == 2 and new.review_status == ReviewStatus.PENDING
    assert new.regeneration_notes == "부산 배경으로"  # kept with the version it was given for…
    assert "부산 배경으로" not in json.dumps(new.content, ensure_ascii=False)  # …and never in what readers see


def test_publish_only_approved_masters_and_unpublish_them(editor):
    node, brief = node_in_review()
    assert _code(lambda: review.node_publish(node=node, editor=editor)) == "invalid_transition"
    review.brief_approve(brief=brief, editor=editor, expected_revision=brief.revision)
    review.node_publish(node=node, editor=editor)
    node.refresh_from_db()
    assert node.status == NodeStatus.PUBLISHED and node.published_at is not None
    review.node_unpublish(node=node, editor=editor)
    node.refresh_from_db()
    assert node.status == NodeStatus.APPROVED and node.published_at is None
    assert list(AuditLog.objects.filter(action__startswith="node.p").values_list("action", flat=True)) == [
        "node.publish"
    ]


def test_forks_are_only_moderated_by_editors(editor):
    master, _ = node_in_review(title="Master")
    fork, fork_brief = node_in_review(title="Fork", layer=Layer.FORK, parent=master)
    assert (
        _code(lambda: review.brief_approve(brief=fork_brief, editor=editor, expected_revision=fork_brief.revision))
        == "fork_read_only"
    )
    review.brief_reject(brief=fork_brief, editor=editor, reason="spam", expected_revision=None)
    assert RemixNode.objects.get(pk=fork.pk).status == NodeStatus.REJECTED


def test_a_manual_review_item_gets_an_analysis_then_a_brief(editor):
    node = node_create(title="Fallback", source_url="https://cdn.example.com/v.mp4", owner=None)
    node_transition(node=node, to=NodeStatus.ANALYZING, actor=None)
    analysis_record(node=node, provider="probe", status="fallback", duration_s=15, error="no key")
    node_transition(node=node, to=NodeStatus.NEEDS_REVIEW, actor=None)
    assert _code(lambda: review.brief_generate_for_review(node=node, editor=editor)) == "analysis_required"

    review.analysis_fill(
        node=node,
        editor=editor,
        duration_s=12.5,
        bpm=100,
        commerce_category="beauty",
        hook="mirror wipe",
        keyframes=[{"t": 0.0, "description": "mirror"}],
    )
    review.brief_generate_for_review(node=node, editor=editor, notes="짧게")
    assert brief_regenerate_run(node_id=node.pk, notes="짧게") == NodeStatus.IN_REVIEW
    brief = node.briefs.get()
    assert brief.source == BriefSource.RULE_BASED  # no Claude key here; the source says so
    assert "100 BPM" in brief.content["music_notes"]


def test_an_editor_can_write_the_brief_themselves(editor):
    node = node_create(title="Fallback", source_url="https://cdn.example.com/w.mp4", owner=None)
    node_transition(node=node, to=NodeStatus.ANALYZING, actor=None)
    node_transition(node=node, to=NodeStatus.NEEDS_REVIEW, actor=None)
    brief = review.brief_write(node=node, editor=editor, content=BRIEF)
    node.refresh_from_db()
    assert brief.source == BriefSource.EDITOR and node.status == NodeStatus.IN_REVIEW
