"""Writes of the operations app: evaluating the alert rules and telling Slack about their transitions."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

import httpx2 as httpx
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from kmeme.deadline import deadline, deadline_client_args
from operations.alerts import RULES, AlertRule, Measurement
from operations.models import AlertEvent, AlertEventKind, AlertState, AlertStatus, NotifyStatus

logger = logging.getLogger("kmeme.operations")

# A post that keeps failing is tried at every evaluation (each minute) for this long, then given up (the event and
# its error stay in the admin).
NOTIFY_RETRY_FOR = timedelta(hours=24)


def _admin_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _message(*, rule: AlertRule, kind: str, measured: Measurement, state: AlertState) -> str:
    words = {">": "above", "<": "under", ">=": "at or above"}[rule.comparison]
    head = (
        f":rotating_light: *FIRING: {rule.title}* is {rule.show(measured.value)}"
        if kind == AlertEventKind.FIRED
        else f":white_check_mark: *RESOLVED: {rule.title}* is back at {rule.show(measured.value)}"
    )
    return (
        f"{head} over the last {rule.window_words()} (alert {words} {rule.show(rule.threshold)}): {measured.detail}.\n"
        f"<{_admin_url(reverse('admin:operations_alertstate_change', args=[state.pk]))}|This alert in the admin>"
        f" · <{_admin_url(rule.related_admin())}|what it counts>"
    )


def _transition(*, rule: AlertRule, measured: Measurement, now: datetime) -> AlertEvent | None:
    """Record this evaluation on the rule's state; returns the event when it started firing or resolved."""
    with transaction.atomic():
        AlertState.objects.get_or_create(rule=rule.name, defaults={"since": now})
        state = AlertState.objects.select_for_update().get(rule=rule.name)
        breached = rule.breached(measured.value)
        enough = measured.sample >= rule.min_sample()
        kind = None
        if state.status == AlertStatus.OK and breached and enough:
            kind, state.status = AlertEventKind.FIRED, AlertStatus.FIRING
        elif state.status == AlertStatus.FIRING and not breached:
            kind, state.status = AlertEventKind.RESOLVED, AlertStatus.OK
        if kind:
            state.since = now
        state.value, state.sample, state.detail, state.evaluated_at = (
            measured.value,
            measured.sample,
            measured.detail,
            now,
        )
        state.full_clean()
        state.save()
        if kind is None:
            return None
        event = AlertEvent(
            rule=rule.name,
            kind=kind,
            value=measured.value,
            threshold=rule.threshold,
            comparison=rule.comparison,
            window_s=int(rule.window.total_seconds()),
            sample=measured.sample,
            message=_message(rule=rule, kind=kind, measured=measured, state=state),
            notify_status=NotifyStatus.PENDING if settings.SLACK_WEBHOOK_URL else NotifyStatus.NOT_CONFIGURED,
        )
        event.full_clean()
        event.save()
    logger.warning(
        "alert %s: %s", kind, rule.name, extra={"rule": rule.name, "value": measured.value, "sample": measured.sample}
    )
    return event


def slack_post(*, text: str) -> None:
    """Post `text` to SLACK_WEBHOOK_URL (an incoming webhook), within SLACK_TIMEOUT_S, through the environment's
    proxies. Raises httpx.HTTPError (or DeadlineExceeded) when Slack did not take it."""
    timeout = settings.SLACK_TIMEOUT_S
    with deadline(timeout), httpx.Client(timeout=timeout, **deadline_client_args()) as client:
        response = client.post(settings.SLACK_WEBHOOK_URL, json={"text": text})
        response.raise_for_status()


def alert_events_notify(*, now: datetime | None = None) -> list[AlertEvent]:
    """Post the events Slack has not taken yet, oldest first (new ones, and ones whose post failed within
    NOTIFY_RETRY_FOR). Returns the events sent now."""
    now = now or timezone.now()
    if not settings.SLACK_WEBHOOK_URL:
        return []
    waiting = (NotifyStatus.PENDING, NotifyStatus.FAILED)
    due = AlertEvent.objects.filter(notify_status__in=waiting).order_by("created_at", "id").values_list("pk", flat=True)
    sent = []
    for pk in list(due):
        # The row stays locked while it is posted: a second evaluation running meanwhile skips it, so Slack never
        # gets one event twice.
        with transaction.atomic():
            event = (
                AlertEvent.objects.select_for_update(skip_locked=True).filter(pk=pk, notify_status__in=waiting).first()
            )
            if event is None:
                continue
            if event.created_at < now - NOTIFY_RETRY_FOR:
                event.notify_status = NotifyStatus.GAVE_UP
                event.save(update_fields=["notify_status"])
                continue
            event.notify_attempts += 1
            try:
                slack_post(text=event.message)
            except Exception as exc:  # whatever went wrong, the event says so and the next evaluation tries again
                event.notify_status, event.notify_error = NotifyStatus.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
                logger.warning(
                    "could not post an alert to Slack", extra={"rule": event.rule, "error": event.notify_error}
                )
            else:
                event.notify_status, event.notify_error, event.notified_at = NotifyStatus.SENT, "", timezone.now()
                sent.append(event)
            event.save(update_fields=["notify_status", "notify_error", "notified_at", "notify_attempts"])
    return sent


def alerts_evaluate(*, now: datetime | None = None, rules: Iterable[AlertRule] = RULES) -> list[AlertEvent]:
    """Measure every rule over its window ending `now`, record it on the rule's state, open an event when a rule
    starts firing or resolves, then post the events Slack has not taken yet. Returns the new events.

    A rule whose measurement fails (a selector's query, Redis for the latency) is logged and skipped: the others are
    still evaluated."""
    now = now or timezone.now()
    events = []
    for rule in rules:
        try:
            measured = rule.measure(now)
        except Exception:
            logger.exception("could not measure alert rule %s", rule.name, extra={"rule": rule.name})
            continue
        event = _transition(rule=rule, measured=measured, now=now)
        if event is not None:
            events.append(event)
    alert_events_notify(now=now)
    return events
