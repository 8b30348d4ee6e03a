from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy

from kmeme.filters import UtcDateTimeFilter
from kmeme.platforms import Platform
from kmeme.vocabulary import CommerceCategory
from remix.models import Layer, RemixNode


class PublishedNodeFilter(django_filters.FilterSet):
    platform = django_filters.ChoiceFilter(choices=Platform.choices)
    category = django_filters.ChoiceFilter(field_name="commerce_category", choices=CommerceCategory.choices)
    layer = django_filters.ChoiceFilter(choices=Layer.choices)
    published_after = UtcDateTimeFilter(field_name="published_at", lookup_expr="gte")
    published_before = UtcDateTimeFilter(field_name="published_at", lookup_expr="lt")
    q = django_filters.CharFilter(
        field_name="title", lookup_expr="icontains", max_length=100, label=gettext_lazy("Words in the title")
    )

    class Meta:
        model = RemixNode
        fields = ["platform", "category", "layer", "published_after", "published_before", "q"]
