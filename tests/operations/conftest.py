"""Fixtures of the operations tests: a loopback Slack receiver, a /metrics reader, the pipeline's loopback video."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.db import connection
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from kmeme.ai.budget import budget_reserve, budget_settle
from kmeme.ai.models import AICallStatus
from operations.metrics import business_collector
from tests.doubles import server
from tests.doubles.fixtures import _bypass_proxies_for_loopback
from tests.remix.conftest import video_bytes, video_url

__all__ = ["video_bytes", "video_url"]

WEBHOOK_PATH = "/services/T0000/B0000/xxxxxxxx"


class SlackDouble(server.HttpDouble):
    """A Slack incoming webhook: answers `ok` to every post unless told otherwise."""

    def __init__(self) -> None:
        super().__init__("slack")
        self.route("webhook", "POST", WEBHOOK_PATH, lambda request, match: server.text(200, "ok", "text/html"))

    @property
    def url(self) -> str:
        return self.base_url + WEBHOOK_PATH

    def texts(self) -> list[str]:
        return [request.json["text"] for request in self.requests_for("webhook")]


@pytest.fixture
def slack(settings, monkeypatch) -> Iterator[SlackDouble]:
    _bypass_proxies_for_loopback(monkeypatch)
    with SlackDouble() as double:
        settings.SLACK_WEBHOOK_URL = double.url
        settings.SITE_URL = "https://kmeme.example"
        yield double


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


SCRAPE_TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture
def scrape(settings) -> Callable[..., Samples]:
    """Read /metrics as Prometheus would, with its token (tests run with DEBUG off), and afresh rather than from the
    collector's few-second memory; returns {(sample name, sorted labels): value}."""
    settings.METRICS_TOKEN = SCRAPE_TOKEN

    def read(client: Client | None = None) -> Samples:
        business_collector.forget()
        response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPE_TOKEN}")
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")
        return _samples(response.content.decode())

    return read


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def empty_job_queue(django_db_blocker) -> None:
    # procrastinate's tables are not Django-managed, so test teardown does not empty them.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs CASCADE")


def ledger_call(*, provider: str, model: str, ok: bool) -> None:
    """A provider call as kmeme.ai.calls records it in the ledger: reserved, then settled."""
    call = budget_reserve(
        provider=provider, model=model, purpose="analysis", node_id=None, max_input_tokens=1000, max_output_tokens=100
    )
    budget_settle(
        call=call,
        input_tokens=800 if ok else 0,
        output_tokens=90 if ok else 0,
        latency_ms=1200,
        status=AICallStatus.OK if ok else AICallStatus.ERROR,
        error="" if ok else "ServerError: 500 INTERNAL",
    )
