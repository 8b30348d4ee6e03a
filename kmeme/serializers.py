"""Serializer conventions shared by every API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import serializers

from kmeme.json_limits import json_bounds_check


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo in a request is a 400, not silently ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class HttpUrlField(serializers.URLField):
    """An absolute http(s) URL of reasonable length."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 2048)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).strip()
        if not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError(_("Only http and https URLs are accepted."), code="invalid_scheme")
        return value


class FreeFormJSONObjectField(serializers.DictField):
    """A free-form JSON object, within the caps of kmeme/json_limits.py (a 400 `too_large` / `too_deep` past them)."""

    def __init__(self, **kwargs: Any) -> None:
        caps = (
            f"At most {settings.JSON_FIELD_MAX_BYTES} bytes as compact UTF-8 JSON (`too_large` past it) and "
            f"{settings.JSON_FIELD_MAX_DEPTH} levels of objects and arrays deep (`too_deep`)."
        )
        kwargs["help_text"] = f"{kwargs['help_text']} {caps}" if kwargs.get("help_text") else caps
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):  # checked before anything walks it; a non-object is refused by DictField
            json_bounds_check(field=self.field_name, value=data)
        return super().to_internal_value(data)
