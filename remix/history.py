"""A node's history as editors read it: each audit record in words ("Editor Kim approved v2 with 3 edits"), not as
the action codes the log stores (`brief.approve`)."""

from __future__ import annotations

from typing import Any

from accounts.models import AuditLog
from remix.models import NodeStatus

_STATUS = dict(NodeStatus.choices)


def _status(value: Any) -> str:
    return _STATUS.get(value, str(value or "—")).lower()


def _v(details: dict[str, Any]) -> str:
    version = details.get("brief_version")
    return f"v{version}" if version else "the brief"


def _edits(details: dict[str, Any]) -> str:
    changes = details.get("changes") or {}
    names = ", ".join(changes)
    return f"{len(changes)} edit{'s' if len(changes) != 1 else ''}" + (f" ({names})" if names else "")


def _sentence(action: str, d: dict[str, Any]) -> str:
    reason = d.get("reason") or d.get("notes") or ""
    words = {
        "brief.approve": lambda: f"approved {_v(d)}" + (" with edits" if d.get("with_edits") else " as written"),
        "brief.edit": lambda: f"edited {_v(d)}: {_edits(d)}",
        "brief.reject": lambda: f"rejected {_v(d)}",
        "brief.request_regeneration": lambda: f"sent {_v(d)} back for a new version",
        "brief.write": lambda: f"wrote {_v(d)} themselves",
        "brief.generate": lambda: f"had {_v(d)} written",
        "node.transition": lambda: f"moved it from {_status(d.get('from'))} to {_status(d.get('to'))}",
        "node.publish": lambda: "published it",
        "node.unpublish": lambda: "unpublished it",
        "node.categorize": lambda: f"set its category to {(d.get('after') or {}).get('commerce_category')}",
        "node.update": lambda: "corrected " + ", ".join(sorted((d.get("after") or {}).keys()) or ["it"]),
        "node.fork": lambda: "forked it",
        "analysis.fill": lambda: "filled in the analysis by hand",
        "review.lock_takeover": lambda: f"took over the review from {d.get('from') or 'nobody'}",
        "mutation.create": lambda: "linked it in the family tree",
    }
    text = words[action]() if action in words else action
    return f"{text}: “{reason}”" if reason and action != "node.update" else text


def history_lines(entries: list[AuditLog]) -> list[dict[str, Any]]:
    """(when, who, what) for the review screen, newest first; the system's own steps named as such."""
    return [
        {
            "at": entry.created_at,
            "who": str(entry.actor) if entry.actor_id else "The system",
            "what": _sentence(entry.action, entry.details or {}),
            "action": entry.action,
        }
        for entry in entries
    ]
