"""What the ledger says a call cost, and what happens to a reservation whose call never settled it.

Through the real Anthropic SDK against its loopback double: timeouts are counted at their worst case (the provider
may bill them) while error answers cost nothing; a retry needing a second worst case respects the cap; a step's
paid answer is reused, even when its settlement was lost to a database blip; the sweep settles what a killed
process left open.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import DatabaseError, connection
from django.utils import timezone

from kmeme.ai.budget import ai_calls_owned_by, budget_month_spend, budget_reservations_release, budget_reserve
from kmeme.ai.claude import claude_brief
from kmeme.ai.models import AICall, AICallStatus
from kmeme.ai.types import ProviderUnavailable
from tests.remix.factories import AI_BRIEF

pytestmark = pytest.mark.django_db

ANALYSIS = {"duration_s": 12.0, "bpm": 120.0, "keyframes": [], "hook": "spin", "commerce_category": "none"}


@pytest.fixture
def claude(settings, anthropic_double):
    settings.ANTHROPIC_API_KEY = "test-anthropic-key"
    settings.ANTHROPIC_BASE_URL = anthropic_double.base_url
    settings.AI_RETRY_WAIT_MIN_S = settings.AI_RETRY_WAIT_MAX_S = 0
    settings.AI_RETRY_ATTEMPTS = 2
    settings.AI_TIMEOUT_S = 0.5
    settings.AI_CALL_DEADLINE_S = 5
    settings.LLM_MONTHLY_CAP = 100
    return anthropic_double


def _brief(request_key: str = "") -> Any:
    return claude_brief(
        node_id=None,
        title="Colour flip",
        analysis=ANALYSIS,
        editor_notes="",
        personal_names=[],
        request_key=request_key,
    )


def test_timed_out_attempts_are_counted_at_their_worst_case_not_at_zero(claude):
    claude.script_stall(3)
    claude.script_stall(3)
    with pytest.raises(ProviderUnavailable):
        _brief()
    call = AICall.objects.get()
    assert call.status == AICallStatus.ERROR and call.attempts == 2
    assert len(claude.message_requests) == 2
    # Both requests were sent and their answers lost: each is counted at the reservation's worst case.
    assert call.cost_usd > 0
    assert "2 of them possibly billed" in call.error
    assert budget_month_spend() == call.cost_usd <= Decimal(django_settings.LLM_MONTHLY_CAP)


def test_error_answers_cost_nothing(claude):
    claude.script_error(529, times=2)
    with pytest.raises(ProviderUnavailable):
        _brief()
    call = AICall.objects.get()
    assert (call.status, call.attempts, call.cost_usd) == (AICallStatus.ERROR, 2, Decimal(0))
    assert "0 of them possibly billed" in call.error


def test_a_retry_that_needs_a_second_worst_case_respects_the_cap(claude, settings):
    claude.script_stall(3)
    with pytest.raises(ProviderUnavailable):
        _brief()  # one lost attempt, then a 500 "no scripted response": one worst case recorded
    first = AICall.objects.get()
    worst = first.cost_usd
    assert worst > 0
    # Room for one more worst case and a half: the first attempt fits, a retry after a lost one does not.
    settings.LLM_MONTHLY_CAP = float(budget_month_spend() + worst * Decimal("1.5"))
    requests_before = len(claude.message_requests)
    claude.script_stall(3)
    with pytest.raises(ProviderUnavailable) as refused:
        _brief()
    assert refused.value.code == "budget_exceeded"
    assert len(claude.message_requests) == requests_before + 1  # no second request was sent
    assert budget_month_spend() <= Decimal(str(settings.LLM_MONTHLY_CAP))


def test_a_retried_step_reuses_the_answer_it_paid_for(claude):
    claude.script_tool_use("remix_brief", AI_BRIEF)
    first = _brief(request_key="brief:node:1:run-a")
    again = _brief(request_key="brief:node:1:run-a")
    assert len(claude.message_requests) == 1
    assert again.cached and not first.cached
    assert again.content == first.content
    assert AICall.objects.filter(status=AICallStatus.OK).count() == 1
    # Another step (another run) calls again.
    claude.script_tool_use("remix_brief", AI_BRIEF)
    _brief(request_key="brief:node:1:run-b")
    assert len(claude.message_requests) == 2


def _terminate_after(delay_s: float, pid: int) -> threading.Thread:
    params = connection.get_connection_params()
    dsn = {k: params[k] for k in ("host", "port", "user", "password") if params.get(k)}

    def kill() -> None:
        time.sleep(delay_s)
        with psycopg.connect(dbname="postgres", **dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_an_answer_whose_settlement_hit_a_database_blip_is_not_paid_for_again(claude, settings):
    settings.AI_TIMEOUT_S = 5
    claude.script_tool_use("remix_brief", AI_BRIEF, delay=1.0)
    connection.ensure_connection()
    killer = _terminate_after(0.3, connection.connection.info.backend_pid)
    with pytest.raises(DatabaseError):
        _brief(request_key="brief:node:7:run-a")  # answered, then the settlement's connection was gone
    killer.join()
    connection.close()
    assert AICall.objects.get().status == AICallStatus.RESERVED  # left open by the blip

    result = _brief(request_key="brief:node:7:run-a")
    assert result.cached and result.content["concept"] == AI_BRIEF["concept"]
    assert len(claude.message_requests) == 1  # the retry paid for nothing
    call = AICall.objects.get()
    assert call.status == AICallStatus.OK and call.input_tokens == 21 and call.output_tokens == 43
    assert not AICall.objects.filter(status=AICallStatus.RESERVED).exists()


# --- The sweep ---------------------------------------------------------------------------------------------------


def _reserve(owner: str = "", **changes: Any) -> AICall:
    with ai_calls_owned_by(owner):
        call = budget_reserve(
            provider="anthropic",
            model=django_settings.CLAUDE_MODEL,
            purpose="brief",
            node_id=None,
            max_input_tokens=10_000,
            max_output_tokens=2_000,
            deadline_s=60,
        )
    if changes:
        AICall.objects.filter(pk=call.pk).update(**changes)
        call.refresh_from_db()
    return call


def test_the_sweep_releases_an_expired_reservation_that_sent_nothing_at_no_cost():
    call = _reserve(expires_at=timezone.now() - timedelta(seconds=1))
    assert budget_month_spend() == call.cost_usd > 0
    [settled] = budget_reservations_release()
    assert settled.pk == call.pk
    call.refresh_from_db()
    assert (call.status, call.cost_usd) == (AICallStatus.INTERRUPTED, Decimal(0))
    assert "before any request was sent" in call.error
    assert budget_month_spend() == 0


def test_the_sweep_counts_an_interrupted_call_that_was_sent_at_its_worst_case():
    call = _reserve(expires_at=timezone.now() - timedelta(seconds=1), sent_at=timezone.now(), attempts=1)
    worst = call.cost_usd
    budget_reservations_release()
    call.refresh_from_db()
    assert (call.status, call.cost_usd) == (AICallStatus.INTERRUPTED, worst)
    assert "1 request(s) were sent" in call.error


def test_the_sweep_leaves_a_live_call_alone_and_settles_one_whose_job_attempt_is_over():
    mine = f"{os.uname().nodename}:{os.getpid()}"
    live = _reserve()  # this process, before its expiry
    assert live.owner == mine and live.expires_at > timezone.now() + timedelta(seconds=60)
    running = _reserve(owner="job:41:0")
    retried = _reserve(owner="job:42:0")
    finished = _reserve(owner="job:43:2")
    settled = budget_reservations_release(jobs_running=lambda ids: {41: 0, 42: 1} if ids else {})
    assert {call.pk for call in settled} == {retried.pk, finished.pk}
    assert set(AICall.objects.filter(status=AICallStatus.RESERVED).values_list("pk", flat=True)) == {
        live.pk,
        running.pk,
    }


@pytest.mark.django_db(transaction=True)
def test_a_process_killed_mid_call_leaves_a_reservation_the_sweep_settles_at_once(claude, tmp_path):
    """SIGKILL a real process while its Claude request is in flight: its reservation is settled by the next sweep
    (its process is gone), at the worst case, since the request had been sent."""
    claude.script_stall(60)
    params = connection.settings_dict
    url = (
        f"postgis://{params['USER']}:{params['PASSWORD']}@{params['HOST'] or '127.0.0.1'}:{params['PORT']}/"
        f"{params['NAME']}"
    )
    script = (
        "from kmeme.ai.claude import claude_brief\n"
        f"claude_brief(node_id=None, title='t', analysis={ANALYSIS!r}, editor_notes='', personal_names=[])\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kmeme.settings",
        "DATABASE_URL": url,
        "REDIS_URL": django_settings.CACHES["default"]["LOCATION"],
        "ANTHROPIC_API_KEY": "test-anthropic-key",
        "ANTHROPIC_BASE_URL": claude.base_url,
        "AI_TIMEOUT_S": "30",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    worker = subprocess.Popen(  # noqa: S603 - this interpreter, this project's manage.py
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("w"),
    )
    try:
        waited = time.monotonic()
        while not claude.message_requests:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() - waited < 30, "the process never sent its request"
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    call = AICall.objects.get()
    assert call.status == AICallStatus.RESERVED and call.sent_at is not None and call.owner.endswith(f":{worker.pid}")
    worst = call.cost_usd

    [settled] = budget_reservations_release()
    assert settled.pk == call.pk
    call.refresh_from_db()
    assert (call.status, call.cost_usd) == (AICallStatus.INTERRUPTED, worst)
    assert "no longer running" in call.error
    assert budget_month_spend() <= Decimal(django_settings.LLM_MONTHLY_CAP)
