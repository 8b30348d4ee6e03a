"""Filters shared by the API's lists (django-filter)."""

from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 datetime, converted to UTC while the input is validated.

    PostgreSQL refuses offsets past ±15:59 that Python accepts (Schemathesis found `…-20:03` turning into a 500),
    so values are compared in UTC. Near the calendar's ends (`0001-01-01` in Seoul, `9999-12-31T23:59:59-14:00`)
    that conversion leaves Python's datetime range: such a value is a 400 like any other invalid input.
    """

    default_error_messages = {
        "out_of_range": "Enter a date and time between the years 1 and 9999 (in UTC).",
    }

    def to_python(self, value: object) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise ValidationError(self.error_messages["out_of_range"], code="out_of_range") from exc


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """ISO 8601 datetimes, compared in UTC (see UtcIsoDateTimeField)."""

    field_class = UtcIsoDateTimeField
