import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings

from kmeme.ai.budget import budget_month_spend, budget_reserve, budget_settle
from kmeme.ai.models import AICall, AICallStatus
from kmeme.ai.pricing import call_cost
from kmeme.ai.types import ProviderUnavailable


def test_cost_comes_from_token_usage_and_the_price_table(settings):
    settings.AI_PRICES = {**settings.AI_PRICES, "m": (3.0, 15.0)}
    assert call_cost(model="m", input_tokens=1_000_000, output_tokens=0) == Decimal("3.000000")
    assert call_cost(model="m", input_tokens=2000, output_tokens=1000) == Decimal("0.021000")


@pytest.mark.django_db
def test_a_reservation_is_replaced_by_the_real_usage(settings):
    settings.LLM_MONTHLY_CAP = 10
    call = budget_reserve(
        provider="anthropic",
        model=settings.CLAUDE_MODEL,
        purpose="brief",
        node_id=None,
        max_input_tokens=10_000,
        max_output_tokens=4096,
    )
    assert call.status == AICallStatus.RESERVED and call.cost_usd > 0
    budget_settle(call=call, input_tokens=1000, output_tokens=500, latency_ms=12, status=AICallStatus.OK)
    call.refresh_from_db()
    assert call.cost_usd == call_cost(model=settings.CLAUDE_MODEL, input_tokens=1000, output_tokens=500)
    assert budget_month_spend() == call.cost_usd


@pytest.mark.django_db
def test_past_the_cap_calls_are_refused_and_the_refusal_is_recorded(settings):
    settings.LLM_MONTHLY_CAP = 0.01
    with pytest.raises(ProviderUnavailable) as excinfo:
        budget_reserve(
            provider="anthropic",
            model=settings.CLAUDE_MODEL,
            purpose="brief",
            node_id=None,
            max_input_tokens=10_000,
            max_output_tokens=4096,
        )
    assert excinfo.value.code == "budget_exceeded"
    refused = AICall.objects.get()
    assert refused.status == AICallStatus.REFUSED_BUDGET and refused.cost_usd == 0
    assert "cap" in refused.error


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_workers_cannot_overshoot_the_cap():
    model = "claude-sonnet-5-5"
    one_call = call_cost(model=model, input_tokens=20_000, output_tokens=4096)  # ~$0.12
    cap = one_call * 7 + one_call / 2  # room for exactly 7 calls
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def worker():
        barrier.wait()
        try:
            budget_reserve(
                provider="anthropic",
                model=model,
                purpose="brief",
                node_id=None,
                max_input_tokens=20_000,
                max_output_tokens=4096,
            )
            outcomes.append("reserved")
        except ProviderUnavailable as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    with override_settings(LLM_MONTHLY_CAP=float(cap)):
        threads = [threading.Thread(target=worker) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert outcomes.count("reserved") == 7
        assert outcomes.count("budget_exceeded") == 13
        assert budget_month_spend() <= cap
