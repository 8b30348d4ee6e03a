"""Remove personal data from anything sent to a provider.

Emails, phone numbers, resident registration numbers, street addresses and the
names of the people involved are replaced by placeholders. Runs on every
string of a prompt's context just before the call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Korean resident registration number (YYMMDD-NNNNNNN).
_RRN = re.compile(r"\b\d{6}\s?-\s?[1-8]\d{6}\b")
# Phone numbers: Korean mobiles/landlines (010-1234-5678, 02 123 4567, +82 10-1234-5678) and other
# international numbers written with a leading +.
_PHONE = re.compile(
    r"(?:\+\d{1,3}[\s.-]?)?\(?0?1[016789]\)?[\s.-]?\d{3,4}[\s.-]?\d{4}\b"
    r"|(?:\+82[\s.-]?|\b0)(?:2|[3-6][1-5])[\s.-]?\d{3,4}[\s.-]?\d{4}\b"
    r"|\+\d{1,3}(?:[\s.-]?\d{2,4}){2,4}\b"
)
# Korean road-name and lot addresses: "...로 12", "...길 3-4", "...동 123-45", optionally with a building number.
_KO_ADDRESS = re.compile(
    r"(?:[가-힣]+(?:특별시|광역시|특별자치시|도|시)\s*)?(?:[가-힣]+(?:시|군|구)\s*)+"
    r"[가-힣0-9]+(?:로|길|동|리)\s*\d+(?:-\d+)?(?:\s*(?:번길|번지)\s*\d*)?"
)
# English street addresses: "221B Baker Street", "1600 Amphitheatre Pkwy".
_EN_ADDRESS = re.compile(
    r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][a-z]+\s){1,4}"
    r"(?:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Parkway|Pkwy)\b\.?"
)


def scrub_text(text: str, *, names: Iterable[str] = ()) -> str:
    text = _EMAIL.sub("[EMAIL]", text)
    text = _RRN.sub("[ID_NUMBER]", text)
    text = _KO_ADDRESS.sub("[ADDRESS]", text)
    text = _EN_ADDRESS.sub("[ADDRESS]", text)
    text = _PHONE.sub("[PHONE]", text)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        text = re.sub(re.escape(name), "[NAME]", text, flags=re.IGNORECASE)
    return text


def scrub(value: Any, *, names: Iterable[str] = ()) -> Any:
    """Scrub every string inside a JSON-like value (dicts, lists, strings)."""
    names = tuple(names)
    if isinstance(value, str):
        return scrub_text(value, names=names)
    if isinstance(value, dict):
        return {key: scrub(item, names=names) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(item, names=names) for item in value]
    return value
