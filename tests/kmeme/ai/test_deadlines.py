"""Provider calls end by AI_CALL_DEADLINE_S however slowly the provider answers, through the real SDKs.

The doubles send a valid answer a byte every 0.2 s: each read gets a byte long before AI_TIMEOUT_S, so only the
total deadline can end the call, well before the ~2 minutes the answer would take. An attempt whose request went
out and whose answer was lost may still be billed by the provider: the ledger counts it at its worst case, and
the month's recorded spend still never passes the cap. An HTTP error answer costs nothing.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from kmeme.ai.budget import budget_month_spend
from kmeme.ai.claude import claude_brief
from kmeme.ai.gemini import gemini_analyze
from kmeme.ai.models import AICall, AICallStatus
from kmeme.ai.types import ProviderUnavailable
from tests.doubles import server
from tests.doubles.anthropic import message_body
from tests.doubles.fixtures import providers_on_doubles
from tests.doubles.gemini import generate_content_body
from tests.remix.factories import AI_ANALYSIS, AI_BRIEF

pytestmark = pytest.mark.django_db

DEADLINE_S = 2.0
TRICKLE_INTERVAL_S = 0.2


@pytest.fixture
def providers(settings, gemini_double, anthropic_double):
    # AI_TIMEOUT_S bounds one read; a trickled byte comes every 0.2 s, so it never trips.
    providers_on_doubles(
        settings,
        gemini_double,
        anthropic_double,
        AI_CALL_DEADLINE_S=DEADLINE_S,
        AI_TIMEOUT_S=1.0,
        AI_CIRCUIT_FAILURES=100,
    )
    return gemini_double, anthropic_double


def trickled(body: dict) -> server.Reply:
    """A valid answer, one byte every 0.2 s (minutes in all)."""
    return server.trickle(server.json(200, body), bytes_per_chunk=1, interval_s=TRICKLE_INTERVAL_S)


def trickle_seconds(reply: server.Reply) -> float:
    return reply.content_length() * TRICKLE_INTERVAL_S


def claude_trickled() -> server.Reply:
    tool_use = {"type": "tool_use", "id": "toolu_slow", "name": "remix_brief", "input": AI_BRIEF}
    return trickled(message_body([tool_use], model="claude-sonnet-5-5", stop_reason="tool_use"))


def ask_claude() -> None:
    claude_brief(node_id=None, title="Colour flip", analysis=AI_ANALYSIS, editor_notes="", personal_names=[])


def ask_gemini() -> None:
    gemini_analyze(
        node_id=None,
        video_url="https://www.youtube.com/shorts/abcDEF12345",
        by_url=True,
        media_path=None,
        probe={},
        title="Colour flip",
        personal_names=[],
    )


def timed_failure(call) -> tuple[ProviderUnavailable, float]:
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as caught:
        call()
    return caught.value, time.monotonic() - started


def test_a_drip_fed_claude_answer_is_cut_off_at_the_deadline_and_counted_at_its_worst_case(providers, settings):
    _, claude = providers
    reply = claude_trickled()
    assert trickle_seconds(reply) > 60
    claude.push("messages", reply)

    error, took = timed_failure(ask_claude)

    assert error.code == "provider_error"
    assert DEADLINE_S - 0.2 <= took < DEADLINE_S + 2, f"cut off after {took:.2f} s"
    assert len(claude.message_requests) == 1  # the deadline left no time for a retry
    call = AICall.objects.get()
    assert (call.provider, call.status) == ("anthropic", AICallStatus.ERROR)
    assert call.cost_usd > 0  # sent, answer lost: the provider may bill it
    assert "1 of them possibly billed" in call.error
    assert call.expires_at is None  # settled by the call itself, not left for the sweep
    assert budget_month_spend() == call.cost_usd <= Decimal(str(settings.LLM_MONTHLY_CAP))


def test_a_drip_fed_gemini_answer_is_cut_off_at_the_deadline_and_counted_at_its_worst_case(providers, settings):
    gemini, _ = providers
    reply = trickled(generate_content_body(AI_ANALYSIS, model_version=settings.GEMINI_MODEL))
    assert trickle_seconds(reply) > 60
    gemini.push("generate", reply)

    error, took = timed_failure(ask_gemini)

    assert error.code == "provider_error"
    assert DEADLINE_S - 0.2 <= took < DEADLINE_S + 2, f"cut off after {took:.2f} s"
    assert len(gemini.generate_requests) == 1
    call = AICall.objects.get()
    assert (call.provider, call.status) == ("gemini", AICallStatus.ERROR)
    assert call.cost_usd > 0 and "1 of them possibly billed" in call.error
    assert budget_month_spend() == call.cost_usd <= Decimal(str(settings.LLM_MONTHLY_CAP))


def test_each_lost_attempt_is_counted_and_a_retry_needs_room_under_the_cap(providers, settings):
    _, claude = providers
    # One lost attempt: its worst case is what one attempt of this call can cost.
    claude.push("messages", claude_trickled())
    timed_failure(ask_claude)
    worst_case = AICall.objects.get().cost_usd

    # A read timeout (lost), then a retry that trickles until the deadline (lost again): two worst cases.
    claude.script_stall(30)
    claude.push("messages", claude_trickled())
    error, took = timed_failure(ask_claude)
    assert error.code == "provider_error" and took < DEADLINE_S + 2
    second = AICall.objects.latest("id")
    assert second.cost_usd == 2 * worst_case and "2 of them possibly billed" in second.error
    assert len(claude.message_requests) == 3

    # Room for this call's first worst case, not for a second: after a lost attempt it is not retried.
    settings.LLM_MONTHLY_CAP = float(budget_month_spend() + worst_case * Decimal("1.5"))
    claude.script_stall(30)
    claude.push("messages", claude_trickled())  # never asked for
    error, _ = timed_failure(ask_claude)
    assert error.code == "budget_exceeded"
    assert len(claude.message_requests) == 4
    third = AICall.objects.latest("id")
    assert (third.status, third.cost_usd) == (AICallStatus.ERROR, worst_case)
    assert budget_month_spend() == 4 * worst_case <= Decimal(str(settings.LLM_MONTHLY_CAP))


def test_a_503_storm_is_recorded_at_no_cost(providers):
    gemini, claude = providers
    claude.script_error(503, times=3)
    gemini.script_error(503, times=3)

    assert timed_failure(ask_claude)[0].code == "provider_error"
    assert timed_failure(ask_gemini)[0].code == "provider_error"

    assert len(claude.message_requests) == 3 and len(gemini.generate_requests) == 3
    calls = AICall.objects.order_by("id")
    assert [(c.provider, c.status, c.cost_usd) for c in calls] == [
        ("anthropic", AICallStatus.ERROR, Decimal(0)),
        ("gemini", AICallStatus.ERROR, Decimal(0)),
    ]
    assert all("after 3 attempt(s), 0 of them possibly billed" in c.error for c in calls)
    assert budget_month_spend() == 0


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_provider_calls_still_go_through_the_environments_proxy(providers, settings, monkeypatch, provider):
    """The SDK clients bring their own (deadline) transport, which httpx would otherwise let bypass
    HTTP(S)_PROXY: a deployment that reaches the providers through a proxy must keep doing so."""
    gemini, claude = providers
    double = claude if provider == "anthropic" else gemini
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", double.base_url)  # the double plays the proxy: it sees absolute URLs
    # A host that does not exist: only the proxy can reach it. Unique per test, as the SDK clients are cached.
    origin = f"http://{provider}-{time.monotonic_ns()}.proxied.invalid"
    if provider == "anthropic":
        settings.ANTHROPIC_BASE_URL = origin
        claude.script_tool_use("remix_brief", AI_BRIEF)
        ask_claude()
        target = claude.message_requests[-1].target
    else:
        settings.GEMINI_BASE_URL = origin
        gemini.script_generate(AI_ANALYSIS)
        ask_gemini()
        target = gemini.generate_requests[-1].target
    assert target.startswith(origin), target
