"""Loopback double of the Gemini Developer API (generativelanguage, v1beta) for the real `google.genai` client.

Wire format as google-genai 3.x sends it (see google/genai/_api_client.py, models.py, files.py):

* every JSON call: `POST {base_url}/{api_version}/models/{model}:generateContent` etc. with headers
  `x-goog-api-key`, `Content-Type: application/json`, `x-goog-api-client`/`user-agent: google-genai-sdk/...` and,
  when HttpOptions.timeout is set, `X-Server-Timeout` (seconds). The API version is "v1" unless
  `HttpOptions(api_version="v1beta")` (or GOOGLE_GENAI_API_VERSION=beta) — routes accept any version.
* errors: any non-200 is read as `{"error": {"code", "message", "status"}}` and raised as
  `google.genai.errors.ClientError` (4xx) / `ServerError` (5xx), both `errors.APIError` with `.code`/`.status`.
* `client.models.embed_content` always calls `:batchEmbedContents` on the Gemini API (`{"requests": [...]}` ->
  `{"embeddings": [{"values": [...]}]}`); `:embedContent` is only used on Vertex, but is served too.
* `client.files.upload`: start request `POST /upload/{v}/files` (`X-Goog-Upload-Protocol: resumable`,
  `X-Goog-Upload-Command: start`, `X-Goog-Upload-Header-Content-Length/-Type`, body
  `{"file": {"display_name", "mime_type", "size_bytes"}}` — snake_case, unlike the other calls), answered
  with an `x-goog-upload-url` header (the SDK keeps its path+query but forces the base_url's scheme/host). Then one
  `POST` per 8 MiB chunk to that URL with `X-Goog-Upload-Command: upload[, finalize]` and `X-Goog-Upload-Offset`;
  every answer MUST carry `x-goog-upload-status` (`active` between chunks, `final` at the end) — without it the SDK
  re-sends the chunk after sleeping 1 s, 2 s, 4 s. The final answer's body is `{"file": {...File resource...}}`.
  `client.files.get(name="files/x")` -> `GET /{v}/files/x`.
"""

from __future__ import annotations

import hashlib
import itertools
import json as _json
import math
import re
import struct
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import server
from .server import HttpDouble, RecordedRequest, Reply

__all__ = [
    "GOOGLE_STATUS",
    "GeminiDouble",
    "StoredFile",
    "deterministic_vector",
    "generate_content_body",
    "google_error_body",
]

# HTTP status -> google.rpc.Code name, as the API puts it in error.status.
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_DEFAULT_MESSAGES = {
    400: "Request contains an invalid argument.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "The request timed out. Please try again.",
}

_VERSION = r"(?P<version>v1(?:alpha|beta)?)"
_MODEL = r"(?P<model>(?:models|tunedModels)/[^/:]+)"


