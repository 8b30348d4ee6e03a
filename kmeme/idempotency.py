"""`Idempotency-Key` on the API's writes: a retried request gets the first answer again instead of acting twice.

A signed-in client may send `Idempotency-Key: <1 to 255 visible ASCII characters>` (a UUID, say) on any write of a
view that mixes in `IdempotentWritesMixin`. Keys belong to the user (not to a token: a refreshed JWT keeps them):

- the first request with a key claims it (a row here) and runs; its answer is stored when it is below 500 and not a
  429: 2xx and the other 4xx are final for that request, while a 5xx or a rate limit invites a retry;
- the same key with the same method, path and body: the stored answer again (status, body, Content-Type, Location),
  with `Idempotent-Replayed: true`; nothing runs, nothing is counted against a quota, nothing is written;
- the same key with another method, path or body: 409 `idempotency_key_reused`;
- the same key while its first request still runs: 409 `idempotency_request_in_progress` with `Retry-After`. A claim
  whose request never finished (the client or a worker was cut off) is taken over after CLAIM_TIMEOUT;
- an invalid key: 400 `invalid_idempotency_key`.

A request that is not signed in has no scope to keep a key in: its key is ignored (every view that takes keys
requires sign-in, so it is refused with a 401 first). Keys are kept for RETENTION; an older key counts as new, and
`idempotency_records_prune` (run by the `prune_idempotency_keys` command) deletes them.

DRF-native rather than a Django middleware: the scope is the user DRF authenticated, so the key is claimed in the
view's `initial()`, after authentication, permissions and throttles, and the answer stored in `finalize_response`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseBase, RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.request import Request

from kmeme.exceptions import ApplicationError
from kmeme.models import IdempotencyRecord

logger = logging.getLogger("kmeme.idempotency")

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETENTION = timedelta(hours=24)
# Longer than any request can run (gunicorn's worker timeout is 30 s), short enough for a cut-off client to retry.
CLAIM_TIMEOUT = timedelta(minutes=2)
IN_PROGRESS_RETRY_AFTER_S = 2
KEY_MAX_LENGTH = 255
_KEY = re.compile(rf"[\x21-\x7e]{{1,{KEY_MAX_LENGTH}}}")
# What a replay repeats besides status and body; the rest (Vary, Cache-Control, X-Request-ID…) is set afresh.
_STORED_HEADERS = ("Content-Type", "Content-Disposition", "Content-Language", "Location")


@dataclass(frozen=True)
class IdempotencyClaim:
    """This request holds the key: only the holder of `token` may store the answer or give the key back."""

    record_id: int
    token: uuid.UUID


class IdempotentReplay(Exception):
    """Raised from `initial()` to answer with the stored response: DRF's dispatch runs the handler right after
    `initial()`, and an exception is its only other way to an answer (through `handle_exception`)."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__("idempotent replay")
        self.response = response


