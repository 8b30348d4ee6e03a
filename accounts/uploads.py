"""Video uploads: a user's file goes straight to media storage, never through a web process's memory.

    upload_start    → an Upload (pending) and where to send the file: a presigned S3 POST when media is on S3 (the
                      bucket's policy enforces the exact key, the type and the size), else the project's own signed
                      URL (`PUT /api/v1/uploads/{id}/content`, local development) with the same limits
    upload_receive  → (local only) the signed URL's body streamed into storage under the upload's key, once
    upload_confirm  → the object is in storage with the declared type and size: the upload is `uploaded`
    uploads_delete  → (forgetting a user) every upload of theirs and everything under their prefix
    uploads_prune   → (nightly) uploads never completed, and files sent late to a forgotten user's prefix

Keys are `user_content/{user_id}/{uuid}/{safe filename}`: one user's uploads can never be written under another's
prefix (S3 refuses any key but the one signed) and are only ever looked up through their owner.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from storages.backends.s3 import S3Storage

from accounts.models import Upload, UploadStatus, User
from accounts.services import audit_log_record
from kmeme.errors import ApplicationError

# The video types accepted, and the extension each one's key ends with (whatever the client's name said).
UPLOAD_CONTENT_TYPES = {"video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm"}
FILENAME_MAX_CHARS = 100
_TOKEN_SALT = "kmeme.uploads.content"  # noqa: S105 - a signing namespace, not a secret
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class UploadTicket:
    """Where and how to send the file: `method` to `url`, with `fields` (S3 POST form fields, sent before the file,
    which goes last as `file`) or `headers` (the local PUT)."""

    upload: Upload
    method: str
    url: str
    expires_at: datetime
    fields: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def upload_filename_safe(filename: str, *, content_type: str) -> str:
    """A name safe as the last part of a storage key and in a download: the last path part only, Unicode NFKC,
    no control, format or separator characters, only letters, digits, `-`, `_` and `.` (others become `_`), no
    leading dots, at most FILENAME_MAX_CHARS, ending in the content type's extension."""
    name = unicodedata.normalize("NFKC", filename)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = re.sub(r"[^\w.-]+", "_", stem, flags=re.UNICODE).strip("._-")
    stem = re.sub(r"[._-]{2,}", "_", stem) or "video"
    ext = UPLOAD_CONTENT_TYPES[content_type]
    return f"{stem[: FILENAME_MAX_CHARS - len(ext) - 1].rstrip('._-') or 'video'}.{ext}"


def upload_key(*, owner: User, public_id: uuid.UUID, filename: str) -> str:
    return f"user_content/{owner.pk}/{public_id}/{filename}"


def _s3_storage() -> S3Storage | None:
    """The media storage when it is S3 (presigned POSTs, HEAD), else None (the local signed URL)."""
    storage = storages["default"]
    return storage if isinstance(storage, S3Storage) else None


def _storage() -> Storage:
    return storages["default"]


def _check_request(*, content_type: str, size: int) -> None:
    if content_type not in UPLOAD_CONTENT_TYPES:
        raise ApplicationError(
            _("Only these video types can be uploaded: %(join)s.") % {"join": ", ".join(UPLOAD_CONTENT_TYPES)},
            code="unsupported_upload_type",
            details={"content_type": content_type, "allowed": list(UPLOAD_CONTENT_TYPES)},
        )
    if size < 1 or size > settings.UPLOAD_MAX_BYTES:
        raise ApplicationError(
            _("A video upload is 1 to %(UPLOAD_MAX_BYTES)s bytes.") % {"UPLOAD_MAX_BYTES": settings.UPLOAD_MAX_BYTES},
            code="upload_too_large" if size > 1 else "upload_empty",
            status_code=413 if size > 1 else 400,
            details={"size": size, "max_bytes": settings.UPLOAD_MAX_BYTES},
        )


def _pending_count(*, owner: User, now: datetime) -> int:
    return Upload.objects.filter(owner=owner, status=UploadStatus.PENDING, expires_at__gt=now).count()


