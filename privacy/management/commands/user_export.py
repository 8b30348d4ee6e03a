"""Export a user's data for staff: `manage.py user_export --user <email|id> --out file.zip`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from accounts.services import audit_log_record
from kmeme.progress import progress
from privacy.exports import export_build
from privacy.management.commands.user_anonymize import user_lookup

# The steps export_build reports, in order (its progress callback advances the bar by one each).
STEPS = ["profile", "remixes", "campaign entries", "lineage edges", "audit records", "archive"]


class Command(BaseCommand):
    help = "Write everything held about a user to a ZIP (the same archive as POST /api/v1/me/export)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="The user's email address or id.")
        parser.add_argument("--out", required=True, help="The ZIP file to write (replaced if it exists).")

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_lookup(options["user"])
        out = Path(options["out"])
        if out.is_dir():
            raise CommandError(_("%(out)s is a folder; give a file name.") % {"out": out})
        if not out.parent.is_dir():
            raise CommandError(_("%(parent)s does not exist.") % {"parent": out.parent})
        bar = iter(progress(STEPS, total=len(STEPS), label=_("Exporting"), stream=self.stderr))
        # Written beside the target and renamed at the end: a failure never leaves half an archive under its name.
        fd, partial = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
        try:
            with os.fdopen(fd, "wb") as file:
                names = export_build(user=user, out=file, progress=lambda pct, what: next(bar, None))
            os.replace(partial, out)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        for _step in bar:  # draw the bar to its end
            pass
        size = out.stat().st_size
        audit_log_record(
            actor=None,
            action="privacy.export_by_staff",
            target=user,
            details={"files": len(names), "size": size, "via": "manage.py user_export"},
        )
        self.stdout.write(
            _("User #%(id)s: %(files)s files, %(size)s bytes written to %(out)s.")
            % {"id": user.pk, "files": len(names), "size": f"{size:,}", "out": out}
        )
