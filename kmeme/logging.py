"""Structured logs: one JSON object per line in production, with the request id; no personal data.

Code logs users by id, never by email or name; as a second line of defence every log line, and every Sentry event,
has email addresses and phone numbers replaced (`personal_data_redact`), whoever wrote them (a library logging a
sign-in attempt's username, an exception message quoting a submitted address).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from kmeme.middleware import current_request_id

_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


REDACTED = "[redacted]"
_EMAIL = re.compile(r"[\w.+'%-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Phone numbers: Korean mobile and landline forms, and international +CC forms (digits with separators).
_PHONE = re.compile(r"(?<![\w.])(?:\+\d{1,3}[ -]?)?0?\d{1,2}[ -.]?\d{3,4}[ -.]\d{4}(?![\w.])")


def personal_data_redact(value: Any) -> Any:
    """`value` with email addresses and phone numbers replaced, through dicts, lists and tuples."""
    if isinstance(value, str):
        return _PHONE.sub(REDACTED, _EMAIL.sub(REDACTED, value))
    if isinstance(value, dict):
        return {key: personal_data_redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(personal_data_redact(item) for item in value)
    return value


class PersonalDataFilter(logging.Filter):
    """Redacts emails and phone numbers in the message and every `extra` string of a record, before any handler
    formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = personal_data_redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str | dict | list | tuple):
                record.__dict__[key] = personal_data_redact(value)
        return True


def sentry_before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Sentry's `before_send`: the same redaction over the whole event (messages, exception values, breadcrumbs,
    frame variables), on top of `send_default_pii=False`, which keeps users, cookies and IPs out."""
    return personal_data_redact(event)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        # Anything passed with `extra=` becomes a field of its own.
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)