@transaction.atomic
def upload_start(*, owner: User, filename: str, content_type: str, size: int) -> UploadTicket:
    """Begin an upload of `size` bytes of `content_type`: a pending Upload and its ticket. Refused with 400
    `unsupported_upload_type`, 413 `upload_too_large` / 400 `upload_empty`, and 429 `too_many_pending_uploads`
    when the owner already has UPLOAD_PENDING_MAX uploads whose URLs still work. Audited (without the filename)."""
    content_type = content_type.strip().lower()
    _check_request(content_type=content_type, size=size)
    now = timezone.now()
    User.objects.select_for_update().filter(pk=owner.pk).first()  # one owner's starts count their pending one by one
    if _pending_count(owner=owner, now=now) >= settings.UPLOAD_PENDING_MAX:
        raise ApplicationError(
            _("You have %(UPLOAD_PENDING_MAX)s unfinished uploads: complete them, or wait until their URLs expire.")
            % {"UPLOAD_PENDING_MAX": settings.UPLOAD_PENDING_MAX},
            code="too_many_pending_uploads",
            status_code=429,
            details={"limit": settings.UPLOAD_PENDING_MAX, "retry_after_seconds": settings.UPLOAD_URL_TTL_S},
            retry_after=settings.UPLOAD_URL_TTL_S,
        )
    public_id = uuid.uuid4()
    safe = upload_filename_safe(filename, content_type=content_type)
    upload = Upload(
        public_id=public_id,
        owner=owner,
        key=upload_key(owner=owner, public_id=public_id, filename=safe),
        original_filename=filename[:255],
        filename=safe,
        content_type=content_type,
        size=size,
        expires_at=now + timedelta(seconds=settings.UPLOAD_URL_TTL_S),
    )
    upload.full_clean()
    upload.save()
    audit_log_record(
        actor=owner, action="upload.start", target=upload, details={"content_type": content_type, "size": size}
    )
    s3 = _s3_storage()
    return _s3_ticket(upload=upload, storage=s3) if s3 is not None else _local_ticket(upload=upload)


def _s3_ticket(*, upload: Upload, storage: S3Storage) -> UploadTicket:
    """A presigned POST bound to the exact key (boto3 adds `{"key": …}`), the declared type and exactly the declared
    size, valid UPLOAD_URL_TTL_S. Only https is handed out, unless AWS_S3_ENDPOINT_URL names another endpoint (tests,
    local development; settings refuse an http one in production)."""
    client = storage.connection.meta.client
    post = client.generate_presigned_post(
        Bucket=storage.bucket_name,
        Key=upload.key,
        Fields={"Content-Type": upload.content_type},
        Conditions=[
            {"Content-Type": upload.content_type},
            ["content-length-range", upload.size, upload.size],
        ],
        ExpiresIn=settings.UPLOAD_URL_TTL_S,
    )
    if not post["url"].startswith("https://") and not settings.AWS_S3_ENDPOINT_URL:
        raise ImproperlyConfiguredUpload("S3 presigned POST URL is not https")
    return UploadTicket(
        upload=upload, method="POST", url=post["url"], fields=dict(post["fields"]), expires_at=upload.expires_at
    )


class ImproperlyConfiguredUpload(RuntimeError):
    """The storage would hand out an upload URL that is not https: a deployment error, never the client's."""


def _local_ticket(*, upload: Upload) -> UploadTicket:
    token = signing.dumps({"u": str(upload.public_id), "k": upload.key}, salt=_TOKEN_SALT, compress=True)
    path = reverse("v1:upload-content", kwargs={"upload_id": upload.public_id})
    return UploadTicket(
        upload=upload,
        method="PUT",
        url=f"{path}?token={token}",
        headers={"Content-Type": upload.content_type},
        expires_at=upload.expires_at,
    )


def _refuse(message: str, code: str, status_code: int = 400, **details: Any) -> ApplicationError:
    return ApplicationError(message, code=code, status_code=status_code, details=details or None)


def upload_for_token(*, upload_id: uuid.UUID, token: str) -> Upload:
    """The pending upload a local signed URL is for (403 `upload_url_invalid` for a token that is not ours, for
    another upload, or expired — the URL's age counted by its signature and the upload's own expiry)."""
    try:
        claims = signing.loads(token, salt=_TOKEN_SALT, max_age=settings.UPLOAD_URL_TTL_S)
    except signing.SignatureExpired as exc:
        raise _refuse(_("This upload URL has expired: start a new upload."), "upload_url_expired", 403) from exc
    except signing.BadSignature as exc:
        raise _refuse(_("This upload URL is not valid."), "upload_url_invalid", 403) from exc
    upload = Upload.objects.filter(public_id=upload_id).first()
    if (
        upload is None
        or not isinstance(claims, dict)
        or claims.get("u") != str(upload_id)
        or claims.get("k") != upload.key
    ):
        raise _refuse(_("This upload URL is not valid."), "upload_url_invalid", 403)
    if upload.expires_at <= timezone.now():
        raise _refuse(_("This upload URL has expired: start a new upload."), "upload_url_expired", 403)
    return upload


