"""A pipeline job that gives up leaves its node in a state an editor sees, never in `analyzing` for ever."""

from __future__ import annotations

import pytest
from django.db import connection
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts.models import AuditLog, Role
from remix import review
from remix.models import NodeStatus, RemixNode
from remix.services import node_submit
from remix.tasks import PIPELINE_RETRY
from tests.accounts.factories import UserFactory
from tests.remix.factories import node_in_review


@pytest.fixture(autouse=True)
def _empty_queue(django_db_blocker, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs CASCADE")


def _work_off_the_queue() -> None:
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(queues=["pipeline"], wait=False, install_signal_handlers=False, listen_notify=False)


def _as_if_retried(job_id: int, times: int) -> None:
    """The job has already failed `times` times (the worker's retries are minutes apart)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET attempts = %s WHERE id = %s", [times, job_id])


@pytest.fixture
def disk_full(monkeypatch):
    def explode(node):
        raise RuntimeError("disk full")

    monkeypatch.setattr("remix.pipeline._fetch_and_probe", explode)


@pytest.mark.django_db(transaction=True)
def test_the_last_attempt_of_an_analysis_sends_the_node_to_manual_review_with_the_error(disk_full):
    node, job_id = node_submit(user=UserFactory(), video_url="https://cdn.example.com/v.mp4")
    _as_if_retried(job_id, PIPELINE_RETRY.max_attempts)
    _work_off_the_queue()

    node = RemixNode.objects.get(pk=node.pk)
    assert node.status == NodeStatus.NEEDS_REVIEW and node.pipeline_error == "RuntimeError: disk full"
    job = ProcrastinateJob.objects.get(id=job_id)
    assert job.status == "failed"  # not retried again
    move = AuditLog.objects.filter(action="node.transition", target_id=str(node.pk)).order_by("-id").first()
    assert move.details["to"] == NodeStatus.NEEDS_REVIEW
    assert move.details["reason"] == "the analysis job gave up after 5 attempt(s): RuntimeError: disk full"


@pytest.mark.django_db(transaction=True)
def test_an_attempt_before_the_last_leaves_the_node_in_analysis_for_the_retry(disk_full):
    node, job_id = node_submit(user=UserFactory(), video_url="https://cdn.example.com/v.mp4")
    _as_if_retried(job_id, PIPELINE_RETRY.max_attempts - 1)
    _work_off_the_queue()

    node = RemixNode.objects.get(pk=node.pk)
    assert node.status == NodeStatus.ANALYZING and node.pipeline_error == "RuntimeError: disk full"
    assert ProcrastinateJob.objects.get(id=job_id).status == "todo"


@pytest.mark.django_db(transaction=True)
def test_a_brief_regeneration_that_gives_up_sends_the_node_to_manual_review(monkeypatch):
    node, brief = node_in_review()
    editor = UserFactory(role=Role.EDITOR)
    job_id = review.brief_request_regeneration(brief=brief, editor=editor, notes="again", expected_revision=None)

    def claude_down(**kwargs):
        raise ConnectionError("claude unreachable and the rule-based writer too")

    monkeypatch.setattr("remix.pipeline.brief_generate", claude_down)
    _as_if_retried(job_id, PIPELINE_RETRY.max_attempts)
    _work_off_the_queue()

    node = RemixNode.objects.get(pk=node.pk)
    assert node.status == NodeStatus.NEEDS_REVIEW
    assert node.pipeline_error.startswith("ConnectionError: claude unreachable")
    assert ProcrastinateJob.objects.get(id=job_id).status == "failed"


@pytest.mark.django_db(transaction=True)
def test_a_node_moved_on_while_the_job_failed_is_left_where_it_is(disk_full, monkeypatch):
    """An editor archived the node while its last attempt ran: the failure must not drag it back."""
    node, job_id = node_submit(user=UserFactory(), video_url="https://cdn.example.com/v.mp4")
    _as_if_retried(job_id, PIPELINE_RETRY.max_attempts)

    def archived_meanwhile(node):
        RemixNode.objects.filter(pk=node.pk).update(status=NodeStatus.ARCHIVED)
        raise RuntimeError("disk full")

    monkeypatch.setattr("remix.pipeline._fetch_and_probe", archived_meanwhile)
    _work_off_the_queue()
    node = RemixNode.objects.get(pk=node.pk)
    assert node.status == NodeStatus.ARCHIVED and node.pipeline_error == "RuntimeError: disk full"
