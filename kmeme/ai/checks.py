"""System checks: configured models must be current and priced."""

from __future__ import annotations

from anthropic._data import DEPRECATED_MODELS
from django.conf import settings
from django.core.checks import Error, register


@register()
def ai_models_check(app_configs, **kwargs) -> list[Error]:
    errors = []
    if settings.CLAUDE_MODEL in DEPRECATED_MODELS:
        errors.append(
            Error(
                f"CLAUDE_MODEL '{settings.CLAUDE_MODEL}' is deprecated "
                f"(end of life {DEPRECATED_MODELS[settings.CLAUDE_MODEL]}).",
                hint="Pick a current model the installed anthropic SDK lists and give it a price in AI_PRICES.",
                id="kmeme.E001",
            )
        )
    return errors
