"""The analysis pipeline: a video URL becomes an analysis and a brief in review, or a manual-review item.

    node_submit       (API / admin / commands)  → node in `analyzing` + a job, in one transaction (remix.services)
    pipeline_run      (the job)                 → fetch → probe → analysis → brief → `in_review` | `needs_review`

Every step stores its result before the next starts and is skipped when a
result of the current run exists, so a job killed half-way and picked up again
repeats no finished step and pays for no call twice. Whatever fails, the node
ends in a state an editor sees: in review with a brief, or in manual review with
the reason and what the platform measured itself.

A brief, in this codebase's words: `brief_create` (remix.services) stores a version; `brief_generate` (here)
has one written by machine, Claude or else the rule-based writer; `brief_write` (remix.review) is an
editor writing one; `brief_request_regeneration` / `brief_generate_for_review` (remix.review) ask for a new
one in the background, which `brief_regenerate_run` (here, the job) writes.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from redis.exceptions import LockError, LockNotOwnedError

from accounts.selectors import user_personal_names
from kmeme.ai.claude import claude_brief
from kmeme.ai.gemini import gemini_analysis_deadline_s, gemini_analyze, gemini_configured
from kmeme.ai.offline import rule_based_brief
from kmeme.ai.types import ProviderUnavailable
from kmeme.deadline import deadline
from kmeme.media import FetchedMedia, MediaError, media_copy, media_fetch, media_probe
from kmeme.platforms import Platform
from remix.models import (
    AnalysisStatus,
    BriefSource,
    NodeStatus,
    RemixBrief,
    RemixNode,
    VideoAnalysis,
)
from remix.services import analysis_record, brief_create, node_transition

logger = logging.getLogger("kmeme.pipeline")

FALLBACK_DURATION_S = 15.0
# How much longer than the analysis's own deadline the per-URL lock is held, for the steps around the call.
ANALYSIS_LOCK_GRACE_S = 60
BY_URL_PLATFORMS = (Platform.YOUTUBE, Platform.YOUTUBE_SHORTS)


def gemini_cache_key(url: str) -> str:
    """`gemini:{url}`, hashed when the URL is long, so keys stay short and safe."""
    url = url.strip()
    return f"gemini:{url}" if len(url) <= 200 else f"gemini:sha256:{hashlib.sha256(url.encode()).hexdigest()}"


@contextmanager
def _local_media(storage_name: str) -> Iterator[Path | None]:
    """The stored video as a local file (None when nothing was downloaded, e.g. YouTube sent by URL)."""
    if not storage_name:
        yield None
        return
    try:
        yield Path(default_storage.path(storage_name))
    except NotImplementedError:  # remote storage (S3): copy to a temporary file for the upload
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / Path(storage_name).name
            with default_storage.open(storage_name, "rb") as src, local.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            yield local


@dataclass(frozen=True)
class Fallback:
    """Why a run went without AI: which part (`gemini`, `anthropic`, `media`), its error code, and the reason."""

    provider: str
    code: str
    reason: str

    def __str__(self) -> str:
        return self.reason


def _media_from_upload(node: RemixNode) -> FetchedMedia:
    """The node's copy of the video its owner uploaded (the upload may be deleted later; the node keeps its own)."""
    upload = node.source_upload
    if upload is None:
        raise MediaError("The uploaded video was deleted.", code="media_unreachable", details={"reason": "gone"})
    return media_copy(
        storage_name=upload.key,
        node_public_id=str(node.public_id),
        filename=upload.filename,
        content_type=upload.content_type,
    )


def _fetch_and_probe(node: RemixNode) -> Fallback | None:
    """Download and measure the video once per node. Returns why it could not, or None."""
    if not node.media_name:
        try:
            if node.platform == Platform.UPLOAD:
                fetched = _media_from_upload(node)
            else:
                fetched = media_fetch(url=node.source_url, platform=node.platform, node_public_id=str(node.public_id))
        except MediaError as exc:
            return Fallback("media", exc.code, f"the video could not be downloaded ({exc.code}: {exc.message})")
        node.media_name = fetched.storage_name
        node.save(update_fields=["media_name", "updated_at"])
    if not node.probe:
        try:
            node.probe = media_probe(storage_name=node.media_name).as_dict()
        except MediaError as exc:
            return Fallback("media", exc.code, f"the video could not be measured ({exc.code}: {exc.message})")
        node.save(update_fields=["probe", "updated_at"])
    return None


@contextmanager
def _held(lock: Any) -> Iterator[None]:
    """Hold a Redis lock for the block. If it was lost meanwhile (Redis restarted, or it expired), the block's
    result is already stored: say so in the log rather than fail the job over the release."""
    if not lock.acquire():
        raise LockError(f"{lock.name} is still held by another analysis of this video")
    try:
        yield
    finally:
        try:
            lock.release()
        except LockNotOwnedError:
            logger.warning("the per-URL analysis lock was lost before its release", extra={"lock": lock.name})


