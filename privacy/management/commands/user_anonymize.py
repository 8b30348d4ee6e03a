"""Forget a user (the right to be forgotten): `manage.py user_anonymize --user <email|id> [--dry-run]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from accounts.models import User
from kmeme.errors import ApplicationError
from privacy.anonymize import user_anonymize


def user_lookup(key: str) -> User:
    user = User.objects.filter(pk=int(key)).first() if key.isdigit() else User.objects.filter(email__iexact=key).first()
    if user is None:
        raise CommandError(_("No user %(key)s (give an email address or an id).") % {"key": f"{key!r}"})
    return user


class Command(BaseCommand):
    help = "Anonymize a user: personal data removed, private forks deleted, published content kept as 'deleted user'."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="The user's email address or id.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be done; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_lookup(options["user"])
        try:
            report = user_anonymize(user=user, actor=None, dry_run=options["dry_run"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(report.summary)
