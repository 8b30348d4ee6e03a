from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Exists, OuterRef

from kmeme.progress import progress
from remix.models import RemixBrief, RemixNode, VideoAnalysis
from remix.pipeline import brief_generate


class Command(BaseCommand):
    help = "Nightly: write a brief for every node that has an analysis but no brief yet (Claude, or rule-based)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=500, help="At most this many nodes per run (default 500).")
        parser.add_argument("--dry-run", action="store_true", help="List the nodes; write nothing.")

    def handle(self, *args, limit: int, dry_run: bool, **options) -> None:
        pending = (
            RemixNode.objects.filter(Exists(VideoAnalysis.objects.filter(node=OuterRef("pk"))))
            .exclude(Exists(RemixBrief.objects.filter(node=OuterRef("pk"))))
            .select_related("owner")
            .order_by("created_at")[:limit]
        )
        nodes = list(pending)
        if dry_run:
            for node in nodes:
                self.stdout.write(f"would write a brief for {node.public_id}  {node.title}")
            self.stdout.write(f"Dry run: {len(nodes)} node(s) need a brief; nothing written.")
            return
        counts = {"ai": 0, "rule_based": 0}
        failed: list[str] = []
        for node in progress(nodes, total=len(nodes), label="Writing briefs", stream=self.stderr):
            analysis = node.analyses.order_by("-created_at", "-id").first()
            try:
                brief, _problem = brief_generate(node=node, analysis=analysis)
            except Exception as exc:  # one bad node must not stop the nightly run
                failed.append(f"{node.public_id}: {type(exc).__name__}: {exc}")
                continue
            counts[brief.source] = counts.get(brief.source, 0) + 1
        for line in failed:
            self.stderr.write(f"  failed {line}")
        self.stdout.write(
            f"Briefs written: {counts['ai']} by AI, {counts['rule_based']} rule-based; {len(failed)} failed "
            f"(of {len(nodes)} node(s) without a brief)."
        )
        if failed:
            raise CommandError(f"{len(failed)} brief(s) could not be written.")