def _run_marker(node: RemixNode) -> str:
    """Which run of the node a provider call serves (a node that never entered analysis has one run)."""
    return node.analysis_requested_at.isoformat() if node.analysis_requested_at else "first"


def _record_gemini(
    node: RemixNode, content: dict[str, Any], *, model: str, cached: bool, usage: dict[str, Any]
) -> VideoAnalysis:
    return analysis_record(
        node=node,
        provider="gemini",
        status=AnalysisStatus.OK,
        model=model,
        duration_s=content["duration_s"],
        bpm=content.get("bpm"),
        keyframes=content.get("keyframes", []),
        hook=content.get("hook", ""),
        commerce_category=content.get("commerce_category", "none"),
        probe=node.probe,
        raw_output={**content, "cached": cached},
        **usage,
    )


def _record_fallback(node: RemixNode, fallback: Fallback) -> VideoAnalysis:
    probe = node.probe or {}
    return analysis_record(
        node=node,
        provider="probe",
        status=AnalysisStatus.FALLBACK,
        duration_s=probe.get("duration_s") or FALLBACK_DURATION_S,
        bpm=probe.get("bpm"),
        keyframes=[{"t": k["t"], "description": "scene cut (measured)"} for k in probe.get("keyframes", [])],
        probe=probe,
        raw_output={"fallback": {"provider": fallback.provider, "code": fallback.code}},
        error=f"Needs manual review: {fallback.reason}",
    )


def _analysis_fallback(analysis: VideoAnalysis) -> Fallback:
    """Why a fallback analysis is one (recorded with it)."""
    recorded = (analysis.raw_output or {}).get("fallback") or {}
    return Fallback(
        recorded.get("provider", "gemini"), recorded.get("code", "unknown"), analysis.error or "no AI analysis"
    )


def _analyze(node: RemixNode, fetch_problem: Fallback | None) -> VideoAnalysis:
    by_url = node.platform in BY_URL_PLATFORMS
    if not gemini_configured():
        reason = "no AI analysis is configured (GEMINI_API_KEY is empty)"
        return _record_fallback(
            node, Fallback("gemini", "not_configured", reason + (f"; {fetch_problem}" if fetch_problem else ""))
        )
    if fetch_problem and not by_url:
        return _record_fallback(node, fetch_problem)
    key = gemini_cache_key(node.source_url)
    hit = cache.get(key)
    if hit is None:
        # One analysis per URL at a time: a second submission waits, then finds the first one's result cached.
        # The analysis is cut off at its total deadline, so the lock (held a grace minute longer) outlives it.
        work_s = gemini_analysis_deadline_s()
        lock = cache.lock(f"lock:{key}", timeout=work_s + ANALYSIS_LOCK_GRACE_S, blocking_timeout=work_s + 10)
        with _held(lock):
            hit = cache.get(key)
            if hit is None:
                try:
                    with deadline(work_s), _local_media(node.media_name) as media_path:
                        result = gemini_analyze(
                            node_id=node.pk,
                            video_url=node.source_url,
                            by_url=by_url,
                            media_path=media_path,
                            probe=node.probe,
                            title=node.title,
                            personal_names=user_personal_names(node.owner),
                            request_key=f"analysis:node:{node.pk}:{_run_marker(node)}",
                        )
                except ProviderUnavailable as exc:
                    return _record_fallback(node, Fallback("gemini", exc.code, f"Gemini analysis unavailable ({exc})"))
                cache.set(key, {"model": result.model, "content": result.content}, settings.GEMINI_CACHE_TTL_S)
                return _record_gemini(
                    node,
                    result.content,
                    model=result.model,
                    cached=result.cached,
                    usage={
                        "input_tokens": result.input_tokens,
                        "output_tokens": result.output_tokens,
                        "cost_usd": result.cost_usd,
                        "latency_ms": result.latency_ms,
                    },
                )
    return _record_gemini(node, hit["content"], model=hit["model"], cached=True, usage={})


def _analysis_summary(analysis: VideoAnalysis) -> dict[str, Any]:
    return {
        "duration_s": float(analysis.duration_s) if analysis.duration_s is not None else None,
        "bpm": float(analysis.bpm) if analysis.bpm is not None else None,
        "keyframes": analysis.keyframes,
        "hook": analysis.hook,
        "commerce_category": analysis.commerce_category,
        **{k: v for k, v in (analysis.raw_output or {}).items() if k in ("on_screen_text", "mood")},
    }


def _brief_by_rules(*, node: RemixNode, analysis: VideoAnalysis, editor_notes: str = "") -> RemixBrief:
    content = rule_based_brief(
        title=node.title,
        duration_s=float(analysis.duration_s or FALLBACK_DURATION_S),
        bpm=float(analysis.bpm) if analysis.bpm is not None else None,
        keyframes=analysis.keyframes,
        commerce_category=analysis.commerce_category,
        hook=analysis.hook,
    )
    # The notes are kept with the version they were given for (regeneration_notes), never in its content.
    return brief_create(node=node, content=content, source=BriefSource.RULE_BASED, regeneration_notes=editor_notes)


