import pytest

from kmeme.ai.offline import NOT_AI_LABEL, rule_based_brief
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


@pytest.mark.parametrize("notes", ["", "해운대 배경으로 바꿔 주세요"])
def test_editor_notes_go_into_the_cultural_notes(notes):
    brief = rule_based_brief(
        title="x", duration_s=10, bpm=100, keyframes=[], commerce_category="beauty", editor_notes=notes
    )
    assert (notes or "편집자가") in brief["cultural_notes"]
    assert "#beauty" in brief["hashtags"]
