"""The ledger of provider calls: every call's tokens and cost, and what the monthly budget sums."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy


class AIProvider(models.TextChoices):
    GEMINI = "gemini", gettext_lazy("Google Gemini")
    ANTHROPIC = "anthropic", gettext_lazy("Anthropic Claude")


class AIPurpose(models.TextChoices):
    ANALYSIS = "analysis", gettext_lazy("Video analysis")
    BRIEF = "brief", gettext_lazy("Remix brief")
    EMBEDDING = "embedding", gettext_lazy("Embedding")


class AICallStatus(models.TextChoices):
    RESERVED = "reserved", gettext_lazy("Reserved (in flight)")
    OK = "ok", gettext_lazy("OK")
    ERROR = "error", gettext_lazy("Error")
    REFUSED_BUDGET = "refused_budget", gettext_lazy("Refused: over budget")
    # Settled by the sweep (kmeme.ai.budget.budget_reservations_release): the call's process died or hung.
    INTERRUPTED = "interrupted", gettext_lazy("Interrupted (settled by the sweep)")


class AICall(models.Model):
    """One provider call (or refusal). Written only by kmeme.ai.calls and kmeme.ai.budget.

    `node` names the remix node a call worked for. It is a lazy reference (no import of the app): the
    ledger sits below the apps, and a deleted node leaves its calls, and their cost, in the ledger.
    """

    provider = models.CharField(max_length=16, choices=AIProvider.choices, verbose_name=gettext_lazy("provider"))
    model = models.CharField(max_length=64, verbose_name=gettext_lazy("model"))
    purpose = models.CharField(max_length=16, choices=AIPurpose.choices, verbose_name=gettext_lazy("purpose"))
    node = models.ForeignKey(
        "remix.RemixNode",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ai_calls",
        verbose_name=gettext_lazy("node"),
    )
    input_tokens = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("input tokens"))
    output_tokens = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("output tokens"))
    cost_usd = models.DecimalField(
        max_digits=12, decimal_places=6, default=Decimal(0), verbose_name=gettext_lazy("cost usd")
    )
    status = models.CharField(
        max_length=16, choices=AICallStatus.choices, db_index=True, verbose_name=gettext_lazy("status")
    )
    latency_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=gettext_lazy("latency ms"))
    error = models.TextField(blank=True, verbose_name=gettext_lazy("error"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=gettext_lazy("created at"))
    # Who holds an open reservation (`job:<id>:<attempt>` when a background job made the call, else
    # `<host>:<pid>`), and when the call must be over by (its total deadline plus a grace period): the sweep
    # settles a reservation whose job is gone or whose expiry passed.
    owner = models.CharField(max_length=200, blank=True, verbose_name=gettext_lazy("owner"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("expires at"))
    # When the first request was sent, and how many were: a call interrupted before sending cost nothing.
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("sent at"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=gettext_lazy("attempts"))
    # The step this call served (e.g. one node's analysis for one run) and its validated answer: a retry of the
    # same step reuses an answer that was paid for instead of calling again.
    request_key = models.CharField(max_length=200, blank=True, db_index=True, verbose_name=gettext_lazy("request key"))
    prompt_version = models.CharField(max_length=40, blank=True, verbose_name=gettext_lazy("prompt version"))
    response = models.JSONField(null=True, blank=True, verbose_name=gettext_lazy("response"))

    class Meta:
        verbose_name_plural = gettext_lazy("a i calls")
        ordering = ["-created_at", "-id"]
        verbose_name = gettext_lazy("AI call")
        indexes = [models.Index(fields=["provider", "model", "created_at"], name="aicall_provider_month")]
        constraints = [models.CheckConstraint(condition=Q(cost_usd__gte=0), name="aicall_cost_not_negative")]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model} {self.purpose} ${self.cost_usd} ({self.status})"
