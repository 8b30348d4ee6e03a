"""A scriptable loopback HTTP server that provider doubles are built on.

`HttpDouble` listens on 127.0.0.1 (random port) in a daemon thread, records every request and answers each one
from the matching route: first from that route's queue of scripted replies (FIFO, one reply per request), then from
the route's default responder. A request that matches no route gets a 404 and one whose route has neither a scripted
reply nor a default gets a 500 "no scripted response" — both are also recorded in `double.failures`, so a test fails
loudly instead of silently talking to the wrong endpoint.

Reply helpers (module level): `json`, `text`, `error`, `stall`, `huge`, `trickle`, `drop`. A scripted entry may also
be a callable `(request, match) -> Reply` when the answer depends on the request.
"""

from __future__ import annotations

import contextlib
import json as _json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "HttpDouble",
    "NoScriptedResponse",
    "RecordedRequest",
    "Reply",
    "Responder",
    "Route",
    "drop",
    "error",
    "huge",
    "json",
    "stall",
    "text",
    "trickle",
]

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
_CHUNK = 1 << 20


@dataclass
class RecordedRequest:
    """One request as the double received it."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased; repeated headers joined with ", "
    body: bytes
    json: Any  # parsed body, or None when the body is empty or not JSON
    target: str  # the raw request target (path + query)
    route: str | None = None  # name of the route that answered, None when nothing matched
    received_at: float = field(default_factory=time.monotonic)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def query_value(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Reply:
    """A scripted answer. Build one with the module-level helpers rather than directly."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (interrupted when the double stops)
    chunks: Callable[[], Iterator[bytes]] | None = None  # streamed body (with `length` bytes in total)
    length: int | None = None
    interval: float = 0.0  # seconds between streamed chunks (interrupted when the double stops)
    close: bool = False  # drop the connection instead of answering (after `delay`)

    def content_length(self) -> int:
        return self.length if self.chunks is not None and self.length is not None else len(self.body)


Responder = Callable[[RecordedRequest, "re.Match[str]"], Reply]


class NoScriptedResponse(LookupError):
    """Raised by a default responder that has nothing sensible to answer; the double replies 500 and records it."""


def json(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    """A JSON reply (`body` is serialised with json.dumps)."""
    return Reply(
        status=status,
        body=_json.dumps(body).encode(),
        headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})},
    )


def text(
    status: int,
    raw_text: str | bytes,
    content_type: str = JSON_CONTENT_TYPE,
    headers: dict[str, str] | None = None,
) -> Reply:
    """A raw body sent as is, e.g. malformed JSON under an application/json content type."""
    raw = raw_text.encode() if isinstance(raw_text, str) else raw_text
    return Reply(status=status, body=raw, headers={"Content-Type": content_type, **(headers or {})})


def error(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    """A provider-shaped error (the provider doubles build the body); headers e.g. {"retry-after": "3"}."""
    return json(status, body, headers)


def stall(seconds: float, then: Reply | None = None) -> Reply:
    """Wait `seconds` before answering with `then` (default: 200 `{}`) — longer than the client timeout to force a
    timeout. Stopping the double interrupts the wait, so a stall never delays teardown."""
    reply = then if then is not None else json(200, {})
    return Reply(
        status=reply.status,
        body=reply.body,
        headers=dict(reply.headers),
        delay=seconds,
        chunks=reply.chunks,
        length=reply.length,
        interval=reply.interval,
        close=reply.close,
    )


def huge(
    size_bytes: int = 8 << 20,
    wrap: Callable[[str], Any] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Reply:
    """A very large but valid JSON reply. `wrap(padding)` builds the JSON document around a padding string of
    roughly `size_bytes` characters (default `{"padding": ...}`); the body is streamed in 1 MiB chunks."""
    padding = "x" * max(size_bytes, 0)
    document = wrap(padding) if wrap is not None else {"padding": padding}
    body = _json.dumps(document).encode()

    def chunks() -> Iterator[bytes]:
        view = memoryview(body)
        for start in range(0, len(body), _CHUNK):
            yield bytes(view[start : start + _CHUNK])

    return Reply(
        status=status,
        headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})},
        chunks=chunks,
        length=len(body),
    )


