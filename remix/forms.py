"""Forms of the review screen: the brief as editors edit it, decisions, and a manual analysis."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import ValidationError as PydanticValidationError

from kmeme.ai.schemas import BRIEF_FIELDS, BriefOutput, forbidden_words_in
from kmeme.vocabulary import CommerceCategory
from remix.models import RemixBrief

# The longest video the platform takes, as the analysis and brief schemas say (kmeme.ai.schemas: t ≤ 3600).
MAX_SECONDS = 3600


def script_to_text(script: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{b.get('t', 0):.2f} | {b.get('beat', 1)} | {b.get('shot', '')} | {b.get('line', '')}" for b in script
    )


def seconds_from_text(text: str, *, line: int) -> float:
    """A time an editor typed, in seconds: a finite number from 0 to MAX_SECONDS (`float` alone takes `nan`,
    `inf` and `1e999`, which no video has and PostgreSQL's jsonb cannot store)."""
    text = text.strip()
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")  # a decimal comma
    try:
        seconds = float(text)
    except ValueError as exc:
        raise forms.ValidationError(_("Line %(line)s: start with the time in seconds.") % {"line": line}) from exc
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_SECONDS):
        raise forms.ValidationError(
            _("Line %(line)s: the time must be a number of seconds from 0 to %(MAX_SECONDS)s.")
            % {"line": line, "MAX_SECONDS": MAX_SECONDS}
        )
    return seconds


def text_to_script(text: str) -> list[dict[str, Any]]:
    """One beat a line: `seconds | beat | what to film | line spoken or shown` (the last part may be empty)."""
    beats = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        parts = [p.strip() for p in raw.split("|")]
        if len(parts) < 3:
            raise forms.ValidationError(
                _("Line %(number)s: write 'seconds | beat | shot | line'.") % {"number": number}
            )
        t = seconds_from_text(parts[0], line=number)
        try:
            beat = int(parts[1])
        except ValueError as exc:
            raise forms.ValidationError(
                _("Line %(number)s: the beat must be a whole number.") % {"number": number}
            ) from exc
        beats.append({"t": t, "beat": beat, "shot": parts[2], "line": " | ".join(parts[3:])})
    return beats


class ReviewForm(forms.Form):
    """The review screen puts several decisions in one <form>: the browser must not block, say, a
    rejection because a brief field is empty. The server validates each decision's own input."""

    use_required_attribute = False


