import pytest

from kmeme.ai.schemas import AnalysisOutput, BriefOutput, output_validate
from kmeme.ai.types import ProviderUnavailable

GOOD_BRIEF = {
    "concept": "성수 카페 버전",
    "hook": "컵을 돌리면 장소가 바뀐다",
    "script": [{"t": 0, "beat": 1, "shot": "클로즈업", "line": ""}, {"t": 3.75, "beat": 8, "shot": "전환"}],
    "caption": "성수 카페 투어",
    "hashtags": ["#성수카페"],
}


def _code(model, data, raw_size=100) -> str:
    with pytest.raises(ProviderUnavailable) as excinfo:
        output_validate(model, data, raw_size=raw_size)
    assert excinfo.value.code == "invalid_output"
    return excinfo.value.message


def test_a_good_brief_passes_and_unknown_fields_are_dropped():
    assert "extra" not in output_validate(BriefOutput, {**GOOD_BRIEF, "extra": 1}, raw_size=100)


def test_schema_violations_are_named():
    assert "script" in _code(BriefOutput, {**GOOD_BRIEF, "script": []})
    assert "hashtags" in _code(BriefOutput, {**GOOD_BRIEF, "hashtags": ["no-hash"]})
    assert "caption" in _code(BriefOutput, {**GOOD_BRIEF, "caption": "x" * 301})
    assert "time order" in _code(BriefOutput, {**GOOD_BRIEF, "script": list(reversed(GOOD_BRIEF["script"]))})
    assert "bpm" in _code(AnalysisOutput, {"duration_s": 10, "bpm": 999})


def test_forbidden_words_are_refused():
    assert "카지노" in _code(BriefOutput, {**GOOD_BRIEF, "caption": "카지노 협찬"})


def test_huge_output_is_refused_before_parsing():
    assert "too large" in _code(BriefOutput, GOOD_BRIEF, raw_size=10_000_000)
