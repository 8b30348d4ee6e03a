from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pgvector.django import HnswIndex, VectorField

from kmeme.ai.types import EMBEDDING_DIMENSIONS
from kmeme.platforms import Platform
from kmeme.vocabulary import CommerceCategory


class Layer(models.TextChoices):
    MASTER = "master", gettext_lazy("Master")
    FORK = "fork", gettext_lazy("Fork")


class NodeStatus(models.TextChoices):
    DRAFT = "draft", gettext_lazy("Draft")
    ANALYZING = "analyzing", gettext_lazy("Analyzing")
    IN_REVIEW = "in_review", gettext_lazy("In review")
    APPROVED = "approved", gettext_lazy("Approved")
    PUBLISHED = "published", gettext_lazy("Published")
    REJECTED = "rejected", gettext_lazy("Rejected")
    NEEDS_REVIEW = "needs_review", gettext_lazy("Needs manual review")
    ARCHIVED = "archived", gettext_lazy("Archived")


# The workflow: which status may follow which. Services refuse any other move.
NODE_TRANSITIONS: dict[str, frozenset[str]] = {
    NodeStatus.DRAFT: frozenset({NodeStatus.ANALYZING, NodeStatus.ARCHIVED}),
    NodeStatus.ANALYZING: frozenset({NodeStatus.IN_REVIEW, NodeStatus.NEEDS_REVIEW, NodeStatus.ARCHIVED}),
    NodeStatus.NEEDS_REVIEW: frozenset(
        {NodeStatus.ANALYZING, NodeStatus.IN_REVIEW, NodeStatus.APPROVED, NodeStatus.REJECTED, NodeStatus.ARCHIVED}
    ),
    NodeStatus.IN_REVIEW: frozenset(
        {NodeStatus.APPROVED, NodeStatus.REJECTED, NodeStatus.ANALYZING, NodeStatus.ARCHIVED}
    ),
    NodeStatus.APPROVED: frozenset({NodeStatus.PUBLISHED, NodeStatus.IN_REVIEW, NodeStatus.ARCHIVED}),
    NodeStatus.PUBLISHED: frozenset({NodeStatus.APPROVED, NodeStatus.REJECTED, NodeStatus.ARCHIVED}),
    NodeStatus.REJECTED: frozenset({NodeStatus.ANALYZING, NodeStatus.IN_REVIEW, NodeStatus.ARCHIVED}),
    NodeStatus.ARCHIVED: frozenset({NodeStatus.DRAFT}),
}


# Forks belong to their creators: besides the review path they go straight from draft to published
# and back (an editor's unpublish rejects them instead, see remix.review.node_unpublish).
FORK_TRANSITIONS: dict[str, frozenset[str]] = {
    **NODE_TRANSITIONS,
    NodeStatus.DRAFT: NODE_TRANSITIONS[NodeStatus.DRAFT] | {NodeStatus.PUBLISHED},
    NodeStatus.PUBLISHED: NODE_TRANSITIONS[NodeStatus.PUBLISHED] | {NodeStatus.DRAFT},
}