def google_error_body(
    code: int,
    message: str | None = None,
    status: str | None = None,
    retry_delay: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`{"error": {"code", "message", "status"[, "details"]}}` as Google APIs return it. `retry_delay` (e.g. "7s")
    adds the google.rpc.RetryInfo detail a real 429 carries."""
    body: dict[str, Any] = {
        "code": code,
        "message": message or _DEFAULT_MESSAGES.get(code, "Error"),
        "status": status or GOOGLE_STATUS.get(code, "UNKNOWN"),
    }
    all_details = list(details or [])
    if retry_delay is not None:
        all_details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
    if all_details:
        body["details"] = all_details
    return {"error": body}


def _as_text(text_or_obj: Any) -> str:
    return text_or_obj if isinstance(text_or_obj, str) else _json.dumps(text_or_obj, ensure_ascii=False)


def generate_content_body(
    text_or_obj: Any,
    *,
    prompt_tokens: int = 12,
    output_tokens: int = 34,
    thoughts_tokens: int | None = None,
    finish_reason: str = "STOP",
    model_version: str = "gemini-2.5-flash",
    response_id: str = "resp-double-0001",
) -> dict[str, Any]:
    """A GenerateContentResponse as the v1beta REST API returns it (camelCase)."""
    usage: dict[str, Any] = {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": output_tokens,
        "totalTokenCount": prompt_tokens + output_tokens + (thoughts_tokens or 0),
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
    }
    if thoughts_tokens is not None:
        usage["thoughtsTokenCount"] = thoughts_tokens
    return {
        "candidates": [
            {
                "content": {"parts": [{"text": _as_text(text_or_obj)}], "role": "model"},
                "finishReason": finish_reason,
                "index": 0,
            }
        ],
        "usageMetadata": usage,
        "modelVersion": model_version,
        "responseId": response_id,
    }


def deterministic_vector(seed_text: str, dimension: int) -> list[float]:
    """A unit-length vector derived from `seed_text` (same text -> same vector, different text -> different one)."""
    raw: list[float] = []
    for block in itertools.count():
        digest = hashlib.sha256(f"{block}:{seed_text}".encode()).digest()
        raw.extend((value / 2**31) - 1.0 for value in struct.unpack(">8I", digest))
        if len(raw) >= dimension:
            break
    raw = raw[:dimension]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [round(v / norm, 6) for v in raw]


def _content_text(content: Any) -> str:
    if not isinstance(content, dict):
        return _json.dumps(content, sort_keys=True)
    return "".join(str(part.get("text", _json.dumps(part, sort_keys=True))) for part in content.get("parts", []))


def _field(resource: dict[str, Any], camel: str) -> Any:
    """Proto JSON accepts both spellings; google-genai 3.x sends the File in the upload start body as snake_case."""
    snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)
    return resource.get(camel, resource.get(snake))


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


@dataclass
class StoredFile:
    """A file created through the resumable upload protocol."""

    name: str  # "files/abc123"
    mime_type: str
    declared_size: int
    display_name: str | None = None
    data: bytearray = field(default_factory=bytearray)
    finalized: bool = False
    states: list[str] = field(default_factory=list)  # remaining GET states; the last one sticks
    state: str = "PROCESSING"
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    error_message: str = "File processing failed."

    @property
    def file_id(self) -> str:
        return self.name.split("/", 1)[1]

    def resource(self, base_url: str, version: str = "v1beta") -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "mimeType": self.mime_type,
            "sizeBytes": str(len(self.data)),
            "createTime": _rfc3339(self.created),
            "updateTime": _rfc3339(self.created),
            "expirationTime": _rfc3339(self.created + timedelta(hours=48)),
            "sha256Hash": hashlib.sha256(bytes(self.data)).hexdigest(),
            "uri": f"{base_url}/{version}/{self.name}",
            "state": self.state,
            "source": "UPLOADED",
        }
        if self.display_name:
            body["displayName"] = self.display_name
        if self.state == "FAILED":
            body["error"] = {"code": 400, "message": self.error_message}
        return body


class GeminiDouble(HttpDouble):
    """The Gemini API double. Use it with::

        client = genai.Client(api_key="test", http_options=types.HttpOptions(
            base_url=gemini_double.base_url, api_version="v1beta", timeout=5_000))

    Routes (names for `push`/`requests_for`): "generate", "stream_generate", "count_tokens", "embed" (batch),
    "embed_single", "files.create", "files.upload", "files.get", "files.list", "files.delete".
    """

    def __init__(self, *, embedding_dimension: int = 768) -> None:
        super().__init__("gemini")
        self.embedding_dimension = embedding_dimension
        self.files: dict[str, StoredFile] = {}
        self._files_lock = threading.Lock()
        self._file_ids = itertools.count(1)
        self._upload_sessions: dict[str, StoredFile] = {}
        self._next_file_states: list[str] | None = None
        self._next_error_message: str | None = None
        self.default_file_states: list[str] = ["ACTIVE"]
        self.default_generate: Any = None  # set to text/obj to answer unscripted generateContent calls
        self.expected_api_key: str | None = None  # when set, other keys get 400 API_KEY_INVALID like the real API

        self.route("generate", "POST", rf"/{_VERSION}/{_MODEL}:generateContent", self._default_generate)
        self.route("stream_generate", "POST", rf"/{_VERSION}/{_MODEL}:streamGenerateContent")
        self.route("count_tokens", "POST", rf"/{_VERSION}/{_MODEL}:countTokens", self._default_count_tokens)
        self.route("embed", "POST", rf"/{_VERSION}/{_MODEL}:batchEmbedContents", self._default_batch_embed)
        self.route("embed_single", "POST", rf"/{_VERSION}/{_MODEL}:embedContent", self._default_embed_single)
        self.route(
            "files.create",
            "POST",
            rf"/upload/{_VERSION}/files",
            self._files_create,
            headers={"x-goog-upload-command": r"^\s*start\s*$"},
        )
        self.route(
            "files.upload",
            "POST",
            rf"/upload/{_VERSION}/files",
            self._files_upload,
            headers={"x-goog-upload-command": r"upload|finalize"},
        )
        self.route("files.get", "GET", rf"/{_VERSION}/files/(?P<file_id>[^/:]+)", self._files_get)
        self.route("files.list", "GET", rf"/{_VERSION}/files", self._files_list)
        self.route("files.delete", "DELETE", rf"/{_VERSION}/files/(?P<file_id>[^/:]+)", self._files_delete)

    def client(
        self, *, timeout_ms: int = 5_000, retry_attempts: int | None = None, api_version: str | None = "v1beta"
    ) -> Any:
        """A real `google.genai.Client` pointed at this double. `retry_attempts=None` leaves HttpOptions.retry_options
        unset, which in google-genai 3.x means a single attempt (no SDK retries)."""
        from google import genai
        from google.genai import types

        retry = types.HttpRetryOptions(attempts=retry_attempts) if retry_attempts is not None else None
        return genai.Client(
            vertexai=False,
            api_key="test-gemini-key",
            http_options=types.HttpOptions(
                base_url=self.base_url, api_version=api_version, timeout=timeout_ms, retry_options=retry
            ),
        )

    # -- scripting helpers -------------------------------------------------------------------------------------------

    def script_generate(
        self,
        text_or_obj: Any,
        *,
        prompt_tokens: int = 12,
        output_tokens: int = 34,
        thoughts_tokens: int | None = None,
        finish_reason: str = "STOP",
        model_version: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Queue one successful generateContent answer; objects are json.dumps'ed into the text part.
        `model_version` defaults to the model in the request path."""

        def respond(request: RecordedRequest, match: re.Match[str]) -> Reply:
            return server.json(
                200,
                generate_content_body(
                    text_or_obj,
                    prompt_tokens=prompt_tokens,
                    output_tokens=output_tokens,
                    thoughts_tokens=thoughts_tokens,
                    finish_reason=finish_reason,
                    model_version=model_version or match["model"].split("/", 1)[1],
                ),
                headers,
            )

        self.push("generate", respond)

    def script_stream(
        self,
        chunks: list[str],
        *,
        prompt_tokens: int = 12,
        output_tokens: int = 34,
        model_version: str = "gemini-2.5-flash",
    ) -> None:
        """Queue a `streamGenerateContent?alt=sse` answer: one SSE event per text chunk, usage on the last one."""
        events = []
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            body = generate_content_body(
                chunk,
                prompt_tokens=prompt_tokens,
                output_tokens=output_tokens,
                model_version=model_version,
            )
            if not last:
                del body["candidates"][0]["finishReason"]
                body["usageMetadata"] = {"promptTokenCount": prompt_tokens}
            events.append(f"data: {_json.dumps(body)}\r\n\r\n")
        self.push("stream_generate", server.text(200, "".join(events), "text/event-stream"))

    def script_error(
        self,
        status: int,
        message: str | None = None,
        *,
        route: str = "generate",
        retry_delay: str | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Queue `times` Google-shaped errors, e.g. 429 RESOURCE_EXHAUSTED, 500 INTERNAL, 503 UNAVAILABLE."""
        extra = dict(headers or {})
        if route == "files.upload":
            extra.setdefault("X-Goog-Upload-Status", "final")  # otherwise the SDK re-sends the chunk 3x with sleeps
        for _ in range(times):
            self.push(route, server.error(status, google_error_body(status, message, retry_delay=retry_delay), extra))

    def script_malformed(
        self, raw: str = '{"candidates": [{"content": {"parts": [{"text": "', *, route: str = "generate"
    ) -> None:
        """Queue a 200 whose body is not valid JSON (served as application/json)."""
        self.push(route, server.text(200, raw))

    def script_stall(self, seconds: float, *, route: str = "generate", then: Reply | None = None) -> None:
        """Queue an answer that arrives only after `seconds` (use more than the client timeout)."""
        self.push(route, server.stall(seconds, then))

    def script_huge(self, size_bytes: int = 8 << 20, **usage: Any) -> None:
        """Queue a valid generateContent answer whose text part is `size_bytes` characters long."""
        self.push("generate", server.huge(size_bytes, lambda padding: generate_content_body(padding, **usage)))

    def script_embeddings(self, *vectors: list[float], route: str = "embed") -> None:
        """Queue one embedding answer with exactly these vectors (one per requested content)."""
        if route == "embed_single":
            self.push(route, server.json(200, {"embedding": {"values": list(vectors[0])}}))
        else:
            self.push(route, server.json(200, {"embeddings": [{"values": list(v)} for v in vectors]}))

    def script_file_states(self, *states: str, file: str | None = None, error_message: str | None = None) -> None:
        """States that successive `files.get` calls report, e.g. ("PROCESSING", "PROCESSING", "ACTIVE") or
        ("PROCESSING", "FAILED"); the last one sticks. Without `file` it applies to the next uploaded file."""
        if not states:
            raise ValueError("give at least one state")
        with self._files_lock:
            if file is None:
                self._next_file_states = list(states)
                self._next_error_message = error_message
                return
            stored = self.files[file if file.startswith("files/") else f"files/{file}"]
            stored.states = list(states)
            if error_message:
                stored.error_message = error_message

    # -- auth --------------------------------------------------------------------------------------------------------

    def authorize(self, request: RecordedRequest) -> Reply | None:
        if self.expected_api_key is None or request.route == "files.upload":  # the upload URL itself authorises chunks
            return None
        key = request.header("x-goog-api-key") or request.query_value("key")
        if key == self.expected_api_key:
            return None
        reason = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
        }
        body = google_error_body(400, "API key not valid. Please pass a valid API key.", details=[reason])
        return server.error(400, body)

    # -- convenience readers -----------------------------------------------------------------------------------------

    @property
    def generate_requests(self) -> list[RecordedRequest]:
        return self.requests_for("generate")

    def uploaded_bytes(self, name: str) -> bytes:
        return bytes(self.files[name if name.startswith("files/") else f"files/{name}"].data)

    # -- default responders ------------------------------------------------------------------------------------------

    def _default_generate(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        if self.default_generate is None:
            raise server.NoScriptedResponse("use script_generate(...) or set default_generate")
        return server.json(
            200, generate_content_body(self.default_generate, model_version=match["model"].split("/", 1)[1])
        )

    def _default_count_tokens(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        contents = (request.json or {}).get("contents", [])
        characters = sum(len(_content_text(c)) for c in contents)
        return server.json(200, {"totalTokens": max(1, characters // 4)})

    def _dimension(self, entry: dict[str, Any]) -> int:
        return int(entry.get("outputDimensionality") or self.embedding_dimension)

    def _default_batch_embed(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        entries = (request.json or {}).get("requests", [])
        embeddings = [
            {"values": deterministic_vector(_content_text(e.get("content")), self._dimension(e))} for e in entries
        ]
        return server.json(200, {"embeddings": embeddings})

    def _default_embed_single(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        body = request.json or {}
        values = deterministic_vector(_content_text(body.get("content")), self._dimension(body))
        return server.json(200, {"embedding": {"values": values}})

    def _files_create(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        wanted = ((request.json or {}).get("file") or {}) if isinstance(request.json, dict) else {}
        with self._files_lock:
            name = wanted.get("name") or f"files/double-{next(self._file_ids):04d}"
            if name in self.files:
                return server.error(409, google_error_body(409, f"File {name} already exists."))
            stored = StoredFile(
                name=name,
                mime_type=request.header("x-goog-upload-header-content-type") or _field(wanted, "mimeType") or "",
                declared_size=int(request.header("x-goog-upload-header-content-length") or 0),
                display_name=_field(wanted, "displayName"),
                states=list(self._next_file_states or self.default_file_states),
            )
            if self._next_file_states is not None and self._next_error_message:
                stored.error_message = self._next_error_message
            self._next_file_states = None
            self._next_error_message = None
            self.files[name] = stored
            session = f"upload-{stored.file_id}"
            self._upload_sessions[session] = stored
        upload_url = f"{self.base_url}/upload/{match['version']}/files?upload_id={session}&upload_protocol=resumable"
        return Reply(
            status=200,
            headers={
                "X-Goog-Upload-URL": upload_url,
                "X-Goog-Upload-Status": "active",
                "X-Goog-Upload-Chunk-Granularity": "8388608",
                "Content-Type": "text/plain; charset=utf-8",
            },
        )

    def _files_upload(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        session = request.query_value("upload_id") or ""
        command = (request.header("x-goog-upload-command") or "").lower()
        final_headers = {"X-Goog-Upload-Status": "final"}
        with self._files_lock:
            stored = self._upload_sessions.get(session)
            if stored is None or stored.finalized:
                return server.error(404, google_error_body(404, f"Unknown upload session {session!r}."), final_headers)
            offset = int(request.header("x-goog-upload-offset") or 0)
            if offset != len(stored.data):
                return server.error(
                    400,
                    google_error_body(400, f"Upload offset {offset} does not match {len(stored.data)} bytes received."),
                    final_headers,
                )
            stored.data.extend(request.body)
            if "finalize" not in command:
                return Reply(status=200, headers={"X-Goog-Upload-Status": "active", "Content-Length": "0"})
            stored.finalized = True
            stored.state = "PROCESSING"
            resource = stored.resource(self.base_url, match["version"])
        return server.json(200, {"file": resource}, final_headers)

    def _lookup(self, file_id: str) -> StoredFile | None:
        return self.files.get(f"files/{file_id}")

    def _files_get(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        with self._files_lock:
            stored = self._lookup(match["file_id"])
            if stored is None or not stored.finalized:
                return server.error(
                    403,
                    google_error_body(
                        403,
                        f"You do not have permission to access the File {match['file_id']} or it may not exist.",
                    ),
                )
            if stored.states:
                stored.state = stored.states.pop(0) if len(stored.states) > 1 else stored.states[0]
            resource = stored.resource(self.base_url, match["version"])
        return server.json(200, resource)

    def _files_list(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        with self._files_lock:
            files = [f.resource(self.base_url, match["version"]) for f in self.files.values() if f.finalized]
        return server.json(200, {"files": files} if files else {})

    def _files_delete(self, request: RecordedRequest, match: re.Match[str]) -> Reply:
        with self._files_lock:
            stored = self.files.pop(f"files/{match['file_id']}", None)
        if stored is None:
            return server.error(
                403,
                google_error_body(
                    403, f"You do not have permission to access the File {match['file_id']} or it may not exist."
                ),
            )
        return server.json(200, {})
