"""The offline provider: a rule-based brief, and a local search embedding, with no model and no network.

The brief is built from what the platform measured. An editor's notes (sending a brief back, or "have it written")
never enter it: they are for the writer, not for readers; the rule-based writer has no use for them.

Where it cannot know what to write it leaves a marked placeholder (PLACEHOLDERS); approving and publishing refuse a
brief that still carries one (brief_placeholders), so a draft is never published as it stands.

Used when no AI is configured or the AI failed. Its output is labelled as not
written by AI (source `rule_based`, and the concept says so), and it follows the
same schema as Claude's briefs so editors work on it the same way.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Any

from kmeme.ai.schemas import BriefOutput, output_validate
from kmeme.ai.types import EMBEDDING_DIMENSIONS

NOT_AI_LABEL = "[규칙 기반 초안 · AI 작성 아님]"
FILL_IN = "채워 주세요"  # ends every "please fill in" placeholder the rule-based writer leaves
PLACEHOLDERS = (NOT_AI_LABEL, FILL_IN)


def brief_placeholders(content: dict[str, Any]) -> list[str]:
    """The fields of a brief that still carry one of the rule-based writer's placeholders, in schema order."""

    def carries(value: Any) -> bool:
        if isinstance(value, str):
            return any(marker in value for marker in PLACEHOLDERS)
        if isinstance(value, list):
            return any(carries(item) for item in value)
        if isinstance(value, dict):
            return any(carries(item) for item in value.values())
        return False

    return [name for name in BriefOutput.model_fields if carries(content.get(name))]


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
    if bpm:
        music = f"원본 템포 {tempo:g} BPM, 비트당 {seconds_per_beat:.2f}초. 같은 템포의 저작권 free 트랙 사용."
    else:
        music = (
            f"원본 템포를 측정하지 못해 {DEFAULT_BPM:g} BPM으로 가정했습니다(비트당 {seconds_per_beat:.2f}초). "
            "같은 템포의 저작권 free 트랙 사용."
        )
    category_tag = f"#{commerce_category}" if commerce_category and commerce_category != "none" else "#챌린지"
    brief = {
        "concept": f"{NOT_AI_LABEL} {title}"[:300],
        "hook": (hook or "첫 3초 안에 결과 장면을 먼저 보여 주기")[:200],
        "script": script,
        "caption": title[:300],
        "hashtags": ["#리믹스", "#숏폼", "#kmeme", category_tag],
        "music_notes": music,
        "cultural_notes": f"편집자가 한국화 포인트(장소, 말투, 소품)를 {FILL_IN}.",
        "product_placement": "",
    }
    return output_validate(BriefOutput, brief, raw_size=0)


# --- the local embedding ----------------------------------------------------------------------------------------------


# Feature weights of the local embedding: whole words carry the meaning, word pairs the phrasing,
# character trigrams match inflected forms (lattes / latte, 카페에서 / 카페) and typos, and Hangul
# syllable pairs match Korean compounds.
_UNIGRAM_WEIGHT = 1.0
_BIGRAM_WEIGHT = 0.6
_TRIGRAM_WEIGHT = 0.4
_SYLLABLE_PAIR_WEIGHT = 0.5
_WORD = re.compile(r"\w+")
# Korean glues particles and endings onto words (카페에서, 카페를, 투어하는): without them the whole-word
# features match too. Only Hangul words, and only while two syllables remain (아이 stays whole).
_KO_PARTICLES_AND_ENDINGS = (
    "에서 에게 으로 로 에 의 을 를 이 가 은 는 와 과 도 만 들 "  # particles
    "하는 하기 하고 해서 했던 했다 합니다 입니다 이다"  # the commonest verb endings
)
_KO_SUFFIXES = sorted(_KO_PARTICLES_AND_ENDINGS.split(), key=len, reverse=True)
_HANGUL_WORD = re.compile(r"[가-힣]+")


@lru_cache(maxsize=1 << 18)
def _slot(feature: str) -> tuple[int, float]:
    """Where a feature lands and with which sign: a stable hash (not Python's salted hash())."""
    digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return digest % EMBEDDING_DIMENSIONS, 1.0 if (digest >> 63) & 1 else -1.0


@lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    if not _HANGUL_WORD.fullmatch(word):
        return word
    for _ in range(2):  # 카페들을 → 카페들 → 카페
        suffix = next((s for s in _KO_SUFFIXES if word.endswith(s) and len(word) - len(s) >= 2), None)
        if suffix is None:
            break
        word = word[: -len(suffix)]
    return word


def _features(text: str) -> dict[str, float]:
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    stems = [_stem(word) for word in words]
    counts: Counter[str] = Counter()
    counts.update(f"w:{stem}" for stem in stems)
    counts.update(f"b:{a} {b}" for a, b in itertools.pairwise(stems))
    for word in words:  # the trigrams see the full form
        padded = f"<{word}>"
        counts.update(f"c:{padded[i : i + 3]}" for i in range(len(padded) - 2))
        if _HANGUL_WORD.fullmatch(word):
            # A Hangul syllable is a whole sound: syllable pairs find words inside compounds and
            # hashtags written without spaces (#딸기라떼 ~ 딸기 라떼), which padded trigrams miss.
            counts.update(f"k:{word[i : i + 2]}" for i in range(len(word) - 1))
    weights = {"w": _UNIGRAM_WEIGHT, "b": _BIGRAM_WEIGHT, "c": _TRIGRAM_WEIGHT, "k": _SYLLABLE_PAIR_WEIGHT}
    return {feature: weights[feature[0]] * (1.0 + math.log(count)) for feature, count in counts.items()}


def local_embedding(text: str) -> list[float]:
    """A deterministic, offline, unit-length vector of EMBEDDING_DIMENSIONS: signed feature hashing of
    word unigrams and bigrams (Korean particles stripped), character trigrams and Hangul syllable pairs,
    with log-scaled counts. Texts sharing words or word parts get a high cosine similarity; unrelated
    texts land near 0."""
    vector = [0.0] * EMBEDDING_DIMENSIONS
    features = _features(text) or {"empty:": 1.0}  # no word at all: still a valid unit vector, never NaN
    for feature, weight in features.items():
        index, sign = _slot(feature)
        vector[index] += sign * weight
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:  # every feature cancelled out in the hashing (vanishingly rare)
        vector[_slot("empty:")[0]] = norm = 1.0
    return [v / norm for v in vector]
