"""/metrics: django-prometheus's per-view latency histograms and the business gauges, read from the real database and
Redis; and who may read it."""

from __future__ import annotations

import pytest
from django.test import Client
from procrastinate.contrib.django import app

from accounts.models import Role
from campaigns.models import ParticipationStatus
from campaigns.participations import participation_certify, participation_submit
from kmeme.tasks import jobs_prune
from remix.forks import fork_publish, node_fork
from remix.models import NodeStatus
from remix.services import node_create, node_transition
from remix.tasks import node_analyze
from tests.accounts.factories import UserFactory
from tests.campaigns.factories import campaign_launched, location_consent
from tests.operations.conftest import ledger_call, value
from tests.remix.factories import node_in_review

pytestmark = pytest.mark.django_db


def test_requests_show_up_in_a_latency_histogram_per_route_and_in_the_api_latency(scrape):
    before = scrape()
    client = Client()
    for _ in range(3):
        assert client.get("/api/v1/nodes").status_code == 200
    client.get("/health")
    after = scrape()

    count = "django_http_requests_latency_seconds_by_view_method_count"
    assert value(after, count, view="v1:nodes", method="GET") - value(before, count, view="v1:nodes", method="GET") == 3
    assert value(after, count, view="health", method="GET") - value(before, count, view="health", method="GET") == 1
    # Buckets up to +Inf, with 0.5 s (the alert) among the edges.
    bucket = "django_http_requests_latency_seconds_by_view_method_bucket"
    assert value(after, bucket, view="v1:nodes", method="GET", le="+Inf") >= 3
    assert (bucket, (("le", "0.5"), ("method", "GET"), ("view", "v1:nodes"))) in after
    # The Redis-kept API histogram (every process's requests) counted the API requests only.
    assert value(after, "kmeme_api_requests", window="15m") == 3
    assert 0 < value(after, "kmeme_api_latency_p95_seconds", window="15m") <= 30


def test_ai_calls_errors_and_spend_move_with_the_ledger(scrape, settings):
    empty = scrape()
    assert value(empty, "kmeme_ai_error_ratio", provider="gemini", window="15m") == 0
    assert value(empty, "kmeme_llm_spend_usd") == 0
    assert value(empty, "kmeme_llm_cap_usd") == settings.LLM_MONTHLY_CAP

    gemini = settings.GEMINI_MODEL
    ledger_call(provider="gemini", model=gemini, ok=True)
    ledger_call(provider="gemini", model=gemini, ok=False)
    ledger_call(provider="anthropic", model=settings.CLAUDE_MODEL, ok=True)
    after = scrape()

    for window in ("15m", "24h"):
        assert value(after, "kmeme_ai_calls", provider="gemini", model=gemini, window=window) == 2
        assert value(after, "kmeme_ai_call_errors", provider="gemini", model=gemini, window=window) == 1
        assert value(after, "kmeme_ai_error_ratio", provider="gemini", window=window) == 0.5
        assert value(after, "kmeme_ai_error_sample", provider="gemini", window=window) == 2
    assert value(after, "kmeme_ai_calls", provider="anthropic", model=settings.CLAUDE_MODEL, window="15m") == 1
    assert value(after, "kmeme_ai_error_ratio", provider="anthropic", window="15m") == 0
    assert value(after, "kmeme_llm_spend_usd") > 0
    assert value(after, "kmeme_llm_spend_ratio") == pytest.approx(value(after, "kmeme_llm_spend_usd") / 50.0)


def test_pipeline_outcomes_and_the_review_backlog_move_with_the_nodes(scrape):
    empty = scrape()
    assert value(empty, "kmeme_review_backlog", status="in_review") == 0
    assert value(empty, "kmeme_node_creation_success_ratio", window="1h") == 0

    node_in_review(title="Reached review")
    failed = node_create(title="Fell back", source_url="https://www.tiktok.com/@a/video/1", owner=None)
    node_transition(node=failed, to=NodeStatus.ANALYZING, actor=None)
    node_transition(node=failed, to=NodeStatus.NEEDS_REVIEW, actor=None, reason="the analysis job gave up")
    after = scrape()

    assert value(after, "kmeme_pipeline_runs", outcome="in_review", window="1h") == 1
    assert value(after, "kmeme_pipeline_runs", outcome="needs_review", window="24h") == 1
    assert value(after, "kmeme_node_creation_runs", window="1h") == 2
    assert value(after, "kmeme_node_creation_success_ratio", window="1h") == 0.5
    assert value(after, "kmeme_review_backlog", status="in_review") == 1
    assert value(after, "kmeme_review_backlog", status="needs_review") == 1
    assert value(after, "kmeme_review_oldest_seconds", status="needs_review") >= 0


