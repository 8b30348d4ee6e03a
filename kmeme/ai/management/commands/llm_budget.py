from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from kmeme.ai.budget import budget_month_spend, month_start
from kmeme.ai.selectors import ai_spend_by_model


class Command(BaseCommand):
    help = "LLM spend for a month by provider, model and purpose, against the monthly cap (LLM_MONTHLY_CAP)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: this month, in TIME_ZONE).")

    def handle(self, *args, month: str | None, **options) -> None:
        if month:
            try:
                at = timezone.make_aware(datetime.strptime(month + "-01", "%Y-%m-%d"))
            except ValueError as exc:
                raise CommandError(
                    _("--month must look like 2026-11, not %(month)s") % {"month": f"{month!r}"}
                ) from exc
        else:
            at = timezone.now()
        start = month_start(at)
        end = (start.replace(day=28) + timezone.timedelta(days=4)).replace(day=1)
        rows = ai_spend_by_model(start=start, end=end)
        header = f"{'provider':<10} {'model':<24} {'purpose':<10} {'calls':>6} {'ok':>5} {'err':>5} {'refused':>7} "
        header += f"{'tokens in':>11} {'tokens out':>11} {'cost USD':>11}"
        self.stdout.write(
            _("LLM spend for %(month)s (%(zone)s)") % {"month": f"{start:%Y-%m}", "zone": settings.TIME_ZONE}
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for row in rows:
            self.stdout.write(
                f"{row['provider']:<10} {row['model']:<24} {row['purpose']:<10} {row['calls']:>6} {row['ok']:>5} "
                f"{row['errors']:>5} {row['refused']:>7} {row['tokens_in'] or 0:>11,} {row['tokens_out'] or 0:>11,} "
                f"{row['cost'] or Decimal(0):>11.4f}"
            )
        spent = budget_month_spend(at=at)
        cap = Decimal(str(settings.LLM_MONTHLY_CAP))
        share = (spent / cap * 100) if cap else Decimal(0)
        self.stdout.write(
            _("Total $%(spent)s of $%(cap)s cap (%(share)s %%), in-flight reservations included.")
            % {"spent": f"{spent:.4f}", "cap": f"{cap:.2f}", "share": f"{share:.1f}"}
        )
