from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy


class Role(models.TextChoices):
    ADMIN = "admin", gettext_lazy("Admin")
    EDITOR = "editor", gettext_lazy("Editor")
    BRAND = "brand", gettext_lazy("Brand")
    CREATOR = "creator", gettext_lazy("Creator")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True, role=Role.ADMIN)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractUser):
    """A person: logs in by email (admin) or Firebase token (API)."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(gettext_lazy("email address"), unique=True)
    display_name = models.CharField(max_length=80, blank=True, verbose_name=gettext_lazy("display name"))
    firebase_uid = models.CharField(
        max_length=128, unique=True, null=True, blank=True, verbose_name=gettext_lazy("firebase uid")
    )
    role = models.CharField(
        max_length=16, choices=Role.choices, default=Role.CREATOR, db_index=True, verbose_name=gettext_lazy("role")
    )
    anonymized_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=gettext_lazy("anonymized at")
    )
    # The admin's language for this person (the switch in its header); empty: the browser's (Accept-Language).
    language = models.CharField(
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=gettext_lazy("The admin's language for this person; empty: the browser's."),
        verbose_name=gettext_lazy("language"),
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = gettext_lazy("user")
        verbose_name_plural = gettext_lazy("users")
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def is_editor(self) -> bool:
        return self.is_active and (self.is_superuser or self.role in (Role.EDITOR, Role.ADMIN))


class ConsentKind(models.TextChoices):
    TERMS = "terms", gettext_lazy("Terms of service")
    PRIVACY = "privacy", gettext_lazy("Privacy policy")
    MARKETING = "marketing", gettext_lazy("Marketing messages")
    THIRD_PARTY = "third_party", gettext_lazy("Sharing with partner brands")
    LOCATION = "location", gettext_lazy("Location for campaigns")


class Consent(models.Model):
    """One consent decision. New decisions are new rows: the history is never overwritten."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents", verbose_name=gettext_lazy("user")
    )
    kind = models.CharField(max_length=16, choices=ConsentKind.choices, verbose_name=gettext_lazy("kind"))
    granted = models.BooleanField(verbose_name=gettext_lazy("granted"))
    terms_version = models.CharField(max_length=32, verbose_name=gettext_lazy("terms version"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=gettext_lazy("created at"))

    class Meta:
        verbose_name = gettext_lazy("consent")
        verbose_name_plural = gettext_lazy("consents")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "kind", "-created_at"], name="consent_user_kind_latest")]

    def __str__(self) -> str:
        verb = "granted" if self.granted else "withdrew"
        return f"{self.user_id} {verb} {self.kind} v{self.terms_version}"


