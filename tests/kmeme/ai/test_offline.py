from kmeme.ai.offline import NOT_AI_LABEL, brief_placeholders, rule_based_brief
from kmeme.ai.schemas import BriefOutput


def test_shots_follow_the_scene_cuts_snapped_to_the_beat():
    brief = rule_based_brief(
        title="Latte art",
        duration_s=8.0,
        bpm=120.0,
        commerce_category="food",
        keyframes=[{"t": 0.0}, {"t": 2.1, "description": "cup turns"}, {"t": 4.4}],
    )
    assert [(s["t"], s["beat"]) for s in brief["script"]] == [(0.0, 1), (2.0, 5), (4.5, 10)]
    assert "cup turns" in brief["script"][1]["shot"]
    assert brief["concept"].startswith(NOT_AI_LABEL)
    assert "120 BPM" in brief["music_notes"]
    BriefOutput.model_validate(brief)


def test_without_cuts_or_tempo_it_shoots_every_eight_beats_at_an_assumed_tempo():
    brief = rule_based_brief(title="x", duration_s=15.0, bpm=None, keyframes=[], commerce_category="none")
    assert [s["beat"] for s in brief["script"]] == [1, 9, 17, 25]
    assert "가정" in brief["music_notes"]  # says the tempo was assumed


def test_the_draft_marks_what_an_editor_must_fill_in_and_takes_no_notes():
    brief = rule_based_brief(title="x", duration_s=10, bpm=100, keyframes=[], commerce_category="beauty")
    assert brief_placeholders(brief) == ["concept", "cultural_notes"]
    assert "#beauty" in brief["hashtags"]
    filled = {**brief, "concept": "해운대 버전", "cultural_notes": "부산 사투리로"}
    assert brief_placeholders(filled) == []


def test_the_tempo_copy_reads_naturally_measured_or_not():
    measured = rule_based_brief(title="x", duration_s=10, bpm=128, keyframes=[], commerce_category="none")
    assumed = rule_based_brief(title="x", duration_s=10, bpm=None, keyframes=[], commerce_category="none")
    assert measured["music_notes"].startswith("원본 템포 128 BPM, 비트당 0.47초.")
    assert assumed["music_notes"].startswith("원본 템포를 측정하지 못해 120 BPM으로 가정했습니다")
    for text in (measured["music_notes"], assumed["music_notes"]):
        assert "템포 템포" not in text and "알 수 없음" not in text
