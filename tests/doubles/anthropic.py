"""Loopback double of the Anthropic Messages API for the real `anthropic` client.

Wire format as anthropic 2.x sends it (see anthropic/_client.py, _base_client.py, resources/messages):
`POST {base_url}/v1/messages` with headers `authorization: Bearer <api_key>` (2.x no longer sends `x-api-key`),
`anthropic-version` (2.12: "2026-10-21"), `content-type: application/json`, `x-stainless-retry-count` (0 on the
first attempt, n on the SDK's n-th retry) and `x-stainless-read-timeout`, and a JSON body
`{"max_tokens", "messages", "model", ...}`. Errors are `{"type": "error", "error": {"type", "message"},
"request_id"}` and are raised by status: 400 BadRequestError, 429 RateLimitError, 500 InternalServerError,
503 ServiceUnavailableError, 529 OverloadedError (all subclasses of APIStatusError; 5xx ones of
InternalServerError). Every answer carries a `request-id` header, which the SDK exposes as `.request_id`.
"""

from __future__ import annotations

import itertools
import json as _json
import re
import threading
from typing import Any

from . import server
from .server import HttpDouble, RecordedRequest, Reply

__all__ = ["ANTHROPIC_ERROR_TYPES", "AnthropicDouble", "anthropic_error_body", "message_body"]

# HTTP status -> error.type, per https://docs.anthropic.com/en/api/errors
ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_DEFAULT_MESSAGES = {
    "invalid_request_error": "messages: field required",
    "authentication_error": "invalid x-api-key",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "model: not found",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit.",
    "api_error": "Internal server error",
    "timeout_error": "Request timed out",
    "overloaded_error": "Overloaded",
}


def anthropic_error_body(
    status: int, message: str | None = None, error_type: str | None = None, request_id: str = "req_double_error"
) -> dict[str, Any]:
    kind = error_type or ANTHROPIC_ERROR_TYPES.get(status, "api_error")
    return {
        "type": "error",
        "error": {"type": kind, "message": message or _DEFAULT_MESSAGES.get(kind, "Error")},
        "request_id": request_id,
    }


def _as_text(text_or_obj: Any) -> str:
    return text_or_obj if isinstance(text_or_obj, str) else _json.dumps(text_or_obj, ensure_ascii=False)


