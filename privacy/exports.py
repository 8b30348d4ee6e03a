"""Data portability: one ZIP of everything we hold about a person, and nothing about anyone else.

Files: profile.json, consents.json (the whole history), nodes.json (the remixes they own with every brief version and
analysis, parents and children by public id), participations.json (their own, with the position they sent),
mutations.json (lineage edges they created), audit.json (audit records where they are the actor or the target, with
their own personal side values; other people by id only), README.md (Korean and English). Media are links.

`export_request` queues the job (one at a time per user; at most `EXPORTS_PER_DAY` in 24 hours); `export_build` writes
the ZIP to a file, streaming each JSON file row by row; `data_export_run` (the job) builds it into a temporary file
and stores it in default storage under exports/<user id>/<uuid>.zip (S3 in production), kept `EXPORT_KEEP_DAYS`;
`export_download_url` signs a link valid one hour (S3 presigned, or a project URL with a signed token).
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from procrastinate.contrib.django import app

from accounts.models import AuditLog, AuditPersonal, Consent, Upload, User
from accounts.services import audit_log_record
from campaigns.models import Participation
from kmeme.errors import ApplicationError
from privacy.models import DataExport, ExportStatus
from remix.models import Mutation, NodeStatus, RemixBrief, RemixNode, VideoAnalysis

logger = logging.getLogger("kmeme.privacy")

EXPORTS_PER_DAY = 3
EXPORT_KEEP_DAYS = 7
LINK_TTL_S = 3600
_SALT = "kmeme.privacy.export-download"
NODE_BATCH = 200  # nodes (with their analyses, briefs and edges) read at a time
AUDIT_BATCH = 1000

ERROR_MESSAGES = {
    "build_failed": "Your archive could not be put together. Please ask for a new export.",
    "storage_failed": "Your archive could not be stored. Please ask for a new export later.",
}

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
- uploads.json
  - 회원님이 올린 영상: 파일 이름, 형식, 크기, 상태 (파일은 API의 링크로)
  - the videos you uploaded: file name, type, size, status (the files through the API link)
- audit.json
  - 회원님이 한 일과 회원님 계정에 대한 기록 (다른 사람은 ID로만; 회원님이 한 일에는 회원님의 개인 정보와 IP 포함)
  - what you did and what was done to your account (other people by id only; the records of what you did carry
    your own personal details and IP address)

영상과 미디어는 파일이 아니라 링크(URL)로 들어 있습니다.
Videos and other media are included as links (URLs), not as files.
"""


def _uploads(user: User) -> Iterator[dict[str, Any]]:
    for u in Upload.objects.filter(owner=user).order_by("created_at", "id").iterator():
        yield {
            "id": str(u.public_id),
            "filename": u.original_filename or u.filename,
            "content_type": u.content_type,
            "size": u.actual_size or u.size,
            "status": u.status,
            "created_at": u.created_at,
            "uploaded_at": u.uploaded_at,
            "link": reverse("v1:upload-detail", args=[u.public_id]),  # a fresh download link there, for you only
        }