class RemixNode(models.Model):
    """A remixable video: a master (published by editors) or a creator's fork of one."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=gettext_lazy("public id")
    )
    title = models.CharField(max_length=200, verbose_name=gettext_lazy("title"))
    source_url = models.URLField(max_length=2048, verbose_name=gettext_lazy("source url"))
    platform = models.CharField(
        max_length=16, choices=Platform.choices, editable=False, db_index=True, verbose_name=gettext_lazy("platform")
    )
    # A fork's source_url may be its master's (the video it remixes); posted_url is the creator's own video once
    # posted, the one its performance snapshots are read from (genealogy.performance). Masters leave it empty.
    posted_url = models.URLField(
        max_length=2048,
        blank=True,
        help_text=gettext_lazy("The fork's own video as posted by its creator; snapshots follow it."),
        verbose_name=gettext_lazy("posted url"),
    )
    # A video the owner uploaded instead of linking (accounts.Upload): the pipeline copies it into the node's media;
    # source_url then names it on a reserved host (kmeme.platforms.upload_source_url) and is never fetched.
    source_upload = models.ForeignKey(
        "accounts.Upload",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="nodes",
        verbose_name=gettext_lazy("source upload"),
    )
    layer = models.CharField(
        max_length=8, choices=Layer.choices, default=Layer.MASTER, db_index=True, verbose_name=gettext_lazy("layer")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="remix_nodes",
        null=True,
        blank=True,
        verbose_name=gettext_lazy("owner"),
    )
    status = models.CharField(
        max_length=16,
        choices=NodeStatus.choices,
        default=NodeStatus.DRAFT,
        db_index=True,
        verbose_name=gettext_lazy("status"),
    )
    commerce_category = models.CharField(
        max_length=16,
        choices=CommerceCategory.choices,
        default=CommerceCategory.NONE,
        db_index=True,
        verbose_name=gettext_lazy("commerce category"),
    )
    embedding = VectorField(
        dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True, editable=False, verbose_name=gettext_lazy("embedding")
    )
    media_name = models.CharField(
        max_length=512,
        blank=True,
        editable=False,
        help_text=gettext_lazy("The downloaded video in media storage, if fetched."),
        verbose_name=gettext_lazy("media name"),
    )
    probe = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text=gettext_lazy("What the platform measured itself."),
        verbose_name=gettext_lazy("probe"),
    )
    analysis_requested_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=gettext_lazy("When the node last entered analysis; steps of that run are newer."),
        verbose_name=gettext_lazy("analysis requested at"),
    )
    pipeline_error = models.TextField(
        blank=True,
        editable=False,
        help_text=gettext_lazy("The last error of the analysis job, until a run succeeds."),
        verbose_name=gettext_lazy("pipeline error"),
    )
    # Why the last analysis run ended without AI, for the submitter (GET /analyses/{id}) and the editors: which
    # part fell back (`gemini`, `anthropic`, `media`), its code (kmeme.ai.types.ProviderUnavailable's, or a
    # MediaError's) and the reason; empty when Gemini and Claude both answered. A run that fell back because a
    # provider was down is retried automatically once its circuit closes (remix.recovery), `auto_retries` times.
    fallback_provider = models.CharField(
        max_length=16, blank=True, editable=False, verbose_name=gettext_lazy("fallback provider")
    )
    fallback_code = models.CharField(
        max_length=32, blank=True, editable=False, verbose_name=gettext_lazy("fallback code")
    )
    fallback_reason = models.TextField(blank=True, editable=False, verbose_name=gettext_lazy("fallback reason"))
    fallback_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=gettext_lazy("fallback at"))
    auto_retries = models.PositiveSmallIntegerField(
        default=0, editable=False, verbose_name=gettext_lazy("auto retries")
    )
    published_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=gettext_lazy("published at")
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        verbose_name = gettext_lazy("remix node")
        verbose_name_plural = gettext_lazy("remix nodes")
        ordering = ["-created_at", "-id"]
        permissions = [("review_remixnode", "Can review, approve, reject and publish remix nodes")]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="node_status_recent"),
            models.Index(fields=["layer", "status", "-published_at"], name="node_layer_published"),
            # The public list: published nodes, newest first.
            models.Index(fields=["status", "-published_at", "-id"], name="node_status_published"),
            # The admin's title search is UPPER(title) LIKE '%…%': a trigram index answers it without a scan.
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"), name="node_title_trgm"),
            HnswIndex(
                name="node_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=NodeStatus.PUBLISHED, published_at__isnull=False) | ~Q(status=NodeStatus.PUBLISHED),
                name="node_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_layer_display()}, {self.get_status_display()})"

    @property
    def public_creator(self) -> str:
        """Who the public API and pages name as the node's creator. A fork: its creator's display name. A master:
        the platform, K-MEME — its editors chose it, the video's author is on its own platform, and the editor or
        creator who submitted the link is not its author (nor named in public)."""
        if self.layer == Layer.MASTER or self.owner_id is None:
            return "K-MEME"
        name = self.__dict__.get("owner_display_name")  # annotated by list reads (genealogy.lineage)
        if name is None:
            name = self.owner.display_name
        return name or "K-MEME creator"

    def audit_repr(self) -> str:
        """How the audit log names it (never a person): a master by its title; a fork by its id, since its title
        is its creator's own writing (accounts.audit.audit_repr)."""
        return self.title if self.layer == Layer.MASTER else f"fork #{self.pk}"


