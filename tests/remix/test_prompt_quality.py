"""Which prompts editors trust, tried as the team would: editors decide on briefs written with two prompt versions;
the admin's Prompt quality page shows, per prompt and model, how many were approved as written, how far editors
moved the rest, what they rejected or sent back, and which fields they edit most; the corrections export gives
(input, AI output, final) pairs with personal data scrubbed."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import Role
from remix import review
from remix.models import BriefDecision, BriefSource, DecisionKind, NodeStatus
from remix.prompt_quality import brief_changes, prompt_quality
from remix.services import analysis_record, brief_create, node_create, node_transition
from tests.accounts.factories import UserFactory
from tests.remix.factories import AI_BRIEF

pytestmark = pytest.mark.django_db


def _brief_in_review(title: str, *, prompt: str, model: str = "claude-sonnet-5-5", owner=None, content=None):
    node = node_create(title=title, source_url=f"https://www.tiktok.com/@a/video/{abs(hash(title))}", owner=owner)
    node_transition(node=node, to=NodeStatus.ANALYZING, actor=None)
    analysis_record(node=node, provider="gemini", status="ok", duration_s=7, bpm=128, commerce_category="food")
    brief = brief_create(
        node=node, content=content or AI_BRIEF, source=BriefSource.AI, model=model, prompt_version=prompt
    )
    node_transition(node=node, to=NodeStatus.IN_REVIEW, actor=None)
    return brief


@pytest.fixture
def editor():
    return UserFactory(role=Role.EDITOR, display_name="김에디터")


def _decide(editor) -> None:
    """brief.v1: 1 approved as written, 1 approved with the caption and hook rewritten, 1 rejected, 1 sent back.
    brief.v2: 2 approved as written."""
    as_written = _brief_in_review("v1 as written", prompt="brief.v1")
    review.brief_approve(brief=as_written, editor=editor, expected_revision=as_written.revision)
    edited = _brief_in_review("v1 edited", prompt="brief.v1")
    review.brief_approve(
        brief=edited,
        editor=editor,
        expected_revision=edited.revision,
        content={**AI_BRIEF, "caption": "색이 바뀌는 순간", "hook": "컵을 돌리면 방이 바뀐다"},
    )
    rejected = _brief_in_review("v1 rejected", prompt="brief.v1")
    review.brief_reject(brief=rejected, editor=editor, reason="영상과 무관", expected_revision=rejected.revision)
    sent_back = _brief_in_review("v1 sent back", prompt="brief.v1")
    review.brief_request_regeneration(
        brief=sent_back, editor=editor, notes="훅을 더 짧게", expected_revision=sent_back.revision
    )
    for title in ("v2 one", "v2 two"):
        brief = _brief_in_review(title, prompt="brief.v2")
        review.brief_approve(brief=brief, editor=editor, expected_revision=brief.revision)


def test_every_decision_is_measured_against_the_writers_version(editor):
    _decide(editor)
    edited = BriefDecision.objects.get(brief__node__title="v1 edited")
    assert edited.decision == DecisionKind.APPROVED and sorted(edited.fields_changed) == ["caption", "hook"]
    assert edited.edit_distance == 4  # " 🎨" dropped from the caption; "색 " dropped from the hook
    assert edited.editor == editor and edited.prompt_version == "brief.v1" and edited.queue_seconds >= 0
    unedited = BriefDecision.objects.get(brief__node__title="v1 as written")
    assert unedited.fields_changed == [] and unedited.edit_distance == 0
    assert BriefDecision.objects.get(brief__node__title="v1 sent back").decision == DecisionKind.SENT_BACK

    rows = {row.prompt_version: row for row in prompt_quality()}
    v1, v2 = rows["brief.v1"], rows["brief.v2"]
    assert (v1.reviewed, v1.approved, v1.approved_unedited, v1.rejected, v1.sent_back) == (4, 2, 1, 1, 1)
    assert v1.unedited_rate == 0.5 and v1.rejection_rate == 0.25 and v1.send_back_rate == 0.25
    assert v1.mean_edit_distance == pytest.approx(2.0) and sorted(v1.top_fields) == [("caption", 1), ("hook", 1)]
    assert (v2.reviewed, v2.unedited_rate, v2.top_fields) == (2, 1.0, [])


def test_a_refused_decision_records_nothing(editor):
    brief = _brief_in_review("stale", prompt="brief.v1")
    with pytest.raises(Exception, match="changed"):
        review.brief_approve(brief=brief, editor=editor, expected_revision=brief.revision - 1)
    assert not BriefDecision.objects.exists()


def test_line_endings_and_trailing_space_are_not_edits():
    generated = {**AI_BRIEF, "cultural_notes": "한국 카페 소품으로 교체\n두 번째 줄"}
    final = {**generated, "cultural_notes": "한국 카페 소품으로 교체  \r\n두 번째 줄\r\n"}
    assert brief_changes(generated=generated, final=final) == ([], 0, brief_changes(generated=generated, final=None)[2])


def test_the_page_shows_the_numbers_to_editors_and_they_move_with_a_decision(editor, editor_session):
    url = reverse("admin:remix_prompt_quality")
    assert "No decisions yet" in editor_session.get(url).content.decode()
    _decide(editor)
    page = editor_session.get(url).content.decode()
    assert "brief.v1 · claude-sonnet-5-5" in page and "brief.v2 · claude-sonnet-5-5" in page
    assert '50 % <span class="mini">(1 of 2)</span>' in page and "caption (1)" in page
    another = _brief_in_review("v2 three", prompt="brief.v2")
    review.brief_reject(brief=another, editor=editor, reason="무관", expected_revision=another.revision)
    assert [r.reviewed for r in prompt_quality() if r.prompt_version == "brief.v2"] == [3]
    changelist = editor_session.get(reverse("admin:remix_briefdecision_changelist")).content.decode()
    assert "Prompt quality" in changelist and "v2 three" in changelist


def test_corrections_export_pairs_with_personal_data_scrubbed(editor, tmp_path):
    owner = UserFactory(role=Role.CREATOR, email="mina.pairs@example.com", display_name="Mina Pairs")
    leaky = {**AI_BRIEF, "caption": "문의 010-1234-5678 mina.pairs@example.com", "cultural_notes": "Mina Pairs 추천"}
    brief = _brief_in_review("Mina Pairs의 카페", prompt="brief.v1", owner=owner, content=leaky)
    review.brief_approve(
        brief=brief, editor=editor, expected_revision=brief.revision, content={**leaky, "hook": "짧은 훅"}
    )
    rejected = _brief_in_review("another", prompt="brief.v1")
    review.brief_reject(brief=rejected, editor=editor, reason="무관", expected_revision=rejected.revision)
    out, err = tmp_path / "corrections.jsonl", StringIO()
    call_command("export_corrections", "--prompt", "brief.v1", "--out", str(out), stderr=err)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    text = out.read_text()
    assert "010-1234-5678" not in text and "mina.pairs@example.com" not in text and "Mina Pairs" not in text
    first, second = lines
    assert first["input"]["analysis"]["bpm"] == 128 and first["final"]["hook"] == "짧은 훅"
    assert first["ai_output"]["hook"] == AI_BRIEF["hook"] and first["fields_changed"] == ["hook"]
    assert second["final"] is None and second["reason"] == "무관" and second["decision"] == "rejected"
    assert "2 correction(s) of brief.v1 written" in err.getvalue() and "1 approved, 1 rejected" in err.getvalue()
    with pytest.raises(CommandError, match=r"Prompt versions with briefs: brief\.v1"):
        call_command("export_corrections", "--prompt", "brief.v9", "--out", str(tmp_path / "none.jsonl"))


def test_the_review_time_runs_from_the_editor_taking_the_node(editor, settings):
    import time

    from remix import review_locks

    brief = _brief_in_review("timed", prompt="brief.v1")
    review_locks.review_lock_acquire(node=brief.node, editor=editor)
    time.sleep(1.1)
    review.brief_approve(brief=brief, editor=editor, expected_revision=brief.revision)
    decision = BriefDecision.objects.get(brief=brief)
    assert decision.review_seconds is not None and 1 <= decision.review_seconds <= 5
    assert [r.mean_review_seconds for r in prompt_quality()] == [decision.review_seconds]
