from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kmeme.progress import progress
from remix.pregenerate import BRIEFS_PER_NIGHT, briefs_pregenerate, nodes_needing_brief


class Command(BaseCommand):
    help = "Write a brief for every analysed node without one (Claude, or rule-based). Part of `pregenerate`."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--limit", type=int, default=BRIEFS_PER_NIGHT, help=f"At most this many nodes (default {BRIEFS_PER_NIGHT})."
        )
        parser.add_argument("--dry-run", action="store_true", help="List the nodes; write nothing.")

    def handle(self, *args, limit: int, dry_run: bool, **options) -> None:
        if limit < 1:
            raise CommandError(_("--limit must be at least 1."))
        nodes = nodes_needing_brief(limit=limit)
        if dry_run:
            for node in nodes:
                self.stdout.write(
                    _("would write a brief for %(public_id)s  %(title)s")
                    % {"public_id": node.public_id, "title": node.title}
                )
            self.stdout.write(_("Dry run: %(len)s node(s) need a brief; nothing written.") % {"len": len(nodes)})
            return
        done = briefs_pregenerate(
            nodes=nodes,
            each=lambda items: progress(items, total=len(nodes), label=_("Writing briefs"), stream=self.stderr),
        )
        for line in done.failed:
            self.stderr.write(_("  failed %(line)s") % {"line": line})
        self.stdout.write(done.line())
        if done.failed:
            raise CommandError(_("%(len)s brief(s) could not be written.") % {"len": len(done.failed)})
