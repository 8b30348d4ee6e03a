"""Data portability: one ZIP of everything we hold about a person, and nothing about anyone else.

Files: profile.json, consents.json (the whole history), nodes.json (the remixes they own with every brief version and
analysis, parents and children by public id), participations.json (their own, with the position they sent),
mutations.json (lineage edges they created), audit.json (audit records where they are the actor or the target, with
their own personal side values; other people by id only), README.md (Korean and English). Media are links.

`export_request` queues the job (one at a time per user; at most `EXPORTS_PER_DAY` a day); `data_export_run` builds
the archive into default storage under exports/<user id>/<uuid>.zip (S3 in production), kept `EXPORT_KEEP_DAYS`;
`export_download_url` signs a link valid one hour (S3 presigned, or a project URL with a signed token).
"""

from __future__ import annotations

import json
import logging
import tempfile
import zipfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from procrastinate.contrib.django import app

from accounts.models import AuditLog, AuditPersonal, Consent, User
from accounts.services import audit_log_record
from campaigns.models import Participation
from kmeme.errors import ApplicationError
from privacy.models import DataExport, ExportStatus
from remix.models import Mutation, RemixNode

logger = logging.getLogger("kmeme.privacy")

EXPORTS_PER_DAY = 3
EXPORT_KEEP_DAYS = 7
LINK_TTL_S = 3600
_SALT = "kmeme.privacy.export-download"

README = """# K-MEME Factory — 내 데이터 / Your data

이 압축 파일에는 K-MEME Factory가 회원님에 대해 보관하는 모든 데이터가 들어 있습니다.
다른 사람의 데이터는 들어 있지 않습니다.
This archive holds everything K-MEME Factory keeps about you, and nothing about anyone else.

- profile.json
  - 계정: 이메일, 이름, 역할, 가입일
  - your account: email, name, role, when you joined
- consents.json
  - 동의 기록 전체 (종류, 동의 여부, 약관 버전, 일시)
  - every consent decision: kind, granted or not, terms version, when
- nodes.json
  - 회원님의 리믹스: 모든 브리프 버전과 분석, 부모·자식 리믹스 ID (영상은 링크)
  - your remixes with every brief version and analysis, parent and child ids (videos as links)
- participations.json
  - 캠페인 참여: 보낸 위치, 검증 결과와 사유, K-Success
  - your campaign entries: the position you sent, the check's result and reason, K-Success
- mutations.json
  - 회원님이 만든 계보 연결 (부모 → 자식, 변형 종류)
  - the lineage edges you created (parent → child, mutation types)
- audit.json
  - 회원님이 한 일과 회원님 계정에 대한 기록 (다른 사람은 ID로만)
  - what you did and what was done to your account (other people by id only)
"""


def _day_key(user_id: int) -> str:
    return f"exports:{user_id}:{timezone.localdate().isoformat()}"


@transaction.atomic
def export_request(*, user: User) -> tuple[DataExport, bool]:
    """Queue an export of `user`'s data: (the export, whether it is new). One at a time: while one is queued or
    running, that one is returned. At most EXPORTS_PER_DAY new ones a day (429 `throttled`)."""
    User.objects.select_for_update().get(pk=user.pk)  # one request at a time per user
    running = DataExport.objects.filter(user=user, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]).first()
    if running is not None:
        return running, False
    key = _day_key(user.pk)
    cache.add(key, 0, timeout=24 * 3600)
    if cache.incr(key) > EXPORTS_PER_DAY:
        cache.decr(key)
        raise ApplicationError(
            f"At most {EXPORTS_PER_DAY} exports a day; try again tomorrow.",
            code="throttled",
            status_code=429,
            retry_after=3600,
        )
    export = DataExport.objects.create(user=user)
    audit_log_record(actor=user, action="privacy.export_requested", target=user, details={"export": export.pk})
    transaction.on_commit(lambda: export_job_defer(export_id=export.pk))
    return export, True


def export_job_defer(*, export_id: int) -> None:
    # By the task's name: services never import tasks.
    app.configure_task("privacy.tasks.data_export_build", allow_unknown=False).defer(export_id=export_id)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _node(node: RemixNode, parents: dict[int, list], children: dict[int, list]) -> dict[str, Any]:
    return {
        "id": str(node.public_id),
        "title": node.title,
        "layer": node.layer,
        "status": node.status,
        "source_url": node.source_url,
        "posted_url": node.posted_url,
        "platform": node.platform,
        "commerce_category": node.commerce_category,
        "created_at": node.created_at,
        "published_at": node.published_at,
        "parents": parents.get(node.pk, []),
        "children": children.get(node.pk, []),
        "analyses": [
            {
                "created_at": a.created_at,
                "provider": a.provider,
                "model": a.model,
                "status": a.status,
                "duration_s": a.duration_s,
                "bpm": a.bpm,
                "hook": a.hook,
                "keyframes": a.keyframes,
                "commerce_category": a.commerce_category,
                "probe": a.probe,
            }
            for a in node.analyses.all()
        ],
        "briefs": [
            {
                "version": b.version,
                "source": b.source,
                "created_at": b.created_at,
                "generated": b.generated,
                "edited": b.edited,
                "review_status": b.review_status,
            }
            for b in node.briefs.all()
        ],
    }


