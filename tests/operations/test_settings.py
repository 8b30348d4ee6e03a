"""Half-configured operations settings stop the start with a message; with none of them production starts (and
/metrics is off: tests/operations/test_metrics.py)."""

from __future__ import annotations

import pytest

from tests.kmeme.test_settings import PRODUCTION_ENV, _manage


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN must be at least 24 characters"),
        ({"METRICS_ALLOWED_IPS": "10.0.0.0/8,not-an-address"}, "'not-an-address' is not an address or network"),
        ({"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x"}, "SITE_URL"),
        ({"SLACK_WEBHOOK_URL": "http://hooks.example/x", "SITE_URL": "https://k.example"}, "must be an https://"),
    ],
)
def test_production_refuses_half_configured_operations(extra, message):
    result = _manage("check", env={**PRODUCTION_ENV, **extra})
    assert result.returncode != 0
    assert message in result.stderr


def test_production_starts_without_metrics_or_slack_and_with_both():
    assert _manage("check", env=PRODUCTION_ENV).returncode == 0
    configured = {
        **PRODUCTION_ENV,
        "METRICS_TOKEN": "m" * 32,
        "METRICS_ALLOWED_IPS": "10.0.0.0/8, 192.0.2.1",
        "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x",
        "SITE_URL": "https://kmeme.example/",
    }
    result = _manage("check", env=configured)
    assert result.returncode == 0, result.stderr
