"""Editors' review locks: an expiring lock (Redis) per node, so two editors never edit one node at once.

A lock is taken when an editor starts working on a node — "Start review", the first keystroke in the brief (the
page asks), or any decision — never by merely opening the screen. It lives REVIEW_LOCK_SECONDS (2 minutes) and is
kept by the page's heartbeat, sent only while the tab is visible and its editor has done something in the last
REVIEW_IDLE_SECONDS: a forgotten tab lets go within minutes. It is released when the editor leaves the page, after
each decision and after bulk actions. Another editor may take it over (audited).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_log_record
from kmeme.errors import ApplicationError
from remix.models import RemixNode


def lock_seconds() -> int:
    return int(settings.REVIEW_LOCK_SECONDS)


@dataclass(frozen=True)
class ReviewLock:
    user_id: int
    user_name: str
    expires_at: float
    since: float = 0.0  # when this editor took it (renewals keep it)

    @property
    def expires(self) -> datetime:
        return datetime.fromtimestamp(self.expires_at, tz=UTC)

    @property
    def taken(self) -> datetime:
        return datetime.fromtimestamp(self.since or self.expires_at - lock_seconds(), tz=UTC)


def _lock_key(node_id: int) -> str:
    return f"review-lock:{node_id}"


def _live(data: dict | None) -> ReviewLock | None:
    if data is None or data["expires_at"] < time.time():
        return None
    return ReviewLock(**data)


def review_lock_get(*, node: RemixNode) -> ReviewLock | None:
    return _live(cache.get(_lock_key(node.pk)))


def review_locks_for(*, node_ids: Iterable[int]) -> dict[int, ReviewLock]:
    """The live locks of many nodes in one round trip (MGET): for the queue and the node list."""
    ids = list(node_ids)
    found = cache.get_many([_lock_key(pk) for pk in ids])
    locks = {pk: _live(found.get(_lock_key(pk))) for pk in ids}
    return {pk: lock for pk, lock in locks.items() if lock is not None}


def _lock_set(node: RemixNode, editor: User, *, since: float | None = None) -> ReviewLock:
    now = time.time()
    lock = ReviewLock(user_id=editor.pk, user_name=str(editor), expires_at=now + lock_seconds(), since=since or now)
    cache.set(_lock_key(node.pk), asdict(lock), timeout=lock_seconds())
    return lock


def review_lock_acquire(*, node: RemixNode, editor: User) -> tuple[bool, ReviewLock]:
    """Take (or renew) the node's lock. Returns (True, lock) if the editor holds it now, else (False, holder's lock)."""
    now = time.time()
    fresh = {"user_id": editor.pk, "user_name": str(editor), "expires_at": now + lock_seconds(), "since": now}
    if cache.add(_lock_key(node.pk), fresh, timeout=lock_seconds()):
        return True, ReviewLock(**fresh)
    current = review_lock_get(node=node)
    if current is None:
        return True, _lock_set(node, editor)
    if current.user_id == editor.pk:
        return True, _lock_set(node, editor, since=current.since)
    return False, current


def review_lock_heartbeat(*, node: RemixNode, editor: User) -> ReviewLock | None:
    """Keep the editor's lock alive; never takes one (a lock that expired, or another editor's, stays as it is)."""
    current = review_lock_get(node=node)
    if current is None or current.user_id != editor.pk:
        return None
    return _lock_set(node, editor, since=current.since)


def review_lock_takeover(*, node: RemixNode, editor: User) -> ReviewLock:
    """Take the lock from another editor (e.g. who left for the day). Audited."""
    previous = review_lock_get(node=node)
    lock = _lock_set(node, editor)
    audit_log_record(
        actor=editor,
        action="review.lock_takeover",
        target=node,
        details={"from": previous.user_name if previous else None, "to": str(editor)},
    )
    return lock


def review_lock_release(*, node: RemixNode, editor: User) -> None:
    current = review_lock_get(node=node)
    if current is not None and current.user_id == editor.pk:
        cache.delete(_lock_key(node.pk))


def review_lock_require(*, node: RemixNode, editor: User) -> None:
    """Take or renew the editor's lock, or refuse (409 `locked`) while another editor holds it."""
    held, lock = review_lock_acquire(node=node, editor=editor)
    if not held:
        raise ApplicationError(
            _("%(user_name)s is reviewing this node (locked until %(localtime)s). Your changes were not saved.")
            % {"user_name": lock.user_name, "localtime": f"{timezone.localtime(lock.expires):%H:%M:%S}"},
            code="locked",
            status_code=409,
            details={"holder": lock.user_name, "expires_at": lock.expires.isoformat()},
        )
