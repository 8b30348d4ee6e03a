"""kmeme.deadline: a block's total deadline holds however slowly a peer sends, on httpx connections and raw sockets.

The peer is a raw loopback socket server, so each test chooses exactly what goes over the wire and when: a body
trickled a byte at a time, a status line trickled the same way, or no answer at all. Every trickle lasts far
longer (≥ 10 s) than the deadlines here (≤ 1 s), and no single read ever waits as long as the per-read timeout,
so only the total deadline can end the call early.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator

import httpx2
import pytest

from kmeme.deadline import (
    DeadlineExceeded,
    deadline,
    deadline_check,
    deadline_remaining,
    deadline_transport,
    deadline_watch,
)

TRICKLE_INTERVAL_S = 0.2
TRICKLE_BYTES = 60  # 60 × 0.2 s = 12 s: what a call without a deadline would sit through
PER_READ_TIMEOUT_S = 5.0  # longer than every deadline below: only the deadline can cut the call short

Conversation = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """A loopback TCP server running `conversation(conn, stopping)` for each connection, in its own thread.
    Waits inside conversations use `stopping.wait`, so stopping the server ends them at once."""

    def __init__(self, conversation: Conversation) -> None:
        self._conversation = conversation
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.stopping = threading.Event()
        self.connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def address(self) -> tuple[str, int]:
        return self._listener.getsockname()[:2]

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connections.append(conn)
            thread = threading.Thread(target=self._talk, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _talk(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self._conversation(conn, self.stopping)

    def stop(self) -> None:
        self.stopping.set()
        self._accepting.join(timeout=2)
        self._listener.close()
        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for thread in self._threads:
            thread.join(timeout=2)


@contextlib.contextmanager
def raw_server(conversation: Conversation) -> Iterator[RawServer]:
    server = RawServer(conversation)
    try:
        yield server
    finally:
        server.stop()


def read_request(conn: socket.socket) -> bytes:
    """Read one request's head (these clients send GETs without a body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("the client hung up")
        data += chunk
    return data


def trickle(conn: socket.socket, data: bytes, stopping: threading.Event) -> None:
    for byte in data:
        conn.sendall(bytes([byte]))
        if stopping.wait(TRICKLE_INTERVAL_S):
            return


def trickled_body(conn: socket.socket, stopping: threading.Event) -> None:
    """Valid headers at once, then the body a byte every 0.2 s."""
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % TRICKLE_BYTES)
    trickle(conn, b"x" * TRICKLE_BYTES, stopping)


def trickled_head(conn: socket.socket, stopping: threading.Event) -> None:
    """The status line and headers themselves a byte every 0.2 s."""
    read_request(conn)
    head = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"p" * TRICKLE_BYTES + b"\r\nContent-Length: 0\r\n\r\n"
    trickle(conn, head, stopping)


def silent(conn: socket.socket, stopping: threading.Event) -> None:
    """Accept, then never answer."""
    stopping.wait()


def elapsed_s(since: float) -> float:
    return time.monotonic() - since


# -- httpx through deadline_transport ------------------------------------------------------------------------------


@pytest.mark.parametrize("conversation", [trickled_body, trickled_head, silent], ids=lambda c: c.__name__)
def test_a_call_is_cut_off_at_its_deadline_however_the_peer_drags_it_out(conversation: Conversation) -> None:
    with (
        raw_server(conversation) as server,
        httpx2.Client(transport=deadline_transport(), timeout=PER_READ_TIMEOUT_S) as client,
    ):
        started = time.monotonic()
        with pytest.raises(httpx2.ReadTimeout), deadline(1.0):
            client.get(f"{server.url}/answer")
        took = elapsed_s(started)

    assert 0.9 <= took < 3, f"cut off after {took:.2f} s"  # the trickle alone would take 12 s, the silence for ever
    assert len(server.connections) == 1


