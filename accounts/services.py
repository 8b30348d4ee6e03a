from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.audit import audit_repr, personal_all, personal_split
from accounts.models import AuditLog, AuditPersonal, Consent, ConsentKind, Role, User
from kmeme.changes import changes_apply
from kmeme.errors import ApplicationError

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


USER_EDITABLE_FIELDS = ("email", "display_name", "first_name", "last_name", "is_active", "firebase_uid")


@transaction.atomic
def user_role_set(*, user: User, role: str, actor: User | None) -> User:
    """Give a user another role; their admin access (staff, superuser, the Editors group) follows. Audited."""
    user = User.objects.select_for_update().get(pk=user.pk)
    before = user.role
    user.role = Role(role)
    user.full_clean(exclude=["password"])
    user.save(update_fields=["role"])
    user_role_sync(user=user)
    if before != user.role:
        audit_log_record(
            actor=actor,
            action="user.role_set",
            target=user,
            details={"before": {"role": before}, "after": {"role": user.role}},
        )
    return user


def user_language_set(*, user: User, language: str) -> User:
    """Keep the language a person chose for the admin (one of settings.LANGUAGES, or "" for the browser's)."""
    if language and language not in dict(settings.LANGUAGES):
        raise ApplicationError(
            _("Unknown language %(language)s; choose one of: %(known)s.")
            % {"language": language[:16], "known": ", ".join(dict(settings.LANGUAGES))},
            code="unknown_language",
        )
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


@transaction.atomic
def user_password_set(*, user: User, password: str, actor: User | None) -> User:
    """Set a user's password (hashed). Audited, without the password."""
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_log_record(actor=actor, action="user.password_set", target=user)
    return user


@transaction.atomic
def user_update(*, user: User, actor: User | None, role: str | None = None, **changes: Any) -> User:
    """An admin's change to a user's account (the admin's user form): audited before → after, role through
    user_role_set. Passwords change only through Django's password form, which hashes them."""
    unknown = set(changes) - set(USER_EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(
            _("These fields are not edited here: %(join)s.") % {"join": ", ".join(sorted(unknown))}, code="read_only"
        )
    locked = User.objects.select_for_update().get(pk=user.pk)
    if "email" in changes:
        changes["email"] = User.objects.normalize_email(changes["email"]).lower()
    if changes.get("firebase_uid") == "":
        changes["firebase_uid"] = None
    diff = changes_apply(locked, changes)
    if diff:
        locked.full_clean(exclude=["password"])
        locked.save(update_fields=list(diff))
        audit_log_record(actor=actor, action="user.update", target=locked, details={"changes": diff})
    if role is not None:
        locked = user_role_set(user=locked, role=role, actor=actor)
    return locked


# What editors may do in the admin: review and moderate, read everything else, never manage users or groups.
EDITOR_PERMISSIONS = {
    "remix": [
        "view_remixnode",
        "add_remixnode",  # an editor submits a video URL from the admin (the same submission as the API's)
        "change_remixnode",
        "review_remixnode",
        "view_remixbrief",
        "view_videoanalysis",
        "view_mutation",
        "add_mutation",  # an editor links a second parent (a blend), through the service that checks cycles
        "view_briefdecision",  # their own decisions, measured: the Prompt quality page
    ],
    "ai": ["view_aicall"],
    "genealogy": [
        "view_nodeperformancesnapshot",
        "import_nodeperformancesnapshot",  # counts of platforms that hide them, as a CSV (all rows or none)
        "view_nodeperformancetracking",  # which videos the collector cannot read, and why
    ],
    "campaigns": ["view_brand", "view_campaign", "view_campaignlocation", "view_participation", "change_participation"],
    "accounts": ["view_auditlog"],
    "procrastinate": ["view_procrastinatejob", "view_procrastinateevent"],
    "operations": ["view_alertstate", "view_alertevent"],
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


@transaction.atomic
def consent_decide(*, user: User, kind: str, granted: bool, terms_version: str) -> Consent:
    """The user's own decision, on the terms in force now (400 `terms_outdated` for any other version: one consents
    to what one was shown, and only the current terms are shown). A new row each time; audited."""
    current = settings.CONSENT_TERMS_VERSIONS[kind]
    if terms_version != current:
        raise ApplicationError(
            _("These terms are not in force: the current %(kind)s terms are version %(current)s.")
            % {"kind": kind, "current": current},
            code="terms_outdated",
            details={"kind": kind, "current_terms_version": current},
        )
    consent = consent_record(user=user, kind=kind, granted=granted, terms_version=terms_version)
    audit_log_record(
        actor=user,
        action="consent.grant" if granted else "consent.withdraw",
        target=user,
        details={"kind": kind, "terms_version": terms_version},
    )
    return consent


def audit_log_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
    authored_by: User | None = None,
) -> AuditLog:
    """Append one audit row. Call inside the transaction of the change it records. Personal values in `details`
    (accounts.audit.PERSONAL_KEYS) and the client `ip` go to the row's deletable side row, so the permanent log
    never holds personal data; the side row's subject is the user the record is about, else its actor.
    `authored_by`: the details are that user's own writing (a fork's title, its free-form profile): all of their
    values go to the side row, with that user as its subject."""
    if authored_by is not None and details:
        public, personal = personal_all(details), details
    else:
        public, personal = personal_split(details or {})
    entry = AuditLog(
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=audit_repr(target) if target is not None else "",
        details=public,
    )
    entry.full_clean()
    with transaction.atomic():
        entry.save()
        if personal is not None or ip:
            subject = authored_by or (target if isinstance(target, User) else entry.actor)
            AuditPersonal.objects.create(entry=entry, subject=subject, ip=ip or None, details=personal or {})
    return entry
