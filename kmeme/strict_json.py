"""JSON as we accept it from outside: only what Python can re-encode and PostgreSQL can store.

Python's `json` module is lenient where our storage is not. It decodes `NaN`, `Infinity` and numbers such as
`1e999` (to a float infinity), NUL characters (`\\u0000`) and unpaired surrogates (`\\ud800`), and recurses once
per nesting level until the interpreter gives up with a RecursionError. PostgreSQL refuses every one of those in
`jsonb` and `text`, and a lone surrogate cannot even be encoded back into a UTF-8 response. So whatever JSON comes
from outside — API request bodies (kmeme.parsers), the claims of a Firebase ID token — is decoded and checked here,
and refused as a whole with a reason before any of it reaches a serializer, a model or the database.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.utils.translation import gettext as _

# Deep enough for any document our API takes (a fork's free-form profile sits at level 2), far below where the
# decoder, the JSON encoder or PostgreSQL's stack would give up.
MAX_DEPTH = 32

# A string or a bracket of a JSON text; strings are matched whole so that brackets inside them are not counted.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
# In a decoded str every surrogate is unpaired: the decoder joins a valid pair into one code point.
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class JsonRefused(ValueError):
    """JSON we do not accept. `reason` is stable (for error details), `at` the path to the offending value."""

    def __init__(self, reason: str, message: str, *, at: str = "") -> None:
        super().__init__(f"{message} (at {at})" if at else message)
        self.reason = reason
        self.message = message
        self.at = at


def _printable(part: str | int) -> str:
    """A path part safe to send back: refused characters escaped, long keys cut (a path echoes the client's keys)."""
    text = str(part)
    text = text if len(text) <= 60 else f"{text[:60]}…"
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _path(parts: tuple[str | int, ...]) -> str:
    return ".".join(_printable(part) for part in parts)


def text_check(text: str, *, at: str = "") -> None:
    """Refuse text PostgreSQL cannot store: a NUL character, or an unpaired surrogate (not encodable as UTF-8)."""
    if "\x00" in text:
        raise JsonRefused("nul_character", _("Text may not contain NUL characters (\\u0000)."), at=at)
    if not text.isascii() and _SURROGATE.search(text):
        raise JsonRefused("lone_surrogate", _("Text may not contain unpaired surrogates (\\ud800–\\udfff)."), at=at)


def json_value_check(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a decoded JSON value we could not store or send back: nested deeper than `max_depth`, a non-finite
    number, or a key or string that `text_check` refuses. Iterative, so any depth is safe to check."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 0, ())]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            text_check(item, at=_path(path))
        elif isinstance(item, float):
            if not math.isfinite(item):
                message = _("Numbers must be finite (no NaN, Infinity or 1e999).")
                raise JsonRefused("non_finite_number", message, at=_path(path))
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise JsonRefused(
                    "too_deep",
                    _("JSON may nest at most %(max_depth)s levels deep.") % {"max_depth": max_depth},
                    at=_path(path),
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise JsonRefused("invalid_key", _("Object keys must be strings."), at=_path(path))
                    text_check(key, at=_path((*path, key)) + " (the key)")
                    stack.append((child, depth + 1, (*path, key)))
            else:
                stack.extend((child, depth + 1, (*path, index)) for index, child in enumerate(item))


def _too_deep(text: str, max_depth: int) -> bool:
    """Whether brackets nest deeper than `max_depth`, counted before decoding, so the decoder never recurses that
    far. Malformed text may be miscounted; it is refused by the decoder anyway."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        found = match.group()
        if found in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif found in "]}":
            depth -= 1
    return False


def _refuse_constant(name: str) -> float:
    raise JsonRefused("non_finite_number", _("Numbers must be finite; %(name)s is not JSON.") % {"name": name})


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise JsonRefused("non_finite_number", _("The number %(value)s is too large.") % {"value": literal[:40]})
    return number


def _int(literal: str) -> int:
    try:
        return int(literal)
    except ValueError as exc:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise JsonRefused(
            "number_too_large", _("The number %(value)s… has too many digits.") % {"value": literal[:40]}
        ) from exc


def json_loads_strict(data: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode a JSON text (bytes must be UTF-8) and check it with `json_value_check`; raise JsonRefused otherwise."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonRefused("encoding", _("JSON must be encoded as UTF-8.")) from exc
    if _too_deep(data, max_depth):
        raise JsonRefused("too_deep", _("JSON may nest at most %(max_depth)s levels deep.") % {"max_depth": max_depth})
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise JsonRefused(
            "syntax",
            _("Not valid JSON: %(msg)s at line %(lineno)s, column %(colno)s.")
            % {"msg": exc.msg, "lineno": exc.lineno, "colno": exc.colno},
        ) from exc
    json_value_check(value, max_depth=max_depth)
    return value
