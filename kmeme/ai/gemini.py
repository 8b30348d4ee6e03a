"""Google Gemini (google-genai SDK): video analysis with structured JSON output, and search embeddings."""

from __future__ import annotations

import json
import math
import mimetypes
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx2 as httpx  # the httpx line the AI SDKs are built on
from django.conf import settings
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from kmeme.ai.calls import RawReply, provider_call
from kmeme.ai.prompts import prompt_render
from kmeme.ai.schemas import MAX_RAW_OUTPUT_CHARS, AnalysisOutput, output_validate
from kmeme.ai.scrub import scrub, scrub_text
from kmeme.ai.types import EMBEDDING_DIMENSIONS, ProviderResult, ProviderUnavailable
from kmeme.deadline import deadline, deadline_client_args, deadline_remaining
from kmeme.vocabulary import CommerceCategory

PROVIDER = "gemini"
# Gemini bills video at about 258 tokens per second plus 32 for its audio.
VIDEO_TOKENS_PER_SECOND = 300


def gemini_configured() -> bool:
    return bool(settings.GEMINI_API_KEY)


@lru_cache(maxsize=8)
def _client(api_key: str, base_url: str, timeout_s: float) -> genai.Client:
    http_options = types.HttpOptions(
        base_url=base_url or None,
        api_version="v1beta",
        timeout=int(timeout_s * 1000),
        # One attempt per SDK call: tenacity in kmeme.ai.calls is the only retry layer.
        retry_options=types.HttpRetryOptions(attempts=1),
        # Every connection held to the call's total deadline (kmeme.deadline); `timeout` bounds each read.
        client_args=deadline_client_args(),
    )
    return genai.Client(api_key=api_key, http_options=http_options)


def gemini_client() -> genai.Client:
    return _client(settings.GEMINI_API_KEY, settings.GEMINI_BASE_URL, settings.AI_TIMEOUT_S)


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, genai_errors.APIError):
        return exc.code == 429 or exc.code == 408 or exc.code >= 500
    return isinstance(exc, (httpx.TimeoutException, httpx.TransportError))


def _upload_and_wait(client: genai.Client, path: Path, mime_type: str) -> types.File:
    uploaded = client.files.upload(file=path, config=types.UploadFileConfig(mime_type=mime_type))
    ready_by = time.monotonic() + settings.GEMINI_FILE_ACTIVE_TIMEOUT_S
    current = uploaded
    while current.state != types.FileState.ACTIVE:
        if current.state == types.FileState.FAILED:
            raise ProviderUnavailable(
                f"Gemini could not process the uploaded video ({current.name}).", code="provider_error"
            )
        left = deadline_remaining()
        if time.monotonic() > ready_by or (left is not None and left <= settings.GEMINI_FILE_POLL_S):
            raise ProviderUnavailable(
                "Gemini did not finish processing the uploaded video in time.", code="provider_error"
            )
        time.sleep(settings.GEMINI_FILE_POLL_S)
        current = client.files.get(name=uploaded.name)
    return current


def _video_part(client: genai.Client, *, video_url: str, by_url: bool, media_path: Path | None) -> types.Part:
    if by_url:
        return types.Part(file_data=types.FileData(file_uri=video_url, mime_type="video/mp4"))
    if media_path is None:
        raise ProviderUnavailable("The video could not be downloaded, so Gemini cannot see it.", code="provider_error")
    mime_type = mimetypes.guess_type(media_path.name)[0] or "video/mp4"
    if media_path.stat().st_size <= settings.GEMINI_INLINE_MAX_BYTES:
        return types.Part.from_bytes(data=media_path.read_bytes(), mime_type=mime_type)
    try:
        with deadline(settings.AI_CALL_DEADLINE_S):
            uploaded = _upload_and_wait(client, media_path, mime_type)
    except (genai_errors.APIError, httpx.HTTPError) as exc:
        raise ProviderUnavailable(f"Uploading the video to Gemini failed: {exc}", code="provider_error") from exc
    return types.Part(file_data=types.FileData(file_uri=uploaded.uri, mime_type=uploaded.mime_type or mime_type))


