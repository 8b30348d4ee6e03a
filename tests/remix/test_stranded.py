"""Nodes left in analysis with no job to finish them go to manual review, and jobs own their reservations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts.models import AuditLog, Role
from kmeme.ai.budget import ai_calls_owned_by, budget_reservations_release, budget_reserve
from kmeme.ai.models import AICall, AICallStatus
from kmeme.ai.tasks import jobs_running
from remix.models import NodeStatus, RemixNode
from remix.recovery import nodes_stranded_release
from remix.services import node_submit
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_queue():
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs CASCADE")


def _submitted(minutes_ago: int) -> tuple[RemixNode, int]:
    node, job_id = node_submit(
        user=UserFactory(role=Role.CREATOR), video_url=f"https://cdn.example.com/{minutes_ago}.mp4"
    )
    RemixNode.objects.filter(pk=node.pk).update(
        analysis_requested_at=timezone.now() - timedelta(minutes=minutes_ago), pipeline_error="ConnectionError: Redis"
    )
    return node, job_id


def _job_ends(job_id: int, status: str) -> None:
    ProcrastinateJob.objects.filter(pk=job_id).update(status=status)


def test_a_node_whose_job_ended_without_moving_it_goes_to_manual_review_with_its_last_error():
    node, job_id = _submitted(minutes_ago=45)
    _job_ends(job_id, "failed")
    [moved] = nodes_stranded_release()
    node.refresh_from_db()
    assert moved.pk == node.pk and node.status == NodeStatus.NEEDS_REVIEW
    entry = AuditLog.objects.filter(action="node.transition", target_id=str(node.pk)).order_by("-id").first()
    assert entry.details["to"] == NodeStatus.NEEDS_REVIEW
    assert (
        "no job is queued or running" in entry.details["reason"] and "ConnectionError: Redis" in entry.details["reason"]
    )


@pytest.mark.parametrize("status", ["todo", "doing"])
def test_a_node_with_a_job_still_queued_or_running_is_left_to_it(status):
    node, job_id = _submitted(minutes_ago=45)
    _job_ends(job_id, status)
    assert nodes_stranded_release() == []
    node.refresh_from_db()
    assert node.status == NodeStatus.ANALYZING


def test_a_recent_analysis_is_left_alone_even_without_a_job():
    _node, job_id = _submitted(minutes_ago=5)
    _job_ends(job_id, "failed")
    assert nodes_stranded_release() == []


def test_a_reservation_is_settled_once_its_job_attempt_is_over():
    _node, job_id = _submitted(minutes_ago=1)
    _job_ends(job_id, "doing")
    with ai_calls_owned_by(f"job:{job_id}:0"):
        call = budget_reserve(
            provider="gemini",
            model=settings.GEMINI_MODEL,
            purpose="analysis",
            node_id=None,
            max_input_tokens=1000,
            max_output_tokens=100,
        )
    assert budget_reservations_release(jobs_running=jobs_running) == []  # its attempt still runs
    ProcrastinateJob.objects.filter(pk=job_id).update(status="todo", attempts=1)  # the stalled sweep queued it again
    [settled] = budget_reservations_release(jobs_running=jobs_running)
    assert settled.pk == call.pk
    assert AICall.objects.get(pk=call.pk).status == AICallStatus.INTERRUPTED
