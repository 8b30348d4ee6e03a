from __future__ import annotations

from axes.models import AccessAttempt
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.lockout import sign_in_unlock
from accounts.models import User


class Command(BaseCommand):
    help = (
        "Unlock admin sign-in now, for an account (its email) and/or a client address, instead of waiting for the "
        "lockout to end. Audited like the admin's Unlock action (axes_reset_username does the same, unaudited)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", help="The locked account's email (any case).")
        parser.add_argument("--ip", help="A locked client address.")
        parser.add_argument("--dry-run", action="store_true", help="Show what would be cleared; change nothing.")

    def handle(self, *args, email: str | None, ip: str | None, dry_run: bool, **options) -> None:
        if not email and not ip:
            raise CommandError(_("Name an account (--email) and/or an address (--ip)."))
        if dry_run:
            key = None
            if email:
                key = (
                    User.objects.filter(email__iexact=email).values_list("email", flat=True).first() or email.casefold()
                )
            would = (AccessAttempt.objects.filter(username=key).count() if key else 0) + (
                AccessAttempt.objects.filter(ip_address=ip).count() if ip else 0
            )
            self.stdout.write(
                _("Dry run: %(would)s failed-attempt record(s) would be cleared; nothing changed.") % {"would": would}
            )
            return
        cleared = sign_in_unlock(email=email, ip=ip, actor=None)
        self.stdout.write(
            _("Cleared %(cleared)s failed-attempt record(s); sign-in is unlocked.") % {"cleared": cleared}
        )
