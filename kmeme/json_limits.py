"""Caps on free-form JSON: its size (compact UTF-8) and how deeply it nests.

A request body may be up to 1 MiB (DATA_UPLOAD_MAX_MEMORY_SIZE), far more than any free-form field needs; the caps
here keep one field from filling rows, audit entries and cached recipes with it. Past either, a 400 naming the field
and the cap: `too_large` (details `field`, `max_bytes`, `bytes`) or `too_deep` (details `field`, `max_depth`).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from kmeme.exceptions import ApplicationError


def json_depth(value: Any, *, stop_after: int | None = None) -> int:
    """How many objects/arrays deep `value` nests (a scalar is 0, `{"a": 1}` is 1). No recursion, so any depth is safe;
    stops looking once past `stop_after`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, (list, tuple)):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if stop_after is not None and deepest > stop_after:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


def json_bounds_check(*, field: str, value: Any, max_bytes: int | None = None, max_depth: int | None = None) -> None:
    """Refuse `value` (the JSON a client sent as `field`) when it nests deeper or weighs more than the caps."""
    max_bytes = settings.JSON_FIELD_MAX_BYTES if max_bytes is None else max_bytes
    max_depth = settings.JSON_FIELD_MAX_DEPTH if max_depth is None else max_depth
    if json_depth(value, stop_after=max_depth) > max_depth:
        raise ApplicationError(
            _("`%(field)s` nests too deeply: at most %(max_depth)s levels of objects and arrays.")
            % {"field": field, "max_depth": max_depth},
            code="too_deep",
            details={"field": field, "max_depth": max_depth},
        )
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > max_bytes:
        raise ApplicationError(
            _("`%(field)s` is too large: at most %(max_bytes)s bytes of JSON.")
            % {"field": field, "max_bytes": max_bytes},
            code="too_large",
            details={"field": field, "max_bytes": max_bytes, "bytes": size},
        )
