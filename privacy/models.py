from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy


class ExportStatus(models.TextChoices):
    QUEUED = "queued", gettext_lazy("Queued")
    RUNNING = "running", gettext_lazy("Being built")
    READY = "ready", gettext_lazy("Ready to download")
    FAILED = "failed", gettext_lazy("Failed")


class DataExport(models.Model):
    """One archive of everything we hold about a user (data portability), built by a job."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=gettext_lazy("public id")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="data_exports",
        verbose_name=gettext_lazy("user"),
    )
    status = models.CharField(
        max_length=8,
        choices=ExportStatus.choices,
        default=ExportStatus.QUEUED,
        db_index=True,
        verbose_name=gettext_lazy("status"),
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="0–100.", verbose_name=gettext_lazy("progress"))
    step = models.CharField(
        max_length=80,
        blank=True,
        help_text=gettext_lazy("What the job is doing now."),
        verbose_name=gettext_lazy("step"),
    )
    error_code = models.CharField(
        max_length=32,
        blank=True,
        help_text=gettext_lazy("Why the last build failed, for clients: build_failed or storage_failed."),
        verbose_name=gettext_lazy("error code"),
    )
    error = models.TextField(
        blank=True,
        help_text=gettext_lazy("The last build's error as raised: for staff, never shown to users."),
        verbose_name=gettext_lazy("error"),
    )
    storage_key = models.CharField(max_length=300, blank=True, verbose_name=gettext_lazy("storage key"))
    size = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=gettext_lazy("size"))
    files = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=gettext_lazy("files"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=gettext_lazy("created at"))
    started_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy("When the job last started building it."),
        verbose_name=gettext_lazy("started at"),
    )
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("finished at"))
    expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy("The archive (or a failed attempt's record) is deleted then."),
        verbose_name=gettext_lazy("expires at"),
    )

    class Meta:
        verbose_name = gettext_lazy("data export")
        verbose_name_plural = gettext_lazy("data exports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"export #{self.pk} ({self.status})"
