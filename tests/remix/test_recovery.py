"""Nodes that fell back while a provider was down are analysed again once it answers (remix.recovery).

The story as users see it: a video is submitted while Claude answers 503 (its circuit then opens); the node waits
in manual review, and GET /api/v1/analyses/{id} says why and that it will be retried. Nothing is retried while the
circuit is open; once Claude answers again the node goes back to analysis (one job, a reason in its history), and
the retry ends in review with an AI brief. Retries are bounded, leave nodes an editor has started on alone, never
follow a budget refusal or a missing key, and while the circuit is half-open only one node goes at a time.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from accounts.models import AuditLog, Role
from kmeme.ai.circuit import circuit_record_success, circuit_state
from remix.models import BriefSource, NodeStatus, RemixNode
from remix.pipeline import pipeline_run
from remix.recovery import nodes_retry_after_outage
from remix.review import analysis_fill, brief_edit
from remix.review_locks import review_lock_acquire, review_lock_release
from remix.services import node_submit
from tests.accounts.factories import UserFactory
from tests.doubles.fixtures import providers_on_doubles
from tests.remix.factories import AI_ANALYSIS, AI_BRIEF

ANALYZE_TASK = "remix.tasks.node_analyze"


@pytest.fixture(autouse=True)
def _empty_queue(django_db_blocker):
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs CASCADE")


@pytest.fixture
def providers(settings, gemini_double, anthropic_double, tmp_path):
    """Both providers on their doubles; Gemini always answers, Claude as each test scripts it. One failed call
    opens a circuit, for a minute."""
    settings.MEDIA_ROOT = tmp_path / "media"
    providers_on_doubles(settings, gemini_double, anthropic_double, AI_TIMEOUT_S=2)
    settings.AI_CIRCUIT_FAILURES = 1
    settings.AI_CIRCUIT_COOLDOWN_S = 60
    settings.AI_AUTO_RETRY_MAX = 3
    settings.AI_AUTO_RETRY_BATCH = 20
    gemini_double.default_generate = AI_ANALYSIS
    return gemini_double, anthropic_double


@pytest.fixture
def creator():
    return UserFactory(role=Role.CREATOR)


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def fallback_of(node: RemixNode, user) -> dict | None:
    response = api_for(user).get(f"/api/v1/analyses/{node.public_id}")
    assert response.status_code == 200
    return response.json()["fallback"]


def analyze_jobs(node: RemixNode) -> list[ProcrastinateJob]:
    return list(ProcrastinateJob.objects.filter(task_name=ANALYZE_TASK, args__node_id=node.pk, status="todo"))


def run_job(node: RemixNode) -> RemixNode:
    """What the worker does with the node's job (these tests run in a transaction the worker cannot see): run the
    pipeline, then the job is done and leaves the queue."""
    (job,) = analyze_jobs(node)
    pipeline_run(node_id=node.pk)
    ProcrastinateJob.objects.filter(pk=job.pk).delete()
    return RemixNode.objects.get(pk=node.pk)


def submitted(user, url: str) -> RemixNode:
    node, _ = node_submit(user=user, video_url=url, title="Colour flip")
    return node


def in_manual_review_after_an_outage(user, url: str, claude) -> RemixNode:
    """A node whose brief Claude could not write: it answered 503 three times (or its circuit was open)."""
    claude.script_error(503, times=3)
    node = run_job(submitted(user, url))
    claude.clear_script()
    assert node.status == NodeStatus.NEEDS_REVIEW and node.fallback_provider == "anthropic"
    return node


def transitions(node: RemixNode) -> list[dict]:
    entries = AuditLog.objects.filter(action="node.transition", target_id=str(node.pk)).order_by("id")
    return [entry.details for entry in entries]


# -- the whole story, with a real worker ---------------------------------------------------------------------------


def _work_off_the_queue() -> None:
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(queues=["pipeline"], wait=False, install_signal_handlers=False, listen_notify=False)


@pytest.mark.django_db(transaction=True)
def test_a_node_that_fell_back_during_an_outage_is_analysed_again_once_claude_answers(providers, video_url):
    _, claude = providers
    creator = UserFactory(role=Role.CREATOR)
    client = api_for(creator)
    claude.script_error(503, times=3)
    body = client.post("/api/v1/analyses", {"video_url": video_url}, format="json").json()
    _work_off_the_queue()
    node = RemixNode.objects.get(public_id=body["node"]["id"])

    status = client.get(f"/api/v1/analyses/{node.public_id}").json()
    assert status["status"] == "needs_review" and status["brief"]["source"] == "rule_based"
    fallback = status["fallback"]
    assert (fallback["provider"], fallback["code"]) == ("anthropic", "provider_error")
    assert fallback["reason"].startswith("Claude brief unavailable") and "503" in fallback["reason"]
    assert (fallback["auto_retries"], fallback["auto_retry_pending"]) == (0, True)
    assert fallback["at"]
    assert circuit_state(provider="anthropic")["state"] == "open"

    # While Claude's circuit is open, nothing is sent back.
    assert nodes_retry_after_outage() == []
    assert RemixNode.objects.get(pk=node.pk).status == NodeStatus.NEEDS_REVIEW
    assert analyze_jobs(node) == []

    # Claude answers again (its circuit closed): the node goes back to analysis, with one job and a reason.
    circuit_record_success(provider="anthropic")
    assert [n.pk for n in nodes_retry_after_outage()] == [node.pk]
    node.refresh_from_db()
    assert (node.status, node.auto_retries) == (NodeStatus.ANALYZING, 1)
    assert len(analyze_jobs(node)) == 1
    reason = transitions(node)[-1]["reason"]
    assert reason.startswith("automatic retry 1 of 3: anthropic is answering again after provider_error")
    assert client.get(f"/api/v1/analyses/{node.public_id}").json()["fallback"] is None  # being analysed
    assert nodes_retry_after_outage() == []  # already on its way

    claude.script_tool_use("remix_brief", AI_BRIEF)
    _work_off_the_queue()
    status = client.get(f"/api/v1/analyses/{node.public_id}").json()
    assert status["status"] == "in_review" and status["brief"]["source"] == "ai"
    assert status["fallback"] is None
    assert len(claude.message_requests) == 4
    assert nodes_retry_after_outage() == []


# -- bounds --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_retries_stop_after_ai_auto_retry_max(providers, settings, creator, video_url):
    _, claude = providers
    settings.AI_AUTO_RETRY_MAX = 2
    node = in_manual_review_after_an_outage(creator, video_url, claude)

    for attempt in (1, 2):
        circuit_record_success(provider="anthropic")
        assert [n.pk for n in nodes_retry_after_outage()] == [node.pk]
        claude.script_error(503, times=3)  # still failing
        node = run_job(node)
        assert (node.status, node.auto_retries) == (NodeStatus.NEEDS_REVIEW, attempt)
    assert fallback_of(node, creator)["auto_retry_pending"] is False
    assert fallback_of(node, creator)["auto_retries"] == 2

    circuit_record_success(provider="anthropic")
    assert nodes_retry_after_outage() == []
    assert analyze_jobs(node) == []
    reasons = [t["reason"] for t in transitions(node) if t["to"] == NodeStatus.ANALYZING]
    assert [r.split(":")[0] for r in reasons] == [
        "analysis requested",
        "automatic retry 1 of 2",
        "automatic retry 2 of 2",
    ]


@pytest.mark.django_db
def test_a_fallback_older_than_the_window_is_left_to_the_editors(providers, settings, creator, video_url):
    _, claude = providers
    settings.AI_AUTO_RETRY_WINDOW_H = 24
    node = in_manual_review_after_an_outage(creator, video_url, claude)
    circuit_record_success(provider="anthropic")
    assert nodes_retry_after_outage(now=timezone.now() + timedelta(hours=25)) == []
    assert RemixNode.objects.get(pk=node.pk).status == NodeStatus.NEEDS_REVIEW


@pytest.mark.django_db
def test_a_node_an_editor_holds_is_not_retried(providers, creator, editor_user, video_url):
    _, claude = providers
    node = in_manual_review_after_an_outage(creator, video_url, claude)
    held, _ = review_lock_acquire(node=node, editor=editor_user)
    assert held
    circuit_record_success(provider="anthropic")

    assert nodes_retry_after_outage() == []
    node.refresh_from_db()
    assert (node.status, node.auto_retries) == (NodeStatus.NEEDS_REVIEW, 0)
    assert analyze_jobs(node) == []
    assert fallback_of(node, creator)["auto_retry_pending"] is False  # not while an editor has it open

    review_lock_release(node=node, editor=editor_user)  # the editor left without changing anything
    assert fallback_of(node, creator)["auto_retry_pending"] is True
    assert [n.pk for n in nodes_retry_after_outage()] == [node.pk]


def edit_the_brief(node: RemixNode, editor) -> None:
    brief = node.briefs.get()
    assert brief.source == BriefSource.RULE_BASED
    content = {**brief.content, "hook": "편집자가 고친 훅"}
    brief_edit(brief=brief, editor=editor, content=content, expected_revision=brief.revision)


def fill_in_the_analysis(node: RemixNode, editor) -> None:
    analysis_fill(node=node, editor=editor, duration_s=7, bpm=128, commerce_category="food", hook="컵 돌리기")


@pytest.mark.django_db
@pytest.mark.parametrize("work", [edit_the_brief, fill_in_the_analysis], ids=lambda w: w.__name__)
def test_a_node_an_editor_worked_on_is_not_retried(providers, creator, editor_user, video_url, work):
    _, claude = providers
    node = in_manual_review_after_an_outage(creator, video_url, claude)
    work(node, editor_user)
    review_lock_release(node=node, editor=editor_user)  # the editor moved on to another node
    circuit_record_success(provider="anthropic")

    assert nodes_retry_after_outage() == []
    node.refresh_from_db()
    assert (node.status, node.auto_retries) == (NodeStatus.NEEDS_REVIEW, 0)
    assert analyze_jobs(node) == []
    assert fallback_of(node, creator)["auto_retry_pending"] is False


@pytest.mark.django_db
@pytest.mark.parametrize("cause", ["budget_exceeded", "not_configured"])
def test_a_budget_refusal_or_a_missing_key_is_not_an_outage(providers, settings, creator, video_url, cause):
    _, claude = providers
    if cause == "budget_exceeded":
        settings.LLM_MONTHLY_CAP = 0.0001  # Gemini is refused first: nothing is sent to either
    else:
        settings.ANTHROPIC_API_KEY = ""
    node = run_job(submitted(creator, video_url))
    assert node.status == NodeStatus.NEEDS_REVIEW
    assert node.fallback_code == cause

    assert fallback_of(node, creator)["auto_retry_pending"] is False
    assert nodes_retry_after_outage() == []
    settings.LLM_MONTHLY_CAP, settings.ANTHROPIC_API_KEY = 100, "test-anthropic-key"  # fixed, yet still not retried
    assert nodes_retry_after_outage() == []
    assert RemixNode.objects.get(pk=node.pk).status == NodeStatus.NEEDS_REVIEW
    assert claude.message_requests == []


@pytest.mark.django_db
def test_while_the_circuit_is_half_open_one_node_at_a_time_is_sent(providers, settings, creator, video_url):
    _, claude = providers
    settings.AI_CIRCUIT_COOLDOWN_S = 1
    first = in_manual_review_after_an_outage(creator, video_url, claude)  # 503s: the circuit opens
    second = run_job(submitted(creator, video_url + "?again"))  # skipped: the circuit is open
    assert (first.fallback_code, second.fallback_code) == ("provider_error", "circuit_open")
    assert fallback_of(second, creator)["auto_retry_pending"] is True

    time.sleep(1.1)  # the cooldown passes: half-open, one trial call may go
    assert circuit_state(provider="anthropic")["state"] == "half_open"
    assert [n.pk for n in nodes_retry_after_outage()] == [first.pk]
    assert nodes_retry_after_outage() == []  # the trial is still under way: no second node joins it
    assert RemixNode.objects.get(pk=second.pk).status == NodeStatus.NEEDS_REVIEW

    claude.script_tool_use("remix_brief", AI_BRIEF)  # the trial succeeds and closes the circuit
    assert run_job(first).status == NodeStatus.IN_REVIEW
    assert circuit_state(provider="anthropic")["state"] == "closed"
    assert [n.pk for n in nodes_retry_after_outage()] == [second.pk]


@pytest.mark.django_db
def test_once_closed_nodes_are_sent_in_batches(providers, settings, creator, video_url):
    _, claude = providers
    settings.AI_AUTO_RETRY_BATCH = 2
    nodes = [in_manual_review_after_an_outage(creator, f"{video_url}?n={i}", claude) for i in range(3)]
    circuit_record_success(provider="anthropic")
    assert [n.pk for n in nodes_retry_after_outage()] == [nodes[0].pk, nodes[1].pk]  # oldest fallbacks first
    assert [n.pk for n in nodes_retry_after_outage()] == [nodes[2].pk]


@pytest.mark.django_db
def test_nodes_editors_took_over_do_not_hold_up_the_others(providers, settings, creator, editor_user, video_url):
    """The oldest fallbacks are considered first; those an editor has worked on must not crowd out the rest."""
    _, claude = providers
    settings.AI_AUTO_RETRY_BATCH = 1
    taken = [in_manual_review_after_an_outage(creator, f"{video_url}?n={i}", claude) for i in range(3)]
    waiting = in_manual_review_after_an_outage(creator, f"{video_url}?n=3", claude)
    for node in taken:
        edit_the_brief(node, editor_user)
        review_lock_release(node=node, editor=editor_user)
    circuit_record_success(provider="anthropic")

    assert [n.pk for n in nodes_retry_after_outage()] == [waiting.pk]
