"""A brief's content: its fields (from the one schema, kmeme.ai.schemas.BriefOutput), the check an editor's
version passes, and the field-by-field comparison of the AI's version with the editor's."""

from __future__ import annotations

from typing import Any

from kmeme.ai.schemas import BRIEF_FIELDS, BriefOutput, output_validate
from kmeme.ai.types import ProviderUnavailable
from kmeme.errors import ApplicationError
from remix.models import RemixBrief

__all__ = ["BRIEF_FIELDS", "brief_clean_content", "brief_diff", "brief_display"]


def brief_clean_content(content: dict[str, Any]) -> dict[str, Any]:
    """Validate an editor's version with the same schema as the AI's (but no forbidden-word check is skipped)."""
    try:
        return output_validate(BriefOutput, content, raw_size=0)
    except ProviderUnavailable as exc:
        raise ApplicationError(exc.message.replace("output", "brief", 1), code="invalid_brief") from exc


def brief_display(value: Any) -> str:
    """A field as an editor reads it: the script one beat a line, hashtags on one line."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return "\n".join(
            f"{b.get('t', 0):.2f}s · beat {b.get('beat')} · {b.get('shot', '')} · {b.get('line', '')}" for b in value
        )
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return "" if value is None else str(value)


def brief_diff(*, brief: RemixBrief) -> list[dict[str, Any]]:
    """Field by field: what the generator wrote, what the editor made of it, and whether they differ."""
    edited = brief.edited or {}
    rows = []
    for field in BRIEF_FIELDS:
        generated_value = brief.generated.get(field)
        edited_value = edited.get(field, generated_value) if brief.edited is not None else generated_value
        rows.append(
            {
                "field": field,
                "generated": generated_value,
                "edited": edited_value,
                "generated_text": brief_display(generated_value),
                "edited_text": brief_display(edited_value),
                "changed": brief.edited is not None and edited_value != generated_value,
            }
        )
    return rows
