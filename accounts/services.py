from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import models, transaction
from django.db.models import Q

from accounts.models import AuditLog, Consent, ConsentKind, Role, User

EDITORS_GROUP = "Editors"


def user_create(
    *, email: str, password: str | None = None, role: str = Role.CREATOR, display_name: str = "", **extra: Any
) -> User:
    """Create a user whose admin access follows their role (see user_role_sync)."""
    with transaction.atomic():
        user = User.objects.create_user(email=email, password=password, role=role, display_name=display_name, **extra)
        return user_role_sync(user=user)


def user_role_sync(*, user: User) -> User:
    """Admin access follows the role: editors are staff in the Editors group, admins are superusers,
    brands and creators have no admin access at all."""
    user.is_staff = user.role in (Role.EDITOR, Role.ADMIN)
    user.is_superuser = user.role == Role.ADMIN
    user.save(update_fields=["is_staff", "is_superuser"])
    editors = editors_group()
    if user.role == Role.EDITOR:
        user.groups.add(editors)
    else:
        user.groups.remove(editors)
    return user


# What editors may do in the admin: review and moderate, read everything else, never manage users or groups.
EDITOR_PERMISSIONS = {
    "remix": [
        "view_remixnode",
        "change_remixnode",
        "review_remixnode",
        "view_remixbrief",
        "view_videoanalysis",
        "view_aicall",
    ],
    "genealogy": ["view_mutation", "view_nodeperformancesnapshot"],
    "campaigns": ["view_brand", "view_campaign", "view_campaignlocation", "view_participation", "change_participation"],
    "accounts": ["view_auditlog"],
    "procrastinate": ["view_procrastinatejob", "view_procrastinateevent"],
}


def editors_group() -> Group:
    """The Editors group (created by a migration; recreated here if someone deleted it)."""
    group, created = Group.objects.get_or_create(name=EDITORS_GROUP)
    if created:
        group.permissions.set(
            Permission.objects.filter(
                Q(
                    *[Q(content_type__app_label=app, codename__in=codes) for app, codes in EDITOR_PERMISSIONS.items()],
                    _connector=Q.OR,
                )
            )
        )
    return group


def consent_record(*, user: User, kind: str, granted: bool, terms_version: str) -> Consent:
    """Record a consent decision as a new row; earlier decisions stay as history."""
    consent = Consent(user=user, kind=ConsentKind(kind), granted=granted, terms_version=terms_version)
    consent.full_clean()
    consent.save()
    return consent


def audit_log_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditLog:
    """Append one audit row. Call inside the transaction of the change it records."""
    entry = AuditLog(
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        details=details or {},
        ip=ip,
    )
    entry.full_clean()
    with transaction.atomic():
        entry.save()
    return entry
