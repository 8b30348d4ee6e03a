from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from kmeme.demo import demo_load


class Command(BaseCommand):
    help = "Load the demo content (users, nodes through every status, a fork, mutations, a campaign). Idempotent."

    def handle(self, *args, **options) -> None:
        report = demo_load()
        if report.total_created == 0:
            self.stdout.write(_("Demo data already loaded; nothing to do."))
            return
        parts = ", ".join(f"{n} {kind}" for kind, n in report.created.items())
        self.stdout.write(self.style.SUCCESS(_("Demo data loaded: %(parts)s.") % {"parts": parts}))
