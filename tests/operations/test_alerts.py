"""The alert rules, evaluated as the every-minute job does, posting to a loopback Slack receiver: once when a rule
starts firing, never again while it fires, once when it resolves; a failed post is kept and retried."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from procrastinate.contrib.django import app

from accounts.models import Role
from kmeme.ai.gemini import gemini_analyze
from kmeme.ai.models import AICall, AICallStatus
from kmeme.ai.types import ProviderUnavailable
from kmeme.tasks import db_backup_nightly
from operations.latency import latency_record, latency_summary
from operations.models import AlertEvent, AlertState, AlertStatus, NotifyStatus
from operations.services import alert_events_notify, alerts_evaluate
from operations.tasks import alerts_evaluate_job
from remix.pipeline import pipeline_run
from remix.services import node_submit
from remix.tasks import node_analyze
from tests.accounts.factories import UserFactory
from tests.doubles import server
from tests.doubles.fixtures import providers_on_doubles
from tests.operations.conftest import ledger_call

pytestmark = pytest.mark.django_db


def ask_gemini() -> None:
    gemini_analyze(
        node_id=None,
        video_url="https://www.youtube.com/shorts/abcDEF12345",
        by_url=True,
        media_path=None,
        probe={"duration_s": 7},
        title="Colour flip",
        personal_names=[],
    )


def fired(rule: str) -> list[AlertEvent]:
    return list(AlertEvent.objects.filter(rule=rule).order_by("id"))


def test_gemini_failing_fires_once_stays_quiet_while_firing_and_resolves_once(
    settings, slack, gemini_double, anthropic_double
):
    providers_on_doubles(settings, gemini_double, anthropic_double, AI_RETRY_ATTEMPTS=1, AI_CIRCUIT_FAILURES=1000)
    gemini_double.script_error(500, "internal error", times=20)
    for _ in range(19):
        with pytest.raises(ProviderUnavailable):
            ask_gemini()
    assert AICall.objects.filter(provider="gemini", status=AICallStatus.ERROR).count() == 19

    alerts_evaluate()  # 19 failed calls: under the minimum sample, nobody is paged
    assert slack.texts() == []
    state = AlertState.objects.get(rule="gemini_error_rate")
    assert (state.status, state.value, state.sample) == (AlertStatus.OK, 1.0, 19)

    with pytest.raises(ProviderUnavailable):
        ask_gemini()
    alerts_evaluate()
    [post] = slack.texts()
    assert "FIRING: Gemini error rate* is 100.0 %" in post
    assert "over the last 15 min (alert above 5.0 %): 20 failed of 20 Gemini calls" in post
    state.refresh_from_db()
    assert state.status == AlertStatus.FIRING
    assert f"<https://kmeme.example/admin/operations/alertstate/{state.pk}/change/|" in post
    assert "<https://kmeme.example/admin/ai/aicall/?provider__exact=gemini|" in post

    alerts_evaluate()
    alerts_evaluate()
    assert len(slack.texts()) == 1  # still firing: no more posts
    assert [e.kind for e in fired("gemini_error_rate")] == ["fired"]

    # Fixed: Gemini answers again; fifteen minutes on, the window holds no failure.
    alerts_evaluate(now=timezone.now() + timedelta(minutes=16))
    assert len(slack.texts()) == 2
    assert "RESOLVED: Gemini error rate* is back at 0.0 %" in slack.texts()[1]
    assert [(e.kind, e.notify_status) for e in fired("gemini_error_rate")] == [
        ("fired", NotifyStatus.SENT),
        ("resolved", NotifyStatus.SENT),
    ]
    alerts_evaluate(now=timezone.now() + timedelta(minutes=17))
    assert len(slack.texts()) == 2
    slack.assert_no_failures()


def test_analyses_without_keys_fire_the_gemini_and_node_creation_alerts(settings, slack, video_url, tmp_path):
    settings.ALERT_MIN_SAMPLE = 3
    settings.MEDIA_ROOT = tmp_path / "media"
    creator = UserFactory(role=Role.CREATOR)
    for n in range(3):
        node, _ = node_submit(user=creator, video_url=video_url, title=f"No keys {n}")
        pipeline_run(node_id=node.pk)

    alerts_evaluate()
    texts = slack.texts()
    assert len(texts) == 2
    [gemini] = [t for t in texts if "Gemini error rate" in t]
    assert "3 failed of 3 Gemini calls (3 not_configured without a call)" in gemini
    [nodes] = [t for t in texts if "Node-creation success rate" in t]
    assert "is 0.0 % over the last 1 h (alert under 95.0 %): 0 of 3 analyses reached review" in nodes


def test_a_failing_webhook_is_recorded_and_retried_at_the_next_evaluation_without_firing_again(settings, slack):
    slack.push("webhook", server.error(500, {"error": "slack is down"}))
    for _ in range(20):
        ledger_call(provider="gemini", model=settings.GEMINI_MODEL, ok=False)

    alerts_evaluate()
    [event] = fired("gemini_error_rate")
    assert event.notify_status == NotifyStatus.FAILED and event.notify_attempts == 1
    assert "500" in event.notify_error

    alerts_evaluate()
    event.refresh_from_db()
    assert event.notify_status == NotifyStatus.SENT and event.notify_attempts == 2 and event.notified_at
    assert len(fired("gemini_error_rate")) == 1
    first, second = slack.texts()
    assert first == second == event.message

    alerts_evaluate()
    assert len(slack.texts()) == 2


def test_a_post_failing_for_a_day_is_given_up_and_stays_in_the_history(settings, slack):
    slack.set_default("webhook", lambda request, match: server.error(503, {"error": "unavailable"}))
    for _ in range(20):
        ledger_call(provider="gemini", model=settings.GEMINI_MODEL, ok=False)
    alerts_evaluate()
    alert_events_notify(now=timezone.now() + timedelta(hours=2))
    [event] = fired("gemini_error_rate")
    assert (event.notify_status, event.notify_attempts) == (NotifyStatus.FAILED, 2)

    alert_events_notify(now=timezone.now() + timedelta(hours=25))
    event.refresh_from_db()
    assert (event.notify_status, event.notify_attempts) == (NotifyStatus.GAVE_UP, 2)
    assert len(slack.texts()) == 2


def test_without_a_webhook_the_history_is_kept_for_the_admin(settings, editor_session):
    settings.SLACK_WEBHOOK_URL = ""
    for _ in range(20):
        ledger_call(provider="gemini", model=settings.GEMINI_MODEL, ok=False)
    alerts_evaluate()
    [event] = fired("gemini_error_rate")
    assert event.notify_status == NotifyStatus.NOT_CONFIGURED

    # Editors see the alerts and their history, and change nothing.
    page = editor_session.get("/admin/operations/alertevent/")
    assert page.status_code == 200 and b"gemini_error_rate" in page.content
    state = AlertState.objects.get(rule="gemini_error_rate")
    page = editor_session.get(f"/admin/operations/alertstate/{state.pk}/change/")
    assert page.status_code == 200
    assert b"20 failed of 20 Gemini calls" in page.content and b"100.0 %" in page.content
    assert editor_session.get("/admin/operations/alertstate/add/").status_code == 403
    assert editor_session.post(f"/admin/operations/alertstate/{state.pk}/delete/").status_code == 403


def test_the_api_latency_p95_fires_above_500_ms(slack):
    now = time.time()
    for _ in range(19):
        latency_record(seconds=0.05, at=now)
    latency_record(seconds=2.0, at=now)
    assert latency_summary(now=now).p95_s <= 0.5  # 1 slow request in 20 is the 5 % a P95 lets through
    alerts_evaluate()
    assert slack.texts() == []

    for _ in range(20):
        latency_record(seconds=0.7, at=now)
    summary = latency_summary(now=now)
    assert summary.requests == 40 and 0.5 < summary.p95_s <= 0.75
    alerts_evaluate()
    [post] = slack.texts()
    assert "FIRING: API latency P95* is" in post and "over 40 API requests" in post


@pytest.mark.django_db(transaction=True)
def test_a_job_failing_three_times_in_an_hour_fires(slack, empty_job_queue):
    for node_id in (987654321, 987654322, 987654323):  # no such nodes: each run raises
        node_analyze.defer(node_id=node_id)
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(queues=["pipeline"], wait=False, install_signal_handlers=False, listen_notify=False)
    alerts_evaluate()
    [post] = slack.texts()
    assert "FIRING: A job keeps failing* is 3" in post and "remix.tasks.node_analyze ×3" in post
    assert "/admin/procrastinate/procrastinatejob/?status__exact=failed|" in post


def _nightly_backup_runs(count: int) -> None:
    for night in range(count):
        db_backup_nightly.defer(timestamp=int(time.time()) + night)
        with app.replace_connector(app.connector.get_worker_connector()):
            app.run_worker(queues=["maintenance"], wait=False, install_signal_handlers=False, listen_notify=False)


@pytest.mark.django_db(transaction=True)
def test_a_nightly_job_failing_three_nights_in_a_row_fires_and_a_good_night_resolves_it(
    slack, empty_job_queue, settings, tmp_path
):
    settings.PGBACKREST_CONFIG = str(tmp_path / "missing.conf")  # the backup cannot run: each night's job fails
    _nightly_backup_runs(2)
    alerts_evaluate()
    assert slack.texts() == []  # two bad nights: not yet "keeps failing"
    _nightly_backup_runs(1)
    alerts_evaluate()
    [post] = slack.texts()
    assert "FIRING: A job keeps failing* is 3" in post and "kmeme.tasks.db_backup_nightly: last 3 runs failed" in post

    settings.PGBACKREST_CONFIG = ""  # no local cluster to back up: the job has nothing to do and succeeds
    _nightly_backup_runs(1)
    alerts_evaluate(now=timezone.now() + timedelta(hours=2))  # the next nights: the failures left the hour too
    assert len(slack.texts()) == 2 and "RESOLVED: A job keeps failing" in slack.texts()[1]


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_evaluation_job(empty_job_queue):
    alerts_evaluate_job.defer(timestamp=int(time.time()))
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(queues=["maintenance"], wait=False, install_signal_handlers=False, listen_notify=False)
    assert set(AlertState.objects.values_list("rule", flat=True)) == {
        "api_latency_p95",
        "gemini_error_rate",
        "node_creation_success_rate",
        "ksuccess_conversion",
        "job_keeps_failing",
    }