class AuditLog(models.Model):
    """Who did what to which object, when. Append-only: the database refuses UPDATE and DELETE.

    It holds no personal data, so it can stay append-only and still let a person be forgotten: actors and targets
    by id (`target_repr` is never a person's name or email), and whatever personal values a record needs — emails,
    names, Firebase uids, IP addresses — in its `AuditPersonal` side row, which anonymization deletes."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=gettext_lazy("actor"),
    )
    action = models.CharField(max_length=64, db_index=True, verbose_name=gettext_lazy("action"))
    target_type = models.CharField(
        max_length=64,
        blank=True,
        help_text=gettext_lazy("app_label.model of the target"),
        verbose_name=gettext_lazy("target type"),
    )
    target_id = models.CharField(max_length=64, blank=True, verbose_name=gettext_lazy("target id"))
    target_repr = models.CharField(max_length=200, blank=True, verbose_name=gettext_lazy("target repr"))
    details = models.JSONField(
        default=dict,
        blank=True,
        help_text=gettext_lazy("Personal values read PERSONAL; see the side row."),
        verbose_name=gettext_lazy("details"),
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=gettext_lazy("created at"))

    class Meta:
        verbose_name = gettext_lazy("audit log")
        verbose_name_plural = gettext_lazy("audit logs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id", "-created_at"], name="audit_target_latest")]

    def __str__(self) -> str:
        who = self.actor_id or "system"
        return f"{self.created_at:%Y-%m-%d %H:%M} {who} {self.action} {self.target_type}:{self.target_id}"

    def _personal(self) -> AuditPersonal | None:
        try:
            return self.personal
        except AuditPersonal.DoesNotExist:
            return None

    @property
    def ip(self) -> str | None:
        """The client address the record was made from, while its person has not been forgotten."""
        personal = self._personal()
        return personal.ip if personal is not None else None

    @property
    def personal_details(self) -> dict[str, Any]:
        personal = self._personal()
        return personal.details if personal is not None else {}


class AuditPersonal(models.Model):
    """The personal half of an audit record: the values its `details` replaced with PERSONAL, and the client IP.
    Unlike the log itself it may be deleted — by anonymization, for every record whose subject (the user the
    record is about, else its actor) is the person forgotten, or whose values mention their email."""

    entry = models.OneToOneField(
        AuditLog,
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="personal",
        verbose_name=gettext_lazy("entry"),
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=gettext_lazy("subject"),
    )
    ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=gettext_lazy("ip"))
    details = models.JSONField(default=dict, blank=True, verbose_name=gettext_lazy("details"))

    class Meta:
        verbose_name = gettext_lazy("audit record's personal details")
        verbose_name_plural = gettext_lazy("audit records' personal details")

    def __str__(self) -> str:
        return f"personal details of audit #{self.entry_id}"


class UploadStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Pending")
    UPLOADED = "uploaded", gettext_lazy("Uploaded")
    EXPIRED = "expired", gettext_lazy("Expired")


class Upload(models.Model):
    """A video a user uploads straight to media storage (a presigned S3 POST, or the project's own signed URL in
    local development), then confirms. Only its owner may read or use it (accounts.uploads)."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=gettext_lazy("public id")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads", verbose_name=gettext_lazy("owner")
    )
    key = models.CharField(
        max_length=512,
        unique=True,
        editable=False,
        help_text=gettext_lazy("user_content/{user}/{uuid}/{name}"),
        verbose_name=gettext_lazy("key"),
    )
    original_filename = models.CharField(
        max_length=255, blank=True, editable=False, verbose_name=gettext_lazy("original filename")
    )
    filename = models.CharField(
        max_length=120,
        editable=False,
        help_text=gettext_lazy("The sanitised name the key ends with."),
        verbose_name=gettext_lazy("filename"),
    )
    content_type = models.CharField(max_length=64, editable=False, verbose_name=gettext_lazy("content type"))
    size = models.PositiveBigIntegerField(
        editable=False,
        help_text=gettext_lazy("Declared by the client; the policy enforces it."),
        verbose_name=gettext_lazy("size"),
    )
    status = models.CharField(
        max_length=16,
        choices=UploadStatus.choices,
        default=UploadStatus.PENDING,
        db_index=True,
        editable=False,
        verbose_name=gettext_lazy("status"),
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=gettext_lazy("created at"))
    expires_at = models.DateTimeField(
        editable=False,
        help_text=gettext_lazy("When the upload URL stops working."),
        verbose_name=gettext_lazy("expires at"),
    )
    uploaded_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=gettext_lazy("uploaded at"))
    actual_size = models.PositiveBigIntegerField(
        null=True, blank=True, editable=False, verbose_name=gettext_lazy("actual size")
    )

    class Meta:
        verbose_name = gettext_lazy("upload")
        verbose_name_plural = gettext_lazy("uploads")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "status", "-expires_at"], name="upload_owner_pending")]
        constraints = [models.CheckConstraint(condition=models.Q(size__gte=1), name="upload_size_positive")]

    def __str__(self) -> str:
        return f"upload {self.public_id} ({self.status})"

    def audit_repr(self) -> str:
        """Named by id: its filename is its owner's own writing."""
        return f"upload {self.public_id}"
