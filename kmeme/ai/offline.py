"""The offline provider: a rule-based brief built from what the platform measured and the editor wrote.

Used when no AI is configured or the AI failed. Its output is labelled as not
written by AI (source `rule_based`, and the concept says so), and it follows the
same schema as Claude's briefs so editors work on it the same way.
"""

from __future__ import annotations

from typing import Any

from kmeme.ai.schemas import BriefOutput, output_validate

NOT_AI_LABEL = "[규칙 기반 초안 · AI 작성 아님]"
DEFAULT_BPM = 120.0
BEATS_PER_SHOT = 8


def rule_based_brief(
    *,
    title: str,
    duration_s: float,
    bpm: float | None,
    keyframes: list[dict[str, Any]],
    commerce_category: str,
    hook: str = "",
    editor_notes: str = "",
) -> dict[str, Any]:
    """A shot list timed to the beat: one shot per scene cut, or one every 8 beats when there are none."""
    tempo = float(bpm) if bpm else DEFAULT_BPM
    seconds_per_beat = 60.0 / tempo
    duration = max(float(duration_s or 15.0), seconds_per_beat)
    cut_times = sorted({round(float(k.get("t", 0.0)), 2) for k in keyframes if 0 <= float(k.get("t", 0.0)) < duration})
    if len(cut_times) < 2:
        step = BEATS_PER_SHOT * seconds_per_beat
        cut_times = [round(i * step, 2) for i in range(int(duration // step) + 1)] or [0.0]
    descriptions = {round(float(k.get("t", 0.0)), 2): str(k.get("description", "")) for k in keyframes}
    script = []
    for index, t in enumerate(cut_times[:40]):
        beat = round(t / seconds_per_beat) + 1
        on_beat = round((beat - 1) * seconds_per_beat, 2)  # snap the cut to the nearest beat
        described = descriptions.get(t) or ""
        shot = f"장면 {index + 1}: 원본 {t:.1f}초 장면을 한국 배경으로 재현" + (f" — {described}" if described else "")
        script.append({"t": on_beat, "beat": beat, "shot": shot[:300], "line": ""})
    # Snapping may reorder two cuts within half a beat: keep time order and unique beats.
    script = sorted({beat["beat"]: beat for beat in script}.values(), key=lambda beat: beat["t"])
    tempo_note = f"{tempo:g} BPM" if bpm else f"템포 측정 불가 — {DEFAULT_BPM:g} BPM 가정"
    category_tag = f"#{commerce_category}" if commerce_category and commerce_category != "none" else "#챌린지"
    brief = {
        "concept": f"{NOT_AI_LABEL} {title}"[:300],
        "hook": (hook or "첫 3초 안에 결과 장면을 먼저 보여 주기")[:200],
        "script": script,
        "caption": title[:300],
        "hashtags": ["#리믹스", "#숏폼", "#kmeme", category_tag],
        "music_notes": f"원본 템포 {tempo_note}, 비트당 {seconds_per_beat:.2f}초. 같은 템포의 저작권 free 트랙 사용.",
        "cultural_notes": editor_notes[:1000] or "편집자가 한국화 포인트(장소, 말투, 소품)를 채워 주세요.",
        "product_placement": "",
    }
    return output_validate(BriefOutput, brief, raw_size=0)