def upload_receive(*, upload: Upload, content_type: str, content_length: int | None, stream: IO[bytes]) -> Upload:
    """Store the body of the local signed URL's PUT under the upload's key: once (409 `upload_url_used`), with the
    declared type (400 `upload_type_mismatch`) and exactly the declared size (411 `length_required`, 413
    `upload_too_large`, 400 `upload_incomplete`), streamed in 1 MiB chunks. Nothing is kept from a refused body.
    Precondition: `upload` came from upload_for_token."""
    if upload.status != UploadStatus.PENDING:
        raise _refuse(_("This upload URL was used already."), "upload_url_used", 409)
    if content_type.split(";", 1)[0].strip().lower() != upload.content_type:
        raise _refuse(
            _("This upload URL takes %(content_type)s only.") % {"content_type": upload.content_type},
            "upload_type_mismatch",
            expected=upload.content_type,
        )
    if content_length is None:
        raise _refuse(_("Send the file with a Content-Length header."), "length_required", 411)
    if content_length > upload.size:
        raise _refuse(_("The file is larger than the size declared."), "upload_too_large", 413, max_bytes=upload.size)
    claim = f"upload-content:{upload.pk}"
    if not cache.add(claim, 1, timeout=settings.UPLOAD_URL_TTL_S) or _storage().exists(upload.key):
        raise _refuse(_("This upload URL was used already."), "upload_url_used", 409)
    try:
        received = _store_stream(upload=upload, stream=stream)
    except Exception:
        cache.delete(claim)  # a refused or broken body may be sent again while the URL works
        raise
    return received


def _store_stream(*, upload: Upload, stream: IO[bytes]) -> Upload:
    with tempfile.SpooledTemporaryFile(max_size=8 * _CHUNK) as buffer:
        received = 0
        while chunk := stream.read(_CHUNK):
            received += len(chunk)
            if received > upload.size:
                raise _refuse(
                    _("The file is larger than the size declared."), "upload_too_large", 413, max_bytes=upload.size
                )
            buffer.write(chunk)
        if received != upload.size:
            raise _refuse(
                _("The file is smaller than the size declared."),
                "upload_incomplete",
                size=upload.size,
                received=received,
            )
        buffer.seek(0)
        name = _storage().save(upload.key, File(buffer, name=upload.filename))
    if name != upload.key:  # another request stored it first (the storage renamed ours): keep theirs only
        _storage().delete(name)
        raise _refuse(_("This upload URL was used already."), "upload_url_used", 409)
    return upload


