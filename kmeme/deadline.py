"""Total deadlines for outgoing calls: a provider call or a download ends by its deadline, however the bytes arrive.

A socket timeout bounds one read; a peer that trickles a few bytes per second never trips it, so a call could run
for ever. Here a deadline is set for a block of code (`with deadline(30): ...`, nested deadlines keep the nearest)
and every network operation inside it is held to it:

- httpx/httpcore (the AI SDKs and plain downloads): `DeadlineNetworkBackend` caps each connect, read and write
  timeout at the time left and refuses once none is left, raising httpcore's own timeout, which httpx and the
  SDKs already handle as a timeout. It reads the deadline at each operation, so pooled connections opened under
  an earlier deadline obey the current one.
- plain sockets (yt-dlp's http.client): `deadline_watch(sock)` shuts the connection down when the deadline
  passes, which ends a blocked read (or TLS handshake) at once. The watch ends with the block that set the deadline.

The deadline is a context variable: it follows the code that set it, in its own thread.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any

import httpcore2
import httpx2 as httpx
from httpx2._utils import get_environment_proxies  # httpx's own reading of *_PROXY, used by its Client

_deadline: ContextVar[float | None] = ContextVar("kmeme_deadline", default=None)
# The socket watches started under the innermost deadline block, stopped when it ends.
_watches: ContextVar[list[_SocketWatch] | None] = ContextVar("kmeme_deadline_watches", default=None)


class DeadlineExceeded(TimeoutError):
    """The block's deadline passed before it finished."""


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Run the block under a deadline `seconds` from now (or the enclosing one, if that is sooner).
    Yields the deadline as a `time.monotonic()` value."""
    end = time.monotonic() + max(0.0, float(seconds))
    enclosing = _deadline.get()
    if enclosing is not None:
        end = min(end, enclosing)
    token = _deadline.set(end)
    watches: list[_SocketWatch] = []
    watches_token = _watches.set(watches)
    try:
        yield end
    finally:
        _watches.reset(watches_token)
        _deadline.reset(token)
        for watch in watches:
            watch.stop()


def deadline_remaining() -> float | None:
    """Seconds left before the current deadline (0 when it has passed), or None outside any deadline."""
    end = _deadline.get()
    return None if end is None else max(0.0, end - time.monotonic())


def deadline_check(what: str = "the call") -> None:
    """Raise DeadlineExceeded when the current deadline has passed."""
    left = deadline_remaining()
    if left is not None and left <= 0:
        raise DeadlineExceeded(f"{what} passed its deadline")


def _capped(timeout: float | None, error: type[Exception]) -> float | None:
    left = deadline_remaining()
    if left is None:
        return timeout
    if left <= 0:
        raise error("the call's total deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _capped(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # A large upload is written in one call: its timeout is what caps it, so it is capped too.
        self._inner.write(buffer, _capped(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, _capped(timeout, httpcore2.ConnectTimeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineNetworkBackend(httpcore2.NetworkBackend):
    """An httpcore network backend whose streams obey the current deadline (see the module's docstring)."""

    def __init__(self, inner: httpcore2.NetworkBackend | None = None) -> None:
        self._inner = inner if inner is not None else httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        timeout = _capped(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.NetworkStream:
        timeout = _capped(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(**kwargs: Any) -> httpx.HTTPTransport:
    """httpx's own transport (all its options), whose connections obey the current deadline. For a proxied
    transport the proxy's connections do."""
    transport = httpx.HTTPTransport(**kwargs)
    pool = transport._pool  # httpcore's pool; its backend opens every connection
    pool._network_backend = DeadlineNetworkBackend(pool._network_backend)
    return transport


class _SocketWatch:
    """Shuts a connection down at a given time, unless stopped first.

    It holds a duplicate of the socket's descriptor rather than the socket object: wrapping a socket for TLS
    (`ssl.SSLContext.wrap_socket`, as http.client does for https) detaches the object it was given, which then
    no longer refers to the connection, while the duplicate still does. A shutdown applies to the connection,
    whichever descriptor it is made through. Until the watch stops, the duplicate keeps the connection open even
    after its owner closed its own descriptor, so the watch is stopped when its deadline block ends."""

    def __init__(self, sock: socket.socket, after_s: float) -> None:
        self._sock: socket.socket | None = sock.dup()
        self._lock = threading.Lock()
        self._timer = threading.Timer(after_s, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def _cut(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


def deadline_client_args(**kwargs: Any) -> dict[str, Any]:
    """`transport` and `mounts` for an httpx Client whose every connection obeys the current deadline, honouring
    the environment's HTTP(S)_PROXY / ALL_PROXY / NO_PROXY as httpx itself would (a client given a transport
    ignores them otherwise): proxied destinations get a deadline transport through their proxy."""
    mounts: dict[str, httpx.HTTPTransport | None] = {
        pattern: deadline_transport(proxy=proxy, **kwargs) if proxy else None
        for pattern, proxy in get_environment_proxies().items()
    }
    return {"transport": deadline_transport(**kwargs), "mounts": mounts}


def deadline_watch(sock: socket.socket) -> None:
    """Shut `sock`'s connection down when the current deadline passes (no-op outside a deadline): a read or a TLS
    handshake blocked on it then ends at once. The watch lasts until the block that set the deadline ends. For
    libraries that own their sockets (http.client); httpx uses DeadlineNetworkBackend."""
    left = deadline_remaining()
    watches = _watches.get()
    if left is None or watches is None:
        return
    watches.append(_SocketWatch(sock, left))