def test_without_a_deadline_the_same_transport_waits_for_the_whole_answer() -> None:
    """The control: a short trickle (1 s) is read to its end when no deadline is set."""

    def short_trickle(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        trickle(conn, b"hello", stopping)

    with (
        raw_server(short_trickle) as server,
        httpx2.Client(transport=deadline_transport(), timeout=PER_READ_TIMEOUT_S) as client,
    ):
        assert client.get(f"{server.url}/answer").text == "hello"


def test_a_pooled_connection_obeys_the_deadline_of_the_call_that_reuses_it() -> None:
    def quick_then_trickle(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        trickled_body(conn, stopping)

    with (
        raw_server(quick_then_trickle) as server,
        httpx2.Client(transport=deadline_transport(), timeout=PER_READ_TIMEOUT_S) as client,
    ):
        with deadline(30):
            assert client.get(f"{server.url}/first").text == "ok"
        started = time.monotonic()
        with pytest.raises(httpx2.ReadTimeout), deadline(0.5):
            client.get(f"{server.url}/second")
        took = elapsed_s(started)

    assert len(server.connections) == 1  # the second call went over the first call's connection
    assert 0.4 <= took < 2.5, f"cut off after {took:.2f} s"


def test_once_the_deadline_has_passed_no_connection_is_opened() -> None:
    with raw_server(silent) as server, httpx2.Client(transport=deadline_transport()) as client:
        with pytest.raises(httpx2.ConnectTimeout), deadline(0):
            client.get(f"{server.url}/late")
        time.sleep(0.1)  # give a connection that was opened the time to be accepted
        assert server.connections == []


# -- the deadline itself ---------------------------------------------------------------------------------------------


def test_nested_deadlines_keep_the_nearest_and_none_applies_outside() -> None:
    assert deadline_remaining() is None
    deadline_check()  # outside any deadline: never raises

    with deadline(10) as outer:
        assert 9 < deadline_remaining() <= 10
        with deadline(1) as inner:
            assert inner < outer
            assert 0 < deadline_remaining() <= 1
        with deadline(60) as looser:
            assert looser == outer  # an inner block cannot extend the enclosing deadline
            assert deadline_remaining() <= 10
        assert 9 < deadline_remaining() <= 10  # the outer deadline again once the inner block ends

    assert deadline_remaining() is None


def test_a_passed_deadline_leaves_zero_and_deadline_check_raises() -> None:
    with deadline(0.05):
        time.sleep(0.1)
        assert deadline_remaining() == 0
        with pytest.raises(DeadlineExceeded, match="the upload passed its deadline"):
            deadline_check("the upload")


def test_a_deadline_belongs_to_the_thread_that_set_it() -> None:
    seen: list[float | None] = []
    with deadline(5):
        thread = threading.Thread(target=lambda: seen.append(deadline_remaining()))
        thread.start()
        thread.join()
    assert seen == [None]


# -- raw sockets: deadline_watch -------------------------------------------------------------------------------------


def test_deadline_watch_cuts_a_blocked_recv_at_the_deadline() -> None:
    with raw_server(silent) as server, socket.create_connection(server.address) as sock:
        sock.settimeout(PER_READ_TIMEOUT_S)  # a safety net: the test fails rather than hangs
        started = time.monotonic()
        with deadline(0.5):
            deadline_watch(sock)
            data = sock.recv(1)
        took = elapsed_s(started)

    assert data == b""  # the socket was shut down: the read ends as at end of stream
    assert 0.4 <= took < 2.5, f"recv returned after {took:.2f} s"


def test_deadline_watch_does_nothing_outside_a_deadline() -> None:
    with raw_server(silent) as server, socket.create_connection(server.address) as sock:
        deadline_watch(sock)
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1)


def test_deadline_watch_cuts_a_tls_handshake_the_peer_never_answers() -> None:
    """http.client watches the plain socket, then wraps it for TLS (which detaches the object it was given)."""
    with raw_server(silent) as server, socket.create_connection(server.address) as sock:
        sock.settimeout(PER_READ_TIMEOUT_S)
        started = time.monotonic()
        with pytest.raises(OSError) as caught, deadline(0.5):
            deadline_watch(sock)
            ssl.create_default_context().wrap_socket(sock, server_hostname="localhost")
        took = elapsed_s(started)

    assert not isinstance(caught.value, TimeoutError)  # cut by the deadline, not by the safety-net timeout
    assert 0.4 <= took < 2.5, f"the handshake ended after {took:.2f} s"


def test_a_watch_ends_with_its_deadline_block() -> None:
    def echo(conn: socket.socket, stopping: threading.Event) -> None:
        while data := conn.recv(64):
            conn.sendall(data)

    with raw_server(echo) as server, socket.create_connection(server.address) as sock:
        sock.settimeout(PER_READ_TIMEOUT_S)
        with deadline(0.3):
            deadline_watch(sock)
        time.sleep(0.5)  # past the deadline the watch was started under
        sock.sendall(b"still open")
        assert sock.recv(64) == b"still open"
