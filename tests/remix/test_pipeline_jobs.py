"""The pipeline as users reach it: the API queues a job, a real worker runs it; and the operators' commands."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from accounts.models import Role
from kmeme.ai.models import AICall, AICallStatus
from remix.models import BriefSource, NodeStatus, RemixNode
from remix.pipeline import pipeline_run
from remix.services import analysis_record, node_submit
from tests.accounts.factories import UserFactory
from tests.remix.factories import AI_BRIEF, NodeFactory


@pytest.fixture(autouse=True)
def _empty_queue(django_db_blocker, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs CASCADE")


def _work_off_the_queue() -> None:
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(queues=["pipeline"], wait=False, install_signal_handlers=False, listen_notify=False)


@pytest.mark.django_db(transaction=True)
def test_a_url_submitted_through_the_api_is_analysed_by_the_worker(video_url):
    client = APIClient()
    client.force_authenticate(UserFactory(role=Role.CREATOR))
    body = client.post("/api/v1/analyses", {"video_url": video_url}, format="json").json()
    _work_off_the_queue()
    job = ProcrastinateJob.objects.get(id=body["job_id"])
    assert job.status == "succeeded"
    status = client.get(f"/api/v1/analyses/{body['node']['id']}").json()
    assert status["status"] == "needs_review"
    assert abs(status["probe"]["bpm"] - 128) <= 2
    assert status["analysis"]["status"] == "fallback" and status["brief"]["source"] == "rule_based"


@pytest.mark.django_db(transaction=True)
def test_a_job_that_crashes_keeps_its_error_visible_and_is_retried(monkeypatch):
    node, job_id = node_submit(user=UserFactory(), video_url="https://cdn.example.com/v.mp4")

    def explode(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("remix.pipeline._fetch_and_probe", lambda node: explode())
    _work_off_the_queue()
    node.refresh_from_db()
    assert node.status == NodeStatus.ANALYZING and node.pipeline_error == "RuntimeError: disk full"
    job = ProcrastinateJob.objects.get(id=job_id)
    assert job.status == "todo" and job.attempts == 1  # scheduled again, with backoff


@pytest.mark.django_db
def test_reanalyze_dry_run_changes_nothing_then_requeues_fallbacks():
    waiting = _node_in_manual_review()
    out = StringIO()
    call_command("reanalyze", "--fallbacks", "--dry-run", stdout=out)
    assert f"would re-analyse {waiting.public_id}" in out.getvalue() and "nothing changed" in out.getvalue()
    assert RemixNode.objects.get(pk=waiting.pk).status == NodeStatus.NEEDS_REVIEW

    out = StringIO()
    call_command("reanalyze", "--fallbacks", stdout=out, stderr=StringIO())
    assert "Queued 1 node(s)" in out.getvalue()
    assert RemixNode.objects.get(pk=waiting.pk).status == NodeStatus.ANALYZING
    assert ProcrastinateJob.objects.filter(args__node_id=waiting.pk).count() == 1


@pytest.mark.django_db
def test_reanalyze_names_unknown_nodes():
    with pytest.raises(CommandError, match="No node with public id"):
        call_command("reanalyze", "--node", "00000000-0000-0000-0000-000000000000")


@pytest.mark.django_db
def test_pregenerate_briefs_writes_one_for_each_analysed_node_without_one():
    lacking = [_analysed_node() for _ in range(3)]
    out, err = StringIO(), StringIO()
    call_command("pregenerate_briefs", stdout=out, stderr=err)
    assert "0 by AI, 3 rule-based; 0 failed" in out.getvalue()
    assert "Writing briefs: 3/3" in err.getvalue()  # the progress report
    assert all(n.briefs.get().source == BriefSource.RULE_BASED for n in lacking)
    out = StringIO()
    call_command("pregenerate_briefs", stdout=out, stderr=StringIO())
    assert "of 0 node(s)" in out.getvalue()


@pytest.mark.django_db
def test_pregenerate_briefs_uses_claude_when_configured(settings, anthropic_double):
    settings.ANTHROPIC_API_KEY = "k"
    settings.ANTHROPIC_BASE_URL = anthropic_double.base_url
    node = _analysed_node(status="ok", provider="gemini")
    anthropic_double.script_tool_use("remix_brief", AI_BRIEF)
    call_command("pregenerate_briefs", stdout=StringIO(), stderr=StringIO())
    assert node.briefs.get().source == BriefSource.AI


@pytest.mark.django_db
def test_llm_budget_reports_spend_by_provider_model_and_purpose(settings):
    settings.LLM_MONTHLY_CAP = 10
    AICall.objects.create(
        provider="gemini",
        model="gemini-3.8-flash",
        purpose="analysis",
        status=AICallStatus.OK,
        input_tokens=2000,
        output_tokens=300,
        cost_usd="0.25",
    )
    AICall.objects.create(
        provider="anthropic",
        model="claude-sonnet-5-5",
        purpose="brief",
        status=AICallStatus.OK,
        input_tokens=1500,
        output_tokens=700,
        cost_usd="0.75",
    )
    AICall.objects.create(
        provider="anthropic", model="claude-sonnet-5-5", purpose="brief", status=AICallStatus.REFUSED_BUDGET
    )
    out = StringIO()
    call_command("llm_budget", stdout=out)
    text = out.getvalue()
    assert "gemini-3.8-flash" in text and "claude-sonnet-5-5" in text
    brief_row = next(line for line in text.splitlines() if line.startswith("anthropic"))
    assert brief_row.split()[3:7] == ["2", "1", "0", "1"]  # calls, ok, errors, refused
    assert "Total $1.0000 of $10.00 cap (10.0 %)" in text
    with pytest.raises(CommandError, match="--month"):
        call_command("llm_budget", "--month", "November")


def _node_in_manual_review() -> RemixNode:
    node, _ = node_submit(user=UserFactory(), video_url="http://127.0.0.1:9/nothing.mp4")
    pipeline_run(node_id=node.pk)
    ProcrastinateJob.objects.all().delete()
    return RemixNode.objects.get(pk=node.pk)


def _analysed_node(status: str = "fallback", provider: str = "probe") -> RemixNode:
    node = NodeFactory()
    analysis_record(
        node=node,
        provider=provider,
        status=status,
        duration_s=12,
        bpm=100,
        error="no key" if status == "fallback" else "",
    )
    return node


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_died_is_picked_up_again_and_finishes(video_url):
    from kmeme.tasks import jobs_retry_stalled

    node, job_id = node_submit(user=UserFactory(), video_url=video_url)
    # A worker took the job and died: the job is stuck in "doing" with no live worker.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL WHERE id = %s", [job_id])
    jobs_retry_stalled.defer(timestamp=0)
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(queues=["maintenance"], wait=False, install_signal_handlers=False, listen_notify=False)
    assert ProcrastinateJob.objects.get(id=job_id).status == "todo"
    _work_off_the_queue()
    assert ProcrastinateJob.objects.get(id=job_id).status == "succeeded"
    assert RemixNode.objects.get(pk=node.pk).status == NodeStatus.NEEDS_REVIEW
