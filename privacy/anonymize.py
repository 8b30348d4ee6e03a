"""The right to be forgotten: a person's data removed, what they published kept under "deleted user".

What happens to a user (`user_anonymize`), in one transaction:
- the account: email replaced by a random address at `anonymized.invalid`, name and Firebase uid cleared, password
  unusable, deactivated (which also refuses every access token already issued), staff rights dropped, role creator;
  every refresh token blacklisted, admin sessions and second-factor devices deleted;
- their private forks (drafts without remixes of their own), and the unpublished nodes made from videos they
  uploaded, deleted with the node's copy of the video; published content stays, attributed to
  "deleted user" — the account row is kept only as the pseudonymous id their content and the audit log point to;
- their campaign participations lose the position they claimed;
- the personal side rows of the audit log about them (accounts.AuditPersonal: emails, names, uids, IPs) deleted,
  the log itself untouched (it holds no personal data); admin sign-in attempt records and the admin's own change
  log entries about the account deleted; stored API replies (Idempotency-Key records) deleted;
- cached reads that showed their name dropped.

Refused: the last active admin (409 `last_admin`). A user already anonymized is a no-op that says so.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import AuditPersonal, Role, Upload, User
from accounts.services import audit_log_record, user_role_sync
from accounts.uploads import uploads_delete
from campaigns.models import Participation
from kmeme.errors import ApplicationError
from kmeme.models import IdempotencyRecord
from kmeme.platforms import Platform
from privacy.exports import exports_delete
from privacy.models import DataExport
from remix.cache import node_cache_invalidate
from remix.models import Layer, Mutation, NodeStatus, RemixNode

logger = logging.getLogger("kmeme.privacy")

DELETED_NAME = "deleted user"
DELETED_DOMAIN = "anonymized.invalid"


@dataclass
class AnonymizeReport:
    user_id: int
    already_at: datetime | None = None
    dry_run: bool = False
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        if self.already_at is not None:
            return f"User #{self.user_id} was already anonymized on {self.already_at:%Y-%m-%d %H:%M}; nothing to do."
        done = ", ".join(f"{n} {what}" for what, n in self.counts.items()) or "no data besides the account"
        verb = "would be anonymized" if self.dry_run else "anonymized"
        return f"User #{self.user_id} {verb}: {done}."


def _last_admin(user: User) -> bool:
    if not (user.is_superuser or user.role == Role.ADMIN) or not user.is_active:
        return False
    others = User.objects.filter(is_active=True).filter(Q(is_superuser=True) | Q(role=Role.ADMIN)).exclude(pk=user.pk)
    return not others.exists()


def _private_nodes(user: User):
    """Their forks not published, and masters made from their own uploads not published (their own video)."""
    return (
        RemixNode.objects.filter(owner=user)
        .filter(Q(layer=Layer.FORK) | Q(platform=Platform.UPLOAD))
        .exclude(status=NodeStatus.PUBLISHED)
    )


def _sessions_of(user: User) -> list[str]:
    keys = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            keys.append(session.session_key)
    return keys


def _audit_personal_of(user: User):
    mentions = Q(subject=user)
    for value in filter(None, (user.email, user.firebase_uid)):
        mentions |= Q(details_text__icontains=value)
    return AuditPersonal.objects.annotate(details_text=Cast("details", TextField())).filter(mentions)


def user_anonymize(*, user: User, actor: User | None, dry_run: bool = False) -> AnonymizeReport:
    """Forget `user` (see the module). Audited as `user.anonymize`, with counts only."""
    report = AnonymizeReport(user_id=user.pk, dry_run=dry_run)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.anonymized_at is not None:
            report.already_at = user.anonymized_at
            return report
        if _last_admin(user):
            raise ApplicationError(
                _("This is the last active admin: make someone else an admin first."),
                code="last_admin",
                status_code=409,
            )
        deletable_forks = _private_nodes(user).exclude(
            pk__in=Mutation.objects.filter(parent__owner=user).values("parent_id")
        )
        published = RemixNode.objects.filter(owner=user, status=NodeStatus.PUBLISHED)
        positions = Participation.objects.filter(creator=user, claimed_position__isnull=False)
        tokens = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
        audit_personal = _audit_personal_of(user)
        sign_in_records = [
            model.objects.filter(username__iexact=user.email) for model in (AccessAttempt, AccessLog, AccessFailureLog)
        ]
        user_type = ContentType.objects.get_for_model(User)
        admin_entries = LogEntry.objects.filter(content_type=user_type, object_id=str(user.pk))
        devices = TOTPDevice.objects.filter(user=user)
        replies = IdempotencyRecord.objects.filter(user=user)
        sessions = _sessions_of(user)
        exports = DataExport.objects.filter(user=user)
        counts = {
            "uploads deleted": Upload.objects.filter(owner=user).count(),
            "data exports deleted": exports.count(),
            "private forks and unpublished uploaded videos deleted": deletable_forks.count(),
            "published remixes kept as 'deleted user'": published.count(),
            "claimed positions dropped": positions.count(),
            "tokens revoked": tokens.count(),
            "audit personal details deleted": audit_personal.count(),
            "sign-in records deleted": sum(q.count() for q in sign_in_records),
            "admin log entries deleted": admin_entries.count(),
            "second-factor devices deleted": devices.count(),
            "stored API replies deleted": replies.count(),
            "sessions ended": len(sessions),
        }
        report.counts = {what: n for what, n in counts.items() if n}
        if dry_run:
            return report

        for node in published.only("id", "public_id"):
            node_cache_invalidate(node=node)
        for fork in deletable_forks:
            node_cache_invalidate(node=fork)
            if fork.media_name:  # a storage failure raises here and rolls everything back, to be tried again
                default_storage.delete(fork.media_name)
            fork.delete()
        positions.update(claimed_position=None, updated_at=timezone.now())
        BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in tokens], ignore_conflicts=True)
        AuditPersonal.objects.filter(pk__in=list(audit_personal.values_list("pk", flat=True))).delete()
        for records in sign_in_records:
            records.delete()
        admin_entries.delete()
        devices.delete()
        replies.delete()
        Session.objects.filter(session_key__in=sessions).delete()
        exports_delete(exports=exports)  # the archives held their email and everything else
        uploads_delete(owner=user)  # their own videos, stored objects included

        user.email = f"deleted-{uuid.uuid4().hex}@{DELETED_DOMAIN}"
        user.display_name = DELETED_NAME
        user.first_name = user.last_name = ""
        user.firebase_uid = None
        user.set_unusable_password()
        user.is_active = user.is_staff = user.is_superuser = False
        user.role = Role.CREATOR
        user.anonymized_at = timezone.now()
        user.save()
        user_role_sync(user=user)
        audit_log_record(actor=actor, action="user.anonymize", target=user, details={"counts": report.counts})
        transaction.on_commit(lambda: cache.delete_pattern("similar:*"))  # similar lists showed the old name
    logger.info("user anonymized", extra={"user_id": user.pk, "counts": report.counts})
    return report