class AnalysisProvider(models.TextChoices):
    GEMINI = "gemini", gettext_lazy("Google Gemini")
    PROBE = "probe", gettext_lazy("Local probe")
    MANUAL = "manual", gettext_lazy("Editor (manual)")


class AnalysisStatus(models.TextChoices):
    OK = "ok", gettext_lazy("OK")
    FALLBACK = "fallback", gettext_lazy("Fallback")
    FAILED = "failed", gettext_lazy("Failed")


class VideoAnalysis(models.Model):
    """One analysis of a node's video. A node keeps every analysis it ever had."""

    node = models.ForeignKey(
        RemixNode, on_delete=models.CASCADE, related_name="analyses", verbose_name=gettext_lazy("node")
    )
    provider = models.CharField(max_length=16, choices=AnalysisProvider.choices, verbose_name=gettext_lazy("provider"))
    model = models.CharField(max_length=64, blank=True, verbose_name=gettext_lazy("model"))
    status = models.CharField(
        max_length=16, choices=AnalysisStatus.choices, db_index=True, verbose_name=gettext_lazy("status")
    )
    duration_s = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        verbose_name=gettext_lazy("duration s"),
    )
    bpm = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(20)), MaxValueValidator(Decimal(300))],
        verbose_name=gettext_lazy("bpm"),
    )
    keyframes = models.JSONField(
        default=list,
        blank=True,
        help_text=gettext_lazy("[{t: seconds, description: …}, …]"),
        verbose_name=gettext_lazy("keyframes"),
    )
    hook = models.TextField(blank=True, verbose_name=gettext_lazy("hook"))
    commerce_category = models.CharField(
        max_length=16,
        choices=CommerceCategory.choices,
        default=CommerceCategory.NONE,
        verbose_name=gettext_lazy("commerce category"),
    )
    probe = models.JSONField(
        default=dict,
        blank=True,
        help_text=gettext_lazy("What the platform measured itself."),
        verbose_name=gettext_lazy("probe"),
    )
    raw_output = models.JSONField(null=True, blank=True, verbose_name=gettext_lazy("raw output"))
    input_tokens = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("input tokens"))
    output_tokens = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("output tokens"))
    cost_usd = models.DecimalField(
        max_digits=12, decimal_places=6, default=Decimal(0), verbose_name=gettext_lazy("cost usd")
    )
    latency_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=gettext_lazy("latency ms"))
    error = models.TextField(
        blank=True, help_text=gettext_lazy("Why the analysis fell back or failed."), verbose_name=gettext_lazy("error")
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=gettext_lazy("created at"))

    class Meta:
        verbose_name = gettext_lazy("video analysis")
        ordering = ["-created_at", "-id"]
        verbose_name_plural = gettext_lazy("video analyses")
        indexes = [models.Index(fields=["node", "-created_at"], name="analysis_node_latest")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=AnalysisStatus.FALLBACK) | ~Q(error=""),
                name="analysis_fallback_has_reason",
                violation_error_code="fallback_needs_reason",
                violation_error_message=gettext_lazy("A fallback analysis must say why the AI result is missing."),
            ),
        ]

    def __str__(self) -> str:
        return _("%(provider)s analysis of node %(node)s (%(status)s)") % {
            "provider": self.get_provider_display(),
            "node": self.node_id,
            "status": self.status,
        }


class BriefSource(models.TextChoices):
    AI = "ai", gettext_lazy("AI (Claude)")
    RULE_BASED = "rule_based", gettext_lazy("Rule-based (not AI)")
    EDITOR = "editor", gettext_lazy("Written by an editor")


class ReviewStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Awaiting review")
    APPROVED = "approved", gettext_lazy("Approved")
    REJECTED = "rejected", gettext_lazy("Rejected")
    REGENERATION_REQUESTED = "regeneration_requested", gettext_lazy("Regeneration requested")
    SUPERSEDED = "superseded", gettext_lazy("Superseded")


