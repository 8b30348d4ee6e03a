"""Field changes as an audit row records them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def changes_apply(instance: Any, changes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Set on `instance` the fields whose new value differs; return those as {field: {"before", "after"}}.
    Saving (and validating) is the caller's: it saves exactly the returned fields."""
    diff = {f: {"before": getattr(instance, f), "after": v} for f, v in changes.items() if getattr(instance, f) != v}
    for field, change in diff.items():
        setattr(instance, field, change["after"])
    return diff
