import time

import pytest

from kmeme.ai.circuit import circuit_check, circuit_record_failure, circuit_record_success, circuit_state
from kmeme.ai.types import ProviderUnavailable


@pytest.fixture(autouse=True)
def _small_circuit(settings):
    settings.AI_CIRCUIT_FAILURES = 3
    settings.AI_CIRCUIT_COOLDOWN_S = 1


def test_opens_after_a_run_of_failures_and_skips_calls():
    for _ in range(2):
        circuit_record_failure(provider="gemini")
        circuit_check(provider="gemini")  # still closed
    assert circuit_state(provider="gemini") == {"state": "closed", "recent_failures": 2}
    circuit_record_failure(provider="gemini")
    with pytest.raises(ProviderUnavailable) as excinfo:
        circuit_check(provider="gemini")
    assert excinfo.value.code == "circuit_open"
    assert circuit_state(provider="gemini")["state"] == "open"
    circuit_check(provider="anthropic")  # the other provider is unaffected


def test_half_open_lets_one_trial_through_and_success_closes_it():
    for _ in range(3):
        circuit_record_failure(provider="gemini")
    time.sleep(1.1)
    assert circuit_state(provider="gemini")["state"] == "half_open"
    circuit_check(provider="gemini")  # the trial
    with pytest.raises(ProviderUnavailable):
        circuit_check(provider="gemini")  # a second caller waits for the trial
    circuit_record_success(provider="gemini")
    assert circuit_state(provider="gemini") == {"state": "closed", "recent_failures": 0}
    circuit_check(provider="gemini")


def test_a_failed_trial_opens_it_again():
    for _ in range(3):
        circuit_record_failure(provider="anthropic")
    time.sleep(1.1)
    circuit_check(provider="anthropic")
    circuit_record_failure(provider="anthropic")
    assert circuit_state(provider="anthropic")["state"] == "open"
