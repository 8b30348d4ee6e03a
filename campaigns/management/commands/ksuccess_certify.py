"""Certify K-Success now: `manage.py ksuccess_certify` (the worker does it every 15 minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from campaigns.ksuccess import participations_certify_due


class Command(BaseCommand):
    help = "Certify verified participations whose video reached their campaign's success bar in time."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(participations_certify_due().summary)
