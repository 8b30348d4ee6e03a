from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from kmeme.idempotency import RETENTION, idempotency_records_prune


class Command(BaseCommand):
    help = (
        "Delete the API's Idempotency-Key records older than 24 hours (retries after that run afresh anyway). "
        "Run it from cron or the worker's scheduler, e.g. hourly."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")

    def handle(self, *args, dry_run: bool, **options) -> None:
        count = idempotency_records_prune(dry_run=dry_run)
        hours = int(RETENTION.total_seconds() // 3600)
        if dry_run:
            self.stdout.write(
                _("Dry run: %(count)s idempotency key(s) older than %(hours)s h would be deleted.")
                % {"count": count, "hours": hours}
            )
        else:
            self.stdout.write(
                _("Deleted %(count)s idempotency key(s) older than %(hours)s h.") % {"count": count, "hours": hours}
            )
