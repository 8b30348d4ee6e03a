from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import AuditLog, Consent, User


def consent_current(*, user: User, kind: str) -> Consent | None:
    """The user's latest decision for one kind of consent, or None if never asked."""
    return Consent.objects.filter(user=user, kind=kind).order_by("-created_at", "-id").first()


def audit_log_for_target(*, target_type: str, target_id: str) -> QuerySet[AuditLog]:
    return AuditLog.objects.filter(target_type=target_type, target_id=target_id).select_related("actor")