def export_contents(*, user: User, progress: Callable[[int, str], None] | None = None) -> dict[str, str]:
    """Every file of the archive, by name (JSON text)."""
    step = progress or (lambda pct, what: None)
    step(5, "profile")
    files = {
        "profile.json": _json(
            {
                "id": user.pk,
                "email": user.email,
                "display_name": user.display_name,
                "role": user.role,
                "date_joined": user.date_joined,
                "anonymized_at": user.anonymized_at,
            }
        ),
        "consents.json": _json(
            list(
                Consent.objects.filter(user=user)
                .order_by("created_at", "id")
                .values("kind", "granted", "terms_version", "created_at")
            )
        ),
    }
    step(20, "remixes")
    nodes = list(RemixNode.objects.filter(owner=user).prefetch_related("analyses", "briefs").order_by("id"))
    ids = [n.pk for n in nodes]
    parents: dict[int, list] = {}
    children: dict[int, list] = {}
    for edge in Mutation.objects.filter(Q(child_id__in=ids) | Q(parent_id__in=ids)).select_related("parent", "child"):
        if edge.child_id in ids:  # someone else's parent: its public id and title only
            parents.setdefault(edge.child_id, []).append(
                {"id": str(edge.parent.public_id), "title": edge.parent.title, "mutation_types": edge.mutation_types}
            )
        if edge.parent_id in ids and (edge.child.owner_id == user.pk or edge.child.status == "published"):
            children.setdefault(edge.parent_id, []).append({"id": str(edge.child.public_id)})
    files["nodes.json"] = _json([_node(n, parents, children) for n in nodes])
    step(55, "campaign entries")
    files["participations.json"] = _json(
        [
            {
                "campaign": {"id": p.campaign_id, "title": p.campaign.title},
                "status": p.status,
                "fork": str(p.fork_node.public_id) if p.fork_node else None,
                "video_url": p.video_url,
                "position": None
                if p.claimed_position is None
                else {"latitude": p.claimed_position.y, "longitude": p.claimed_position.x},
                "location": p.location.name if p.location else None,
                "distance_m": p.distance_m,
                "verification_result": p.verification_result,
                "verification_reason": p.verification_reason,
                "decision_reason": p.decision_reason,
                "joined_at": p.joined_at,
                "submitted_at": p.submitted_at,
                "k_success_at": p.k_success_at,
                "k_success_views": p.k_success_views,
            }
            for p in Participation.objects.filter(creator=user).select_related("campaign", "fork_node", "location")
        ]
    )
    step(70, "lineage edges")
    files["mutations.json"] = _json(
        [
            {
                "parent": str(m.parent.public_id),
                "child": str(m.child.public_id),
                "mutation_types": m.mutation_types,
                "profile": m.profile,
                "created_at": m.created_at,
            }
            for m in Mutation.objects.filter(created_by=user).select_related("parent", "child").order_by("id")
        ]
    )
    step(85, "audit records")
    entries = AuditLog.objects.filter(Q(actor=user) | Q(target_type="accounts.user", target_id=str(user.pk))).order_by(
        "id"
    )
    own_personal = dict(
        AuditPersonal.objects.filter(entry__in=entries, subject=user).values_list("entry_id", "details")
    )
    files["audit.json"] = _json(
        [
            {
                "at": e.created_at,
                "action": e.action,
                "by": "you" if e.actor_id == user.pk else (f"user #{e.actor_id}" if e.actor_id else "the system"),
                "target": f"{e.target_type} #{e.target_id}" if e.target_type else "",
                "details": e.details,
                "your_personal_details": own_personal.get(e.pk),
            }
            for e in entries
        ]
    )
    files["README.md"] = README
    return files


def data_export_run(*, export: DataExport) -> DataExport:
    """Build the archive (the job): progress kept on the row as it goes; a failure is recorded and visible, and
    the user can ask again."""
    DataExport.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, progress=1, step="starting")

    def progress(pct: int, what: str) -> None:
        DataExport.objects.filter(pk=export.pk).update(progress=pct, step=what)

    try:
        files = export_contents(user=export.user, progress=progress)
        key = f"exports/{export.user_id}/{export.public_id}.zip"
        with tempfile.TemporaryFile() as out:
            with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, text in files.items():
                    archive.writestr(name, text)
            size = out.tell()
            out.seek(0)
            stored = default_storage.save(key, File(out, name=key))
    except Exception as exc:
        logger.exception("data export failed", extra={"export_id": export.pk})
        DataExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        raise
    now = timezone.now()
    DataExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.READY,
        progress=100,
        step="ready",
        storage_key=stored,
        size=size,
        files=len(files),
        finished_at=now,
        expires_at=now + timedelta(days=EXPORT_KEEP_DAYS),
    )
    export.refresh_from_db()
    return export


def export_download_url(*, export: DataExport, request_base: str = "") -> tuple[str, Any]:
    """A link to the archive valid LINK_TTL_S (S3 presigned when media are on S3, else a signed project URL)."""
    expires = timezone.now() + timedelta(seconds=LINK_TTL_S)
    if settings.AWS_STORAGE_BUCKET_NAME:
        return default_storage.url(export.storage_key, expire=LINK_TTL_S), expires
    token = signing.dumps({"export": str(export.public_id)}, salt=_SALT)
    path = reverse("v1:my-export-download", args=[export.public_id])
    return f"{request_base}{path}?token={token}", expires


def export_for_token(*, export: DataExport, token: str) -> bool:
    try:
        data = signing.loads(token, salt=_SALT, max_age=LINK_TTL_S)
    except signing.BadSignature:
        return False
    return data.get("export") == str(export.public_id)


def exports_delete(*, exports) -> int:
    """Delete archives and their rows (expired ones, or a forgotten user's)."""
    count = 0
    for export in exports:
        if export.storage_key:
            default_storage.delete(export.storage_key)
        export.delete()
        count += 1
    return count


def exports_expired_delete() -> int:
    return exports_delete(exports=DataExport.objects.filter(expires_at__lt=timezone.now()))
