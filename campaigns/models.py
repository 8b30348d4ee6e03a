from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models as gis_models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy


class Brand(models.Model):
    name = models.CharField(max_length=120, unique=True, verbose_name=gettext_lazy("name"))
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="BrandMembership", related_name="brands", verbose_name=gettext_lazy("members")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))

    class Meta:
        verbose_name = gettext_lazy("brand")
        verbose_name_plural = gettext_lazy("brands")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def audit_repr(self) -> str:
        """How the audit log names it (never a person): accounts.audit.audit_repr."""
        return self.name


class BrandMembership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", gettext_lazy("Owner")
        MEMBER = "member", gettext_lazy("Member")

    brand = models.ForeignKey(
        Brand, on_delete=models.CASCADE, related_name="memberships", verbose_name=gettext_lazy("brand")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="brand_memberships",
        verbose_name=gettext_lazy("user"),
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER, verbose_name=gettext_lazy("role"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))

    class Meta:
        verbose_name = gettext_lazy("brand membership")
        verbose_name_plural = gettext_lazy("brand memberships")
        constraints = [models.UniqueConstraint(fields=["brand", "user"], name="brand_member_once")]

    def __str__(self) -> str:
        return f"{self.user} in {self.brand} ({self.role})"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", gettext_lazy("Draft")
    ACTIVE = "active", gettext_lazy("Active")
    PAUSED = "paused", gettext_lazy("Paused")
    ENDED = "ended", gettext_lazy("Ended")


class Campaign(models.Model):
    """An O2O campaign: creators shoot a remix of its masters at its locations within its window."""

    brand = models.ForeignKey(
        Brand, on_delete=models.PROTECT, related_name="campaigns", verbose_name=gettext_lazy("brand")
    )
    title = models.CharField(max_length=200, verbose_name=gettext_lazy("title"))
    description = models.TextField(blank=True, verbose_name=gettext_lazy("description"))
    master_nodes = models.ManyToManyField(
        "remix.RemixNode", related_name="campaigns", blank=True, verbose_name=gettext_lazy("master nodes")
    )
    status = models.CharField(
        max_length=8,
        choices=CampaignStatus.choices,
        default=CampaignStatus.DRAFT,
        db_index=True,
        verbose_name=gettext_lazy("status"),
    )
    starts_at = models.DateTimeField(verbose_name=gettext_lazy("starts at"))
    ends_at = models.DateTimeField(verbose_name=gettext_lazy("ends at"))
    success_views = models.PositiveIntegerField(
        default=10_000,
        validators=[MinValueValidator(1)],
        help_text=gettext_lazy("Views a verified participation's video needs to be certified K-Success."),
        verbose_name=gettext_lazy("success views"),
    )
    success_grace_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MaxValueValidator(90)],
        help_text=gettext_lazy(
            "Days after the window closes during which a video's views still count toward K-Success."
        ),
        verbose_name=gettext_lazy("success grace days"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        verbose_name = gettext_lazy("campaign")
        verbose_name_plural = gettext_lazy("campaigns")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["status", "starts_at", "ends_at"], name="campaign_active_window")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="campaign_ends_after_start",
                violation_error_code="campaign_window_invalid",
                violation_error_message=gettext_lazy("A campaign must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(success_views__gte=1),
                name="campaign_success_bar_positive",
                violation_error_code="success_bar_invalid",
                violation_error_message=gettext_lazy("The success bar must be at least 1 view."),
            ),
            models.CheckConstraint(
                condition=Q(success_grace_days__lte=90),
                name="campaign_grace_sane",
                violation_error_code="grace_invalid",
                violation_error_message=gettext_lazy("The grace period is at most 90 days."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.brand})"

    def audit_repr(self) -> str:
        """How the audit log names it (never a person): accounts.audit.audit_repr."""
        return self.title


class CampaignLocation(gis_models.Model):
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="locations", verbose_name=gettext_lazy("campaign")
    )
    name = models.CharField(max_length=120, verbose_name=gettext_lazy("name"))
    address = models.CharField(max_length=300, blank=True, verbose_name=gettext_lazy("address"))
    point = gis_models.PointField(geography=True, srid=4326, spatial_index=True, verbose_name=gettext_lazy("point"))
    radius_m = models.PositiveIntegerField(
        default=200,
        validators=[MinValueValidator(10), MaxValueValidator(50_000)],
        help_text=gettext_lazy("How close (metres) a creator must be to count as here."),
        verbose_name=gettext_lazy("radius m"),
    )

    class Meta:
        verbose_name = gettext_lazy("campaign location")
        verbose_name_plural = gettext_lazy("campaign locations")
        ordering = ["campaign", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(radius_m__gte=10) & Q(radius_m__lte=50_000), name="location_radius_sane"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.radius_m} m)"

    def audit_repr(self) -> str:
        """How the audit log names it (never a person): accounts.audit.audit_repr."""
        return self.name


