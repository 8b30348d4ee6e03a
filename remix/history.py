"""A node's history as editors read it: each audit record in words ("Editor Kim approved v2 with 3 edits"), not as
the action codes the log stores (`brief.approve`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import AuditLog
from kmeme.vocabulary import CommerceCategory
from remix.models import NodeStatus

_STATUS = dict(NodeStatus.choices)


def _status(value: Any) -> str:
    return str(_STATUS.get(value, str(value or "—"))).lower()


def _category(value: Any) -> str:
    return str(dict(CommerceCategory.choices).get(value, value))


def _v(details: dict[str, Any]) -> str:
    version = details.get("brief_version")
    return f"v{version}" if version else str(_("the brief"))


def _edits(details: dict[str, Any]) -> str:
    changes = details.get("changes") or {}
    text = ngettext("%(n)d edit", "%(n)d edits", len(changes)) % {"n": len(changes)}
    return f"{text} ({', '.join(changes)})" if changes else text


def _sentence(action: str, d: dict[str, Any]) -> str:
    reason = d.get("reason") or d.get("notes") or ""
    v = _v(d)
    words = {
        "brief.approve": lambda: (
            (_("approved %(v)s with edits") if d.get("with_edits") else _("approved %(v)s as written")) % {"v": v}
        ),
        "brief.edit": lambda: _("edited %(v)s: %(edits)s") % {"v": v, "edits": _edits(d)},
        "brief.reject": lambda: _("rejected %(v)s") % {"v": v},
        "brief.request_regeneration": lambda: _("sent %(v)s back for a new version") % {"v": v},
        "brief.write": lambda: _("wrote %(v)s themselves") % {"v": v},
        "brief.generate": lambda: _("had %(v)s written") % {"v": v},
        "node.transition": lambda: (
            _("moved it from %(before)s to %(after)s")
            % {"before": _status(d.get("from")), "after": _status(d.get("to"))}
        ),
        "node.publish": lambda: _("published it"),
        "node.unpublish": lambda: _("unpublished it"),
        "node.categorize": lambda: (
            _("set its category to %(category)s")
            % {"category": _category((d.get("after") or {}).get("commerce_category"))}
        ),
        "node.update": lambda: (
            _("corrected %(fields)s") % {"fields": ", ".join(sorted((d.get("after") or {}).keys())) or _("it")}
        ),
        "node.fork": lambda: _("forked it"),
        "analysis.fill": lambda: _("filled in the analysis by hand"),
        "review.lock_takeover": lambda: (
            _("took over the review from %(editor)s") % {"editor": d.get("from") or _("nobody")}
        ),
        "mutation.create": lambda: _("linked it in the family tree"),
    }
    text = words[action]() if action in words else action
    return f"{text}: “{reason}”" if reason and action != "node.update" else text


def history_lines(entries: list[AuditLog]) -> list[dict[str, Any]]:
    """(when, who, what) for the review screen, newest first; the system's own steps named as such."""
    return [
        {
            "at": entry.created_at,
            "who": str(entry.actor) if entry.actor_id else _("The system"),
            "what": _sentence(entry.action, entry.details or {}),
            "action": entry.action,
        }
        for entry in entries
    ]
