"""What an audit record may keep for ever, and what it must be able to forget.

The log is append-only and permanent, so it holds no personal data: `personal_split` takes every value stored
under a personal key (at any depth of the details) out into the record's side row (accounts.AuditPersonal), leaving
PERSONAL in its place so the record still says *what* changed; `audit_repr` names a target without naming a
person. Anonymization deletes the side rows of the person forgotten; the log itself never changes.
"""

from __future__ import annotations

from typing import Any

from django.db import models

PERSONAL = "PERSONAL"
# Keys whose values identify or locate a person, wherever they appear in an audit record's details.
PERSONAL_KEYS = frozenset(
    {
        "email",
        "username",
        "display_name",
        "first_name",
        "last_name",
        "firebase_uid",
        "ip",
        "phone",
        "claimed_position",
        "user_agent",
    }
)


def personal_split(details: Any) -> tuple[Any, Any]:
    """(details with personal values replaced by PERSONAL, the personal values at the same paths or None)."""
    if isinstance(details, dict):
        public: dict[str, Any] = {}
        personal: dict[str, Any] = {}
        for key, value in details.items():
            if key in PERSONAL_KEYS and value not in (None, "", [], {}):
                public[key] = PERSONAL
                personal[key] = value
                continue
            kept, private = personal_split(value)
            public[key] = kept
            if private is not None:
                personal[key] = private
        return public, (personal or None)
    if isinstance(details, list):
        pairs = [personal_split(item) for item in details]
        private_items = [private for _, private in pairs]
        has_private = any(p is not None for p in private_items)
        return [kept for kept, _ in pairs], (private_items if has_private else None)
    return details, None


def personal_all(details: Any) -> Any:
    """Every leaf value replaced by PERSONAL, keys kept: for details that are a person's own writing."""
    if isinstance(details, dict):
        return {key: personal_all(value) for key, value in details.items()}
    if isinstance(details, list):
        return [personal_all(item) for item in details]
    return PERSONAL if details not in (None, "", [], {}) else details


def audit_repr(target: models.Model) -> str:
    """How the log names a target: the model's own `audit_repr()` when it has one that names no person (a remix's
    title, a campaign's title), else "<model> #<id>"."""
    named = getattr(target, "audit_repr", None)
    if callable(named):
        return str(named())[:200]
    return f"{target._meta.verbose_name} #{target.pk}"[:200]
