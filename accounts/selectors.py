from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import AuditLog, Consent, ConsentKind, Upload, User


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


def consent_states(*, user: User) -> list[dict[str, Any]]:
    """Every kind of consent with the user's latest decision and whether it is in force (granted on the current
    terms). One query."""
    latest: dict[str, Consent] = {}
    for consent in Consent.objects.filter(user=user).order_by("kind", "-created_at", "-id").distinct("kind"):
        latest[consent.kind] = consent
    states = []
    for kind in ConsentKind.values:
        current = settings.CONSENT_TERMS_VERSIONS[kind]
        consent = latest.get(kind)
        states.append(
            {
                "kind": kind,
                "current_terms_version": current,
                "granted": None if consent is None else consent.granted,
                "terms_version": None if consent is None else consent.terms_version,
                "decided_at": None if consent is None else consent.created_at,
                "in_force": consent is not None and consent.granted and consent.terms_version == current,
            }
        )
    return states


def upload_for_owner(*, owner: User, public_id: Any) -> Upload | None:
    """One of `owner`'s uploads by its public id; None for anyone else's (their existence is not revealed)."""
    if not owner.is_authenticated:
        return None
    return Upload.objects.filter(owner=owner, public_id=public_id).first()
