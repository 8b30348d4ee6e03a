"""Real media for the media tests, made on the fly with PyAV, and a loopback HTTP server to fetch it from."""

from __future__ import annotations

import http.server
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from urllib.parse import unquote

import av
import numpy as np
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage

AUDIO_RATE = 44100

# Solid backgrounds, far apart in luma, so each change is an unmistakable hard cut.
_SCENE_COLOURS: list[tuple[int, int, int]] = [(200, 40, 40), (20, 30, 160), (240, 240, 120), (30, 140, 60)]


def click_track(*, bpm: float, seconds: float, sample_rate: int, offset_s: float = 0.1) -> np.ndarray:
    """A metronome: a short, decaying 1.5 kHz tick every beat, mono float32 in [-1, 1]."""
    n = round(seconds * sample_rate)
    out = np.zeros(n, dtype=np.float32)
    tick_len = int(0.03 * sample_rate)
    t = np.arange(tick_len) / sample_rate
    tick = (0.8 * np.sin(2 * np.pi * 1500 * t) * np.exp(-t / 0.006)).astype(np.float32)
    beat = offset_s
    while beat < seconds:
        start = round(beat * sample_rate)
        end = min(n, start + tick_len)
        out[start:end] += tick[: end - start]
        beat += 60.0 / bpm
    return out


def _video_codec() -> str:
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def _audio_codec() -> str:
    return "aac" if "aac" in av.codecs_available else "mp2"


def make_video(
    path: Path,
    *,
    seconds: float = 7.0,
    width: int = 320,
    height: int = 240,
    fps: int = 30,
    cuts_s: tuple[float, ...] = (2.0, 4.5),
    bpm: float | None = 128.0,
) -> Path:
    """Write an MP4: solid-colour scenes changing at `cuts_s`, a small square moving across them
    (so consecutive frames are not identical), and, when `bpm` is given, a click track at that tempo."""
    n_frames = round(seconds * fps)
    with av.open(str(path), mode="w", format="mp4") as container:
        video = container.add_stream(_video_codec(), rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"g": str(fps * 2)}  # a keyframe every 2 s, not at the cuts: cuts must be found by content
        audio = None
        if bpm is not None:
            audio = container.add_stream(_audio_codec(), rate=AUDIO_RATE, layout="mono")

        for i in range(n_frames):
            t = i / fps
            scene = sum(1 for cut in cuts_s if t >= cut)
            img = np.empty((height, width, 3), dtype=np.uint8)
            img[:] = _SCENE_COLOURS[scene % len(_SCENE_COLOURS)]
            box = 16
            x = int((t * 60) % (width - box))
            y = height // 2 - box // 2
            img[y : y + box, x : x + box] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)

        if audio is not None:
            samples = click_track(bpm=bpm, seconds=seconds, sample_rate=AUDIO_RATE)
            chunk = 1024
            fmt = "fltp"
            for start in range(0, len(samples), chunk):
                block = samples[start : start + chunk]
                if len(block) < chunk:
                    block = np.pad(block, (0, chunk - len(block)))
                aframe = av.AudioFrame.from_ndarray(block.reshape(1, -1), format=fmt, layout="mono")
                aframe.sample_rate = AUDIO_RATE
                aframe.pts = start
                aframe.time_base = Fraction(1, AUDIO_RATE)
                for packet in audio.encode(aframe):
                    container.mux(packet)
            for packet in audio.encode():
                container.mux(packet)
    return path


# ---------------------------------------------------------------------------------------------------------------
# A loopback HTTP server whose behaviour each test chooses.

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client hanging up mid-body is what several tests expect; anything else is still reported."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


@contextmanager
def serve(routes: dict[str, Handler], *, fallback: Handler | None = None) -> Iterator[str]:
    """Serve `routes` (path -> handler) on 127.0.0.1 on a free port; yields the base URL. `fallback` answers
    every other path (a 404 without it)."""

    class _Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _dispatch(self) -> None:
            handler = routes.get(unquote(self.path.split("?", 1)[0]), fallback)
            if handler is None:
                self.send_error(404, "Not Found")
                return
            handler(self)

        do_GET = _dispatch

        def do_HEAD(self) -> None:
            self._dispatch()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = _QuietServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Delivery:
    """What a handler managed to send; `done` is set once it knows whether the whole body went out."""

    def __init__(self) -> None:
        self.sent = 0
        self.whole_body: bool | None = None
        self.done = threading.Event()


