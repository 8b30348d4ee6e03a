"""Project-wide infrastructure tables (no app's data): the API's idempotency keys."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy


class IdempotencyRecord(models.Model):
    """One `Idempotency-Key` a signed-in user sent on a write: claimed while its first request runs, then that
    request's answer, replayed to every retry for 24 hours. Written only by kmeme.idempotency."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=gettext_lazy("user")
    )
    key = models.CharField(max_length=255, verbose_name=gettext_lazy("key"))
    fingerprint = models.CharField(
        max_length=64,
        help_text=gettext_lazy("SHA-256 of the first request's method, path and body."),
        verbose_name=gettext_lazy("fingerprint"),
    )
    method = models.CharField(max_length=8, verbose_name=gettext_lazy("method"))
    path = models.CharField(max_length=2048, verbose_name=gettext_lazy("path"))
    claim = models.UUIDField(
        default=uuid.uuid4,
        help_text=gettext_lazy("Who runs the request now; a takeover replaces it."),
        verbose_name=gettext_lazy("claim"),
    )
    claimed_at = models.DateTimeField(verbose_name=gettext_lazy("claimed at"))
    created_at = models.DateTimeField(
        db_index=True,
        help_text=gettext_lazy("When the key was first (or, once expired, again) used."),
        verbose_name=gettext_lazy("created at"),
    )
    response_status = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=gettext_lazy("Empty while in flight."),
        verbose_name=gettext_lazy("response status"),
    )
    response_headers = models.JSONField(default=dict, blank=True, verbose_name=gettext_lazy("response headers"))
    response_body = models.BinaryField(null=True, blank=True, verbose_name=gettext_lazy("response body"))

    class Meta:
        verbose_name = gettext_lazy("idempotency record")
        verbose_name_plural = gettext_lazy("idempotency records")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.key} ({self.method} {self.path})"
