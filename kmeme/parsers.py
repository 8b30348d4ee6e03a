"""The API's JSON parser: DRF's, but JSON nested deeper than Python can decode is a 400, not a 500."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import parsers

from kmeme.exceptions import ApplicationError


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # A body of ~1000 nested brackets (a few KiB) exhausts the decoder's recursion limit.
            raise ApplicationError(
                f"The JSON body nests too deeply (free-form fields: {settings.JSON_FIELD_MAX_DEPTH} levels at most).",
                code="too_deep",
                details={"field": None, "max_depth": settings.JSON_FIELD_MAX_DEPTH},
            ) from None
