"""What editors found in a day of review (issue 15), tried through the console as they work: notes never reach the
public page, a rule-based draft's placeholders cannot be approved or published, approving unchanged is not an edit,
and a node takes its commerce category from its analysis."""

from __future__ import annotations

import json

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import AuditLog, Role
from remix import review
from remix.models import BriefSource, NodeStatus, RemixBrief, RemixNode, ReviewStatus
from remix.pipeline import brief_regenerate_run
from remix.services import analysis_record, brief_create, node_create, node_transition, node_update
from tests.accounts.factories import UserFactory
from tests.remix.factories import BRIEF, brief_post, node_in_review

pytestmark = pytest.mark.django_db

NOTE = "내부 메모: 광고주가 싫어함, 절대 공개 금지"


@pytest.fixture
def editor():
    return UserFactory(role=Role.EDITOR, display_name="김에디터")


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def _review_url(node) -> str:
    return reverse("admin:remix_remixnode_review", args=[node.pk])


def _rule_based_in_review(title: str = "Fallback latte") -> tuple[RemixNode, RemixBrief]:
    """The AI is off: the analysis fell back and the rule-based writer drafted the brief."""
    node = node_create(title=title, source_url=f"https://cdn.example.com/{abs(hash(title))}.mp4", owner=None)
    node_transition(node=node, to=NodeStatus.ANALYZING, actor=None)
    analysis_record(node=node, provider="probe", status="fallback", duration_s=15, error="no AI key configured")
    brief_regenerate_run(node_id=node.pk, notes="")
    node.refresh_from_db()
    return node, node.briefs.order_by("-version").first()


def test_an_editors_notes_never_reach_the_public_page(settings, editor, editor_client):
    settings.ANTHROPIC_API_KEY = ""  # the AI is off: the rule-based writer drafts every version
    node, brief = _rule_based_in_review()
    response = editor_client.post(
        _review_url(node), {"action": "regenerate", "decision-reason": NOTE, "brief-revision": brief.revision}
    )
    assert response.status_code == 302
    brief_regenerate_run(node_id=node.pk, notes=NOTE)  # the job, as the worker runs it
    second = node.briefs.order_by("-version").first()
    assert second.version == 2 and second.regeneration_notes == NOTE
    assert NOTE not in json.dumps(second.content, ensure_ascii=False)

    filled = {"concept": "성수동 라떼 버전", "cultural_notes": "성수동 카페 소품으로"}
    response = editor_client.post(_review_url(node), brief_post(second, "approve_with_edits", **filled))
    assert response.status_code == 302, response.content.decode()[:300]
    review.node_publish(node=RemixNode.objects.get(pk=node.pk), editor=editor)
    public = json.dumps(APIClient().get(f"/api/v1/nodes/{node.public_id}").json(), ensure_ascii=False)
    page = APIClient().get(f"/recipes/{node.public_id}/").content.decode()
    guide = APIClient().get(f"/api/v1/nodes/{node.public_id}/guide.txt").content.decode()
    assert "성수동 카페 소품으로" in public  # the editor's own text is there; the note is not
    for text in (public, page, guide):
        assert "광고주가 싫어함" not in text


def test_a_draft_with_placeholders_is_refused_on_approve_bulk_approve_and_publish(editor, editor_client):
    node, brief = _rule_based_in_review()
    page = editor_client.post(_review_url(node), {"action": "approve", **brief_post(brief, "approve")})
    assert page.status_code == 200  # shown again, with the message
    text = page.content.decode()
    assert "still holds the draft&#x27;s placeholders" in text and "concept, cultural_notes" in text
    assert RemixBrief.objects.get(pk=brief.pk).review_status == ReviewStatus.PENDING

    changelist = reverse("admin:remix_remixnode_changelist")
    response = editor_client.post(
        changelist, {"action": "approve_selected", "_selected_action": [node.pk]}, follow=True
    )
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("placeholders" in m and node.title in m for m in said), said
    assert RemixBrief.objects.get(pk=brief.pk).review_status == ReviewStatus.PENDING

    # A draft approved before this rule existed still cannot be published as it stands.
    RemixBrief.objects.filter(pk=brief.pk).update(review_status=ReviewStatus.APPROVED)
    RemixNode.objects.filter(pk=node.pk).update(status=NodeStatus.APPROVED)
    with pytest.raises(Exception, match="cannot be published") as refused:
        review.node_publish(node=RemixNode.objects.get(pk=node.pk), editor=editor)
    assert refused.value.code == "brief_has_placeholders" and refused.value.details["fields"] == [
        "concept",
        "cultural_notes",
    ]
    assert RemixNode.objects.get(pk=node.pk).status == NodeStatus.APPROVED


def test_approving_unchanged_from_a_browser_is_not_an_edit(editor, editor_client):
    node, brief = node_in_review(title="Unchanged")
    posted = brief_post(brief, "approve_with_edits")
    # What a browser sends back: CRLF line endings, and the script's empty last part without its trailing space.
    posted["brief-script"] = posted["brief-script"].replace("\n", "\r\n").replace(" | \r\n", " |\r\n") + "\r\n"
    posted["brief-cultural_notes"] = "\r\n"
    response = editor_client.post(_review_url(node), posted, follow=True)
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Approved “Unchanged”." in said, said
    brief.refresh_from_db()
    assert brief.review_status == ReviewStatus.APPROVED and brief.edited is None
    assert not AuditLog.objects.filter(action="brief.edit").exists()

    other, other_brief = node_in_review(title="Really edited")
    edited = brief_post(other_brief, "approve_with_edits", hook="컵을 돌리면 성수동이 된다")
    editor_client.post(_review_url(other), edited)
    other_brief.refresh_from_db()
    assert other_brief.edited["hook"] == "컵을 돌리면 성수동이 된다"