def gemini_analyze(
    *,
    node_id: int | None,
    video_url: str,
    by_url: bool,
    media_path: Path | None,
    probe: dict[str, Any],
    title: str,
    personal_names: list[str],
    request_key: str = "",
) -> ProviderResult:
    """Analyse a video: YouTube by URL, downloaded files inline or through the Files API. Uploading takes at most
    AI_CALL_DEADLINE_S and the call as much again (`gemini_analysis_deadline_s`). A retry with the same
    `request_key` reuses the answer already paid for (kmeme.ai.calls)."""
    if not gemini_configured():
        raise ProviderUnavailable("No GEMINI_API_KEY is configured.", code="not_configured")
    client = gemini_client()
    hints = {
        k: v for k, v in probe.items() if k in ("duration_s", "fps", "width", "height", "has_audio", "bpm", "keyframes")
    }
    version, prompt = prompt_render(
        "analysis",
        categories=", ".join(CommerceCategory.values),
        hints=json.dumps(scrub(hints, names=personal_names), ensure_ascii=False) if hints else "(none)",
        title=scrub_text(title, names=personal_names) or "(none)",
    )
    duration = float(probe.get("duration_s") or settings.MEDIA_MAX_DURATION_S)
    video = _video_part(client, video_url=video_url, by_url=by_url, media_path=media_path)
    config = types.GenerateContentConfig(
        response_mime_type="application/json",
        response_json_schema=AnalysisOutput.model_json_schema(),
        max_output_tokens=settings.GEMINI_MAX_OUTPUT_TOKENS,
        temperature=0.2,
    )

    def send() -> RawReply:
        response = client.models.generate_content(model=settings.GEMINI_MODEL, contents=[video, prompt], config=config)
        usage = response.usage_metadata
        output_tokens = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0) if usage else 0
        return RawReply(
            text=response.text or "",
            input_tokens=(usage.prompt_token_count or 0) if usage else 0,
            output_tokens=output_tokens,
        )

    def parse(reply: RawReply) -> dict[str, Any]:
        if len(reply.text) > MAX_RAW_OUTPUT_CHARS:
            raise ProviderUnavailable(
                f"Gemini's answer is too large ({len(reply.text)} characters)", code="invalid_output"
            )
        try:
            data = json.loads(reply.text)
        except json.JSONDecodeError as exc:
            raise ProviderUnavailable(f"Gemini's answer is not JSON: {exc}", code="invalid_output") from exc
        return output_validate(AnalysisOutput, data, raw_size=len(reply.text))

    return provider_call(
        provider=PROVIDER,
        model=settings.GEMINI_MODEL,
        purpose="analysis",
        node_id=node_id,
        max_input_tokens=int(duration * VIDEO_TOKENS_PER_SECOND) + len(prompt) + 1000,
        max_output_tokens=settings.GEMINI_MAX_OUTPUT_TOKENS,
        send=send,
        parse=parse,
        is_retryable=is_retryable,
        prompt_version=version,
        request_key=request_key,
    )


def gemini_analysis_deadline_s() -> float:
    """The most a whole `gemini_analyze` can take: the upload, then the call."""
    return 2 * settings.AI_CALL_DEADLINE_S


# --- embeddings -------------------------------------------------------------------------------------------------------

# batchEmbedContents takes at most 100 contents per request.
GEMINI_BATCH = 100


def _token_estimate(text: str) -> int:
    """Gemini bills text tokens: about 4 characters each for Latin script, about 1 per Hangul syllable."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return max(1, math.ceil(ascii_chars / 4) + (len(text) - ascii_chars))


def _unit(values: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


def _gemini_batch(texts: list[str], node_id: int | None) -> list[list[float]]:
    client = gemini_client()
    model = settings.GEMINI_EMBEDDING_MODEL
    config = types.EmbedContentConfig(output_dimensionality=EMBEDDING_DIMENSIONS, task_type="SEMANTIC_SIMILARITY")
    estimate = sum(_token_estimate(t) for t in texts)

    def send() -> RawReply:
        response = client.models.embed_content(model=model, contents=texts, config=config)
        vectors = [list(e.values or []) for e in (response.embeddings or [])]
        # The Gemini API reports no usage for embeddings: the ledger gets the estimate.
        return RawReply(text="", input_tokens=estimate, output_tokens=0, data=vectors)

    def parse(reply: RawReply) -> dict[str, Any]:
        vectors = reply.data or []
        if len(vectors) != len(texts):
            raise ProviderUnavailable(
                f"Gemini returned {len(vectors)} embeddings for {len(texts)} texts.", code="invalid_output"
            )
        unit = []
        for vector in vectors:
            if len(vector) != EMBEDDING_DIMENSIONS:
                raise ProviderUnavailable(
                    f"Gemini returned a {len(vector)}-dimensional embedding, not {EMBEDDING_DIMENSIONS}.",
                    code="invalid_output",
                )
            if not all(math.isfinite(v) for v in vector) or not any(vector):
                raise ProviderUnavailable("Gemini returned a zero or non-finite embedding.", code="invalid_output")
            # Truncated (Matryoshka) outputs are not unit length; cosine search wants them to be.
            unit.append(_unit(vector))
        return {"vectors": unit}

    result = provider_call(
        provider=PROVIDER,
        model=model,
        purpose="embedding",
        node_id=node_id,
        max_input_tokens=sum(len(t) for t in texts) + len(texts),  # at most a token per character
        max_output_tokens=0,
        send=send,
        parse=parse,
        is_retryable=is_retryable,
    )
    return result.content["vectors"]


def gemini_embedding(texts: Sequence[str], node_ids: Sequence[int | None]) -> list[list[float]]:
    """Gemini embeddings of `texts` (unit length, EMBEDDING_DIMENSIONS), one budgeted, retried and ledgered
    call per GEMINI_BATCH texts. `node_ids` pairs each text with its node; the ledger names the node when a
    call embeds one. Raises ProviderUnavailable (not configured, budget, circuit, errors, bad output)."""
    if len(texts) != len(node_ids):
        raise ValueError("give one node id (or None) per text")
    if not gemini_configured():
        raise ProviderUnavailable("No GEMINI_API_KEY is configured.", code="not_configured")
    vectors: list[list[float]] = []
    for start in range(0, len(texts), GEMINI_BATCH):
        batch, ids = list(texts[start : start + GEMINI_BATCH]), list(node_ids[start : start + GEMINI_BATCH])
        vectors.extend(_gemini_batch(batch, ids[0] if len(ids) == 1 else None))
    return vectors
