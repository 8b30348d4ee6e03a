from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kmeme.errors import ApplicationError
from kmeme.progress import progress
from remix.models import NodeStatus, RemixNode
from remix.services import node_analysis_start


class Command(BaseCommand):
    help = "Send nodes back through the analysis pipeline: given nodes, or every node waiting in manual review."

    def add_arguments(self, parser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--node", action="append", metavar="PUBLIC_ID", help="A node's public id (repeatable).")
        target.add_argument("--fallbacks", action="store_true", help="Every node in 'needs manual review'.")
        parser.add_argument("--dry-run", action="store_true", help="List what would be re-analysed; change nothing.")

    def handle(self, *args, node: list[str] | None, fallbacks: bool, dry_run: bool, **options) -> None:
        if fallbacks:
            nodes = list(RemixNode.objects.filter(status=NodeStatus.NEEDS_REVIEW).order_by("created_at"))
        else:
            nodes = list(RemixNode.objects.filter(public_id__in=node))
            missing = set(node) - {str(n.public_id) for n in nodes}
            if missing:
                raise CommandError(_("No node with public id: %(join)s") % {"join": ", ".join(sorted(missing))})
        if dry_run:
            for item in nodes:
                self.stdout.write(
                    _("would re-analyse %(id)s  %(status)s %(title)s")
                    % {"id": item.public_id, "status": f"{item.status:<13}", "title": item.title}
                )
            self.stdout.write(_("Dry run: %(n)s node(s) would be re-analysed; nothing changed.") % {"n": len(nodes)})
            return
        queued, refused = 0, []
        for item in progress(nodes, total=len(nodes), label=_("Queueing"), stream=self.stderr):
            try:
                node_analysis_start(node=item, actor=None, reason="reanalyze command")
                queued += 1
            except ApplicationError as exc:
                refused.append(f"{item.public_id}: {exc.message}")
        for line in refused:
            self.stderr.write(_("  refused %(line)s") % {"line": line})
        self.stdout.write(
            _("Queued %(queued)s node(s) for analysis; %(refused)s refused.")
            % {"queued": queued, "refused": len(refused)}
        )
        if refused and not queued:
            raise CommandError(_("Nothing could be queued."))
