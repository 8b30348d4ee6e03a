"""The strict JSON decoder, property-based: what it accepts, PostgreSQL stores and gives back unchanged, and a
response can carry; everything else is refused with a reason, never with another exception."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from hypothesis import given, settings

from kmeme.strict_json import MAX_DEPTH, JsonRefused, json_loads_strict
from tests.kmeme.hostile import HOSTILE, dumps, json_values

pytestmark = pytest.mark.django_db

REASONS = {"syntax", "encoding", "too_deep", "non_finite_number", "number_too_large", "nul_character", "lone_surrogate"}


@settings(HOSTILE, max_examples=HOSTILE.max_examples * 5)  # no request to make: cheap enough to search more
@given(value=json_values)
def test_what_is_accepted_is_stored_by_postgresql_unchanged_and_the_rest_is_refused_with_a_reason(value):
    text = dumps(value)
    try:
        decoded = json_loads_strict(text)
    except JsonRefused as exc:
        assert exc.reason in REASONS
        return
    stored = json.dumps(decoded, allow_nan=False)  # as Django's JSONField writes it; a non-finite float would raise
    stored.encode("utf-8")  # a lone surrogate would raise
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb = %s::jsonb, %s::jsonb::text", [stored, stored, stored])
        equal, back = cursor.fetchone()
    assert equal and _same(json.loads(back), decoded)


def _same(back: Any, sent: Any) -> bool:
    """Equal as JSON: jsonb keeps numbers as decimals, so a float comes back as the number its digits say."""
    if isinstance(sent, float):
        return isinstance(back, int | float) and float(back) == sent
    if isinstance(sent, dict):
        return isinstance(back, dict) and back.keys() == sent.keys() and all(_same(back[k], sent[k]) for k in sent)
    if isinstance(sent, list):
        return isinstance(back, list) and len(back) == len(sent) and all(map(_same, back, sent))
    return type(back) is type(sent) and back == sent


@pytest.mark.parametrize(("depth", "refused"), [(MAX_DEPTH, False), (MAX_DEPTH + 1, True), (100_000, True)])
def test_depth_is_counted_before_decoding_and_brackets_inside_strings_do_not_count(depth, refused):
    text = "[" * depth + '"]]]]{{{{"' + "]" * depth
    if refused:
        with pytest.raises(JsonRefused) as exc:
            json_loads_strict(text)
        assert exc.value.reason == "too_deep"
    else:
        assert json_loads_strict(text) is not None
