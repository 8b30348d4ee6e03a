"""The Smart Recipe View: what a published remix tells a creator to shoot, timed to the beat."""

from __future__ import annotations

from typing import Any

from kmeme.ai.schemas import BRIEF_FIELDS
from remix.cache import RECIPE_TTL_S, cached, recipe_generation_key, recipe_key, recipe_read_count
from remix.models import AnalysisStatus, NodeStatus, RemixBrief, RemixNode, ReviewStatus
from remix.selectors import node_for_recipe

DEFAULT_BPM = 120.0


def recipe_origin(node: RemixNode) -> RemixNode | None:
    """The node this one was remixed from: its oldest lineage edge's parent (prefetched by node_for_recipe)."""
    edges = node.origin_edges if hasattr(node, "origin_edges") else None
    if edges is None:
        edges = list(node.parent_mutations.select_related("parent").order_by("created_at", "id")[:1])
    return edges[0].parent if edges else None


def _approved_brief(node: RemixNode, origin: RemixNode | None) -> tuple[RemixBrief | None, bool]:
    """The node's latest approved brief, or (for a fork without one) its origin's. Second: inherited?"""
    for candidate, inherited in ((node, False), (origin, True)):
        if candidate is None:
            continue
        brief = next((b for b in candidate.briefs.all() if b.review_status == ReviewStatus.APPROVED), None)
        if brief is not None:
            return brief, inherited
    return None, False


def shots_from_script(script: list[dict[str, Any]], *, bpm: float, duration_s: float) -> list[dict[str, Any]]:
    """Each script beat becomes a shot lasting until the next one (or the end), in seconds and in beats."""
    seconds_per_beat = 60.0 / bpm
    shots = []
    for index, beat in enumerate(script):
        start = float(beat.get("t", 0.0))
        following = script[index + 1] if index + 1 < len(script) else None
        end = float(following["t"]) if following else max(duration_s, start + seconds_per_beat)
        beats = (
            (int(following["beat"]) - int(beat.get("beat", 1)))
            if following
            else round((end - start) / seconds_per_beat)
        )
        shots.append(
            {
                "index": index + 1,
                "start_s": round(start, 2),
                "end_s": round(end, 2),
                "beat": int(beat.get("beat", 1)),
                "beats": max(int(beats), 1),
                "shot": beat.get("shot", ""),
                "line": beat.get("line", ""),
            }
        )
    return shots


def recipe_build(*, node: RemixNode) -> dict[str, Any]:
    """The recipe as plain data (cacheable). Expects briefs/analyses prefetched (see recipe_node)."""
    origin = recipe_origin(node)
    brief, inherited = _approved_brief(node, origin)
    analyses = list(node.analyses.all())
    analysis = next((a for a in analyses if a.status == AnalysisStatus.OK), analyses[0] if analyses else None)
    probe = node.probe or {}
    measured_bpm = float(analysis.bpm) if analysis and analysis.bpm is not None else probe.get("bpm")
    duration = float(analysis.duration_s) if analysis and analysis.duration_s is not None else probe.get("duration_s")
    content = brief.content if brief else {}
    bpm = float(measured_bpm or DEFAULT_BPM)
    return {
        "id": str(node.public_id),
        "title": node.title,
        "source_url": node.source_url,
        "posted_url": node.posted_url,
        "platform": node.platform,
        "layer": node.layer,
        "status": node.status,
        "commerce_category": node.commerce_category,
        "published_at": node.published_at.isoformat() if node.published_at else None,
        "parent": {"id": str(origin.public_id), "title": origin.title} if origin else None,
        "creator": node.public_creator,
        "bpm": measured_bpm,
        "bpm_assumed": measured_bpm is None,
        "duration_s": duration,
        "seconds_per_beat": round(60.0 / bpm, 3),
        "keyframes": [
            {"t": float(k.get("t", 0)), "description": str(k.get("description", ""))}
            for k in (analysis.keyframes if analysis else [])
        ],
        "brief": None
        if brief is None
        else {
            "version": brief.version,
            "inherited_from_parent": inherited,
            "written_by": brief.source,
            # Every field but the script, which becomes the shot list below.
            **{f: content.get(f, [] if f == "hashtags" else "") for f in BRIEF_FIELDS if f != "script"},
        },
        "shots": shots_from_script(content.get("script", []), bpm=bpm, duration_s=float(duration or 15.0)),
        "is_public": node.status == NodeStatus.PUBLISHED,
    }


def recipe_guide_text(recipe: dict[str, Any]) -> str:
    """The downloadable text guide: everything needed to shoot the remix, in reading order."""
    brief = recipe["brief"] or {}
    lines = [
        f"K-MEME 리믹스 가이드 — {recipe['title']}",
        "=" * 40,
        f"원본: {recipe['source_url']}",
        (
            f"템포: 측정되지 않음 — 120 BPM 기준 (비트당 {recipe['seconds_per_beat']}초)"
            if recipe["bpm_assumed"] or not recipe["bpm"]
            else f"템포: {recipe['bpm']:g} BPM (비트당 {recipe['seconds_per_beat']}초)"
        ),
        f"길이: {recipe['duration_s'] or '?'}초",
        "",
        f"콘셉트: {brief.get('concept', '')}",
        f"훅: {brief.get('hook', '')}",
        "",
        "샷 리스트:",
    ]
    for shot in recipe["shots"]:
        lines.append(
            f"  {shot['index']:>2}. {shot['start_s']:6.2f}s–{shot['end_s']:6.2f}s"
            f"  (비트 {shot['beat']}, {shot['beats']}비트)  {shot['shot']}"
            + (f"  — “{shot['line']}”" if shot["line"] else "")
        )
    lines += [
        "",
        f"캡션: {brief.get('caption', '')}",
        f"해시태그: {' '.join(brief.get('hashtags', []))}",
        f"음악: {brief.get('music_notes', '')}",
        f"한국화 포인트: {brief.get('cultural_notes', '')}",
        f"제품 노출: {brief.get('product_placement', '') or '없음'}",
        "",
    ]
    return "\n".join(lines)


def recipe_get(*, node: RemixNode) -> dict[str, Any]:
    """The recipe of a node the viewer may see: from `recipe:{id}` (1 h) when published, built fresh otherwise
    (private views are never cached, nor served from the cache). The one writer of the recipe cache."""

    def build() -> dict[str, Any]:
        return recipe_build(node=node_for_recipe(pk=node.pk))

    if node.status != NodeStatus.PUBLISHED:
        return build()
    recipe_read_count(node.public_id)
    return cached(recipe_key(node.public_id), RECIPE_TTL_S, build, generation_key=recipe_generation_key(node.public_id))