class BriefForm(ReviewForm):
    revision = forms.IntegerField(widget=forms.HiddenInput)
    concept = forms.CharField(
        label=gettext_lazy("Concept"), max_length=300, widget=forms.TextInput(attrs={"class": "vLargeTextField"})
    )
    hook = forms.CharField(
        label=gettext_lazy("Hook"), max_length=200, widget=forms.TextInput(attrs={"class": "vLargeTextField"})
    )
    script = forms.CharField(
        label=gettext_lazy("Script"),
        widget=forms.Textarea(attrs={"rows": 8, "class": "vLargeTextField"}),
        help_text=gettext_lazy("One beat a line: seconds | beat | what to film | line (spoken or on screen)."),
    )
    caption = forms.CharField(label=gettext_lazy("Caption"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))
    hashtags = forms.CharField(
        label=gettext_lazy("Hashtags"),
        max_length=800,
        help_text=gettext_lazy("Separated by spaces, each starting with #."),
        widget=forms.TextInput(attrs={"class": "vLargeTextField"}),
    )
    music_notes = forms.CharField(
        label=gettext_lazy("Music notes"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    cultural_notes = forms.CharField(
        label=gettext_lazy("Cultural notes"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    product_placement = forms.CharField(
        label=gettext_lazy("Product placement"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    @classmethod
    def for_brief(cls, brief: RemixBrief, data: Any = None) -> BriefForm:
        content = brief.content
        initial = {
            **{k: content.get(k, "") for k in BRIEF_FIELDS if k not in ("script", "hashtags")},
            "script": script_to_text(content.get("script", [])),
            "hashtags": " ".join(content.get("hashtags", [])),
            "revision": brief.revision,
        }
        return cls(data=data, initial=initial, prefix="brief")

    def clean_script(self) -> list[dict[str, Any]]:
        return text_to_script(self.cleaned_data["script"])

    def clean_hashtags(self) -> list[str]:
        return self.cleaned_data["hashtags"].split()

    def content(self) -> dict[str, Any]:
        return {k: _normalized_text(v) for k, v in self.cleaned_data.items() if k != "revision"}

    def clean(self) -> dict[str, Any]:
        """The schema's own checks (kmeme.ai.schemas.BriefOutput), each shown on its field in the editor's terms
        ("Beat 2: …", counted from 1) rather than as one raw message at the top of the page."""
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            BriefOutput.model_validate(self.content())
        except PydanticValidationError as exc:
            for error in exc.errors():
                name, *rest = [str(part) for part in error["loc"]] or ["__all__"]
                where = ""
                if name == "script" and rest and rest[0].isdigit():
                    where = _("Beat %(n)d") % {"n": int(rest[0]) + 1}
                    where = f"{where} ({rest[1]}): " if len(rest) > 1 else f"{where}: "
                elif name == "hashtags" and rest and rest[0].isdigit():
                    where = _("Hashtag %(n)d: ") % {"n": int(rest[0]) + 1}
                message = error["msg"].removeprefix("Value error, ")
                self.add_error(name if name in self.fields else None, f"{where}{message}")
        banned = forbidden_words_in(self.content()) if not self.errors else []
        if banned:
            self.add_error(None, _("These words may not be published: %(join)s.") % {"join": ", ".join(banned)})
        return cleaned

    def has_changed(self) -> bool:
        """Whether the editor changed the brief's content: line endings (browsers send CRLF), trailing spaces and
        an empty last part of a script line ("… | shot | ") are not changes, nor is "0" for "0.00"."""
        for name in BRIEF_FIELDS:
            field = self.fields[name]
            posted = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            if _comparable(name, self.initial.get(name, "")) != _comparable(name, posted):
                return True
        return False


def _normalized_text(value: Any) -> Any:
    """Text as stored: LF line endings, no trailing spaces on a line, none around the whole."""
    if isinstance(value, str):
        return "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()
    if isinstance(value, list):
        return [_normalized_text(item) for item in value]
    if isinstance(value, dict):
        return {key: _normalized_text(item) for key, item in value.items()}
    return value


def _comparable(name: str, value: Any) -> Any:
    text = _normalized_text(value if isinstance(value, str) else "" if value is None else str(value))
    if name == "hashtags":
        return text.split()
    if name == "script":
        try:
            return _normalized_text(text_to_script(text))
        except forms.ValidationError:
            return text
    return text


class RevisionForm(ReviewForm):
    """The brief revision a decision was made on (the screen's hidden `brief-revision`), for the stale-form check."""

    revision = forms.IntegerField(min_value=0, required=False)


class ReasonForm(ReviewForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False, label=gettext_lazy("Reason / notes")
    )


class BulkReasonForm(forms.Form):
    """The page a bulk reject / regenerate asks its one reason on: here the reason is required."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label=gettext_lazy("Reason / notes")
    )


class DecimalCommaField(forms.DecimalField):
    """A decimal an editor types: "16.5" or "16,5" (a decimal comma, as many keyboards write it) mean 16.5; a comma
    is never a thousands separator here ("16,5" was stored as 165), and anything ambiguous is refused."""

    def to_python(self, value: Any) -> Decimal | None:
        if isinstance(value, str):
            text = value.strip().replace(" ", "")
            if "," in text:
                whole, _comma, fraction = text.partition(",")
                if "." in text or "," in fraction or not whole.lstrip("-").isdigit() or not fraction.isdigit():
                    raise forms.ValidationError(_("Write a number like 16.5 (or 16,5), without thousands separators."))
                text = f"{whole}.{fraction}"
            value = text
        return super().to_python(value)


class ManualAnalysisForm(ReviewForm):
    duration_s = DecimalCommaField(
        min_value=Decimal("0.1"),
        max_value=Decimal(3600),
        decimal_places=2,
        label=gettext_lazy("Duration (s)"),
        localize=False,
    )
    bpm = DecimalCommaField(
        min_value=Decimal(20),
        max_value=Decimal(300),
        decimal_places=1,
        required=False,
        label=gettext_lazy("BPM"),
        help_text=gettext_lazy("Empty when there is no clear beat."),
    )
    commerce_category = forms.ChoiceField(choices=CommerceCategory.choices)
    hook = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    keyframes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("One moment a line: seconds | what happens."),
    )

    def __init__(self, *args: Any, measured_duration_s: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.measured_duration_s = measured_duration_s

    def clean_duration_s(self) -> Decimal:
        """Within 10 % (and half a second) of what we measured, when we measured it: a slip like 165 for 16.5 is
        caught here, not in the shot timings."""
        duration = self.cleaned_data["duration_s"]
        measured = self.measured_duration_s
        if measured and abs(float(duration) - measured) > max(0.5, measured * 0.1):
            raise forms.ValidationError(
                _("The video measures %(measured)s s; %(duration)s s is too far from that. Check the number.")
                % {"measured": f"{measured:.2f}", "duration": duration}
            )
        return duration

    def clean_keyframes(self) -> list[dict[str, Any]]:
        duration = self.cleaned_data.get("duration_s")  # cleaned before (fields are cleaned in their order)
        frames = []
        for number, raw in enumerate(self.cleaned_data["keyframes"].splitlines(), start=1):
            if not raw.strip():
                continue
            seconds, _bar, description = raw.partition("|")
            t = seconds_from_text(seconds, line=number)
            if duration is not None and t > duration:
                raise forms.ValidationError(
                    _("Line %(number)s: %(t)s s is after the end of the video (%(duration)s s).")
                    % {"number": number, "t": f"{t:g}", "duration": duration}
                )
            frames.append({"t": t, "description": description.strip()})
        return frames
