"""Alert rules' current state and their history (operations.alerts defines the rules; operations.services writes)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy


class AlertStatus(models.TextChoices):
    OK = "ok", gettext_lazy("OK")
    FIRING = "firing", gettext_lazy("Firing")


class AlertEventKind(models.TextChoices):
    FIRED = "fired", gettext_lazy("Fired")
    RESOLVED = "resolved", gettext_lazy("Resolved")


class NotifyStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Not sent yet")
    SENT = "sent", gettext_lazy("Sent to Slack")
    FAILED = "failed", gettext_lazy("Sending failed (retried at the next evaluation)")
    GAVE_UP = "gave_up", gettext_lazy("Sending failed for good")
    NOT_CONFIGURED = "not_configured", gettext_lazy("No Slack webhook configured (history only)")


class AlertState(models.Model):
    """One row per rule: whether it fires now, and what its last evaluation measured."""

    rule = models.CharField(max_length=64, unique=True, verbose_name=gettext_lazy("rule"))
    status = models.CharField(
        max_length=8,
        choices=AlertStatus.choices,
        default=AlertStatus.OK,
        db_index=True,
        verbose_name=gettext_lazy("status"),
    )
    since = models.DateTimeField(
        help_text=gettext_lazy("When the rule entered its current status."), verbose_name=gettext_lazy("since")
    )
    value = models.FloatField(
        null=True,
        blank=True,
        help_text=gettext_lazy("What the last evaluation measured."),
        verbose_name=gettext_lazy("value"),
    )
    sample = models.PositiveIntegerField(
        default=0,
        help_text=gettext_lazy("How many events the last value was measured on."),
        verbose_name=gettext_lazy("sample"),
    )
    detail = models.TextField(
        blank=True,
        help_text=gettext_lazy("The last evaluation's numbers, in words."),
        verbose_name=gettext_lazy("detail"),
    )
    evaluated_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("evaluated at"))

    class Meta:
        verbose_name_plural = gettext_lazy("alert states")
        ordering = ["rule"]
        verbose_name = gettext_lazy("alert")

    def __str__(self) -> str:
        return f"{self.rule} ({self.get_status_display()})"


class AlertEvent(models.Model):
    """A rule started firing, or resolved: what was measured, against what, and whether Slack was told."""

    rule = models.CharField(max_length=64, db_index=True, verbose_name=gettext_lazy("rule"))
    kind = models.CharField(max_length=8, choices=AlertEventKind.choices, verbose_name=gettext_lazy("kind"))
    value = models.FloatField(verbose_name=gettext_lazy("value"))
    threshold = models.FloatField(verbose_name=gettext_lazy("threshold"))
    comparison = models.CharField(
        max_length=2,
        help_text=gettext_lazy("The rule fires while value <comparison> threshold."),
        verbose_name=gettext_lazy("comparison"),
    )
    window_s = models.PositiveIntegerField(
        help_text=gettext_lazy("The window the value was measured over, in seconds."),
        verbose_name=gettext_lazy("window s"),
    )
    sample = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("sample"))
    message = models.TextField(
        help_text=gettext_lazy("What was (or would be) posted to Slack."), verbose_name=gettext_lazy("message")
    )
    notify_status = models.CharField(
        max_length=16,
        choices=NotifyStatus.choices,
        default=NotifyStatus.PENDING,
        db_index=True,
        verbose_name=gettext_lazy("notify status"),
    )
    notify_attempts = models.PositiveSmallIntegerField(default=0, verbose_name=gettext_lazy("notify attempts"))
    notify_error = models.TextField(blank=True, verbose_name=gettext_lazy("notify error"))
    notified_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("notified at"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=gettext_lazy("created at"))

    class Meta:
        verbose_name_plural = gettext_lazy("alert events")
        ordering = ["-created_at", "-id"]
        verbose_name = gettext_lazy("alert event")

    def __str__(self) -> str:
        return f"{self.rule} {self.kind} at {self.created_at:%Y-%m-%d %H:%M}"
