"""The API's only request parser: JSON, decoded and checked by kmeme.strict_json.

It replaces DRF's default trio (JSON, form, multipart): the API takes JSON only, so there is one decoder to keep
strict and one place where a body is refused. It subclasses DRF's JSONParser so that DRF still reads the body
through `request.body`, where Django enforces DATA_UPLOAD_MAX_MEMORY_SIZE (a 413, see kmeme.views).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from kmeme.strict_json import JsonRefused, json_loads_strict


class JsonBodyRefused(ParseError):
    """A 400 `malformed_request` whose details say why (`reason`) and where (`at`, a dotted path or null)."""

    def __init__(self, refused: JsonRefused) -> None:
        super().__init__(
            _("The JSON body is refused: %(message)s") % {"message": refused.message}, code="malformed_request"
        )
        self.error_details = {"reason": refused.reason, "at": refused.at or None}


class StrictJSONParser(JSONParser):
    """JSON bodies, UTF-8 (RFC 8259), at most kmeme.strict_json.MAX_DEPTH deep, with finite numbers and text
    PostgreSQL can store; anything else is refused whole, before a serializer sees it."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            return json_loads_strict(stream.read())
        except JsonRefused as exc:
            raise JsonBodyRefused(exc) from exc
