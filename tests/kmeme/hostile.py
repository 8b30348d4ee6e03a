"""Hostile input for the property-based suites (tests/*/test_hostile_inputs.py): Hypothesis strategies for the
JSON and text a client can send, and the one check every answer must pass.

The promise checked: whatever arrives, the answer is never a 5xx; every error is the API's one JSON shape with a
`code`; and a refused request (4xx) writes nothing but, for a refusal that is a security event, its audit row.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Callable
from typing import Any

from django.db.models import Max, Model
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient, ForceAuthClientHandler
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import AuditLog, Consent, Upload, User
from campaigns.models import Campaign, CampaignLocation, Participation
from kmeme.wsgi_guard import environ_sanitize
from privacy.models import DataExport
from remix.models import Mutation, RemixBrief, RemixNode, VideoAnalysis

# Bounded so that the suites together take seconds: each example is a real request on the real stack. The examples
# accumulate in one test's transaction (counts are compared per request); `database=None` keeps no example files.
# KMEME_HOSTILE_EXAMPLES=1000 make test PYTEST_ARGS="-k hostile" searches harder.
HOSTILE = settings(
    max_examples=int(os.environ.get("KMEME_HOSTILE_EXAMPLES", "40")),
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- Text ----------------------------------------------------------------------------------------------------------

NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",  # a lone high surrogate
    "\udfff",  # a lone low surrogate
    "\udc00\ud800",  # a pair in the wrong order: two lone halves
    "\ud83d\ude00",  # a pair in the right order: json.dumps writes it escaped, the decoder joins it into 😀
    "\u202e\u200b\ufeff",
    "\uffff\U0010ffff",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "${jndi:ldap://example.com/x}",
    "../../etc/passwd",
    "%00%ff",
    "\\u0000",
    "NaN",
    "1e999",
    "null",
    "javascript:alert(1)",
    "https://example.com/\x00",
    "https://\ud800.example.com/",
    "ｔｉｔｌｅ",
    "성수 카페",
    "x" * 5000,
]

_characters = st.one_of(
    st.characters(),  # any code point but a surrogate
    st.characters(categories=["Cs"]),  # surrogates, which Hypothesis leaves out unless asked
    st.sampled_from(["\x00", "\n", "\\", '"', "|", "\u2028"]),
)
hostile_text = st.one_of(st.sampled_from(NASTY_STRINGS), st.text(_characters, max_size=40))

# --- JSON ----------------------------------------------------------------------------------------------------------


class Raw(str):
    """A JSON literal written as it is: what json.dumps cannot write (1e999, 5,000 digits, 3,000 levels deep)."""


def dumps(value: Any) -> str:
    """JSON text of `value`, with Raw literals as they are; json.dumps writes NaN/Infinity for non-finite floats,
    and escapes NULs and lone surrogates (`\\u0000`, `\\ud800`) as a client could send them."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(key)}: {dumps(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dumps(item) for item in value) + "]"
    return json.dumps(value)


_deep = st.integers(min_value=30, max_value=3000).flatmap(
    lambda n: st.sampled_from([Raw("[" * n + "]" * n), Raw('{"a": ' * n + "1" + "}" * n)])
)
_raw_numbers = st.sampled_from(
    [Raw(n) for n in ("1e999", "-1e999", "1E400", "NaN", "-Infinity", "Infinity", "-0", "1e-999", "1" * 5000)]
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(),  # NaN and ±Infinity included
    hostile_text,
    _raw_numbers,
    _deep,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(hostile_text, children, max_size=4)),
    max_leaves=10,
)
json_objects = st.dictionaries(hostile_text, json_values, max_size=4)

CONTENT_TYPES = [
    *["application/json"] * 6,
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "application/json; charset=bz2_codec",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
]
content_types = st.sampled_from(CONTENT_TYPES)


def bodies(valid: dict[str, Any]) -> st.SearchStrategy[str | bytes]:
    """Request bodies around a valid one: one field replaced by anything, an extra hostile key, any JSON at all,
    or bytes that are not JSON."""
    around_valid = [st.builds(lambda key, value: dumps({**valid, key: value}), hostile_text, json_values)]
    if valid:
        names = st.sampled_from(sorted(valid))
        around_valid.append(st.builds(lambda name, value: dumps({**valid, name: value}), names, json_values))
    return st.one_of(*around_valid, json_values.map(dumps), st.binary(max_size=64))