class RemixBrief(models.Model):
    """One version of a node's remix brief.

    `generated` is what the AI (or the rule-based fallback) produced and never
    changes; `edited` is the editor's version, kept apart so every correction is
    visible. `content` is what readers see: the edited version if there is one.
    """

    node = models.ForeignKey(
        RemixNode, on_delete=models.CASCADE, related_name="briefs", verbose_name=gettext_lazy("node")
    )
    version = models.PositiveIntegerField(verbose_name=gettext_lazy("version"))
    source = models.CharField(max_length=16, choices=BriefSource.choices, verbose_name=gettext_lazy("source"))
    model = models.CharField(max_length=64, blank=True, verbose_name=gettext_lazy("model"))
    prompt_version = models.CharField(max_length=32, blank=True, verbose_name=gettext_lazy("prompt version"))
    generated = models.JSONField(
        help_text=gettext_lazy("The generator's output, as produced."), verbose_name=gettext_lazy("generated")
    )
    edited = models.JSONField(
        null=True,
        blank=True,
        help_text=gettext_lazy("The editor's corrected version."),
        verbose_name=gettext_lazy("edited"),
    )
    regeneration_notes = models.TextField(
        blank=True,
        help_text=gettext_lazy("Editor notes this version was generated with."),
        verbose_name=gettext_lazy("regeneration notes"),
    )
    review_status = models.CharField(
        max_length=32,
        choices=ReviewStatus.choices,
        default=ReviewStatus.PENDING,
        db_index=True,
        verbose_name=gettext_lazy("review status"),
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reviewed_briefs",
        verbose_name=gettext_lazy("reviewer"),
    )
    review_notes = models.TextField(blank=True, verbose_name=gettext_lazy("review notes"))
    reviewed_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("reviewed at"))
    revision = models.PositiveIntegerField(
        default=1,
        help_text=gettext_lazy("Bumped on every edit; guards against stale forms."),
        verbose_name=gettext_lazy("revision"),
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        verbose_name = gettext_lazy("remix brief")
        verbose_name_plural = gettext_lazy("remix briefs")
        ordering = ["node", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["node", "version"], name="brief_unique_version"),
            models.CheckConstraint(condition=Q(version__gte=1), name="brief_version_positive"),
            models.CheckConstraint(
                condition=~Q(review_status=ReviewStatus.REJECTED) | ~Q(review_notes=""),
                name="brief_rejection_has_reason",
                violation_error_code="rejection_needs_reason",
                violation_error_message=gettext_lazy("A rejected brief needs a reason."),
            ),
        ]

    def __str__(self) -> str:
        return _("Brief v%(version)s of node %(node)s (%(status)s)") % {
            "version": self.version,
            "node": self.node_id,
            "status": self.get_review_status_display(),
        }

    @property
    def content(self) -> dict:
        return self.edited if self.edited is not None else self.generated


class MutationType(models.TextChoices):
    AUDIO_SWAP = "audio_swap", gettext_lazy("Audio swap")
    LOCALIZATION = "localization", gettext_lazy("Localization")
    FORMAT_CHANGE = "format_change", gettext_lazy("Format change")
    PRODUCT_SWAP = "product_swap", gettext_lazy("Product swap")
    CAPTION_CHANGE = "caption_change", gettext_lazy("Caption change")
    SETTING_CHANGE = "setting_change", gettext_lazy("Setting change")
    CHARACTER_CHANGE = "character_change", gettext_lazy("Character change")


