"""A guard in front of Django, for what breaks a request before any middleware runs.

A `Content-Type` whose charset names a codec that is not a text encoding (`bz2_codec`, `zlib_codec`, `hex_codec`,
`base64_codec`, …) makes Django's request constructor raise (`WSGIRequest` sets the encoding, which decodes the
query string with it: LookupError), a 500 outside every handler. Django already ignores charsets it does not know;
this drops these ones the same way, so the request goes on as if no charset had been sent. Used by kmeme.wsgi (every
server: gunicorn, runserver), and by the tests' client that stands for it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable
from typing import Any

_CHARSET = re.compile(r";\s*charset\s*=\s*(\"[^\"]*\"|[^;]*)", re.IGNORECASE)


def charset_is_text(name: str) -> bool:
    """True for a codec Python decodes text with; False for bytes-to-bytes codecs and names it does not know."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return False
    return getattr(info, "_is_text_encoding", True)  # what str.encode and bytes.decode check before refusing


def environ_sanitize(environ: dict[str, Any]) -> dict[str, Any]:
    """Drop a charset from CONTENT_TYPE that is not a text encoding (in place; returns the environ)."""
    content_type = environ.get("CONTENT_TYPE", "")
    if "charset" in content_type.lower():

        def keep(match: re.Match[str]) -> str:
            return match.group(0) if charset_is_text(match.group(1).strip().strip('"')) else ""

        environ["CONTENT_TYPE"] = _CHARSET.sub(keep, content_type)
    return environ


def charset_guard(application: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return application(environ_sanitize(environ), start_response)

    return guarded
