"""What provider output must look like before anyone sees it: schema, lengths, forbidden words."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kmeme.ai.types import ProviderUnavailable
from kmeme.vocabulary import CommerceCategory

MAX_RAW_OUTPUT_CHARS = 60_000

CategoryLiteral = Literal[tuple(CommerceCategory.values)]  # type: ignore[valid-type]
ShortText = Annotated[str, Field(max_length=300)]


class Keyframe(BaseModel):
    model_config = ConfigDict(extra="ignore")
    t: float = Field(ge=0, le=3600)
    description: str = Field(max_length=300)


class AnalysisOutput(BaseModel):
    """Gemini's analysis of a video."""

    model_config = ConfigDict(extra="ignore")
    duration_s: float = Field(gt=0, le=3600)
    bpm: float | None = Field(default=None, ge=40, le=240)
    keyframes: list[Keyframe] = Field(default_factory=list, max_length=40)
    hook: str = Field(default="", max_length=500)
    commerce_category: CategoryLiteral = "none"  # type: ignore[valid-type]
    on_screen_text: list[ShortText] = Field(default_factory=list, max_length=30)
    mood: str = Field(default="", max_length=100)


class ScriptBeat(BaseModel):
    model_config = ConfigDict(extra="ignore")
    t: float = Field(ge=0, le=3600, description="start time in seconds")
    beat: int = Field(ge=1, le=2000, description="beat number at the song's BPM")
    shot: str = Field(min_length=1, max_length=300, description="what to film")
    line: str = Field(default="", max_length=300, description="spoken line or caption on screen")


class BriefOutput(BaseModel):
    """The Koreanization remix brief (한국화 기획)."""

    model_config = ConfigDict(extra="ignore")
    concept: str = Field(min_length=1, max_length=300)
    hook: str = Field(min_length=1, max_length=200)
    script: list[ScriptBeat] = Field(min_length=1, max_length=40)
    caption: str = Field(max_length=300)
    hashtags: list[Annotated[str, Field(pattern=r"^#\S{1,49}$")]] = Field(max_length=15)
    music_notes: str = Field(default="", max_length=500)
    cultural_notes: str = Field(default="", max_length=1000)
    product_placement: str = Field(default="", max_length=500)

    @field_validator("script")
    @classmethod
    def _in_time_order(cls, beats: list[ScriptBeat]) -> list[ScriptBeat]:
        times = [beat.t for beat in beats]
        if times != sorted(times):
            raise ValueError("script beats must be in time order")
        return beats


# The brief's fields, in reading order: every list of them (forms, diff, recipe) derives from the schema.
BRIEF_FIELDS: tuple[str, ...] = tuple(BriefOutput.model_fields)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def forbidden_words_in(content: dict[str, Any]) -> list[str]:
    text = "\n".join(_strings(content)).lower()
    return sorted({word for word in settings.AI_FORBIDDEN_WORDS if word.lower() in text})


def output_validate(model: type[BaseModel], data: Any, *, raw_size: int) -> dict[str, Any]:
    """Validate provider output; raise ProviderUnavailable(invalid_output) with the reason otherwise."""
    if raw_size > MAX_RAW_OUTPUT_CHARS:
        raise ProviderUnavailable(f"output too large ({raw_size} characters)", code="invalid_output")
    try:
        content = model.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'output'}: {e['msg']}" for e in exc.errors()[:5])
        raise ProviderUnavailable(f"output does not match the schema: {problems}", code="invalid_output") from exc
    banned = forbidden_words_in(content)
    if banned:
        raise ProviderUnavailable(f"output contains forbidden words: {', '.join(banned)}", code="invalid_output")
    return content
