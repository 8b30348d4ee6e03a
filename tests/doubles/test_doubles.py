"""The real google-genai and anthropic SDKs against the loopback doubles — no SDK method is patched.

These tests pin down, for the installed SDK versions, what each provider error looks like from the caller's side:

=================  ==========================================  =====================================================
situation          google-genai 3.x                            anthropic 2.x (max_retries=0)
=================  ==========================================  =====================================================
429                errors.ClientError (code 429,               RateLimitError (status_code 429; `retry-after` on
                   status RESOURCE_EXHAUSTED)                  .response.headers)
500                errors.ServerError (code 500, INTERNAL)     InternalServerError (status_code 500)
503                errors.ServerError (code 503, UNAVAILABLE)  ServiceUnavailableError (subclass of InternalServerError)
529                errors.ServerError (code 529)               OverloadedError (subclass of InternalServerError, 529)
400                errors.ClientError (code 400)               BadRequestError
timeout            httpx2.ReadTimeout (NOT wrapped; genai      APITimeoutError (subclass of APIConnectionError)
                   uses httpx2 — the `httpx` package is not
                   installed)
connection drop    httpx2.RemoteProtocolError                  APIConnectionError
200 + bad JSON     json.JSONDecodeError (a ValueError; not     json.JSONDecodeError (a ValueError; not wrapped)
                   errors.UnknownApiResponseError)
non-JSON 5xx body  errors.ServerError, .message = raw text      InternalServerError, .body = raw text
=================  ==========================================  =====================================================

google-genai retries: `HttpOptions.retry_options` unset (None) means ONE attempt in google-genai 3.x; an empty
`HttpRetryOptions()` means 5 attempts (1 s, 2 s, 4 s, 8 s backoff) on 408/429/500/502/503/504 and on
httpx2 TimeoutException/ConnectError. To make our own tenacity layer the only one, say so explicitly:
`types.HttpOptions(retry_options=types.HttpRetryOptions(attempts=1), timeout=<ms>)` (attempts 0 is treated as 1).
Anthropic: `anthropic.Anthropic(max_retries=0)` (the default is 2, honouring `retry-after`/`retry-after-ms`).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import anthropic
import httpx2
import pydantic
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.doubles import server
from tests.doubles.anthropic import AnthropicDouble
from tests.doubles.gemini import GeminiDouble, deterministic_vector

GEMINI_MODEL = "gemini-2.5-flash"
CLAUDE_MODEL = "claude-haiku-4-5"


class Recipe(pydantic.BaseModel):
    title: str
    beats: list[str]


# -- Gemini --------------------------------------------------------------------------------------------------------


def test_generate_content_returns_scripted_json_and_usage(gemini_double: GeminiDouble, gemini_client) -> None:
    gemini_double.script_generate({"title": "밈", "beats": ["hook", "twist"]}, prompt_tokens=120, output_tokens=45)

    response = gemini_client.models.generate_content(
        model=GEMINI_MODEL,
        contents="Remix this clip",
        config=types.GenerateContentConfig(
            system_instruction="You are a Korean meme editor.",
            response_mime_type="application/json",
            response_schema=Recipe,
            temperature=0.4,
        ),
    )

    assert json.loads(response.text) == {"title": "밈", "beats": ["hook", "twist"]}
    assert response.parsed == Recipe(title="밈", beats=["hook", "twist"])
    assert response.usage_metadata.prompt_token_count == 120
    assert response.usage_metadata.candidates_token_count == 45
    assert response.usage_metadata.total_token_count == 165
    assert response.model_version == GEMINI_MODEL
    assert response.candidates[0].finish_reason == types.FinishReason.STOP

    [sent] = gemini_double.generate_requests
    assert sent.path == f"/v1beta/models/{GEMINI_MODEL}:generateContent"
    assert sent.header("x-goog-api-key") == "test-gemini-key"
    assert sent.header("x-server-timeout") == "5"
    assert sent.json["contents"] == [{"parts": [{"text": "Remix this clip"}], "role": "user"}]
    assert sent.json["systemInstruction"]["parts"] == [{"text": "You are a Korean meme editor."}]
    config = sent.json["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["temperature"] == 0.4
    assert config["responseSchema"]["type"] == "OBJECT"
    assert set(config["responseSchema"]["properties"]) == {"title", "beats"}

    gemini_double.script_generate({"title": "t", "beats": []})
    gemini_client.models.generate_content(
        model=GEMINI_MODEL,
        contents="again",
        config=types.GenerateContentConfig(
            response_mime_type="application/json", response_json_schema=Recipe.model_json_schema()
        ),
    )
    config = gemini_double.generate_requests[-1].json["generationConfig"]
    assert config["responseJsonSchema"] == Recipe.model_json_schema()  # passed through untouched
    gemini_double.assert_no_failures()


@pytest.mark.parametrize(
    ("status", "exc_type", "google_status"),
    [
        (400, genai_errors.ClientError, "INVALID_ARGUMENT"),
        (429, genai_errors.ClientError, "RESOURCE_EXHAUSTED"),
        (500, genai_errors.ServerError, "INTERNAL"),
        (503, genai_errors.ServerError, "UNAVAILABLE"),
    ],
)
def test_generate_content_errors_are_google_shaped(
    gemini_double: GeminiDouble, gemini_client, status: int, exc_type: type, google_status: str
) -> None:
    gemini_double.script_error(status, "quota says no", retry_delay="7s" if status == 429 else None)

    with pytest.raises(exc_type) as caught:
        gemini_client.models.generate_content(model=GEMINI_MODEL, contents="hi")

    assert isinstance(caught.value, genai_errors.APIError)
    assert caught.value.code == status
    assert caught.value.status == google_status
    assert caught.value.message == "quota says no"
    if status == 429:
        [detail] = caught.value.details["error"]["details"]
        assert detail["retryDelay"] == "7s"
    assert len(gemini_double.generate_requests) == 1


def test_gemini_429_then_success_is_two_requests_when_the_caller_retries(gemini_double: GeminiDouble) -> None:
    gemini_double.script_error(429)
    gemini_double.script_generate("second time lucky")
    client = gemini_double.client(retry_attempts=1)  # HttpRetryOptions(attempts=1): the SDK never retries

    attempts = 0
    for _ in range(3):  # stands in for our tenacity layer
        attempts += 1
        try:
            response = client.models.generate_content(model=GEMINI_MODEL, contents="hi")
            break
        except genai_errors.ClientError as exc:
            assert exc.code == 429
    client.close()

    assert response.text == "second time lucky"
    assert attempts == 2
    assert len(gemini_double.generate_requests) == 2


def test_gemini_sdk_does_not_retry_by_default_but_can_be_told_to(gemini_double: GeminiDouble) -> None:
    default_client = gemini_double.client()  # retry_options unset -> single attempt in google-genai 3.x
    gemini_double.script_error(503)
    with pytest.raises(genai_errors.ServerError):
        default_client.models.generate_content(model=GEMINI_MODEL, contents="hi")
    assert len(gemini_double.generate_requests) == 1
    default_client.close()

    retrying = genai.Client(
        api_key="test",
        http_options=types.HttpOptions(
            base_url=gemini_double.base_url,
            api_version="v1beta",
            timeout=5_000,
            retry_options=types.HttpRetryOptions(attempts=2, initial_delay=0.01, jitter=0),
        ),
    )
    gemini_double.script_error(429)
    gemini_double.script_generate("after one SDK retry")
    response = retrying.models.generate_content(model=GEMINI_MODEL, contents="hi")
    retrying.close()
    assert response.text == "after one SDK retry"
    assert len(gemini_double.generate_requests) == 3


def test_gemini_stall_longer_than_timeout_raises_httpx2_read_timeout(gemini_double: GeminiDouble) -> None:
    gemini_double.script_stall(5)
    client = gemini_double.client(timeout_ms=300, retry_attempts=1)

    started = time.monotonic()
    with pytest.raises(httpx2.ReadTimeout):
        client.models.generate_content(model=GEMINI_MODEL, contents="hi")
    client.close()

    assert time.monotonic() - started < 2
    assert gemini_double.last_request(":generateContent").header("x-server-timeout") == "1"


def test_gemini_malformed_json_raises_json_decode_error(gemini_double: GeminiDouble, gemini_client) -> None:
    gemini_double.script_malformed()
    with pytest.raises(json.JSONDecodeError):
        gemini_client.models.generate_content(model=GEMINI_MODEL, contents="hi")

    gemini_double.push("generate", server.text(502, "<html>Bad Gateway</html>", "text/html"))
    with pytest.raises(genai_errors.ServerError) as caught:
        gemini_client.models.generate_content(model=GEMINI_MODEL, contents="hi")
    assert caught.value.code == 502
    assert caught.value.message == "<html>Bad Gateway</html>"


def test_gemini_dropped_connection_raises_httpx2_protocol_error(gemini_double: GeminiDouble, gemini_client) -> None:
    gemini_double.push("generate", server.drop())
    with pytest.raises(httpx2.RemoteProtocolError):
        gemini_client.models.generate_content(model=GEMINI_MODEL, contents="hi")


def test_gemini_huge_response_is_read_whole(gemini_double: GeminiDouble, gemini_client) -> None:
    gemini_double.script_huge(6 << 20, output_tokens=60_000)
    response = gemini_client.models.generate_content(model=GEMINI_MODEL, contents="hi")
    assert len(response.text) == 6 << 20
    assert response.usage_metadata.candidates_token_count == 60_000


def test_gemini_stream_generate(gemini_double: GeminiDouble, gemini_client) -> None:
    gemini_double.script_stream(["안녕", "하세요"], prompt_tokens=3, output_tokens=4)
    chunks = list(gemini_client.models.generate_content_stream(model=GEMINI_MODEL, contents="hi"))
    assert "".join(c.text for c in chunks) == "안녕하세요"
    assert chunks[-1].usage_metadata.candidates_token_count == 4
    assert gemini_double.requests_for("stream_generate")[0].query == {"alt": ["sse"]}


def test_file_upload_sends_bytes_and_get_reports_scripted_states(
    gemini_double: GeminiDouble, gemini_client, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.mp4"
    payload = bytes(range(256)) * 400
    clip.write_bytes(payload)
    gemini_double.script_file_states("PROCESSING", "PROCESSING", "ACTIVE")

    uploaded = gemini_client.files.upload(file=clip, config={"display_name": "source clip"})

    assert uploaded.state == types.FileState.PROCESSING
    assert uploaded.mime_type == "video/mp4"
    assert uploaded.size_bytes == len(payload)
    assert uploaded.display_name == "source clip"
    assert uploaded.uri == f"{gemini_double.base_url}/v1beta/{uploaded.name}"
    assert gemini_double.uploaded_bytes(uploaded.name) == payload

    [start] = gemini_double.requests_for("files.create")
    assert start.path == "/upload/v1beta/files"
    assert start.header("x-goog-upload-protocol") == "resumable"
    assert start.header("x-goog-upload-command") == "start"
    assert start.header("x-goog-upload-header-content-length") == str(len(payload))
    assert start.header("x-goog-upload-header-content-type") == "video/mp4"
    assert start.header("x-goog-api-key") == "test-gemini-key"
    assert start.json == {"file": {"display_name": "source clip", "mime_type": "video/mp4", "size_bytes": len(payload)}}
    [chunk] = gemini_double.requests_for("files.upload")
    assert chunk.header("x-goog-upload-command") == "upload, finalize"
    assert chunk.header("x-goog-upload-offset") == "0"

    states = [gemini_client.files.get(name=uploaded.name).state for _ in range(4)]
    assert states == [types.FileState.PROCESSING] * 2 + [types.FileState.ACTIVE] * 2
    assert len(gemini_double.requests_to(f"/v1beta/{uploaded.name}", method="GET")) == 4

    gemini_double.script_generate("a cat dancing")
    gemini_client.models.generate_content(
        model=GEMINI_MODEL,
        contents=[types.Part.from_uri(file_uri=uploaded.uri, mime_type=uploaded.mime_type), "Describe it"],
    )
    parts = gemini_double.generate_requests[-1].json["contents"][0]["parts"]
    # google-genai 3.4 writes fileData's inner keys in snake_case (file_uri, mime_type); proto JSON accepts both.
    file_data = {key.replace("_", "").lower(): value for key, value in parts[0]["fileData"].items()}
    assert file_data == {"fileuri": uploaded.uri, "mimetype": "video/mp4"}


def test_file_processing_can_fail_and_large_files_upload_in_chunks(
    gemini_double: GeminiDouble, gemini_client, tmp_path: Path
) -> None:
    big = tmp_path / "long.mp4"
    payload = b"\x5a" * ((8 << 20) + 1234)  # the SDK uploads in 8 MiB chunks
    big.write_bytes(payload)
    gemini_double.script_file_states("PROCESSING", "FAILED", error_message="Video codec not supported.")

    uploaded = gemini_client.files.upload(file=str(big))

    chunks = gemini_double.requests_for("files.upload")
    assert [c.header("x-goog-upload-command") for c in chunks] == ["upload", "upload, finalize"]
    assert [c.header("x-goog-upload-offset") for c in chunks] == ["0", str(8 << 20)]
    assert gemini_double.uploaded_bytes(uploaded.name) == payload
    assert gemini_client.files.get(name=uploaded.name).state == types.FileState.PROCESSING
    failed = gemini_client.files.get(name=uploaded.name)
    assert failed.state == types.FileState.FAILED
    assert failed.error.message == "Video codec not supported."

    with pytest.raises(genai_errors.ClientError) as caught:
        gemini_client.files.get(name="files/missing")
    assert caught.value.code == 403


def test_embed_content_returns_vectors(gemini_double: GeminiDouble, gemini_client) -> None:
    result = gemini_client.models.embed_content(
        model="gemini-embedding-001",
        contents=["짤 하나", "짤 둘"],
        config=types.EmbedContentConfig(output_dimensionality=16, task_type="SEMANTIC_SIMILARITY"),
    )

    assert [e.values for e in result.embeddings] == [
        deterministic_vector("짤 하나", 16),
        deterministic_vector("짤 둘", 16),
    ]
    [sent] = gemini_double.requests_for("embed")
    assert sent.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert sent.json["requests"][0] == {
        "content": {"parts": [{"text": "짤 하나"}], "role": "user"},
        "model": "models/gemini-embedding-001",
        "outputDimensionality": 16,
        "taskType": "SEMANTIC_SIMILARITY",
    }

    gemini_double.script_embeddings([0.5, -0.5, 0.25])
    scripted = gemini_client.models.embed_content(model="gemini-embedding-001", contents="x")
    assert scripted.embeddings[0].values == [0.5, -0.5, 0.25]


def test_unscripted_or_unauthorised_gemini_calls_fail_loudly(gemini_double: GeminiDouble, gemini_client) -> None:
    with pytest.raises(genai_errors.ServerError) as caught:
        gemini_client.models.generate_content(model=GEMINI_MODEL, contents="hi")
    assert "no scripted response" in caught.value.message
    assert "no scripted response" in gemini_double.failures[0]

    gemini_double.expected_api_key = "the-real-key"
    gemini_double.script_generate("never seen")
    with pytest.raises(genai_errors.ClientError) as caught:
        gemini_client.models.generate_content(model=GEMINI_MODEL, contents="hi")
    assert caught.value.code == 400
    assert "API key not valid" in caught.value.message


# -- Anthropic -----------------------------------------------------------------------------------------------------


def test_messages_create_returns_text_and_usage(anthropic_double: AnthropicDouble, anthropic_client) -> None:
    anthropic_double.script_message({"title": "밈", "beats": ["hook"]}, input_tokens=321, output_tokens=54)

    message = anthropic_client.messages.create(
        model=CLAUDE_MODEL,
        max_tokens=512,
        system="You are a Korean meme editor.",
        messages=[{"role": "user", "content": "Remix this clip"}],
    )

    assert json.loads(message.content[0].text) == {"title": "밈", "beats": ["hook"]}
    assert message.usage.input_tokens == 321
    assert message.usage.output_tokens == 54
    assert message.stop_reason == "end_turn"
    assert message.model == CLAUDE_MODEL
    assert message.role == "assistant"

    [sent] = anthropic_double.message_requests
    assert sent.path == "/v1/messages"
    assert AnthropicDouble.api_key_of(sent) == "test-anthropic-key"
    assert sent.header("anthropic-version")
    assert sent.header("x-stainless-retry-count") == "0"
    assert sent.json == {
        "max_tokens": 512,
        "messages": [{"role": "user", "content": "Remix this clip"}],
        "model": CLAUDE_MODEL,
        "system": "You are a Korean meme editor.",
    }


def test_messages_parse_and_tool_use(anthropic_double: AnthropicDouble, anthropic_client) -> None:
    anthropic_double.script_message({"title": "t", "beats": ["a", "b"]})
    parsed = anthropic_client.messages.parse(
        model=CLAUDE_MODEL, max_tokens=256, messages=[{"role": "user", "content": "go"}], output_format=Recipe
    )
    assert parsed.parsed_output == Recipe(title="t", beats=["a", "b"])
    assert anthropic_double.message_requests[-1].json["output_config"]["format"]["type"] == "json_schema"

    anthropic_double.script_tool_use("emit_recipe", {"title": "t", "beats": []}, text="Here you go")
    message = anthropic_client.messages.create(
        model=CLAUDE_MODEL,
        max_tokens=256,
        messages=[{"role": "user", "content": "go"}],
        tools=[{"name": "emit_recipe", "description": "Emit", "input_schema": Recipe.model_json_schema()}],
        tool_choice={"type": "tool", "name": "emit_recipe"},
    )
    assert message.stop_reason == "tool_use"
    tool_use = message.content[1]
    assert (tool_use.type, tool_use.name, tool_use.input) == ("tool_use", "emit_recipe", {"title": "t", "beats": []})
    assert anthropic_double.message_requests[-1].json["tool_choice"] == {"type": "tool", "name": "emit_recipe"}


@pytest.mark.parametrize(
    ("status", "exc_type", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_anthropic_errors_raise_status_errors(
    anthropic_double: AnthropicDouble, anthropic_client, status: int, exc_type: type, error_type: str
) -> None:
    anthropic_double.script_error(status, "nope", retry_after=17 if status == 429 else None)

    with pytest.raises(exc_type) as caught:
        anthropic_client.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=[{"role": "user", "content": "x"}])

    error = caught.value
    assert isinstance(error, anthropic.APIStatusError)
    assert error.status_code == status
    assert error.body["error"] == {"type": error_type, "message": "nope"}
    assert error.request_id == error.body["request_id"]
    if status >= 500:
        assert isinstance(error, anthropic.InternalServerError)
    if status == 429:
        assert error.response.headers["retry-after"] == "17"
    assert len(anthropic_double.message_requests) == 1  # max_retries=0


def test_anthropic_sdk_retries_are_visible_when_enabled(anthropic_double: AnthropicDouble) -> None:
    anthropic_double.script_error(529, headers={"retry-after-ms": "10"})
    anthropic_double.script_message("ok")
    client = anthropic_double.client(max_retries=1)
    assert client.messages.create(model=CLAUDE_MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}])
    client.close()
    assert [r.header("x-stainless-retry-count") for r in anthropic_double.message_requests] == ["0", "1"]


def test_anthropic_timeout_malformed_and_dropped_connection(anthropic_double: AnthropicDouble) -> None:
    client = anthropic_double.client(timeout=0.3)
    ask = {"model": CLAUDE_MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}

    anthropic_double.script_stall(5)
    started = time.monotonic()
    with pytest.raises(anthropic.APITimeoutError):
        client.messages.create(**ask)
    assert time.monotonic() - started < 2

    anthropic_double.script_malformed()
    with pytest.raises(json.JSONDecodeError):
        client.messages.create(**ask)

    anthropic_double.push("messages", server.text(502, "<html>Bad Gateway</html>", "text/html"))
    with pytest.raises(anthropic.InternalServerError) as caught:
        client.messages.create(**ask)
    assert caught.value.body == "<html>Bad Gateway</html>"

    anthropic_double.push("messages", server.drop())
    with pytest.raises(anthropic.APIConnectionError):
        client.messages.create(**ask)
    client.close()


def test_anthropic_huge_response_and_auth(anthropic_double: AnthropicDouble, anthropic_client) -> None:
    anthropic_double.script_huge(4 << 20, output_tokens=9_000)
    message = anthropic_client.messages.create(
        model=CLAUDE_MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}]
    )
    assert len(message.content[0].text) == 4 << 20
    assert message.usage.output_tokens == 9_000

    anthropic_double.expected_api_key = "the-real-key"
    anthropic_double.script_message("never seen")
    with pytest.raises(anthropic.AuthenticationError):
        anthropic_client.messages.create(model=CLAUDE_MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}])


# -- the server itself ---------------------------------------------------------------------------------------------


def test_double_records_routes_queues_and_stops_promptly() -> None:
    double = server.HttpDouble("plain").start()
    double.route(
        "echo", "POST", r"/echo/(?P<n>\d+)", lambda req, m: server.json(201, {"n": int(m["n"]), "got": req.json})
    )
    double.push("echo", server.json(200, {"first": True}))
    with httpx2.Client(base_url=double.base_url) as client:
        assert client.post("/echo/1", json={"a": 1}).json() == {"first": True}
        second = client.post("/echo/2?x=y", json={"b": 2})
        assert (second.status_code, second.json()) == (201, {"n": 2, "got": {"b": 2}})
        assert client.get("/nowhere").status_code == 404
        double.push("echo", server.stall(30))
        with pytest.raises(httpx2.ReadTimeout):
            client.post("/echo/3", content=b"raw", timeout=0.2)

    assert [r.route for r in double.requests] == ["echo", "echo", None, "echo"]
    assert double.requests_to("/echo/2")[0].query == {"x": ["y"]}
    assert double.requests[-1].body == b"raw"
    assert double.failures == ["no route for GET /nowhere"]
    double.assert_all_consumed()

    started = time.monotonic()
    double.stop()
    assert time.monotonic() - started < 2


def test_trickle_sends_the_whole_answer_slowly_and_stopping_the_double_ends_it() -> None:
    double = server.HttpDouble("slow").start()
    double.route("answer", "GET", r"/answer")
    double.push("answer", server.trickle(server.json(200, {"word": "hello"}), bytes_per_chunk=4, interval_s=0.05))
    with httpx2.Client(base_url=double.base_url, timeout=1) as client:
        started = time.monotonic()
        quick = client.get("/answer")
        took = time.monotonic() - started
    assert quick.json() == {"word": "hello"}  # 17 bytes in 5 chunks: whole and valid, just slow
    assert quick.headers["content-length"] == "17"
    assert took >= 0.2

    # A trickle that would last 100 s: no read ever waits long, so only stopping the double ends it.
    double.push("answer", server.trickle(server.json(200, {"padding": "x" * 490}), interval_s=0.2))
    outcome: list[BaseException | int] = []

    def read_it() -> None:
        try:
            with httpx2.Client(base_url=double.base_url, timeout=1) as client:
                outcome.append(len(client.get("/answer").content))
        except httpx2.HTTPError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read_it)
    reader.start()
    time.sleep(0.5)  # the headers and a few bytes are out
    started = time.monotonic()
    double.stop()
    reader.join(timeout=5)
    assert time.monotonic() - started < 2
    assert not reader.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], httpx2.RemoteProtocolError)  # the body was cut short


def test_sdk_default_api_version_is_served_too(gemini_double: GeminiDouble, tmp_path: Path) -> None:
    # Built like kmeme.ai.gemini builds it: no api_version (google-genai 3.x then uses "v1"), one attempt per call.
    client = genai.Client(
        api_key="k",
        http_options=types.HttpOptions(
            base_url=gemini_double.base_url, timeout=5_000, retry_options=types.HttpRetryOptions(attempts=1)
        ),
    )
    gemini_double.script_generate("v1 works")
    assert client.models.generate_content(model=GEMINI_MODEL, contents="hi").text == "v1 works"
    clip = tmp_path / "c.webm"
    clip.write_bytes(b"webm")
    uploaded = client.files.upload(file=clip, config=types.UploadFileConfig(mime_type="video/webm"))
    assert client.files.get(name=uploaded.name).state == types.FileState.ACTIVE  # default: ACTIVE at once
    client.close()
    assert [r.path for r in gemini_double.requests] == [
        f"/v1/models/{GEMINI_MODEL}:generateContent",
        "/upload/v1/files",
        "/upload/v1/files",
        f"/v1/{uploaded.name}",
    ]
