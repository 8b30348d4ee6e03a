from __future__ import annotations

from datetime import UTC

import django_filters

from kmeme.platforms import Platform
from kmeme.vocabulary import CommerceCategory
from remix.models import Layer, RemixNode


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """ISO 8601 datetimes, compared in UTC: PostgreSQL refuses offsets past ±15:59 that Python accepts
    (Schemathesis found `…-20:03` turning into a 500)."""

    def filter(self, qs, value):
        return super().filter(qs, value.astimezone(UTC) if value is not None else value)


class PublishedNodeFilter(django_filters.FilterSet):
    platform = django_filters.ChoiceFilter(choices=Platform.choices)
    category = django_filters.ChoiceFilter(field_name="commerce_category", choices=CommerceCategory.choices)
    layer = django_filters.ChoiceFilter(choices=Layer.choices)
    published_after = UtcDateTimeFilter(field_name="published_at", lookup_expr="gte")
    published_before = UtcDateTimeFilter(field_name="published_at", lookup_expr="lt")
    q = django_filters.CharFilter(
        field_name="title", lookup_expr="icontains", max_length=100, label="Words in the title"
    )

    class Meta:
        model = RemixNode
        fields = ["platform", "category", "layer", "published_after", "published_before", "q"]
