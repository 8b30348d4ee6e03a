from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from genealogy.performance import node_snapshot_url, nodes_due_for_snapshot, performance_collect
from kmeme.progress import progress


class Command(BaseCommand):
    help = (
        "Read the public counters (views, likes, comments, shares) of every published node that is due, now: what "
        "the hourly job does (genealogy.performance). Exits non-zero when a read failed; the others are recorded."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=None, help="At most this many nodes.")
        parser.add_argument("--batch-size", type=int, default=100, help="Nodes loaded at a time (default 100).")
        parser.add_argument(
            "--max-wait",
            type=float,
            default=0.0,
            help="Seconds to wait for a rate-limited platform's next minute (default 0: leave them to the next run).",
        )
        parser.add_argument("--dry-run", action="store_true", help="List the due nodes and their URLs; read nothing.")

    def handle(self, *args, limit: int | None, batch_size: int, max_wait: float, dry_run: bool, **options) -> None:
        if dry_run:
            due = list(nodes_due_for_snapshot(now=timezone.now())[: limit or None])
            for node in due:
                self.stdout.write(
                    _("would read node %(pk)s  %(node_snapshot_url)s")
                    % {"pk": node.pk, "node_snapshot_url": node_snapshot_url(node=node)}
                )
            self.stdout.write(_("Dry run: %(len)s node(s) due; nothing read.") % {"len": len(due)})
            return
        report = performance_collect(
            limit=limit,
            batch_size=batch_size,
            max_wait_s=max_wait,
            progress=lambda ids, total: progress(ids, total=total, label=_("Reading counters"), stream=self.stderr),
        )
        for failure in report.failures:
            self.stderr.write(
                _("  failed node %(node_id)s %(url)s: %(code)s: %(message)s")
                % {"node_id": failure.node_id, "url": failure.url, "code": failure.code, "message": failure.message}
            )
        self.stdout.write(report.summary)
        if report.failed:
            raise CommandError(
                _("%(failed)s read(s) failed; see above and the performance tracking admin.")
                % {"failed": report.failed}
            )
