"""Anthropic Claude (anthropic SDK): the Korean remix brief, as a forced tool call validated by schema."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import anthropic
from django.conf import settings

from kmeme.ai.calls import RawReply, provider_call
from kmeme.ai.prompts import prompt_render
from kmeme.ai.schemas import BriefOutput, output_validate
from kmeme.ai.scrub import scrub, scrub_text
from kmeme.ai.types import ProviderResult, ProviderUnavailable
from kmeme.deadline import deadline_client_args

PROVIDER = "anthropic"
TOOL_NAME = "remix_brief"


def claude_configured() -> bool:
    return bool(settings.ANTHROPIC_API_KEY)


@lru_cache(maxsize=8)
def _client(api_key: str, base_url: str, timeout_s: float) -> anthropic.Anthropic:
    # max_retries=0: tenacity in kmeme.ai.calls is the only retry layer. The transport holds every connection to
    # the call's total deadline (kmeme.deadline); `timeout` bounds each read within it.
    return anthropic.Anthropic(
        api_key=api_key,
        base_url=base_url or None,
        timeout=timeout_s,
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(**deadline_client_args()),
    )


def claude_client() -> anthropic.Anthropic:
    return _client(settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_BASE_URL, settings.AI_TIMEOUT_S)


def is_retryable(exc: BaseException) -> bool:
    # InternalServerError covers 5xx and 529 (overloaded); APIConnectionError covers timeouts.
    return isinstance(exc, (anthropic.RateLimitError, anthropic.InternalServerError, anthropic.APIConnectionError))


def claude_brief(
    *,
    node_id: int | None,
    title: str,
    analysis: dict[str, Any],
    editor_notes: str,
    personal_names: list[str],
    request_key: str = "",
) -> ProviderResult:
    """Write a remix brief from an analysis (and an editor's notes when regenerating). A retry with the same
    `request_key` reuses the answer already paid for (kmeme.ai.calls)."""
    if not claude_configured():
        raise ProviderUnavailable("No ANTHROPIC_API_KEY is configured.", code="not_configured")
    client = claude_client()
    version, prompt = prompt_render(
        "brief",
        bpm=analysis.get("bpm") or "(측정되지 않음, 120 가정)",
        duration=analysis.get("duration_s") or 15,
        category=analysis.get("commerce_category") or "none",
        analysis=json.dumps(scrub(analysis, names=personal_names), ensure_ascii=False),
        title=scrub_text(title, names=personal_names),
        notes=scrub_text(editor_notes, names=personal_names) or "없음",
    )
    tool = {
        "name": TOOL_NAME,
        "description": "Submit the Korean remix brief.",
        "input_schema": BriefOutput.model_json_schema(),
    }

    def send() -> RawReply:
        message = client.messages.create(
            model=settings.CLAUDE_MODEL,
            max_tokens=settings.CLAUDE_MAX_OUTPUT_TOKENS,
            tools=[tool],
            tool_choice={"type": "tool", "name": TOOL_NAME},
            messages=[{"role": "user", "content": prompt}],
        )
        data = next((block.input for block in message.content if block.type == "tool_use"), None)
        text = (
            json.dumps(data, ensure_ascii=False)
            if data is not None
            else "".join(getattr(block, "text", "") for block in message.content)
        )
        return RawReply(
            text=text, input_tokens=message.usage.input_tokens, output_tokens=message.usage.output_tokens, data=data
        )

    def parse(reply: RawReply) -> dict[str, Any]:
        if reply.data is None:
            raise ProviderUnavailable("Claude answered without calling the brief tool.", code="invalid_output")
        return output_validate(BriefOutput, reply.data, raw_size=len(reply.text))

    return provider_call(
        provider=PROVIDER,
        model=settings.CLAUDE_MODEL,
        purpose="brief",
        node_id=node_id,
        max_input_tokens=len(prompt) + len(json.dumps(tool)) + 500,
        max_output_tokens=settings.CLAUDE_MAX_OUTPUT_TOKENS,
        send=send,
        parse=parse,
        is_retryable=is_retryable,
        prompt_version=version,
        request_key=request_key,
    )