@transaction.atomic
def export_request(*, user: User) -> tuple[DataExport, bool]:
    """Queue an export of `user`'s data: (the export, whether it is new). One at a time: while one is queued or
    running, that one is returned. At most EXPORTS_PER_DAY new ones in any 24 hours, failed ones not counted (a
    failure is ours, not the user's); past that 429 `throttled` with the seconds until the oldest leaves the window.
    Counted in the database under the user's row lock, so requests at once cannot take more between them."""
    User.objects.select_for_update().get(pk=user.pk)
    running = DataExport.objects.filter(user=user, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]).first()
    if running is not None:
        return running, False
    now = timezone.now()
    window = timedelta(days=1)
    recent = list(
        DataExport.objects.filter(user=user, created_at__gt=now - window)
        .exclude(status=ExportStatus.FAILED)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    if len(recent) >= EXPORTS_PER_DAY:
        wait = max(int((recent[len(recent) - EXPORTS_PER_DAY] + window - now).total_seconds()) + 1, 1)
        raise ApplicationError(
            _("At most %(EXPORTS_PER_DAY)s exports a day. Try again in %(wait)s s.")
            % {"EXPORTS_PER_DAY": EXPORTS_PER_DAY, "wait": wait},
            code="throttled",
            status_code=429,
            details={"scope": "data_export", "limit": f"{EXPORTS_PER_DAY}/d", "retry_after_seconds": wait},
            retry_after=wait,
        )
    export = DataExport.objects.create(user=user)
    audit_log_record(actor=user, action="privacy.export_requested", target=user, details={"export": export.pk})
    transaction.on_commit(lambda: export_job_defer(export_id=export.pk))
    return export, True


def export_job_defer(*, export_id: int) -> None:
    # By the task's name: services never import tasks.
    app.configure_task("privacy.tasks.data_export_build", allow_unknown=False).defer(export_id=export_id)


class _Progress:
    """Reports `pct` of the build and what it is doing; no-op without a callback."""

    def __init__(self, callback: Callable[[int, str], None] | None) -> None:
        self.callback = callback

    def __call__(self, pct: int, what: str) -> None:
        if self.callback is not None:
            self.callback(pct, what)


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _write_json(archive: zipfile.ZipFile, name: str, value: Any) -> None:
    with archive.open(name, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8") as text:
        text.write(_json(value))


def _write_json_list(archive: zipfile.ZipFile, name: str, items: Iterable[dict[str, Any]]) -> None:
    """A JSON array written item by item: a large account never sits in memory as one string."""
    with archive.open(name, "w", force_zip64=True) as raw, io.TextIOWrapper(raw, encoding="utf-8") as text:
        text.write("[")
        for i, item in enumerate(items):
            text.write(",\n" if i else "\n")
            text.write(_json(item))
        text.write("\n]\n")


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


def _nodes(user: User) -> Iterator[dict[str, Any]]:
    """The nodes `user` owns (masters they submitted, their forks), NODE_BATCH at a time. Lineage: a parent by public
    id, title and how it was changed (whoever owns it); a child by public id only, and only if it is theirs or
    published (someone else's draft is no one else's business)."""
    ids = list(RemixNode.objects.filter(owner=user).order_by("id").values_list("id", flat=True))
    for batch in _batches(ids, NODE_BATCH):
        nodes = (
            RemixNode.objects.filter(pk__in=batch)
            .prefetch_related(
                Prefetch("analyses", queryset=VideoAnalysis.objects.order_by("created_at", "id")),
                Prefetch("briefs", queryset=RemixBrief.objects.order_by("version")),
            )
            .order_by("id")
        )
        parents: dict[int, list] = {}
        children: dict[int, list] = {}
        edges = Mutation.objects.filter(Q(child_id__in=batch) | Q(parent_id__in=batch)).select_related(
            "parent", "child"
        )
        mine = set(batch)
        for edge in edges.order_by("id"):
            parent, child = edge.parent, edge.child
            if child.pk in mine:
                parents.setdefault(child.pk, []).append(
                    {"id": str(parent.public_id), "title": parent.title, "mutation_types": edge.mutation_types}
                )
            if parent.pk in mine and (child.owner_id == user.pk or child.status == NodeStatus.PUBLISHED):
                children.setdefault(parent.pk, []).append({"id": str(child.public_id)})
        for node in nodes:
            yield _node(node, parents, children)


def _participations(user: User) -> Iterator[dict[str, Any]]:
    """Their own campaign entries; nothing about anyone else taking part."""
    entries = Participation.objects.filter(creator=user).select_related("campaign", "fork_node", "location", "upload")
    for p in entries.order_by("id").iterator(chunk_size=500):
        yield {
            "campaign": {"id": p.campaign_id, "title": p.campaign.title},
            "status": p.status,
            "fork": str(p.fork_node.public_id) if p.fork_node else None,
            "video_url": p.video_url,
            "upload": str(p.upload.public_id) if p.upload else None,
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
            "verified_at": p.verified_at,
            "k_success_at": p.k_success_at,
            "k_success_views": p.k_success_views,
        }


def _mutations(user: User) -> Iterator[dict[str, Any]]:
    edges = Mutation.objects.filter(created_by=user).select_related("parent", "child").order_by("id")
    for m in edges.iterator(chunk_size=500):
        yield {
            "parent": str(m.parent.public_id),
            "child": str(m.child.public_id),
            "mutation_types": m.mutation_types,
            "profile": m.profile,
            "created_at": m.created_at,
        }


def _audit(user: User) -> Iterator[dict[str, Any]]:
    """Records where `user` acted or was the target. Other people appear by id only. Personal side values (emails,
    names, IPs, …) are theirs only on records of what they did themselves: on a record of someone else acting on
    their account (an admin, a refused sign-in) those values may be the other person's, so they stay out."""
    entries = AuditLog.objects.filter(Q(actor=user) | Q(target_type="accounts.user", target_id=str(user.pk)))
    for batch in _batches(entries.order_by("id").iterator(chunk_size=AUDIT_BATCH), AUDIT_BATCH):
        own = [e.pk for e in batch if e.actor_id == user.pk]
        personal = {p.entry_id: p for p in AuditPersonal.objects.filter(entry_id__in=own, subject=user)}
        for e in batch:
            side = personal.get(e.pk)
            yield {
                "at": e.created_at,
                "action": e.action,
                "by": "you" if e.actor_id == user.pk else (f"user #{e.actor_id}" if e.actor_id else "the system"),
                "target": f"{e.target_type} #{e.target_id}" if e.target_type else "",
                "details": e.details,
                "your_personal_details": side.details if side else None,
                "your_ip": side.ip if side else None,
            }


def export_build(*, user: User, out: IO[bytes], progress: Callable[[int, str], None] | None = None) -> list[str]:
    """Write the archive of everything held about `user` to `out` (a binary file open for writing) as a ZIP, each
    JSON file streamed row by row; `progress(pct, what)` is told as it goes. Returns the names of the files."""
    step = _Progress(progress)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        step(5, "profile")
        _write_json(
            archive,
            "profile.json",
            {
                "id": user.pk,
                "email": user.email,
                "display_name": user.display_name,
                "role": user.role,
                "date_joined": user.date_joined,
                "anonymized_at": user.anonymized_at,
            },
        )
        consents = Consent.objects.filter(user=user).order_by("created_at", "id")
        _write_json_list(
            archive, "consents.json", consents.values("kind", "granted", "terms_version", "created_at").iterator()
        )
        step(20, "remixes")
        _write_json_list(archive, "nodes.json", _nodes(user))
        step(55, "campaign entries")
        _write_json_list(archive, "participations.json", _participations(user))
        step(70, "lineage edges")
        _write_json_list(archive, "mutations.json", _mutations(user))
        step(80, "uploads")
        _write_json_list(archive, "uploads.json", _uploads(user))
        step(85, "audit records")
        _write_json_list(archive, "audit.json", _audit(user))
        archive.writestr("README.md", README)
        step(95, "archive")
        return archive.namelist()


def export_storage_key(export: DataExport) -> str:
    return f"exports/{export.user_id}/{export.public_id}.zip"


def data_export_run(*, export: DataExport, final_attempt: bool = True) -> DataExport:
    """Build the archive (the job's work) into a temporary file, then store it under `export_storage_key`. Progress
    is kept on the row as it goes. A failure is recorded and re-raised: on the final attempt the export ends
    `failed` with its `error_code` (the user may ask again); before it, it goes back to `queued` for the retry."""
    DataExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.RUNNING,
        progress=1,
        step="starting",
        started_at=timezone.now(),
        error="",
        error_code="",
    )

    def progress(pct: int, what: str) -> None:
        DataExport.objects.filter(pk=export.pk).update(progress=pct, step=what)

    key = export_storage_key(export)
    stage = "build_failed"
    try:
        with tempfile.TemporaryFile() as out:
            names = export_build(user=export.user, out=out, progress=progress)
            size = out.seek(0, io.SEEK_END)
            out.seek(0)
            stage = "storage_failed"
            progress(97, "storing")
            stored = default_storage.save(key, File(out, name=key))
    except Exception as exc:
        _export_failed(export=export, code=stage, exc=exc, final_attempt=final_attempt)
        raise
    now = timezone.now()
    kept = DataExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.READY,
        progress=100,
        step="ready",
        storage_key=stored,
        size=size,
        files=len(names),
        finished_at=now,
        expires_at=now + timedelta(days=EXPORT_KEEP_DAYS),
    )
    if not kept:  # the row went while we built it (the account was anonymized): nobody may hold this archive
        default_storage.delete(stored)
        logger.info("data export dropped: its record was deleted while it was built", extra={"export_id": export.pk})
        return export
    export.refresh_from_db()
    logger.info("data export built", extra={"export_id": export.pk, "size": size})
    return export


