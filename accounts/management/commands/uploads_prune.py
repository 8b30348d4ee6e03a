"""Clean up uploads: `manage.py uploads_prune [--dry-run]` (the worker also runs it nightly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.uploads import uploads_prune


class Command(BaseCommand):
    help = (
        "Delete uploads never completed a day after their URL expired (rows and any file sent), and sweep again the "
        "storage prefix of users forgotten recently (a file sent late to an upload URL they had)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Say what would be deleted; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        pruned = uploads_prune(dry_run=options["dry_run"])
        verb = "would be" if options["dry_run"] else "were"
        self.stdout.write(
            f"{pruned.abandoned} abandoned uploads {verb} deleted; {pruned.forgotten_swept} forgotten users' "
            f"storage {verb} swept."
        )