def trickle(reply: Reply, bytes_per_chunk: int = 1, interval_s: float = 0.2) -> Reply:
    """`reply` (its status, headers and whole Content-Length at once), its body then sent `bytes_per_chunk` bytes
    at a time every `interval_s` seconds: no single read waits long, the answer just takes
    len(body) / bytes_per_chunk × interval_s to arrive. Stopping the double ends the trickle (and the connection)."""
    if bytes_per_chunk < 1:
        raise ValueError("bytes_per_chunk must be at least 1")
    source = reply.chunks

    def chunks() -> Iterator[bytes]:
        pending = b""
        for piece in source() if source is not None else [reply.body]:
            pending += piece
            while len(pending) >= bytes_per_chunk:
                yield pending[:bytes_per_chunk]
                pending = pending[bytes_per_chunk:]
        if pending:
            yield pending

    return Reply(
        status=reply.status,
        headers=dict(reply.headers),
        delay=reply.delay,
        chunks=chunks,
        length=reply.content_length(),
        interval=interval_s,
        close=reply.close,
    )


def drop(after: float = 0.0) -> Reply:
    """Close the connection without answering (the client sees a protocol/connection error)."""
    return Reply(close=True, delay=after)


@dataclass
class Route:
    name: str
    method: str
    pattern: re.Pattern[str]
    default: Responder | None = None
    headers: dict[str, re.Pattern[str]] = field(default_factory=dict)
    queue: deque[Reply | Responder] = field(default_factory=deque)

    def match(self, method: str, path: str, headers: dict[str, str]) -> re.Match[str] | None:
        if method != self.method:
            return None
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        for name, wanted in self.headers.items():
            if not wanted.search(headers.get(name, "")):
                return None
        return found


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, double: HttpDouble) -> None:
        self.double = double
        self.closing = threading.Event()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or hang up mid-answer are expected here; keep test output clean.
        return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this Nagle + delayed ACK add ~40 ms per request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _dispatch(self) -> None:
        body = self._read_body()
        self.server.double._handle(self, body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class HttpDouble:
    """A loopback HTTP server with per-route scripted replies and a record of every request."""

    def __init__(self, name: str = "double") -> None:
        self.name = name
        self._lock = threading.Lock()
        self._routes: list[Route] = []
        self._requests: list[RecordedRequest] = []
        self._failures: list[str] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    def start(self) -> HttpDouble:
        if self._server is not None:
            return self
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}-http-double",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.closing.set()  # wakes stalled handlers
        server.shutdown()
        with server.connections_lock:
            connections = list(server.connections)
        for conn in connections:  # idle keep-alive connections would otherwise linger
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> HttpDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{self.name} double is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- routes and scripting ----------------------------------------------------------------------------------------

    def route(
        self,
        name: str,
        method: str,
        path_regex: str,
        default: Responder | None = None,
        headers: dict[str, str] | None = None,
    ) -> Route:
        """Register a route: `path_regex` must fully match the path (no query); `headers` maps header names to regexes
        that must be found in the header values. Routes are tried in registration order."""
        new = Route(
            name=name,
            method=method.upper(),
            pattern=re.compile(path_regex),
            default=default,
            headers={key.lower(): re.compile(value, re.IGNORECASE) for key, value in (headers or {}).items()},
        )
        with self._lock:
            if any(existing.name == name for existing in self._routes):
                raise ValueError(f"route {name!r} already exists")
            self._routes.append(new)
        return new

    def _route(self, name: str) -> Route:
        for candidate in self._routes:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name} double has no route {name!r} (routes: {[r.name for r in self._routes]})")

    def push(self, route: str, *replies: Reply | Responder) -> None:
        """Queue replies for `route`; each matching request takes the next one."""
        with self._lock:
            self._route(route).queue.extend(replies)

    def set_default(self, route: str, responder: Responder | None) -> None:
        with self._lock:
            self._route(route).default = responder

    def pending(self, route: str | None = None) -> int:
        """How many scripted replies are still queued (for one route or all)."""
        with self._lock:
            routes = [self._route(route)] if route else self._routes
            return sum(len(r.queue) for r in routes)

    def clear_script(self, route: str | None = None) -> None:
        with self._lock:
            for r in [self._route(route)] if route else self._routes:
                r.queue.clear()

    # -- what was received -------------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path_substring: str = "", method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if path_substring in r.path and (method is None or r.method == method.upper())]

    def requests_for(self, route: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == route]

    def last_request(self, path_substring: str = "") -> RecordedRequest:
        found = self.requests_to(path_substring)
        if not found:
            raise AssertionError(f"{self.name} double received no request to {path_substring!r}")
        return found[-1]

    @property
    def failures(self) -> list[str]:
        """Unrouted requests, requests with nothing scripted, and responder exceptions."""
        with self._lock:
            return list(self._failures)

    def assert_no_failures(self) -> None:
        failures = self.failures
        if failures:
            raise AssertionError(f"{self.name} double: " + "; ".join(failures))

    def assert_all_consumed(self) -> None:
        with self._lock:
            left = {r.name: len(r.queue) for r in self._routes if r.queue}
        if left:
            raise AssertionError(f"{self.name} double: scripted replies never requested: {left}")

    def reset(self) -> None:
        """Forget recorded requests, failures and queued replies (routes and defaults stay)."""
        with self._lock:
            self._requests.clear()
            self._failures.clear()
            for r in self._routes:
                r.queue.clear()

    # -- request handling (server threads) ---------------------------------------------------------------------------

    def _handle(self, handler: _Handler, body: bytes) -> None:
        split = urlsplit(handler.path)
        headers: dict[str, str] = {}
        for key, value in handler.headers.items():
            key = key.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        parsed: Any = None
        if body:
            try:
                parsed = _json.loads(body)
            except ValueError:
                parsed = None
        request = RecordedRequest(
            method=handler.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            json=parsed,
            target=handler.path,
        )

        entry: Reply | Responder | None = None
        match: re.Match[str] | None = None
        with self._lock:
            for candidate in self._routes:
                match = candidate.match(request.method, request.path, headers)
                if match is not None:
                    request.route = candidate.name
                    entry = candidate.queue.popleft() if candidate.queue else candidate.default
                    break
            self._requests.append(request)
            if match is None:
                self._failures.append(f"no route for {request.method} {request.target}")
            elif entry is None:
                self._failures.append(
                    f"no scripted response for route {request.route!r} ({request.method} {request.target})"
                )

        if match is None:
            reply = json(404, {"error": f"{self.name} double: no route for {request.method} {request.path}"})
        elif entry is None:
            reply = self._no_script_reply(request, "")
        else:
            reply = self.authorize(request)
            if reply is None and isinstance(entry, Reply):
                reply = entry
            elif reply is None:
                try:
                    reply = entry(request, match)
                except NoScriptedResponse as exc:
                    with self._lock:
                        self._failures.append(f"no scripted response for route {request.route!r}: {exc}")
                    reply = self._no_script_reply(request, str(exc))
                except Exception as exc:  # a broken responder must fail the test, not hang the client
                    with self._lock:
                        self._failures.append(f"responder for {request.route!r} raised {exc!r}")
                    reply = json(500, {"error": f"{self.name} double: responder raised {exc!r}"})
        self._send(handler, reply)

    def _no_script_reply(self, request: RecordedRequest, detail: str) -> Reply:
        message = (
            f"{self.name} double: no scripted response for route {request.route!r} ({request.method} {request.path})"
        )
        return json(500, {"error": {"code": 500, "message": f"{message} {detail}".strip(), "status": "INTERNAL"}})

    def authorize(self, request: RecordedRequest) -> Reply | None:
        """Hook for provider doubles: return an error Reply to reject the request before its route answers
        (the scripted reply is still consumed)."""
        return None

    def _send(self, handler: _Handler, reply: Reply) -> None:
        server = handler.server
        if reply.delay and server.closing.wait(reply.delay):
            handler.close_connection = True
            return
        if reply.close or server.closing.is_set():
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            handler.send_response(reply.status)
            sent = {key.lower() for key in reply.headers}
            for key, value in reply.headers.items():
                handler.send_header(key, value)
            if "content-length" not in sent:
                handler.send_header("Content-Length", str(reply.content_length()))
            handler.end_headers()
            if handler.command == "HEAD":
                return
            if reply.chunks is not None:
                for chunk in reply.chunks():
                    handler.wfile.write(chunk)
                    if reply.interval:
                        handler.wfile.flush()
                        if server.closing.wait(reply.interval):  # the double is stopping: end the answer here
                            handler.close_connection = True
                            return
            else:
                handler.wfile.write(reply.body)
            handler.wfile.flush()
        except OSError:  # the client gave up (timeout) or hung up
            handler.close_connection = True