def brief_generate(
    *, node: RemixNode, analysis: VideoAnalysis, editor_notes: str = ""
) -> tuple[RemixBrief, Fallback | None]:
    """Claude's brief when the analysis is real and Claude answers; the rule-based one otherwise.

    Returns the brief and, for a rule-based one, why no AI brief could be written.
    """
    if analysis.status != AnalysisStatus.OK:
        return _brief_by_rules(node=node, analysis=analysis, editor_notes=editor_notes), _analysis_fallback(analysis)
    try:
        result = claude_brief(
            node_id=node.pk,
            title=node.title,
            analysis=_analysis_summary(analysis),
            editor_notes=editor_notes,
            personal_names=user_personal_names(node.owner),
            # One brief per run (and per set of notes): a retried job reuses an answer Claude was paid for.
            request_key=f"brief:node:{node.pk}:{_run_marker(node)}:analysis:{analysis.pk}"
            f":notes:{hashlib.sha256(editor_notes.encode()).hexdigest()[:16]}",
        )
    except ProviderUnavailable as exc:
        fallback = Fallback("anthropic", exc.code, f"Claude brief unavailable ({exc})")
        return _brief_by_rules(node=node, analysis=analysis, editor_notes=editor_notes), fallback
    brief = brief_create(
        node=node,
        content=result.content,
        source=BriefSource.AI,
        model=result.model,
        prompt_version=result.prompt_version,
        regeneration_notes=editor_notes,
    )
    return brief, None


def _run_finish(*, node: RemixNode, to: str, reason: str, fallback: Fallback | None) -> None:
    """Move the node out of analysis, recording why it went without AI (or that it did not)."""
    with transaction.atomic():
        node_transition(node=node, to=to, actor=None, reason=reason)
        RemixNode.objects.filter(pk=node.pk).update(
            pipeline_error="",
            fallback_provider=fallback.provider if fallback else "",
            fallback_code=fallback.code[:32] if fallback else "",
            fallback_reason=fallback.reason if fallback else "",
            fallback_at=timezone.now() if fallback else None,
        )


def pipeline_run(*, node_id: int) -> str:
    """Run (or resume) a node's analysis. Returns the node's final status."""
    node = RemixNode.objects.select_related("owner").get(pk=node_id)
    if node.status != NodeStatus.ANALYZING:
        logger.info("node not in analysis; nothing to do", extra={"node_id": node_id, "status": node.status})
        return node.status
    since = node.analysis_requested_at
    fetch_problem = _fetch_and_probe(node)

    analysis = node.analyses.filter(created_at__gte=since).order_by("-created_at", "-id").first()
    if analysis is None:
        analysis = _analyze(node, fetch_problem)

    brief = node.briefs.filter(created_at__gte=since).order_by("-version").first()
    fallback: Fallback | None = None
    if brief is None:
        brief, fallback = brief_generate(node=node, analysis=analysis)
    elif brief.source != BriefSource.AI:  # written before the job was interrupted
        fallback = (
            _analysis_fallback(analysis)
            if analysis.status != AnalysisStatus.OK
            else Fallback("anthropic", "unknown", "the brief was not written by AI")
        )

    target = NodeStatus.IN_REVIEW if brief.source == BriefSource.AI and fallback is None else NodeStatus.NEEDS_REVIEW
    _run_finish(node=node, to=target, reason=str(fallback or "analysis and brief ready"), fallback=fallback)
    logger.info("pipeline finished", extra={"node_id": node_id, "status": target, "problem": str(fallback or "")})
    return target


def brief_regenerate_run(*, node_id: int, notes: str) -> str:
    """Write a new brief version from the node's latest analysis and the editor's notes; back to review.

    The editor asked for it, so the new version goes to review whoever wrote it (Claude, or the
    rule-based writer when Claude is unavailable — the version's source says which, and the
    node's history says why).
    """
    node = RemixNode.objects.select_related("owner").get(pk=node_id)
    if node.status != NodeStatus.ANALYZING:
        return node.status
    analysis = node.analyses.order_by("-created_at", "-id").first()
    if analysis is None:
        return pipeline_run(node_id=node_id)
    brief = node.briefs.filter(created_at__gte=node.analysis_requested_at).order_by("-version").first()
    fallback: Fallback | None = None
    if brief is None:
        brief, fallback = brief_generate(node=node, analysis=analysis, editor_notes=notes)
    reason = f"brief v{brief.version} written ({brief.get_source_display()})" + (f"; {fallback}" if fallback else "")
    _run_finish(node=node, to=NodeStatus.IN_REVIEW, reason=reason, fallback=fallback)
    return NodeStatus.IN_REVIEW
