from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import AuditLog, Consent, User


def consent_current(*, user: User, kind: str) -> Consent | None:
    """The user's latest decision for one kind of consent, or None if never asked."""
    return Consent.objects.filter(user=user, kind=kind).order_by("-created_at", "-id").first()


def audit_log_for_target(*, target_type: str, target_id: str) -> QuerySet[AuditLog]:
    return AuditLog.objects.filter(target_type=target_type, target_id=target_id).select_related("actor")


def user_personal_names(user: User | None) -> list[str]:
    """What identifies a user by name, to scrub from everything sent to an AI provider."""
    if user is None:
        return []
    return [n for n in (user.display_name, user.first_name, user.last_name, user.get_full_name()) if n]
