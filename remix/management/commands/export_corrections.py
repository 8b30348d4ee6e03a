from __future__ import annotations

import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _

from kmeme.progress import progress
from remix.models import RemixBrief
from remix.prompt_quality import corrections


class Command(BaseCommand):
    help = (
        "Write (input, AI output, editor's final version) pairs of every decided brief of one prompt version as JSON "
        "lines, personal data scrubbed, for prompt iteration."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--prompt", required=True, help="The prompt version, e.g. brief.v1.")
        parser.add_argument("--out", required=True, help="The .jsonl file to write ('-' for standard output).")

    def handle(self, *args, prompt: str, out: str, **options) -> None:
        total = RemixBrief.objects.filter(prompt_version=prompt, decisions__isnull=False).distinct().count()
        if not total:
            known = sorted(set(RemixBrief.objects.exclude(prompt_version="").values_list("prompt_version", flat=True)))
            raise CommandError(
                _("No decided brief was written with %(prompt)s. Prompt versions with briefs: %(value)s.")
                % {"prompt": f"{prompt!r}", "value": ", ".join(known) or "none"}
            )
        counts = {"approved": 0, "rejected": 0, "sent_back": 0}
        target = None if out == "-" else Path(out)
        partial = None if target is None else target.with_name(f".{target.name}.partial")
        try:
            handle = self.stdout if target is None else partial.open("w", encoding="utf-8")
            try:
                rows = corrections(prompt_version=prompt)
                for row in progress(rows, total=total, label=_("Exporting corrections"), stream=self.stderr):
                    handle.write(json.dumps(row, ensure_ascii=False, cls=DjangoJSONEncoder) + "\n")
                    counts[row["decision"]] += 1
            finally:
                if target is not None:
                    handle.close()
            if target is not None:
                os.replace(partial, target)
        except OSError as exc:
            if partial is not None and partial.exists():
                partial.unlink()
            raise CommandError(_("Could not write %(out)s: %(exc)s") % {"out": out, "exc": exc}) from exc
        where = "standard output" if target is None else str(target)
        self.stderr.write(
            f"{sum(counts.values())} correction(s) of {prompt} written to {where}: {counts['approved']} approved, "
            f"{counts['rejected']} rejected, {counts['sent_back']} sent back."
        )
