"""A user's repeated submission of a link still in analysis answers with the node it made: one video, one node,
one job, one analysis and one brief paid for — five taps in a row or at once, through the API or the admin."""

from __future__ import annotations

import threading

import pytest
from django.contrib.admin.models import LogEntry
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from accounts.models import Role
from kmeme.limits import quota_key
from remix.models import NodeStatus, RemixBrief, RemixNode
from remix.services import node_submit, node_transition
from tests.accounts.factories import UserFactory
from tests.kmeme.admin_forms import admin_form, form_errors

ANALYSES = "/api/v1/analyses"
URL = "https://www.tiktok.com/@mina/video/7311111111111111111"


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _counts() -> tuple[int, int, int]:
    """Nodes, jobs and briefs. Jobs for these users' nodes only: procrastinate's table is not emptied between the
    tests that run outside a transaction (its models are not managed by Django's flush)."""
    nodes = list(RemixNode.objects.values_list("pk", flat=True))
    jobs = ProcrastinateJob.objects.filter(args__node_id__in=nodes).count()
    return len(nodes), jobs, RemixBrief.objects.count()


@pytest.fixture
def creator():
    return UserFactory(role=Role.CREATOR, display_name="Mina")


@pytest.mark.django_db
def test_five_submissions_of_one_link_make_one_node_and_answer_200_with_it_after_the_first(creator):
    client = _client(creator)
    answers = [client.post(ANALYSES, {"video_url": URL, "title": f"Try {i}"}, format="json") for i in range(5)]

    assert [a.status_code for a in answers] == [202, 200, 200, 200, 200]
    first = answers[0].json()
    assert {a.json()["node"]["id"] for a in answers} == {first["node"]["id"]}
    assert answers[-1].json() == {"node": first["node"], "quota_remaining": 49}  # no job, the quota used once
    assert _counts() == (1, 1, 0)
    assert cache.get(quota_key(creator.pk)) == 1
    assert RemixNode.objects.get().title == "Try 0"


@pytest.mark.django_db(transaction=True)
def test_five_submissions_at_once_make_one_node_and_one_job(creator):
    barrier = threading.Barrier(5)
    statuses: list[int] = []
    nodes: set[str] = set()

    def submit() -> None:
        client = _client(creator)
        barrier.wait()
        response = client.post(ANALYSES, {"video_url": URL}, format="json")
        statuses.append(response.status_code)
        nodes.add(response.json()["node"]["id"])
        connection.close()

    threads = [threading.Thread(target=submit) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(statuses) == [200, 200, 200, 200, 202]
    assert len(nodes) == 1
    assert _counts() == (1, 1, 0)
    assert cache.get(quota_key(creator.pk)) == 1


@pytest.mark.django_db(transaction=True)
def test_five_submissions_at_once_with_one_idempotency_key_make_one_node(creator):
    barrier = threading.Barrier(5)
    answers: list[tuple[int, str]] = []

    def submit() -> None:
        client = _client(creator)
        barrier.wait()
        response = client.post(ANALYSES, {"video_url": URL}, format="json", HTTP_IDEMPOTENCY_KEY="tap")
        answers.append((response.status_code, response.json().get("error", {}).get("code", "")))
        connection.close()

    threads = [threading.Thread(target=submit) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # One ran; each other one came while it ran (409, retry later) or after it (its 202 again).
    assert answers.count((202, "")) >= 1
    assert set(answers) <= {(202, ""), (409, "idempotency_request_in_progress")}
    assert _counts() == (1, 1, 0)


@pytest.mark.django_db
def test_once_its_node_left_analysis_the_same_link_makes_a_new_node(creator):
    node, job_id = node_submit(user=creator, video_url=URL)
    assert job_id is not None
    node_transition(node=node, to=NodeStatus.NEEDS_REVIEW, actor=None)

    again, again_job = node_submit(user=creator, video_url=URL)

    assert again.pk != node.pk and again_job is not None and again_job != job_id
    assert _counts() == (2, 2, 0)


@pytest.mark.django_db
def test_the_same_link_from_another_user_or_with_spaces_around_it(creator):
    node, _ = node_submit(user=creator, video_url=URL)

    same, job = node_submit(user=creator, video_url=f"  {URL}\n")  # stored trimmed: the same link
    other, other_job = node_submit(user=UserFactory(role=Role.CREATOR), video_url=URL)

    assert (same.pk, job) == (node.pk, None)
    assert other.pk != node.pk and other_job is not None
    assert _counts() == (2, 2, 0)


@pytest.mark.django_db
def test_an_editor_adding_a_link_of_theirs_still_in_analysis_is_told_so_and_nothing_is_added(
    editor_session, editor_user
):
    node, _ = node_submit(user=editor_user, video_url=URL, title="Cushion swap")
    url = reverse("admin:remix_remixnode_add")
    data = admin_form(editor_session, url, "remixnode")
    data.update(source_url=URL, title="Again")
    before = LogEntry.objects.count()

    response = editor_session.post(url, data)

    assert response.status_code == 200
    errors = form_errors(response)
    assert len(errors) == 1 and "still being analysed" in errors[0] and str(node.public_id) in errors[0]
    assert _counts() == (1, 1, 0)
    assert LogEntry.objects.count() == before