def file_handler(
    data: bytes, *, content_type: str = "video/mp4", content_length: bool = True, delivery: Delivery | None = None
) -> Handler:
    """Serve `data`; without `content_length` the body is close-delimited (no Content-Length, connection closed)."""

    def handle(req: http.server.BaseHTTPRequestHandler) -> None:
        req.send_response(200)
        req.send_header("Content-Type", content_type)
        if content_length:
            req.send_header("Content-Length", str(len(data)))
            req.send_header("Accept-Ranges", "none")
        else:
            req.send_header("Connection", "close")
            req.close_connection = True
        req.end_headers()
        if req.command == "HEAD":
            return
        sent = 0
        try:
            for start in range(0, len(data), 64 * 1024):
                req.wfile.write(data[start : start + 64 * 1024])
                sent = min(len(data), start + 64 * 1024)
            req.wfile.flush()
        except OSError:
            pass
        if delivery is not None:
            delivery.sent = sent
            delivery.whole_body = sent == len(data)
            delivery.done.set()

    return handle


def stalling_handler(*, stall_s: float) -> Handler:
    """Send the headers and a first byte, then go quiet for `stall_s` seconds."""

    def handle(req: http.server.BaseHTTPRequestHandler) -> None:
        req.send_response(200)
        req.send_header("Content-Type", "video/mp4")
        req.send_header("Content-Length", "1000000")
        req.end_headers()
        req.wfile.write(b"\0")
        req.wfile.flush()
        time.sleep(stall_s)

    return handle


def trickle_handler(*, byte_every_s: float, total_bytes: int = 20) -> Handler:
    """Keep the connection busy with one byte at a time: no single read stalls, the download just never ends."""

    def handle(req: http.server.BaseHTTPRequestHandler) -> None:
        req.send_response(200)
        req.send_header("Content-Type", "video/mp4")
        req.send_header("Content-Length", str(total_bytes))
        req.end_headers()
        try:
            for _ in range(total_bytes):
                req.wfile.write(b"\0")
                req.wfile.flush()
                time.sleep(byte_every_s)
        except OSError:  # the client gave up, as it should
            pass

    return handle


def trickled_head_handler(*, byte_every_s: float, padding: int = 60) -> Handler:
    """Send the status line and headers themselves one byte at a time (a padding header makes them last
    `padding` × `byte_every_s` seconds): the response never even starts."""

    def handle(req: http.server.BaseHTTPRequestHandler) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nX-Padding: " + b"p" * padding + b"\r\n"
        head += b"Content-Length: 1000\r\n\r\n"
        req.close_connection = True
        try:
            for byte in head:
                req.wfile.write(bytes([byte]))
                req.wfile.flush()
                time.sleep(byte_every_s)
        except OSError:  # the client gave up, as it should
            pass

    return handle


def counted(handler: Handler, requests: list[str]) -> Handler:
    """`handler`, noting the path of every request it gets in `requests`."""

    def handle(req: http.server.BaseHTTPRequestHandler) -> None:
        requests.append(req.path)
        handler(req)

    return handle


def redirect_handler(location: str, *, code: int = 302) -> Handler:
    def handle(req: http.server.BaseHTTPRequestHandler) -> None:
        req.send_response(code)
        req.send_header("Location", location)
        req.send_header("Content-Length", "0")
        req.end_headers()

    return handle


class RemoteLikeStorage(Storage):
    """A storage without local paths, like S3: callers must go through open(). Files live under MEDIA_ROOT."""

    def __init__(self) -> None:
        self._inner = FileSystemStorage()

    def _open(self, name: str, mode: str = "rb") -> File:
        return self._inner._open(name, mode)

    def _save(self, name: str, content: File) -> str:
        return self._inner._save(name, content)

    def delete(self, name: str) -> None:
        self._inner.delete(name)

    def exists(self, name: str) -> bool:
        return self._inner.exists(name)

    def size(self, name: str) -> int:
        return self._inner.size(name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self._inner.listdir(path)
