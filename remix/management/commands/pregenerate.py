from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kmeme.progress import progress
from remix.cache import recipes_most_read
from remix.pregenerate import (
    BRIEFS_PER_NIGHT,
    RECIPES_WARMED_PER_NIGHT,
    briefs_pregenerate,
    nodes_needing_brief,
    recipe_caches_warm,
)


class Command(BaseCommand):
    help = (
        "The nightly pre-generation, by hand: briefs for analysed nodes without one, then the recipe cache of the "
        "most-read published recipes (what remix.tasks.pregenerate_nightly runs at 01:37)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=BRIEFS_PER_NIGHT, help="At most this many briefs.")
        parser.add_argument("--top", type=int, default=RECIPES_WARMED_PER_NIGHT, help="Warm this many recipes.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be done; write nothing.")

    def handle(self, *args, limit: int, top: int, dry_run: bool, **options) -> None:
        if limit < 1 or top < 1:
            raise CommandError(_("--limit and --top must be at least 1."))
        nodes = nodes_needing_brief(limit=limit)
        if dry_run:
            ranked = recipes_most_read(top=top)
            self.stdout.write(
                f"Dry run: {len(nodes)} node(s) need a brief; {len(ranked)} recipe(s) would be warmed; nothing written."
            )
            return
        briefs = briefs_pregenerate(
            nodes=nodes,
            each=lambda items: progress(items, total=len(nodes), label=_("Writing briefs"), stream=self.stderr),
        )
        for line in briefs.failed:
            self.stderr.write(_("  failed %(line)s") % {"line": line})
        warmed = recipe_caches_warm(top=top)
        self.stdout.write(briefs.line())
        self.stdout.write(warmed.line())
        if briefs.failed:
            raise CommandError(_("%(len)s brief(s) could not be written.") % {"len": len(briefs.failed)})
