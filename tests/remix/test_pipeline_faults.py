"""The pipeline's invariant under a storm of provider faults, through the real SDKs and the real worker.

Both provider doubles answer each request with a fault drawn (seeded) from what production serves: overload and
5xx answers, answers that trickle in past the deadline, connections dropped mid-answer, broken JSON, and good
answers. Whatever they draw, every submitted URL ends in exactly one visible state (in review with an AI brief, or
in manual review with the reason), the ledger records one attempt per request the providers received, and the
month's recorded spend never passes the cap.
"""

from __future__ import annotations

import random
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from accounts.models import Role
from kmeme.ai.budget import budget_month_spend
from kmeme.ai.models import AICall, AICallStatus
from remix.models import BriefSource, NodeStatus, RemixNode
from tests.accounts.factories import UserFactory
from tests.doubles import server
from tests.doubles.anthropic import anthropic_error_body
from tests.doubles.fixtures import providers_on_doubles
from tests.doubles.gemini import generate_content_body, google_error_body
from tests.remix.factories import AI_ANALYSIS, AI_BRIEF

SUBMISSIONS = 10


def _trickle(seconds: float, stop: threading.Event) -> server.Reply:
    """A 200 whose body comes a byte at a time, for longer than the call's deadline."""
    body = b'{"candidates": [' + b" " * 200

    def chunks():
        for byte in body:
            if stop.is_set():
                return
            yield bytes([byte])
            stop.wait(seconds / len(body))

    return server.Reply(status=200, headers={"Content-Type": "application/json"}, chunks=chunks, length=len(body) + 10)


def _gemini_fault(rng: random.Random, stop: threading.Event):
    def respond(request, match):
        kind = rng.choice(["ok", "ok", "503", "429", "trickle", "drop", "broken"])
        if kind == "ok":
            body = generate_content_body(AI_ANALYSIS, prompt_tokens=2000, output_tokens=300)
            return server.json(200, body)
        if kind in ("503", "429"):
            return server.error(int(kind), google_error_body(int(kind)))
        if kind == "trickle":
            return _trickle(6, stop)
        if kind == "drop":
            return server.drop()
        return server.text(200, '{"candidates": [{"content": ')

    return respond


def _claude_fault(rng: random.Random, stop: threading.Event, claude):
    good = claude._message_reply(
        [{"type": "tool_use", "id": "toolu_storm", "name": "remix_brief", "input": AI_BRIEF}],
        input_tokens=1500,
        output_tokens=700,
        stop_reason="tool_use",
        model=None,
        headers=None,
    )

    def respond(request, match):
        kind = rng.choice(["ok", "ok", "529", "500", "trickle", "drop", "broken"])
        if kind == "ok":
            return good(request, match)
        if kind in ("529", "500"):
            return server.error(int(kind), anthropic_error_body(int(kind), None, None, request_id="req_storm"))
        if kind == "trickle":
            return _trickle(6, stop)
        if kind == "drop":
            return server.drop()
        return server.text(200, '{"id": "msg", "type": "message", "content": [')

    return respond


@pytest.fixture
def storm(settings, gemini_double, anthropic_double, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # AI_CIRCUIT_FAILURES: every request reaches the doubles, so the ledger can be compared with them.
    providers_on_doubles(
        settings,
        gemini_double,
        anthropic_double,
        AI_RETRY_ATTEMPTS=3,
        AI_TIMEOUT_S=0.5,
        AI_CALL_DEADLINE_S=1.5,
        AI_CIRCUIT_FAILURES=1000,
    )
    rng, stop = random.Random(20261122), threading.Event()
    gemini_double.set_default("generate", _gemini_fault(rng, stop))
    anthropic_double.set_default("messages", _claude_fault(rng, stop, anthropic_double))
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs CASCADE")
    yield gemini_double, anthropic_double
    stop.set()


@pytest.mark.parametrize("cap", [100, 0.05])
@pytest.mark.django_db(transaction=True)
def test_every_url_ends_in_one_visible_state_and_the_ledger_matches_the_providers(storm, settings, video_url, cap):
    gemini, claude = storm
    settings.LLM_MONTHLY_CAP = cap
    client = APIClient()
    client.force_authenticate(UserFactory(role=Role.CREATOR))
    ids = []
    for n in range(SUBMISSIONS):
        response = client.post("/api/v1/analyses", {"video_url": f"{video_url}?take={n}"}, format="json")
        assert response.status_code == 202, response.content
        ids.append(response.json()["node"]["id"])

    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(queues=["pipeline"], wait=False, install_signal_handlers=False, listen_notify=False)

    stuck = list(RemixNode.objects.filter(status=NodeStatus.ANALYZING).values_list("pipeline_error", flat=True))
    assert not stuck, stuck
    assert set(ProcrastinateJob.objects.filter(queue_name="pipeline").values_list("status", flat=True)) == {"succeeded"}
    outcomes = {}
    for public_id in ids:
        status = client.get(f"/api/v1/analyses/{public_id}").json()
        node = RemixNode.objects.get(public_id=public_id)
        if status["status"] == NodeStatus.IN_REVIEW:
            assert status["fallback"] is None and status["brief"]["source"] == BriefSource.AI
        else:
            assert status["status"] == NodeStatus.NEEDS_REVIEW, status
            assert status["fallback"]["reason"] and status["fallback"]["provider"] in ("gemini", "anthropic")
            assert status["brief"]["source"] == BriefSource.RULE_BASED
        assert node.briefs.count() == 1 and node.analyses.count() == 1
        outcomes[status["status"]] = outcomes.get(status["status"], 0) + 1

    # One ledger attempt per request each provider received; nothing left reserved; the cap held.
    attempts = dict(AICall.objects.values_list("provider").annotate(n=Sum("attempts")))
    assert attempts.get("gemini", 0) == len(gemini.generate_requests)
    assert attempts.get("anthropic", 0) == len(claude.message_requests)
    assert not AICall.objects.filter(status=AICallStatus.RESERVED).exists()
    # Each call names the job attempt that made it, so the sweep can tell when that attempt is over.
    assert all(owner.startswith("job:") for owner in AICall.objects.values_list("owner", flat=True))
    assert budget_month_spend() <= Decimal(str(cap))
    if cap >= 1:
        assert outcomes.get(NodeStatus.IN_REVIEW) and outcomes.get(NodeStatus.NEEDS_REVIEW), outcomes
    else:
        assert AICall.objects.filter(status=AICallStatus.REFUSED_BUDGET).exists()