class Mutation(models.Model):
    """An edge of the lineage DAG, and the only record of it: `child` was remixed from `parent` through these
    mutations. A child may have several parents (a blend). A fork's first edge names the node it was forked
    from (its "parent" in the recipe). Created only by `remix.lineage.mutation_create`, which keeps the graph
    acyclic; genealogy/ reads it (lineage, strategy stats), remix needs it to show a fork's origin.
    """

    parent = models.ForeignKey(
        RemixNode, on_delete=models.CASCADE, related_name="child_mutations", verbose_name=gettext_lazy("parent")
    )
    child = models.ForeignKey(
        RemixNode, on_delete=models.CASCADE, related_name="parent_mutations", verbose_name=gettext_lazy("child")
    )
    mutation_types = ArrayField(
        models.CharField(max_length=32, choices=MutationType.choices),
        size=len(MutationType),
        verbose_name=gettext_lazy("mutation types"),
    )
    profile = models.JSONField(
        default=dict,
        blank=True,
        help_text=gettext_lazy("Free-form details of what changed."),
        verbose_name=gettext_lazy("profile"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=gettext_lazy("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=gettext_lazy("created at"))

    class Meta:
        verbose_name = gettext_lazy("mutation")
        verbose_name_plural = gettext_lazy("mutations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "child"],
                name="mutation_one_edge_per_pair",
                violation_error_message=gettext_lazy("These two nodes are already linked."),
            ),
            models.CheckConstraint(
                condition=~Q(parent=F("child")),
                name="mutation_no_self_loop",
                violation_error_code="mutation_self_loop",
                violation_error_message=gettext_lazy("A node cannot be its own parent."),
            ),
            models.CheckConstraint(
                condition=Q(mutation_types__len__gt=0) & Q(mutation_types__contained_by=list(MutationType.values)),
                name="mutation_types_known_nonempty",
            ),
        ]
        indexes = [models.Index(fields=["child"], name="mutation_child")]

    def __str__(self) -> str:
        return f"{self.parent_id} → {self.child_id} ({', '.join(self.mutation_types)})"


class DecisionKind(models.TextChoices):
    APPROVED = "approved", gettext_lazy("Approved")
    REJECTED = "rejected", gettext_lazy("Rejected")
    SENT_BACK = "sent_back", gettext_lazy("Sent back")


class BriefDecision(models.Model):
    """An editor's decision on a brief, measured against the version the writer produced (remix.prompt_quality):
    how far the editor moved it, which fields, how long it took. Keyed by prompt version and model so the team can
    tell which prompt editors trust. Written once by the review services; never edited."""

    brief = models.ForeignKey(
        RemixBrief, on_delete=models.CASCADE, related_name="decisions", verbose_name=gettext_lazy("brief")
    )
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="brief_decisions",
        verbose_name=gettext_lazy("editor"),
    )
    decision = models.CharField(
        max_length=16, choices=DecisionKind.choices, db_index=True, verbose_name=gettext_lazy("decision")
    )
    source = models.CharField(max_length=16, choices=BriefSource.choices, verbose_name=gettext_lazy("source"))
    prompt_version = models.CharField(
        max_length=32, blank=True, db_index=True, verbose_name=gettext_lazy("prompt version")
    )
    model = models.CharField(max_length=64, blank=True, verbose_name=gettext_lazy("model"))
    fields_changed = models.JSONField(
        default=list,
        blank=True,
        help_text=gettext_lazy("The brief fields the editor changed."),
        verbose_name=gettext_lazy("fields changed"),
    )
    edit_distance = models.PositiveIntegerField(
        default=0,
        help_text=gettext_lazy("Characters inserted, deleted or replaced."),
        verbose_name=gettext_lazy("edit distance"),
    )
    generated_chars = models.PositiveIntegerField(
        default=0,
        help_text=gettext_lazy("Length of the writer's text, for scale."),
        verbose_name=gettext_lazy("generated chars"),
    )
    review_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=gettext_lazy("From the editor starting the review to the decision, when known."),
        verbose_name=gettext_lazy("review seconds"),
    )
    queue_seconds = models.PositiveIntegerField(
        default=0,
        help_text=gettext_lazy("From the brief being written to the decision."),
        verbose_name=gettext_lazy("queue seconds"),
    )
    decided_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=gettext_lazy("decided at"))

    class Meta:
        verbose_name = gettext_lazy("brief decision")
        verbose_name_plural = gettext_lazy("brief decisions")
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["prompt_version", "model", "decided_at"], name="decision_prompt_idx")]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} brief v{self.brief.version} ({self.prompt_version or self.source})"