def test_a_node_takes_its_commerce_category_from_its_analysis_unless_an_editor_chose_one(editor):
    node = node_create(title="Category from AI", source_url="https://www.tiktok.com/@a/video/77", owner=None)
    node_transition(node=node, to=NodeStatus.ANALYZING, actor=None)
    analysis_record(node=node, provider="gemini", status="ok", duration_s=9, bpm=100, commerce_category="beauty")
    node.refresh_from_db()
    assert node.commerce_category == "beauty"
    assert AuditLog.objects.filter(action="node.categorize", target_id=str(node.pk)).exists()
    brief = brief_create(node=node, content=BRIEF, source=BriefSource.AI, model="claude-sonnet-5-5")
    node_transition(node=node, to=NodeStatus.IN_REVIEW, actor=None)
    review.brief_approve(brief=brief, editor=editor, expected_revision=brief.revision)
    review.node_publish(node=RemixNode.objects.get(pk=node.pk), editor=editor)
    listed = APIClient().get("/api/v1/nodes", {"category": "beauty"}).json()["results"]
    assert [n["title"] for n in listed] == ["Category from AI"]

    # An editor's choice stands: a later analysis does not overwrite it.
    node_update(node=RemixNode.objects.get(pk=node.pk), editor=editor, commerce_category="food")
    analysis_record(node=node, provider="manual", status="ok", duration_s=9, bpm=100, commerce_category="fashion")
    assert RemixNode.objects.get(pk=node.pk).commerce_category == "food"


def _needs_review_with_probe(title: str = "Measured") -> RemixNode:
    node = node_create(title=title, source_url=f"https://cdn.example.com/{abs(hash(title))}.mp4", owner=None)
    node_transition(node=node, to=NodeStatus.ANALYZING, actor=None)
    RemixNode.objects.filter(pk=node.pk).update(
        probe={"duration_s": 16.52, "bpm": 124.0, "keyframes": [{"t": 0.0}, {"t": 8.1}], "fps": 30}
    )
    analysis_record(node=node, provider="probe", status="fallback", duration_s=16.52, error="no AI key configured")
    node_transition(node=node, to=NodeStatus.NEEDS_REVIEW, actor=None)
    return RemixNode.objects.get(pk=node.pk)


def test_the_manual_analysis_starts_from_the_measurements_and_reads_a_decimal_comma(editor_client):
    node = _needs_review_with_probe()
    page = editor_client.get(_review_url(node)).content.decode()
    assert 'name="analysis-duration_s" value="16.52"' in page and "8.10 | " in page

    base = {"action": "fill_analysis", "analysis-bpm": "124", "analysis-commerce_category": "food"}
    slip = editor_client.post(_review_url(node), {**base, "analysis-duration_s": "165"}).content.decode()
    assert "The video measures 16.52 s; 165 s is too far from that" in slip
    assert node.analyses.filter(provider="manual").count() == 0
    thousands = editor_client.post(_review_url(node), {**base, "analysis-duration_s": "1,650.5"}).content.decode()
    assert "without thousands separators" in thousands
    response = editor_client.post(
        _review_url(node), {**base, "analysis-duration_s": "16,5", "analysis-keyframes": "0 | cup\n8,1 | reveal"}
    )
    assert response.status_code == 302
    manual = node.analyses.get(provider="manual")
    assert float(manual.duration_s) == 16.5 and [k["t"] for k in manual.keyframes] == [0.0, 8.1]


def test_schema_errors_show_on_their_field_counted_from_one(editor_client):
    node, brief = node_in_review(title="Schema errors")
    posted = brief_post(brief, "save")
    posted["brief-hashtags"] = "#ok no-hash"
    page = editor_client.post(_review_url(node), posted).content.decode()
    assert "Hashtag 2: String should match pattern" in page
    assert "does not match the schema" not in page and "hashtags.1" not in page
    assert RemixBrief.objects.get(pk=brief.pk).edited is None


def test_a_decided_brief_offers_no_impossible_decision_and_enter_decides_nothing(editor, editor_client):
    node, brief = node_in_review(title="Already approved")
    review.brief_approve(brief=brief, editor=editor, expected_revision=brief.revision)
    page = editor_client.get(_review_url(node)).content.decode()
    assert 'value="reject"' not in page and 'value="approve"' not in page
    form = page[page.index('id="brief-form"') :]
    first_button = form[form.index("<button") : form.index(">", form.index("<button")) + 1]
    assert "disabled" in first_button  # implicit submission (Enter in a field) goes to a disabled button


def test_history_reads_in_words_and_the_diff_shows_only_what_changed(editor, editor_client):
    node, brief = node_in_review(title="In words")
    review.brief_approve(
        brief=brief, editor=editor, expected_revision=brief.revision, content={**BRIEF, "caption": "새 캡션"}
    )
    page = editor_client.get(_review_url(node)).content.decode()
    assert "<strong>김에디터</strong> approved v1 with edits" in page
    assert "<strong>김에디터</strong> edited v1: 1 edit (caption)" in page
    assert "<strong>The system</strong> moved it from analyzing to in review" in page
    assert ">brief.approve<" not in page  # the code only in a tooltip
    diff = page[page.index("AI's version vs the editor's") :]
    assert "1 field changed by the editor; 7 as the writer wrote them." in diff
    assert diff.count('<tr class="changed">') == 1 and "(unchanged)" not in diff