def test_a_run_without_keys_counts_as_a_fallback_and_a_gemini_call_that_could_not_be_made(
    scrape, video_url, settings, tmp_path
):
    from remix.pipeline import pipeline_run
    from remix.services import node_submit

    settings.MEDIA_ROOT = tmp_path / "media"
    node, _ = node_submit(user=UserFactory(role=Role.CREATOR), video_url=video_url, title="No keys")
    pipeline_run(node_id=node.pk)
    after = scrape()
    assert value(after, "kmeme_pipeline_fallback_ratio", window="1h") == 1
    assert value(after, "kmeme_ai_calls_skipped", provider="gemini", reason="not_configured", window="15m") == 1
    assert value(after, "kmeme_ai_error_ratio", provider="gemini", window="15m") == 1


def _verified(campaign, name: str):
    creator = UserFactory(role=Role.CREATOR, display_name=name)
    location_consent(creator)
    fork = node_fork(master=campaign.master_nodes.get(), creator=creator, title=name, mutation_types=["localization"])
    fork_publish(fork=fork, user=creator)
    participation = participation_submit(
        campaign=campaign,
        creator=creator,
        video_url=f"https://www.tiktok.com/@{name}/video/1",
        fork_node=fork,
        longitude=127.0561,
        latitude=37.5449,
    )
    assert participation.status == ParticipationStatus.VERIFIED
    return participation


def test_ksuccess_conversion_is_zero_without_participations_and_moves_with_certifications(scrape):
    empty = scrape()
    assert value(empty, "kmeme_ksuccess_conversion_ratio", window="all") == 0
    assert ("kmeme_ksuccess_conversion_ratio", (("window", "all"),)) in empty

    campaign = campaign_launched(success_views=1000)
    first, _second = _verified(campaign, "mina"), _verified(campaign, "joon")
    participation_certify(
        participation=first, actor=UserFactory(role=Role.EDITOR), reason="The brand counted 20k views on Instagram."
    )
    after = scrape()
    for window in ("30d", "all"):
        assert value(after, "kmeme_ksuccess_verified_participations", window=window) == 2
        assert value(after, "kmeme_ksuccess_conversion_ratio", window=window) == 0.5


@pytest.mark.django_db(transaction=True)
def test_queue_depth_oldest_job_and_failed_runs_per_task(scrape, empty_job_queue):
    jobs_prune.defer(timestamp=1)
    queued = scrape()
    assert value(queued, "kmeme_jobs_waiting", queue="maintenance") == 1
    assert 0 <= value(queued, "kmeme_jobs_oldest_waiting_seconds", queue="maintenance") < 60

    node_analyze.defer(node_id=987654321)  # no such node: the job raises, and is scheduled for a retry
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(queues=["pipeline"], wait=False, install_signal_handlers=False, listen_notify=False)
    failed = scrape()
    assert value(failed, "kmeme_job_failures", task="remix.tasks.node_analyze", window="1h") == 1
    assert value(failed, "kmeme_jobs_scheduled", queue="pipeline") == 1
    assert value(failed, "kmeme_jobs_waiting", queue="pipeline") == 0


# --- who may read it ------------------------------------------------------------------------------------------------

TOKEN = "t" * 40


def _refusal(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == code and response.json()["error"]["status"] == status


def test_in_development_it_is_open_on_loopback_only(settings):
    settings.DEBUG = True
    assert Client().get("/metrics").status_code == 200  # the test client's address is 127.0.0.1
    _refusal(Client(REMOTE_ADDR="203.0.113.7").get("/metrics"), 403, "metrics_forbidden")


def test_in_production_it_needs_the_token(settings):
    settings.DEBUG = False
    settings.METRICS_TOKEN = TOKEN
    client = Client()
    _refusal(client.get("/metrics"), 403, "metrics_forbidden")  # loopback is not enough in production
    _refusal(client.get("/metrics", HTTP_AUTHORIZATION="Bearer " + "x" * 40), 403, "metrics_forbidden")
    _refusal(client.get("/metrics", HTTP_AUTHORIZATION=TOKEN), 403, "metrics_forbidden")
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200 and b"kmeme_llm_cap_usd" in response.content


def test_in_production_an_allowlisted_address_needs_no_token(settings):
    settings.DEBUG = False
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "192.0.2.10"]
    assert Client(REMOTE_ADDR="10.4.5.6").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.10").get("/metrics").status_code == 200
    _refusal(Client(REMOTE_ADDR="192.0.2.11").get("/metrics"), 403, "metrics_forbidden")
    # A client cannot name itself in X-Forwarded-For: with no proxy in front, the peer's address counts.
    _refusal(
        Client(REMOTE_ADDR="192.0.2.11").get("/metrics", HTTP_X_FORWARDED_FOR="10.0.0.1"), 403, "metrics_forbidden"
    )


def test_behind_a_proxy_the_address_the_proxy_saw_counts(settings):
    settings.DEBUG = False
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = Client(REMOTE_ADDR="172.16.0.2")
    assert proxy.get("/metrics", HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 200
    # What a client put before the proxy's own entry is not believed.
    _refusal(proxy.get("/metrics", HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.4"), 403, "metrics_forbidden")


def test_in_production_without_token_or_allowlist_it_is_switched_off(settings):
    settings.DEBUG = False
    _refusal(Client().get("/metrics"), 404, "not_found")