def message_body(
    content: list[dict[str, Any]],
    *,
    model: str = "claude-haiku-4-5",
    input_tokens: int = 21,
    output_tokens: int = 43,
    stop_reason: str = "end_turn",
    message_id: str = "msg_double_0001",
    cache_read_input_tokens: int = 0,
    cache_creation_input_tokens: int = 0,
) -> dict[str, Any]:
    """A Message object as `POST /v1/messages` returns it."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": cache_creation_input_tokens,
            "cache_read_input_tokens": cache_read_input_tokens,
            "service_tier": "standard",
        },
    }


class AnthropicDouble(HttpDouble):
    """The Anthropic API double. Use it with::

        client = anthropic.Anthropic(api_key="test", base_url=anthropic_double.base_url, max_retries=0, timeout=5)

    Routes: "messages" (POST /v1/messages, also ?beta=true), "count_tokens" (POST /v1/messages/count_tokens).
    """

    def __init__(self) -> None:
        super().__init__("anthropic")
        self._ids = itertools.count(1)
        self._ids_lock = threading.Lock()
        self.default_message: Any = None  # set to text/obj to answer unscripted messages calls
        self.expected_api_key: str | None = None  # when set, other keys get 401 authentication_error
        self.route("messages", "POST", r"/v1/messages", self._default_message)
        self.route("count_tokens", "POST", r"/v1/messages/count_tokens", self._default_count_tokens)

    def _next_id(self, prefix: str) -> str:
        with self._ids_lock:
            return f"{prefix}_double_{next(self._ids):04d}"

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"request-id": self._next_id("req"), "anthropic-organization-id": "org-double", **(extra or {})}

    def _message_reply(
        self,
        content: list[dict[str, Any]],
        *,
        input_tokens: int,
        output_tokens: int,
        stop_reason: str,
        model: str | None,
        headers: dict[str, str] | None,
    ) -> server.Responder:
        def respond(request: RecordedRequest, match: re.Match[str]) -> Reply:
            requested = (request.json or {}).get("model") if isinstance(request.json, dict) else None
            body = message_body(
                content,
                model=model or requested or "claude-haiku-4-5",
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                stop_reason=stop_reason,
                message_id=self._next_id("msg"),
            )
            return server.json(200, body, self._headers(headers))

        return respond

    def client(self, *, timeout: float = 5.0, max_retries: int = 0) -> Any:
        """A real `anthropic.Anthropic` client pointed at this double, with SDK retries off by default."""
        import anthropic

        return anthropic.Anthropic(
            api_key="test-anthropic-key", base_url=self.base_url, max_retries=max_retries, timeout=timeout
        )

    # -- scripting helpers -------------------------------------------------------------------------------------------

    def script_message(
        self,
        text_or_obj: Any,
        *,
        input_tokens: int = 21,
        output_tokens: int = 43,
        stop_reason: str = "end_turn",
        model: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Queue one Message with a single text block; objects are json.dumps'ed into the text.
        `model` defaults to the model the request asked for."""
        content = [{"type": "text", "text": _as_text(text_or_obj)}]
        self.push(
            "messages",
            self._message_reply(
                content,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                stop_reason=stop_reason,
                model=model,
                headers=headers,
            ),
        )

    def script_tool_use(
        self,
        name: str,
        input_obj: dict[str, Any],
        *,
        text: str | None = None,
        tool_use_id: str | None = None,
        input_tokens: int = 21,
        output_tokens: int = 43,
        model: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Queue one Message whose content is a `tool_use` block (optionally preceded by a text block);
        stop_reason is "tool_use". `delay`: seconds before it is sent."""
        content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        content.append(
            {"type": "tool_use", "id": tool_use_id or self._next_id("toolu"), "name": name, "input": input_obj}
        )
        respond = self._message_reply(
            content,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            stop_reason="tool_use",
            model=model,
            headers=None,
        )
        self.push("messages", (lambda r, m: server.stall(delay, respond(r, m))) if delay else respond)

    def script_error(
        self,
        status: int,
        message: str | None = None,
        *,
        error_type: str | None = None,
        retry_after: float | int | None = None,
        headers: dict[str, str] | None = None,
        route: str = "messages",
        times: int = 1,
    ) -> None:
        """Queue `times` Anthropic-shaped errors: 400 invalid_request_error, 429 rate_limit_error (pass
        `retry_after` for the `retry-after` header), 500 api_error, 529 overloaded_error, ..."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra["retry-after"] = str(retry_after)
        for _ in range(times):
            request_id = self._next_id("req")
            body = anthropic_error_body(status, message, error_type, request_id=request_id)
            self.push(route, server.error(status, body, {**self._headers(extra), "request-id": request_id}))

    def script_malformed(
        self, raw: str = '{"id": "msg_double", "type": "message", "content": [', *, route: str = "messages"
    ) -> None:
        """Queue a 200 whose body is not valid JSON (served as application/json)."""
        self.push(route, server.text(200, raw, headers=self._headers()))

    def script_stall(self, seconds: float, *, route: str = "messages", then: Reply | None = None) -> None:
        """Queue an answer that arrives only after `seconds` (use more than the client timeout)."""
        self.push(route, server.stall(seconds, then))

    def script_huge(self, size_bytes: int = 8 << 20, **usage: Any) -> None:
        """Queue a valid Message whose text block is `size_bytes` characters long."""
        self.push(
            "messages",
            server.huge(
                size_bytes,
                lambda padding: message_body([{"type": "text", "text": padding}], **usage),
                headers=self._headers(),
            ),
        )

    # -- auth --------------------------------------------------------------------------------------------------------

    @staticmethod
    def api_key_of(request: RecordedRequest) -> str | None:
        """The key a request carried: anthropic 2.x sends `Authorization: Bearer <key>`, older SDKs `x-api-key`."""
        authorization = request.header("authorization") or ""
        if authorization.lower().startswith("bearer "):
            return authorization[7:]
        return request.header("x-api-key")

    def authorize(self, request: RecordedRequest) -> Reply | None:
        if self.expected_api_key is None or self.api_key_of(request) == self.expected_api_key:
            return None
        request_id = self._next_id("req")
        body = anthropic_error_body(401, "invalid x-api-key", request_id=request_id)
        return server.error(401, body, {**self._headers(), "request-id": request_id})

    # -- convenience readers -----------------------------------------------------------------------------------------

    @property
    def message_requests(self) -> list[RecordedRequest]:
        return self.requests_for("messages")

    # -- default responders ------------------------------------------------------------------------------------------

    def _default_message(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        if self.default_message is None:
            raise server.NoScriptedResponse("use script_message(...) / script_tool_use(...) or set default_message")
        content = [{"type": "text", "text": _as_text(self.default_message)}]
        return self._message_reply(
            content, input_tokens=21, output_tokens=43, stop_reason="end_turn", model=None, headers=None
        )(request, match)

    def _default_count_tokens(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        characters = len(_json.dumps((request.json or {}).get("messages", [])))
        return server.json(200, {"input_tokens": max(1, characters // 4)}, self._headers())