# --- Query strings and paths -----------------------------------------------------------------------------------


def quoted(text: str) -> str:
    """Percent-encoded as a client's bytes would be; a lone surrogate becomes bytes that are not UTF-8."""
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


def query_string(params: list[tuple[str, str]]) -> str:
    return "&".join(f"{quoted(key)}={quoted(value)}" for key, value in params)


_offsets = st.one_of(
    st.sampled_from(["", "Z", "+00:00", "-14:00", "+14:00", "+15:59", "-23:59", "+24:00", "+99:99", "-20:03"]),
    st.builds(lambda h, m: f"{'+-'[h < 0]}{abs(h):02d}:{m:02d}", st.integers(-30, 30), st.integers(0, 99)),
)
datetimes_text = st.one_of(
    st.builds(lambda dt, offset: dt.isoformat() + offset, st.datetimes(), _offsets),
    st.builds(lambda d: d.isoformat(), st.dates()),
    st.sampled_from(["0001-01-01", "9999-12-31T23:59:59-14:00", "0000-00-00", "2026-02-30", "now", "1e999"]),
    hostile_text,
)
numbers_text = st.one_of(
    st.integers().map(str),
    st.sampled_from(["0", "-1", "1.5", "1e3", "1e999", "NaN", "inf", "0x10", "٣", "1" * 5000, "last", ""]),
    hostile_text,
)

# --- The check -------------------------------------------------------------------------------------------------

WRITTEN: tuple[type[Model], ...] = (
    User,
    AuditLog,
    OutstandingToken,
    BlacklistedToken,
    RemixNode,
    Mutation,
    RemixBrief,
    VideoAnalysis,
    ProcrastinateJob,
    Campaign,
    CampaignLocation,
    Participation,
    Consent,
    DataExport,
    Upload,
)


# A refusal that is itself a security event is recorded on purpose (who tried to take which account); these audit
# rows are the only thing a refused request may write.
REFUSAL_RECORDS = ("auth.firebase_link_refused",)


def rows() -> dict[str, Any]:
    """What a refused request must leave as it was: every table a request can write, and the last node change."""
    counts: dict[str, Any] = {model.__name__: model.objects.count() for model in WRITTEN}
    counts["AuditLog"] = AuditLog.objects.exclude(action__in=REFUSAL_RECORDS).count()
    counts["last node change"] = RemixNode.objects.aggregate(last=Max("updated_at"))["last"]
    counts["last campaign change"] = Campaign.objects.aggregate(last=Max("updated_at"))["last"]
    counts["last participation change"] = Participation.objects.aggregate(last=Max("updated_at"))["last"]
    counts["uploads completed"] = Upload.objects.filter(status="uploaded").count()
    return counts


def assert_handled(send: Callable[[], Any]) -> Any:
    """Send a request; fail if it is a 5xx, an error outside the one shape, or a refusal that wrote something."""
    before = rows()
    response = send()
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
        body = response.json()
        assert set(body) == {"error"}, body
        error = body["error"]
        assert set(error) == {"status", "code", "message", "details", "request_id"}, error
        assert error["status"] == response.status_code, error
        assert isinstance(error["code"], str) and error["code"], error
        assert isinstance(error["message"], str) and error["message"], error
        assert rows() == before, f"a {response.status_code} ({error['code']}) wrote something"
    return response


class _GuardedHandler(ForceAuthClientHandler):
    def __call__(self, environ: dict[str, Any]) -> Any:
        return super().__call__(environ_sanitize(environ))


class ServerClient(APIClient):
    """An APIClient whose requests pass kmeme.wsgi's guard before Django builds them, as every real server's do
    (Django's test client builds the request itself, skipping the WSGI application kmeme.wsgi wraps)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handler = _GuardedHandler(enforce_csrf_checks=self.handler.enforce_csrf_checks)