def _object_facts(*, upload: Upload) -> tuple[int, str | None] | None:
    """(size, content type) of the upload's object in storage, or None when there is none. The local storage keeps
    no type: the signed URL checked it when it received the file."""
    s3 = _s3_storage()
    if s3 is not None:
        try:
            head = s3.connection.meta.client.head_object(Bucket=s3.bucket_name, Key=upload.key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"]), str(head.get("ContentType", "")).split(";", 1)[0].strip().lower()
    storage = _storage()
    if not storage.exists(upload.key):
        return None
    return storage.size(upload.key), None


@transaction.atomic
def upload_confirm(*, upload: Upload, user: User) -> Upload:
    """The client says the file is sent: it must be in storage under the upload's key with the declared type and
    size (409 `upload_missing`, `upload_mismatch`; a mismatching object is deleted). The upload becomes `uploaded`,
    audited; confirming again answers the same. Precondition: `user` owns `upload` (the API looks it up so)."""
    locked = Upload.objects.select_for_update().get(pk=upload.pk)
    if locked.owner_id != user.pk:
        raise _refuse(_("No such upload."), "not_found", 404)
    if locked.status == UploadStatus.UPLOADED:
        return locked
    if locked.status == UploadStatus.EXPIRED:
        raise _refuse(_("This upload expired before it was completed: start a new one."), "upload_expired", 409)
    try:
        facts = _object_facts(upload=locked)
    except (ClientError, BotoCoreError) as exc:
        raise _refuse(_("Media storage could not be asked; try again."), "storage_unavailable", 503) from exc
    if facts is None:
        raise _refuse(_("Nothing was uploaded to this upload's URL yet."), "upload_missing", 409)
    size, content_type = facts
    if size != locked.size or (content_type is not None and content_type != locked.content_type):
        _storage().delete(locked.key)
        raise _refuse(
            _("The stored file is not what was declared; it was deleted: upload it again."),
            "upload_mismatch",
            409,
            size=size,
            content_type=content_type,
        )
    locked.status = UploadStatus.UPLOADED
    locked.uploaded_at = timezone.now()
    locked.actual_size = size
    locked.save(update_fields=["status", "uploaded_at", "actual_size"])
    audit_log_record(actor=user, action="upload.complete", target=locked, details={"size": size})
    return locked


def uploads_delete(*, owner: User) -> int:
    """Delete every upload of `owner`, stored objects included (their account is being forgotten): each upload's
    object, then anything else left under their prefix `user_content/{owner id}/` (a file sent to an upload URL whose
    row is gone), so none of their videos outlives them in storage. Runs inside the caller's transaction: a storage
    error rolls the whole deletion back, to be tried again, rather than leave an object no row points to."""
    storage, count = _storage(), 0
    for upload in Upload.objects.filter(owner=owner):
        storage.delete(upload.key)
        upload.delete()
        count += 1
    _prefix_delete(storage=storage, prefix=f"user_content/{owner.pk}")
    return count


def _prefix_delete(*, storage: Storage, prefix: str) -> None:
    """Every stored file under `prefix` (a folder in the storage's own terms: local directories, S3 key prefixes)."""
    try:
        folders, files = storage.listdir(prefix)
    except FileNotFoundError:  # the local storage has no such directory: nothing was ever stored there
        return
    for name in files:
        storage.delete(f"{prefix}/{name}")
    for folder in folders:
        _prefix_delete(storage=storage, prefix=f"{prefix}/{folder}")


# An upload URL works for UPLOAD_URL_TTL_S; a day more lets a client that is slow to call complete still do so.
PRUNE_GRACE = timedelta(days=1)


@dataclass(frozen=True)
class UploadsPruned:
    abandoned: int  # pending uploads whose URL expired PRUNE_GRACE ago: rows and any object sent to them
    forgotten_swept: int  # forgotten users whose prefix was swept again


def uploads_prune(*, dry_run: bool = False) -> UploadsPruned:
    """The nightly clean-up (`manage.py uploads_prune`, job accounts.tasks.uploads_prune_nightly).

    Abandoned: an upload still pending PRUNE_GRACE after its URL expired will never be completed (its URL no longer
    works, and complete needs the file): its row goes, and the file, if one was sent but never confirmed.
    Forgotten: a presigned POST handed out before its user was forgotten still works until it expires, so a file can
    reach their prefix after uploads_delete swept it, with no row to find it by; their prefix is swept again for as
    long as such a URL could work, plus a day or two of nightly runs to be sure. Not audited per row: nobody acted,
    and the rows were never more than a started upload; the job logs the counts."""
    now = timezone.now()
    ttl = timedelta(seconds=settings.UPLOAD_URL_TTL_S)
    abandoned = Upload.objects.filter(status=UploadStatus.PENDING, expires_at__lt=now - PRUNE_GRACE)
    forgotten = User.objects.filter(anonymized_at__gte=now - ttl - 2 * PRUNE_GRACE).values_list("pk", flat=True)
    if dry_run:
        return UploadsPruned(abandoned=abandoned.count(), forgotten_swept=forgotten.count())
    storage, count = _storage(), 0
    for pk in abandoned.values_list("pk", flat=True):
        with transaction.atomic():  # locked, so a complete at this moment waits and then finds no upload
            upload = Upload.objects.select_for_update().filter(pk=pk, status=UploadStatus.PENDING).first()
            if upload is None:
                continue
            storage.delete(upload.key)  # before the row: a failure leaves the row, to be tried again next night
            upload.delete()
            count += 1
    swept = 0
    for user_id in forgotten:
        _prefix_delete(storage=storage, prefix=f"user_content/{user_id}")
        swept += 1
    return UploadsPruned(abandoned=count, forgotten_swept=swept)
