"""Review locks follow the editors' work, tried with two editors in the admin: reading takes no lock; starting to
edit does; a heartbeat keeps it only while its editor is there, and without one it lapses; leaving lets go; "next"
skips what someone else holds and takes nothing; bulk actions leave no locks; the queue and the node list say who
is on what; a take-over keeps what you typed."""

from __future__ import annotations

import time

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse

from accounts.models import AuditLog, Role
from remix import review_locks
from remix.models import RemixBrief, RemixNode
from tests.accounts.factories import UserFactory
from tests.remix.factories import brief_post, node_in_review

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _short_locks(settings):
    settings.REVIEW_LOCK_SECONDS = 2


@pytest.fixture
def kim():
    return UserFactory(role=Role.EDITOR, display_name="Editor Kim")


@pytest.fixture
def park():
    return UserFactory(role=Role.EDITOR, display_name="Editor Park")


def _session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _review(node) -> str:
    return reverse("admin:remix_remixnode_review", args=[node.pk])


def _lock(client: Client, node, action: str) -> dict:
    response = client.post(reverse("admin:remix_remixnode_review_lock", args=[node.pk]), {"action": action})
    assert response.status_code == 200, response.content
    return response.json()


def test_reading_takes_no_lock_starting_does_and_leaving_lets_go(kim, park):
    node, _ = node_in_review()
    for _ in range(3):
        assert _session(kim).get(_review(node)).status_code == 200
    assert review_locks.review_lock_get(node=node) is None

    client = _session(kim)
    assert client.post(_review(node), {"action": "start"}).status_code == 302
    assert review_locks.review_lock_get(node=node).user_name == "Editor Kim"
    page = _session(park).get(_review(node)).content.decode()
    assert "Editor Kim</strong> has been reviewing this node since" in page

    assert _lock(client, node, "release") == {"held": False, "holder": None, "expires_at": None}
    assert review_locks.review_lock_get(node=node) is None


def test_the_first_keystroke_takes_the_lock_unless_someone_else_has_it(kim, park):
    node, _ = node_in_review()
    assert _lock(_session(kim), node, "acquire")["held"] is True
    refused = _lock(_session(park), node, "acquire")
    assert refused["held"] is False and refused["holder"] == "Editor Kim"


def test_a_heartbeat_keeps_the_lock_and_without_one_it_lapses(kim, park):
    node, _ = node_in_review()
    client = _session(kim)
    _lock(client, node, "acquire")
    first = review_locks.review_lock_get(node=node)
    time.sleep(1.2)
    assert _lock(client, node, "heartbeat")["held"] is True
    renewed = review_locks.review_lock_get(node=node)
    assert renewed.expires_at > first.expires_at and renewed.since == first.since
    assert _lock(_session(park), node, "heartbeat")["holder"] == "Editor Kim"  # a heartbeat takes nothing
    time.sleep(2.2)  # the tab was forgotten: no heartbeat
    assert review_locks.review_lock_get(node=node) is None
    assert _lock(client, node, "heartbeat") == {"held": False, "holder": None, "expires_at": None}


def test_next_skips_what_another_editor_holds_and_locks_nothing(kim, park):
    first, first_brief = node_in_review(title="First")
    held, _ = node_in_review(title="Held by Park")
    free, _ = node_in_review(title="Free")
    _lock(_session(park), held, "acquire")
    response = _session(kim).post(_review(first), brief_post(first_brief, "approve"))
    assert response.status_code == 302 and response["Location"] == _review(free)
    assert review_locks.review_lock_get(node=free) is None  # going there takes nothing
    assert review_locks.review_lock_get(node=first) is None  # the decision let go of its own


def test_bulk_actions_leave_no_locks(kim, park):
    nodes = [node_in_review(title=f"Bulk {i}")[0] for i in range(3)]
    mine = _session(kim)
    _lock(mine, nodes[0], "acquire")  # Kim has the first open in another tab: that lock stays hers
    mine.post(
        reverse("admin:remix_remixnode_changelist"),
        {"action": "approve_selected", ACTION_CHECKBOX_NAME: [n.pk for n in nodes]},
    )
    assert RemixBrief.objects.filter(node__in=nodes, review_status="approved").count() == 3
    locks = review_locks.review_locks_for(node_ids=[n.pk for n in nodes])
    assert set(locks) == {nodes[0].pk}


def test_the_queue_and_the_node_list_show_who_holds_what(kim, park):
    node, _ = node_in_review(title="Taken one")
    node_in_review(title="Open one")
    _lock(_session(park), node, "acquire")
    queue = _session(kim).get(reverse("admin:index")).content.decode()
    assert "🔒 Editor Park" in queue and queue.count("🔒") == 1
    listing = _session(kim).get(reverse("admin:remix_remixnode_changelist")).content.decode()
    assert "Being reviewed by" in listing and "Editor Park" in listing


def test_a_take_over_keeps_what_you_typed(kim, park):
    node, brief = node_in_review()
    _lock(_session(park), node, "acquire")
    client = _session(kim)
    typed = brief_post(brief, "takeover", hook="제가 고치던 훅")
    page = client.post(_review(node), typed).content.decode()
    assert "You took over the review" in page and "제가 고치던 훅" in page
    assert review_locks.review_lock_get(node=node).user_name == "Editor Kim"
    assert AuditLog.objects.filter(action="review.lock_takeover").count() == 1
    client.post(_review(node), {**typed, "action": "save"})
    assert RemixBrief.objects.get(pk=brief.pk).content["hook"] == "제가 고치던 훅"


def test_the_queue_narrows_to_a_category_and_platform_and_flags_what_the_ai_did_not_write(kim):
    food, _ = node_in_review(title="Food one")
    RemixNode.objects.filter(pk=food.pk).update(commerce_category="food")
    beauty, _ = node_in_review(title="Beauty one")
    RemixNode.objects.filter(pk=beauty.pk).update(commerce_category="beauty", fallback_provider="gemini")
    queue = _session(kim).get(reverse("admin:index"), {"category": "food"}).content.decode()
    assert "Food one" in queue and "Beauty one" not in queue
    queue = _session(kim).get(reverse("admin:index"), {"platform": "tiktok"}).content.decode()
    assert "Food one" in queue and "Beauty one" in queue and "gemini fell back" in queue
    assert "Food one" not in _session(kim).get(reverse("admin:index"), {"platform": "instagram"}).content.decode()


def test_the_lock_endpoint_answers_bad_input_in_the_error_shape_and_only_to_reviewers(kim):
    node, _ = node_in_review()
    url = reverse("admin:remix_remixnode_review_lock", args=[node.pk])
    bad = _session(kim).post(url, {"action": "steal"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    assert _session(kim).get(url).status_code == 405  # POST only
    creator = UserFactory(role=Role.CREATOR)
    assert _session(creator).post(url, {"action": "acquire"}).status_code in (302, 403)  # no admin access
    assert review_locks.review_lock_get(node=node) is None
    assert (
        _session(kim)
        .post(reverse("admin:remix_remixnode_review_lock", args=[10**9]), {"action": "acquire"})
        .status_code
        == 404
    )
