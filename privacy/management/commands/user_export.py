"""Export a user's data for staff: `manage.py user_export --user <email|id> --out file.zip`."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import audit_log_record
from kmeme.progress import progress
from privacy.exports import export_contents
from privacy.management.commands.user_anonymize import user_lookup

STEPS = ["profile", "remixes", "campaign entries", "lineage edges", "audit records", "archive"]


class Command(BaseCommand):
    help = "Write everything held about a user to a ZIP (the same archive as POST /api/v1/me/export)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="The user's email address or id.")
        parser.add_argument("--out", required=True, help="The ZIP file to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_lookup(options["user"])
        out = Path(options["out"])
        if out.exists() and out.is_dir():
            raise CommandError(f"{out} is a folder; give a file name.")
        bar = iter(progress(STEPS, total=len(STEPS), label="Exporting", stream=sys.stderr))
        next(bar)
        files = export_contents(user=user, progress=lambda pct, what: next(bar, None))
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, text in files.items():
                archive.writestr(name, text)
        for _ in bar:
            pass
        audit_log_record(actor=None, action="privacy.export_by_staff", target=user, details={"files": len(files)})
        size = out.stat().st_size
        self.stdout.write(f"User #{user.pk}: {len(files)} files, {size:,} bytes written to {out}.")
