"""The review console through Django's test client: as an editor, a creator, an admin."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditLog, Role
from remix import review, review_locks
from remix.forms import BriefForm
from remix.models import Mutation, NodeStatus, RemixBrief, RemixNode, ReviewStatus, VideoAnalysis
from remix.services import brief_create, node_create, node_transition
from tests.accounts.factories import UserFactory
from tests.remix.factories import BRIEF, brief_post, node_in_review

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:remix_remixnode_changelist"


@pytest.fixture
def editor():
    return UserFactory(role=Role.EDITOR, display_name="Editor Kim")


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def _review_url(node) -> str:
    return reverse("admin:remix_remixnode_review", args=[node.pk])


def test_the_landing_page_is_the_editors_queue(editor_client):
    node_in_review(title="Waiting brief")
    page = editor_client.get(reverse("admin:index")).content.decode()
    assert "Briefs in review" in page and "Waiting brief" in page
    assert "Manual review" in page and "AI this month" in page and "Fallback rate" in page


def test_an_editor_approves_with_an_edit_and_moves_on_to_the_next_item(editor_client, editor):
    node, brief = node_in_review(title="First")
    later, _ = node_in_review(title="Second")
    page = editor_client.get(_review_url(node)).content.decode()
    assert "성수 카페 버전" in page and "Nobody is reviewing this node" in page  # reading takes no lock
    assert review_locks.review_lock_get(node=node) is None
    response = editor_client.post(_review_url(node), brief_post(brief, "approve_with_edits", caption="새 캡션"))
    assert response.status_code == 302 and response["Location"] == _review_url(later)
    brief.refresh_from_db()
    assert brief.review_status == ReviewStatus.APPROVED and brief.content["caption"] == "새 캡션"
    assert brief.generated["caption"] == BRIEF["caption"]
    assert {"brief.edit", "brief.approve"} <= set(AuditLog.objects.values_list("action", flat=True))


def test_a_stale_form_is_refused_with_a_clear_message_and_keeps_the_editors_input(editor_client, editor):
    node, brief = node_in_review()
    stale = brief_post(brief, "save", hook="my late change")
    review.brief_edit(
        brief=brief, editor=editor, content={**BRIEF, "hook": "saved meanwhile"}, expected_revision=brief.revision
    )
    page = editor_client.post(_review_url(node), stale).content.decode()
    assert "Someone else saved this brief while you edited it" in page
    assert "my late change" in page  # the editor's text is still in the form…
    assert 'id="theirs"' in page and "saved meanwhile" in page  # …beside what the other editor saved
    brief.refresh_from_db()
    assert brief.content["hook"] == "saved meanwhile"
    # The form now carries the current revision: sending it again is a deliberate overwrite, and it goes through.
    revision = re.search(r'name="brief-revision" value="(\d+)"', page).group(1)
    assert int(revision) == brief.revision
    editor_client.post(_review_url(node), {**stale, "brief-revision": revision})
    brief.refresh_from_db()
    assert brief.content["hook"] == "my late change"


def test_a_second_editor_sees_who_holds_the_lock_and_cannot_save(client, editor):
    node, brief = node_in_review()
    review_locks.review_lock_acquire(node=node, editor=editor)
    client.force_login(UserFactory(role=Role.EDITOR, display_name="Editor Park"))
    page = client.get(_review_url(node)).content.decode()
    assert "Editor Kim</strong> has been reviewing this node since" in page
    page = client.post(_review_url(node), brief_post(brief, "approve")).content.decode()
    assert "Editor Kim is reviewing this node" in page
    assert RemixBrief.objects.get(pk=brief.pk).review_status == ReviewStatus.PENDING
    client.post(_review_url(node), {"action": "takeover"})
    assert AuditLog.objects.filter(action="review.lock_takeover").exists()


def test_reject_without_a_reason_is_refused_on_the_screen(editor_client):
    node, _brief = node_in_review()
    page = editor_client.post(_review_url(node), {"action": "reject", "decision-reason": ""}).content.decode()
    assert "Say why the brief is rejected" in page
    assert RemixNode.objects.get(pk=node.pk).status == NodeStatus.IN_REVIEW


def test_bulk_approve_goes_through_the_service_per_node_with_a_message_each(editor_client, editor):
    nodes = [node_in_review(title=f"Bulk {i}")[0] for i in range(3)]
    review_locks.review_lock_acquire(node=nodes[2], editor=UserFactory(role=Role.EDITOR, display_name="Editor Park"))
    response = editor_client.post(
        reverse(CHANGELIST), {"action": "approve_selected", ACTION_CHECKBOX_NAME: [n.pk for n in nodes]}, follow=True
    )
    page = response.content.decode()
    assert "Approved 2 nodes." in page
    assert "Not approved: “Bulk 2”: Editor Park is reviewing this node" in page
    assert [RemixNode.objects.get(pk=n.pk).status for n in nodes] == ["approved", "approved", "in_review"]
    assert AuditLog.objects.filter(action="bulk.approved").count() == 1


def test_bulk_reject_asks_once_for_the_reason(editor_client):
    nodes = [node_in_review(title=f"Spam {i}")[0] for i in range(2)]
    ids = [n.pk for n in nodes]
    page = editor_client.post(reverse(CHANGELIST), {"action": "reject_selected", ACTION_CHECKBOX_NAME: ids})
    assert "Apply to all" in page.content.decode()
    editor_client.post(
        reverse(CHANGELIST),
        {"action": "reject_selected", ACTION_CHECKBOX_NAME: ids, "apply": "1", "decision-reason": "duplicate uploads"},
    )
    assert set(RemixBrief.objects.values_list("review_notes", flat=True)) == {"duplicate uploads"}


def test_creators_and_brands_are_kept_out_and_editors_cannot_manage_users(client, editor):
    node, _ = node_in_review()
    for role in (Role.CREATOR, Role.BRAND):
        client.force_login(UserFactory(role=role))
        assert client.get(_review_url(node)).status_code == 302  # to the login page
    editor_client = client
    editor_client.force_login(editor)
    assert editor_client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert editor_client.get(reverse("admin:auth_group_changelist")).status_code == 403
    assert editor_client.get(reverse("admin:accounts_auditlog_changelist")).status_code == 200


def test_an_admin_can_do_everything_an_editor_can_and_manage_users(client):
    client.force_login(UserFactory(role=Role.ADMIN))
    node, _ = node_in_review()
    assert client.get(_review_url(node)).status_code == 200
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200


def test_an_editors_fork_page_is_read_only(editor_client):
    master, _ = node_in_review(title="Master")
    from remix.models import Layer

    fork, _ = node_in_review(title="Fork", layer=Layer.FORK, parent=master)
    page = editor_client.get(reverse("admin:remix_remixnode_change", args=[fork.pk])).content.decode()
    assert 'name="_save"' not in page
    review_page = editor_client.get(_review_url(fork)).content.decode()
    assert 'value="approve"' not in review_page and 'value="reject"' in review_page


def test_the_changelist_costs_the_same_queries_for_5_or_40_nodes(editor_client):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert editor_client.get(reverse(CHANGELIST), {"status__exact": "in_review"}).status_code == 200
        return len(ctx)

    for i in range(5):
        node_in_review(title=f"Few {i}")
    few = count()
    for i in range(35):
        node_in_review(title=f"Many {i}")
    assert count() == few


def test_the_review_page_costs_the_same_queries_however_many_versions(editor_client):
    def count(node) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert editor_client.get(_review_url(node)).status_code == 200
        return len(ctx)

    one, _ = node_in_review(title="One version")
    many, _ = node_in_review(title="Many versions")
    for _ in range(4):
        brief_create(node=many, content=BRIEF, source="ai")
    assert count(many) == count(one)


def test_a_manual_review_item_without_a_brief_can_be_written_on_the_screen(editor_client):
    from remix.services import node_create, node_transition

    node = node_create(title="Nothing yet", source_url="https://cdn.example.com/n.mp4", owner=None)
    node_transition(node=node, to=NodeStatus.ANALYZING, actor=None)
    node_transition(node=node, to=NodeStatus.NEEDS_REVIEW, actor=None)
    assert "Save my brief" in editor_client.get(_review_url(node)).content.decode()
    data = {k: v for k, v in brief_post(type("B", (), {"content": BRIEF, "revision": 0})(), "write_brief").items()}
    assert editor_client.post(_review_url(node), data).status_code == 302
    node.refresh_from_db()
    assert node.status == NodeStatus.IN_REVIEW and node.briefs.get().source == "editor"


# --- Hostile input on the review screen: a 404 page or the screen again with a message, never a 500 ----------------


def _manual_review_item(title: str = "Nothing yet") -> RemixNode:
    node = node_create(title=title, source_url=f"https://cdn.example.com/{abs(hash(title))}.mp4", owner=None)
    node_transition(node=node, to=NodeStatus.ANALYZING, actor=None)
    node_transition(node=node, to=NodeStatus.NEEDS_REVIEW, actor=None)
    return node


def _written() -> dict[str, int]:
    """What a refused decision must leave as it was."""
    return {
        model.__name__: model.objects.count() for model in (AuditLog, RemixBrief, VideoAnalysis, Mutation, RemixNode)
    } | {"reviewed": RemixBrief.objects.exclude(review_status=ReviewStatus.PENDING).count()}


@pytest.mark.parametrize("object_id", ["abc", "1.5", "-1", "1e3", "99999999999999999999999", "%00", "1 OR 1=1"])
def test_a_review_url_with_no_such_node_is_a_404_page(editor_client, object_id):
    node_in_review()
    response = editor_client.get(f"/admin/remix/remixnode/{object_id}/review/")
    assert response.status_code == 404
    assert editor_client.post(f"/admin/remix/remixnode/{object_id}/review/", {"action": "approve"}).status_code == 404


@pytest.mark.parametrize("action", ["reject", "regenerate"])
@pytest.mark.parametrize("revision", ["abc", "1.5", "1e3", "-1", "9" * 5000])
def test_a_decision_with_a_damaged_revision_is_refused_on_the_screen(editor_client, action, revision):
    node, brief = node_in_review()
    editor_client.get(_review_url(node))  # takes the review lock, as opening the screen does
    before = _written()
    data = {**brief_post(brief, action), "brief-revision": revision, "decision-reason": "off brand"}
    response = editor_client.post(_review_url(node), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "brief revision is not a number" in page and "off brand" in page  # the reason typed is kept
    assert _written() == before
    assert RemixNode.objects.get(pk=node.pk).status == NodeStatus.IN_REVIEW


def test_an_approval_reads_the_revision_as_its_form_field_does(editor_client):
    node, _ = node_in_review()
    script = [
        {"t": 0.0, "beat": 1, "shot": "클로즈업", "line": "기다려 봐"}
    ]  # no empty last part, which the form strips
    brief = brief_create(node=node, content={**BRIEF, "script": script}, source="ai")
    editor_client.get(_review_url(node))
    # The brief exactly as the screen showed it, but the revision written "N.0": the form reads it as N (so the
    # form is unchanged and this is a plain approval), and the approval must read it the same way.
    unchanged = {f"brief-{name}": value for name, value in BriefForm.for_brief(brief).initial.items()}
    data = {**unchanged, "action": "approve", "brief-revision": f"{brief.revision}.0"}
    response = editor_client.post(_review_url(node), data)
    assert response.status_code == 302
    assert RemixBrief.objects.get(pk=brief.pk).review_status == ReviewStatus.APPROVED


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("approve", "has no brief yet"),
        ("approve_with_edits", "has no brief yet"),
        ("save", "has no brief yet"),
        ("reject", "has no brief yet"),
        ("regenerate", "has no brief yet"),
        ("publish", "cannot go from"),
        ("unpublish", "Only a published node can be unpublished."),
    ],
)
def test_a_decision_on_a_node_without_a_brief_is_refused_on_the_screen(editor_client, action, message):
    node = _manual_review_item()
    editor_client.get(_review_url(node))
    before = _written()
    data = {**brief_post(type("B", (), {"content": BRIEF, "revision": 0})(), action), "decision-reason": "why"}
    response = editor_client.post(_review_url(node), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert _written() == before
    assert RemixNode.objects.get(pk=node.pk).status == NodeStatus.NEEDS_REVIEW


@pytest.mark.parametrize(
    ("keyframes", "message"),
    [
        ("nan | x", "Line 1: the time must be a number of seconds from 0 to 3600."),
        ("0 | a\ninf | y", "Line 2: the time must be a number of seconds from 0 to 3600."),
        ("1e999 | z", "Line 1: the time must be a number of seconds from 0 to 3600."),
        ("-1 | before the start", "Line 1: the time must be a number of seconds from 0 to 3600."),
        ("1e308 | a long wait", "Line 1: the time must be a number of seconds from 0 to 3600."),
        ("16 | after the end", "Line 1: 16 s is after the end of the video (15.00 s)."),
        ("soon | x", "Line 1: start with the time in seconds."),
    ],
)
def test_a_manual_analysis_with_impossible_keyframe_times_is_refused_on_the_form(editor_client, keyframes, message):
    node = _manual_review_item()
    editor_client.get(_review_url(node))
    before = _written()
    data = {
        "action": "fill_analysis",
        "analysis-duration_s": "15.00",
        "analysis-commerce_category": "food",
        "analysis-keyframes": keyframes,
    }
    response = editor_client.post(_review_url(node), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The analysis needs attention; nothing was saved." in page and message in page
    assert _written() == before


@pytest.mark.parametrize("duration", ["nan", "inf", "1e999", "-5", "0", "86400", "1e-999", "9" * 400])
def test_a_manual_analysis_with_an_absurd_duration_is_refused_on_the_form(editor_client, duration):
    node = _manual_review_item()
    editor_client.get(_review_url(node))
    before = _written()
    data = {"action": "fill_analysis", "analysis-duration_s": duration, "analysis-commerce_category": "food"}
    response = editor_client.post(_review_url(node), data)
    assert response.status_code == 200
    assert "The analysis needs attention; nothing was saved." in response.content.decode()
    assert _written() == before


@pytest.mark.parametrize("script", ["nan | 1 | shot", "inf | 1 | shot", "1e999 | 1 | shot", "0 | 1e999 | shot"])
def test_a_brief_with_impossible_script_times_is_refused_on_the_form(editor_client, script):
    node, brief = node_in_review()
    editor_client.get(_review_url(node))
    before = _written()
    response = editor_client.post(_review_url(node), {**brief_post(brief, "save"), "brief-script": script})
    assert response.status_code == 200
    assert "Some fields need attention; nothing was saved." in response.content.decode()
    assert _written() == before
