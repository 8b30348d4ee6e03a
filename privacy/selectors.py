"""Reads of the privacy app."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from privacy.models import DataExport


def exports_of(*, user: User) -> QuerySet[DataExport]:
    """`user`'s own exports, newest first."""
    return DataExport.objects.filter(user=user).order_by("-created_at", "-id")
