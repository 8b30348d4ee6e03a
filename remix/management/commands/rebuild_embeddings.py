from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kmeme.ai.embeddings import PROVIDERS, embeddings_provider
from kmeme.ai.types import ProviderUnavailable
from kmeme.progress import progress
from remix.embeddings import nodes_embedding_refresh, nodes_for_embedding


class Command(BaseCommand):
    help = (
        "Recompute the embeddings similar search uses, for every node or only those without one. "
        "The kind follows EMBEDDINGS_PROVIDER; run this for every node after changing it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--provider",
            choices=PROVIDERS,
            help="The kind to write; must match EMBEDDINGS_PROVIDER (default: that setting).",
        )
        parser.add_argument("--only-missing", action="store_true", help="Only nodes that have no embedding yet.")
        parser.add_argument("--batch", type=int, default=200, help="Nodes per batch (one write, one Gemini request).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be embedded; change nothing.")

    def handle(self, *args, provider: str | None, only_missing: bool, batch: int, dry_run: bool, **options) -> None:
        if batch < 1:
            raise CommandError(_("--batch must be at least 1."))
        configured = embeddings_provider()
        kind = provider or configured
        if kind != configured:
            raise CommandError(
                _(
                    "EMBEDDINGS_PROVIDER is '%(configured)s': the table holds %(configured)s "
                    "embeddings, and %(kind)s ones would not be comparable with them. Set "
                    "EMBEDDINGS_PROVIDER=%(kind)s, then rebuild every node."
                )
                % {"configured": configured, "kind": kind}
            )
        nodes = nodes_for_embedding().order_by("pk")
        if only_missing:
            nodes = nodes.filter(embedding__isnull=True)
        total = nodes.count()
        scope = "without an embedding" if only_missing else "in total"
        if dry_run:
            self.stdout.write(
                f"Dry run: {total} node(s) {scope} would get {kind} embeddings in batches of {batch}; nothing changed."
            )
            return

        embedded, failed, errors = 0, 0, []
        last_pk = 0
        batches = -(-total // batch)
        for _batch in progress(
            range(batches), total=batches, label=_("Embedding (%(kind)s)") % {"kind": kind}, stream=self.stderr
        ):
            # Keyset pages: bounded memory, and rows embedded meanwhile (--only-missing) are not skipped over.
            chunk = list(nodes.filter(pk__gt=last_pk)[:batch])
            if not chunk:
                break
            last_pk = chunk[-1].pk
            try:
                nodes_embedding_refresh(nodes=chunk, provider=kind)
                embedded += len(chunk)
            except ProviderUnavailable as exc:
                failed += len(chunk)
                errors.append(f"nodes {chunk[0].pk}–{chunk[-1].pk}: {exc}")
        for line in errors[:20]:
            self.stderr.write(_("  failed %(line)s") % {"line": line})
        self.stdout.write(
            _("Embedded %(embedded)s of %(total)s node(s) %(scope)s with %(kind)s embeddings; %(failed)s failed.")
            % {"embedded": embedded, "total": total, "scope": scope, "kind": kind, "failed": failed}
        )
        if failed:
            raise CommandError(
                _("%(failed)s node(s) could not be embedded and kept what they had; run the command again.")
                % {"failed": failed}
            )
