"""Editors' review locks: an expiring lock (Redis) per node, so two editors never edit one node at once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_log_record
from kmeme.errors import ApplicationError
from remix.models import RemixNode

LOCK_SECONDS = 15 * 60


@dataclass(frozen=True)
class ReviewLock:
    user_id: int
    user_name: str
    expires_at: float

    @property
    def expires(self) -> datetime:
        return datetime.fromtimestamp(self.expires_at, tz=UTC)


def _lock_key(node_id: int) -> str:
    return f"review-lock:{node_id}"


def review_lock_get(*, node: RemixNode) -> ReviewLock | None:
    data = cache.get(_lock_key(node.pk))
    if data is None or data["expires_at"] < time.time():
        return None
    return ReviewLock(**data)


def _lock_set(node: RemixNode, editor: User) -> ReviewLock:
    lock = ReviewLock(user_id=editor.pk, user_name=str(editor), expires_at=time.time() + LOCK_SECONDS)
    cache.set(_lock_key(node.pk), lock.__dict__, timeout=LOCK_SECONDS)
    return lock


def review_lock_acquire(*, node: RemixNode, editor: User) -> tuple[bool, ReviewLock]:
    """Take (or renew) the node's lock. Returns (True, lock) if the editor holds it now, else (False, holder's lock)."""
    fresh = {"user_id": editor.pk, "user_name": str(editor), "expires_at": time.time() + LOCK_SECONDS}
    if cache.add(_lock_key(node.pk), fresh, timeout=LOCK_SECONDS):
        return True, ReviewLock(**fresh)
    current = review_lock_get(node=node)
    if current is None or current.user_id == editor.pk:
        return True, _lock_set(node, editor)
    return False, current


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
            f"{lock.user_name} is reviewing this node (locked until {timezone.localtime(lock.expires):%H:%M}). "
            "Your changes were not saved.",
            code="locked",
            status_code=409,
            details={"holder": lock.user_name, "expires_at": lock.expires.isoformat()},
        )