def idempotency_key_from(request: Request) -> str | None:
    """The request's key, None without one; an invalid one is refused (400 `invalid_idempotency_key`)."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise ApplicationError(
            _(
                "%(IDEMPOTENCY_HEADER)s must be 1 to %(KEY_MAX_LENGTH)s visible ASCII characters (no "
                "spaces), e.g. a UUID."
            )
            % {"IDEMPOTENCY_HEADER": IDEMPOTENCY_HEADER, "KEY_MAX_LENGTH": KEY_MAX_LENGTH},
            code="invalid_idempotency_key",
            details={"header": IDEMPOTENCY_HEADER, "max_length": KEY_MAX_LENGTH},
        )
    return key


def _request_fingerprint(request: Request) -> str:
    """SHA-256 of the method, the path with its query, and the body exactly as sent."""
    django_request = request._request
    try:
        body = django_request.body
    except RawPostDataException:  # a form the CSRF check read already: its fields and files stand for it
        files = sorted((name, f.name, f.size) for name, f in django_request.FILES.items())
        body = f"{django_request.POST.urlencode()}\0{files!r}".encode("utf-8", "surrogatepass")
    digest = hashlib.sha256()
    for part in (request.method.encode(), django_request.get_full_path().encode("utf-8", "surrogatepass"), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body or b""), status=record.response_status)
    if "Content-Type" not in record.response_headers:
        del response["Content-Type"]  # a 204 had none
    for name, value in record.response_headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _expired(record: IdempotencyRecord, now: datetime) -> bool:
    return record.created_at <= now - RETENTION


def idempotency_begin(*, request: Request) -> IdempotencyClaim | None:
    """Claim the request's key before its view runs. Returns the claim; None when there is nothing to keep (no key,
    not a write, not signed in). Raises IdempotentReplay with the first answer, or ApplicationError 400/409."""
    if request.method not in WRITE_METHODS or not request.user.is_authenticated:
        return None
    key = idempotency_key_from(request)
    if key is None:
        return None
    now = timezone.now()
    request_facts = {
        "fingerprint": _request_fingerprint(request),
        "method": request.method,
        "path": request._request.path[:2048],
    }
    token = uuid.uuid4()
    claimed = {"claim": token, "claimed_at": now, "created_at": now}
    record, created = IdempotencyRecord.objects.get_or_create(
        user_id=request.user.pk, key=key, defaults={**request_facts, **claimed}
    )
    if created:
        return IdempotencyClaim(record_id=record.pk, token=token)
    if not _expired(record, now):
        if record.fingerprint != request_facts["fingerprint"]:
            raise ApplicationError(
                _("This %(IDEMPOTENCY_HEADER)s was used for another request (method, path or body); use a new key.")
                % {"IDEMPOTENCY_HEADER": IDEMPOTENCY_HEADER},
                code="idempotency_key_reused",
                status_code=409,
                details={"first_request": {"method": record.method, "path": record.path}},
            )
        if record.response_status is not None:
            raise IdempotentReplay(_replay(record))
        if record.claimed_at > now - CLAIM_TIMEOUT:
            raise _in_progress()
    # Expired, or a first request that never finished: take the key over, unless another retry just did.
    taken = IdempotencyRecord.objects.filter(pk=record.pk, claim=record.claim).update(
        **request_facts, **claimed, response_status=None, response_headers={}, response_body=None
    )
    if not taken:
        raise _in_progress()
    return IdempotencyClaim(record_id=record.pk, token=token)


def _in_progress() -> ApplicationError:
    return ApplicationError(
        _("The first request with this %(IDEMPOTENCY_HEADER)s is still running; retry in a moment for its answer.")
        % {"IDEMPOTENCY_HEADER": IDEMPOTENCY_HEADER},
        code="idempotency_request_in_progress",
        status_code=409,
        details={"retry_after_seconds": IN_PROGRESS_RETRY_AFTER_S},
        retry_after=IN_PROGRESS_RETRY_AFTER_S,
    )


def idempotency_finish(*, claim: IdempotencyClaim, response: HttpResponseBase) -> None:
    """Store the answer for replays; a 5xx, a 429 or a streamed answer gives the key back instead, for a retry."""
    if response.status_code >= 500 or response.status_code == 429 or response.streaming:
        idempotency_release(claim=claim)
        return
    if hasattr(response, "render"):
        response.render()  # a DRF Response renders here, once: Django's own render later is then a no-op
    headers = {name: response[name] for name in _STORED_HEADERS if response.has_header(name)}
    try:
        IdempotencyRecord.objects.filter(pk=claim.record_id, claim=claim.token).update(
            response_status=response.status_code, response_headers=headers, response_body=response.content
        )
    except DatabaseError:
        # The request did its work; its answer must still reach the client. The claim expires in CLAIM_TIMEOUT.
        logger.warning("could not store the answer for idempotency record %s", claim.record_id, exc_info=True)


def idempotency_release(*, claim: IdempotencyClaim) -> None:
    """Give the key back (its request failed): the next request with it runs afresh."""
    try:
        IdempotencyRecord.objects.filter(pk=claim.record_id, claim=claim.token).delete()
    except DatabaseError:  # the database is what failed, likely: the claim expires in CLAIM_TIMEOUT
        logger.warning("could not release idempotency record %s", claim.record_id, exc_info=True)


def idempotency_records_prune(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Delete the keys older than RETENTION (a finished or abandoned claim alike); returns how many. Safe to run at
    any time and as often as wanted (an in-flight claim is younger than RETENTION)."""
    stale = IdempotencyRecord.objects.filter(created_at__lte=(now or timezone.now()) - RETENTION)
    if dry_run:
        return stale.count()
    deleted, _ = stale.delete()
    return deleted


class IdempotentWritesMixin:
    """Mix into an APIView (before it: `class FooApi(IdempotentWritesMixin, APIView)`) to take `Idempotency-Key` on
    its POST/PUT/PATCH/DELETE. The OpenAPI schema documents the header for these views (kmeme.openapi)."""

    _idempotency_claim: IdempotencyClaim | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttles
        self._idempotency_claim = idempotency_begin(request=request)

    def handle_exception(self, exc: Exception) -> HttpResponseBase:
        if isinstance(exc, IdempotentReplay):
            return exc.response
        try:
            return super().handle_exception(exc)
        except Exception:
            # Unhandled: Django answers 500 (or 503, kmeme.availability) without finalize_response.
            claim, self._idempotency_claim = self._idempotency_claim, None
            if claim is not None:
                idempotency_release(claim=claim)
            raise

    def finalize_response(
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        claim, self._idempotency_claim = self._idempotency_claim, None
        if claim is not None:
            idempotency_finish(claim=claim, response=response)
        return response