class ParticipationStatus(models.TextChoices):
    JOINED = "joined", gettext_lazy("Joined, nothing submitted yet")
    SUBMITTED = "submitted", gettext_lazy("Submitted")
    VERIFIED = "verified", gettext_lazy("Location verified")
    REJECTED = "rejected", gettext_lazy("Rejected")
    K_SUCCESS = "k_success", gettext_lazy("K-Success")


class VerificationResult(models.TextChoices):
    PENDING = "pending", gettext_lazy("Not checked yet")
    WITHIN_RADIUS = "within_radius", gettext_lazy("Within a location's radius")
    OUT_OF_RADIUS = "out_of_radius", gettext_lazy("Too far from every location")
    OUTSIDE_WINDOW = "outside_window", gettext_lazy("Outside the campaign window")
    NO_POSITION = "no_position", gettext_lazy("No position given")
    CAMPAIGN_INACTIVE = "campaign_inactive", gettext_lazy("The campaign is not running")
    NOT_DERIVED = "not_derived", gettext_lazy("The fork is not derived from a featured master")


class Participation(models.Model):
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="participations", verbose_name=gettext_lazy("campaign")
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="participations",
        verbose_name=gettext_lazy("creator"),
    )
    video_url = models.URLField(
        max_length=2048,
        blank=True,
        help_text=gettext_lazy("The posted video (the fork's posted URL)."),
        verbose_name=gettext_lazy("video url"),
    )
    fork_node = models.ForeignKey(
        "remix.RemixNode",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="participations",
        verbose_name=gettext_lazy("fork node"),
    )
    upload = models.ForeignKey(
        "accounts.Upload",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="participations",
        help_text=gettext_lazy(
            "The video as shot at the place, uploaded by the creator (instead of, or beside, a posted link)."
        ),
        verbose_name=gettext_lazy("upload"),
    )
    claimed_position = gis_models.PointField(
        geography=True, srid=4326, null=True, blank=True, verbose_name=gettext_lazy("claimed position")
    )
    location = models.ForeignKey(
        CampaignLocation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="participations",
        help_text=gettext_lazy("The nearest location, set by verification."),
        verbose_name=gettext_lazy("location"),
    )
    verification_result = models.CharField(
        max_length=24,
        choices=VerificationResult.choices,
        default=VerificationResult.PENDING,
        verbose_name=gettext_lazy("verification result"),
    )
    distance_m = models.FloatField(
        null=True,
        blank=True,
        help_text=gettext_lazy("Distance to the nearest location, metres."),
        verbose_name=gettext_lazy("distance m"),
    )
    verification_reason = models.TextField(
        blank=True,
        help_text=gettext_lazy("Why the check passed or failed, for the creator."),
        verbose_name=gettext_lazy("verification reason"),
    )
    status = models.CharField(
        max_length=16,
        choices=ParticipationStatus.choices,
        default=ParticipationStatus.SUBMITTED,
        db_index=True,
        verbose_name=gettext_lazy("status"),
    )
    joined_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("joined at"))
    submitted_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("submitted at"))
    submissions = models.PositiveSmallIntegerField(
        default=0, help_text=gettext_lazy("How many times it was submitted."), verbose_name=gettext_lazy("submissions")
    )
    verified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy("When the last check ran."),
        verbose_name=gettext_lazy("verified at"),
    )
    k_success_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("k success at"))
    k_success_views = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=gettext_lazy("The view count that reached the bar (none when certified by hand)."),
        verbose_name=gettext_lazy("k success views"),
    )
    k_success_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=gettext_lazy(
            "The editor who certified it by hand; empty when the job certified it from view counts."
        ),
        verbose_name=gettext_lazy("k success by"),
    )
    decision_reason = models.TextField(
        blank=True,
        help_text=gettext_lazy("An editor's reason (rejection, certification by hand)."),
        verbose_name=gettext_lazy("decision reason"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        verbose_name = gettext_lazy("participation")
        verbose_name_plural = gettext_lazy("participations")
        ordering = ["-joined_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "creator"],
                name="participation_once_per_campaign",
                violation_error_message=gettext_lazy("This creator has already joined this campaign."),
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "status"], name="participation_campaign_status"),
            models.Index(fields=["status", "campaign"], name="participation_status_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.creator} in {self.campaign.title} ({self.get_status_display()})"
