"""Nightly pre-generation: the work done at night so editors and readers do not wait by day.

1. **Briefs** for analysed nodes that have none (an analysis filled in by hand, a brief job that gave up): Claude's
   when it answers, the rule-based one otherwise, exactly as the pipeline writes them (`brief_generate`), so they
   reach the editors' queue ready to review. Nodes still in analysis are left to their own job.
2. **The recipe cache** of the most-read published recipes (counted per read in `recipe_reads`, see remix.cache):
   built and kept for 24 hours, so the first reader of the morning does not pay for the build. The counts are
   cleared afterwards, so each night warms what was read since the last one.

`pregenerate_briefs` (the command) and `remix.tasks.pregenerate_nightly` (the job) call these.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Exists, OuterRef

from remix.cache import (
    RECIPE_WARM_TTL_S,
    cache_set_unless_changed,
    recipe_generation_key,
    recipe_key,
    recipe_reads_clear,
    recipes_most_read,
)
from remix.models import NodeStatus, RemixBrief, RemixNode, VideoAnalysis
from remix.pipeline import brief_generate
from remix.recipe import recipe_build
from remix.selectors import node_for_recipe

logger = logging.getLogger("kmeme.pregenerate")

BRIEFS_PER_NIGHT = 500
RECIPES_WARMED_PER_NIGHT = 200


@dataclass
class BriefsWritten:
    ai: int = 0
    rule_based: int = 0
    failed: list[str] = field(default_factory=list)
    considered: int = 0

    def line(self) -> str:
        return (
            f"Briefs written: {self.ai} by AI, {self.rule_based} rule-based; {len(self.failed)} failed "
            f"(of {self.considered} node(s) without a brief)."
        )


def nodes_needing_brief(*, limit: int) -> list[RemixNode]:
    """Analysed nodes without any brief, oldest first; not those still in analysis (their job writes one)."""
    return list(
        RemixNode.objects.filter(Exists(VideoAnalysis.objects.filter(node=OuterRef("pk"))))
        .exclude(Exists(RemixBrief.objects.filter(node=OuterRef("pk"))))
        .exclude(status=NodeStatus.ANALYZING)
        .select_related("owner")
        .order_by("created_at", "id")[:limit]
    )


def briefs_pregenerate(
    *, nodes: list[RemixNode], each: Callable[[Iterable[RemixNode]], Iterable[RemixNode]] = iter
) -> BriefsWritten:
    """A brief for each of `nodes` (from nodes_needing_brief); one failing node never stops the rest. `each` wraps
    the iteration (a progress bar)."""
    done = BriefsWritten(considered=len(nodes))
    for node in each(nodes):
        if RemixBrief.objects.filter(node=node).exists():  # written meanwhile (an editor had it written)
            continue
        analysis = node.analyses.order_by("-created_at", "-id").first()
        try:
            brief, _why = brief_generate(node=node, analysis=analysis)
        except Exception as exc:  # recorded and reported; the job fails at the end
            logger.exception("pre-generated brief failed", extra={"node_id": node.pk})
            done.failed.append(f"{node.public_id}: {type(exc).__name__}: {exc}")
            continue
        if brief.source == "ai":
            done.ai += 1
        else:
            done.rule_based += 1
    return done


@dataclass
class RecipesWarmed:
    warmed: int = 0
    gone: int = 0  # read yesterday, no longer published (or deleted)
    reads: int = 0

    def line(self) -> str:
        return (
            f"Recipe cache warmed for {self.warmed} most-read recipe(s) ({self.reads} read(s) counted); "
            f"{self.gone} no longer published."
        )


def recipe_caches_warm(*, top: int = RECIPES_WARMED_PER_NIGHT) -> RecipesWarmed:
    """Build and cache for 24 h the recipes of the `top` most-read published nodes, then clear the read counts."""
    ranked = recipes_most_read(top=top)
    result = RecipesWarmed(reads=sum(reads for _, reads in ranked))
    published = dict(
        RemixNode.objects.filter(
            public_id__in=[public_id for public_id, _ in ranked], status=NodeStatus.PUBLISHED
        ).values_list("public_id", "pk")
    )
    by_text = {str(public_id): pk for public_id, pk in published.items()}
    for public_id, _reads in ranked:
        pk = by_text.get(public_id)
        if pk is None:
            result.gone += 1
            continue
        generation = recipe_generation_key(public_id)
        before = cache.get(generation)
        recipe = recipe_build(node=node_for_recipe(pk=pk))
        cache_set_unless_changed(
            recipe_key(public_id), recipe, RECIPE_WARM_TTL_S, generation_key=generation, before=before
        )
        result.warmed += 1
    recipe_reads_clear()
    return result