def _export_failed(*, export: DataExport, code: str, exc: Exception, final_attempt: bool) -> None:
    logger.exception("data export failed", extra={"export_id": export.pk, "code": code, "final": final_attempt})
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if not final_attempt:
        DataExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.QUEUED, step="retrying after an error", error_code=code, error=error
        )
        return
    now = timezone.now()
    DataExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.FAILED,
        step="failed",
        error_code=code,
        error=error,
        finished_at=now,
        expires_at=now + timedelta(days=EXPORT_KEEP_DAYS),  # the record of the failure goes like an archive
    )


def export_error_message(export: DataExport) -> str:
    """What a user is told about a failed build (the raised error stays with staff: it names servers and paths)."""
    return ERROR_MESSAGES.get(export.error_code, "") if export.error_code else ""


def export_downloadable(export: DataExport) -> bool:
    return (
        export.status == ExportStatus.READY
        and bool(export.storage_key)
        and (export.expires_at is None or export.expires_at > timezone.now())
    )


def export_download_url(*, export: DataExport, request_base: str = "") -> tuple[str, Any]:
    """A link to the archive valid LINK_TTL_S, made fresh on each call: S3 presigned when media are on S3, else a
    project URL carrying a signed token (export_for_token)."""
    expires = timezone.now() + timedelta(seconds=LINK_TTL_S)
    if settings.AWS_STORAGE_BUCKET_NAME:
        return default_storage.url(export.storage_key, expire=LINK_TTL_S), expires
    token = signing.dumps({"export": str(export.public_id), "user": export.user_id}, salt=_SALT)
    path = reverse("v1:my-export-download", args=[export.public_id])
    return f"{request_base}{path}?token={token}", expires


def export_for_token(*, export: DataExport, token: str) -> bool:
    try:
        data = signing.loads(token, salt=_SALT, max_age=LINK_TTL_S)
    except signing.BadSignature:
        return False
    return (
        isinstance(data, dict)
        and data.get("export") == str(export.public_id)
        and data.get("user") == export.user_id
        and export_downloadable(export)
    )


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
    """Delete the archives (and the records of failed builds) past their EXPORT_KEEP_DAYS: the nightly job."""
    deleted = exports_delete(exports=DataExport.objects.filter(expires_at__lt=timezone.now()).iterator())
    if deleted:
        logger.info("expired data exports deleted", extra={"count": deleted})
    return deleted
