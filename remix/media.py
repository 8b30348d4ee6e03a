"""Fetch a source video into storage and probe it: duration, format, scene cuts and tempo.

`media_fetch` downloads a direct link with a plain streaming HTTP request, and anything on a
platform (YouTube, TikTok, Instagram) through yt-dlp; both enforce the same size and time limits
and leave nothing behind on failure. `media_probe` opens the stored file with PyAV and reads
what the recipe view needs: how long it is, its frame, where the scene cuts are, and the beat.

Limits come from settings: MEDIA_MAX_BYTES, MEDIA_MAX_DURATION_S, MEDIA_FETCH_TIMEOUT_S.
MEDIA_FETCH_TIMEOUT_S bounds every connect and every wait for data, and the whole download: exactly
for direct links; for yt-dlp the total is checked at each progress report (about once a second on a
slow link), and its one retry of a failed request may add another wait.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import mimetypes
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import av
import httpx2 as httpx  # the maintained httpx line (same API), already required by the AI SDKs
import numpy as np
import yt_dlp
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils.text import get_valid_filename
from rest_framework import status

from kmeme.errors import ApplicationError
from kmeme.platforms import Platform

logger = logging.getLogger(__name__)

__all__ = [
    "FetchedMedia",
    "MediaError",
    "ProbeResult",
    "estimate_bpm",
    "media_fetch",
    "media_probe",
]

_CHUNK_BYTES = 256 * 1024
_MAX_REDIRECTS = 5
_CONNECT_TIMEOUT_CAP_S = 10.0
_USER_AGENT = "kmeme-media-fetch/1.0"

# Scene detection
_SCENE_SAMPLE_FPS = 4.0
_SCENE_THUMB_WIDTH = 64
_SCENE_MIN_SCORE = 0.08  # mean absolute RGB difference (0..1) below which nothing counts as a cut
_SCENE_MIN_GAP_S = 0.5
_MAX_KEYFRAMES = 20

# Tempo
_AUDIO_RATE = 22050
_AUDIO_MAX_S = 120.0
_BPM_MIN, _BPM_MAX = 60.0, 200.0
_BPM_PRIOR_CENTER, _BPM_PRIOR_OCTAVES = 120.0, 0.75
_BPM_MIN_STRENGTH = 0.2  # autocorrelation of the onset envelope at the chosen period, 0..1
_BPM_MIN_PROMINENCE = 0.15  # ... above the median over all candidate periods
_BPM_MIN_ONSET_CONTRAST = 0.1  # 99th percentile minus median of the onset envelope
_BPM_HALF_LAG_RATIO = 0.9


class MediaError(ApplicationError):
    """A video could not be fetched or is not usable. `code` says why; `details` says what was seen."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, status_code=status_code, details=details)


@dataclass(frozen=True)
class FetchedMedia:
    storage_name: str
    size_bytes: int
    content_type: str
    method: str  # "http" or "yt-dlp"


@dataclass(frozen=True)
class ProbeResult:
    duration_s: float
    fps: float | None
    width: int | None
    height: int | None
    has_audio: bool
    keyframes: list[dict]  # [{"t": seconds, "score": 0..1}], scene cuts in time order, always from t=0.0
    bpm: float | None  # None without audio or without a clear beat

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------------------------
# Limits


def _max_bytes() -> int:
    return int(getattr(settings, "MEDIA_MAX_BYTES", 200 * 1024 * 1024))


def _max_duration_s() -> float:
    return float(getattr(settings, "MEDIA_MAX_DURATION_S", 600))


def _timeout_s() -> float:
    return float(getattr(settings, "MEDIA_FETCH_TIMEOUT_S", 30))


def _too_large(*, limit: int, seen: int | None = None) -> MediaError:
    details: dict[str, Any] = {"max_bytes": limit}
    if seen is not None:
        details["size_bytes"] = seen
    size = f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
    return MediaError(f"The video is larger than the {size} allowed.", code="media_too_large", details=details)


def _timed_out(*, url: str, timeout_s: float) -> MediaError:
    return MediaError(
        f"Fetching the video took longer than {timeout_s:g} s.",
        code="media_timeout",
        details={"url": url, "timeout_s": timeout_s},
    )


def _unreachable(*, url: str, reason: str, http_status: int | None = None) -> MediaError:
    details: dict[str, Any] = {"url": url, "reason": reason}
    if http_status is not None:
        details["status"] = http_status
    return MediaError(
        "The video could not be downloaded from that address.",
        code="media_unreachable",
        details=details,
    )


# ---------------------------------------------------------------------------------------------------------------
# Fetch


_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _safe_filename(*, stem: str, ext: str) -> str:
    stem = get_valid_filename(stem.strip()) if stem.strip() else ""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "", stem).strip("._-")[:60] or "video"
    ext = re.sub(r"[^A-Za-z0-9]", "", ext).lower()[:8] or "mp4"
    return f"{stem}.{ext}"


def _store(*, local_path: Path, node_public_id: str, filename: str) -> str:
    with local_path.open("rb") as fh:
        return default_storage.save(f"videos/{node_public_id}/{filename}", File(fh, name=filename))


def media_fetch(*, url: str, platform: str, node_public_id: str) -> FetchedMedia:
    """Download the video at `url` into default_storage under videos/{node_public_id}/.

    Direct links are streamed over HTTP; platform links go through yt-dlp. Raises MediaError
    (media_unreachable, media_too_large, media_timeout, media_invalid); nothing is stored then.
    """
    node_public_id = str(node_public_id)
    if not _SAFE_ID.match(node_public_id):
        raise ValueError(f"node_public_id {node_public_id!r} is not a safe path component")
    if platform not in Platform.values:
        raise ValueError(f"unknown platform {platform!r}")
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise MediaError(
            "Only http and https video links can be fetched.",
            code="media_invalid",
            details={"url": url, "scheme": scheme},
        )
    media_host_check(url=url)
    with tempfile.TemporaryDirectory(prefix="kmeme-fetch-") as tmp:
        if platform == Platform.DIRECT:
            local_path, content_type = _http_download(url=url, dest_dir=Path(tmp))
            method = "http"
        else:
            local_path, content_type = _ytdlp_download(url=url, dest_dir=Path(tmp))
            method = "yt-dlp"
        size = local_path.stat().st_size
        if size > _max_bytes():
            raise _too_large(limit=_max_bytes(), seen=size)
        if size == 0:
            raise MediaError("The download was empty.", code="media_invalid", details={"url": url})
        storage_name = _store(local_path=local_path, node_public_id=node_public_id, filename=local_path.name)
    logger.info("media fetched", extra={"url": url, "method": method, "storage_name": storage_name, "size": size})
    return FetchedMedia(storage_name=storage_name, size_bytes=size, content_type=content_type, method=method)


def media_host_check(*, url: str) -> None:
    """Refuse links to private, loopback, link-local or otherwise non-public addresses.

    A submitted URL is fetched by our server, so without this check anyone could make it read
    internal services (cloud metadata at 169.254.169.254, the database's admin port, …). Checked
    for the first URL and, for direct downloads, again for every redirect. MEDIA_ALLOW_PRIVATE_HOSTS
    lifts it (tests serve their videos on loopback).
    """
    if settings.MEDIA_ALLOW_PRIVATE_HOSTS:
        return
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError) as exc:
        raise _unreachable(url=url, reason="the host name does not resolve") from exc
    private = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%", 1)[0]).is_global)
    if private:
        raise MediaError(
            "Links to private or local network addresses are not fetched.",
            code="media_forbidden_host",
            details={"url": url, "host": host, "addresses": private},
        )


def _http_download(*, url: str, dest_dir: Path) -> tuple[Path, str]:
    limit = _max_bytes()
    timeout_s = _timeout_s()
    deadline = time.monotonic() + timeout_s
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, _CONNECT_TIMEOUT_CAP_S))
    try:
        with (
            httpx.Client(
                follow_redirects=True,
                max_redirects=_MAX_REDIRECTS,
                timeout=timeout,
                headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"},
                event_hooks={"request": [lambda request: media_host_check(url=str(request.url))]},
            ) as client,
            client.stream("GET", url) as response,
        ):
            final_url = str(response.url)
            if response.url.scheme not in ("http", "https"):
                raise _unreachable(url=url, reason=f"redirected to a {response.url.scheme} address")
            if response.status_code >= 400:
                raise _unreachable(url=url, reason=f"HTTP {response.status_code}", http_status=response.status_code)
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise _too_large(limit=limit, seen=int(declared))
            content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            path = PurePosixPath(unquote(urlsplit(final_url).path))
            ext = path.suffix.lstrip(".") or (mimetypes.guess_extension(content_type) or ".mp4").lstrip(".")
            local_path = dest_dir / _safe_filename(stem=path.stem, ext=ext)
            received = 0
            with local_path.open("wb") as out:
                for chunk in response.iter_raw():  # as the bytes arrive, so limits are checked as they arrive
                    received += len(chunk)
                    if received > limit:
                        raise _too_large(limit=limit)
                    if time.monotonic() > deadline:
                        raise _timed_out(url=url, timeout_s=timeout_s)
                    out.write(chunk)
    except httpx.TimeoutException as exc:
        raise _timed_out(url=url, timeout_s=timeout_s) from exc
    except httpx.TooManyRedirects as exc:
        raise _unreachable(url=url, reason=f"more than {_MAX_REDIRECTS} redirects") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise _unreachable(url=url, reason=type(exc).__name__) from exc
    if not content_type or content_type in ("application/octet-stream", "binary/octet-stream"):
        content_type = mimetypes.guess_type(local_path.name)[0] or "application/octet-stream"
    return local_path, content_type


class _FetchAborted(yt_dlp.utils.YoutubeDLError):
    """Raised from a yt-dlp progress hook to stop a download that broke a limit."""

    def __init__(self, error: MediaError) -> None:
        super().__init__(error.message)
        self.error = error


class _YtdlpLogger:
    """yt-dlp's messages go to our log, not to stdout/stderr."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def debug(self, msg: str) -> None:
        self.messages.append(msg)
        logger.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        self.debug(msg)

    def warning(self, msg: str) -> None:
        self.messages.append(msg)
        logger.info("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        self.warning(msg)


def _ytdlp_format() -> str:
    """Prefer one MP4 file of at most 720p. Separate video+audio streams only when ffmpeg can merge them:
    nothing is ever downloaded to make that possible."""
    single = "b[ext=mp4][height<=?720]/b[height<=?720]/w[ext=mp4]/w"
    if shutil.which("ffmpeg"):
        return f"bv*[ext=mp4][height<=720]+ba[ext=m4a]/{single}"
    return single


def _ytdlp_download(*, url: str, dest_dir: Path) -> tuple[Path, str]:
    limit = _max_bytes()
    timeout_s = _timeout_s()
    started = time.monotonic()
    ytdlp_logger = _YtdlpLogger()

    def on_progress(progress: dict[str, Any]) -> None:
        downloaded = progress.get("downloaded_bytes") or 0
        total = progress.get("total_bytes") or progress.get("total_bytes_estimate")
        if downloaded > limit or (total is not None and total > limit):
            raise _FetchAborted(_too_large(limit=limit, seen=max(downloaded, int(total or 0))))
        if time.monotonic() - started > timeout_s:
            raise _FetchAborted(_timed_out(url=url, timeout_s=timeout_s))

    options: dict[str, Any] = {
        "format": _ytdlp_format(),
        "merge_output_format": "mp4",
        "outtmpl": {"default": str(dest_dir / "%(id).60B.%(ext)s")},
        "restrictfilenames": True,
        "noplaylist": True,
        "playlist_items": "1",  # a playlist-only link still yields one video, never a batch
        "max_filesize": limit,
        "socket_timeout": timeout_s,
        "retries": 1,
        "fragment_retries": 1,
        "extractor_retries": 0,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": ytdlp_logger,
        "progress_hooks": [on_progress],
        "cachedir": False,
        "updatetime": False,
        "nopart": False,
        "overwrites": True,
        "postprocessors": [],
        "writesubtitles": False,
        "writethumbnail": False,
        "http_headers": {"Accept-Encoding": "identity"},
    }
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=True)
    except _FetchAborted as exc:
        raise exc.error from exc
    except yt_dlp.utils.DownloadError as exc:
        cause = exc.exc_info[1] if exc.exc_info else None
        if isinstance(cause, _FetchAborted):
            raise cause.error from exc
        message = str(exc)
        if "timed out" in message.lower() or isinstance(cause, TimeoutError):
            raise _timed_out(url=url, timeout_s=timeout_s) from exc
        http_status = getattr(cause, "status", None) if cause is not None else None
        raise _unreachable(url=url, reason=_strip_ytdlp_prefix(message), http_status=http_status) from exc
    except yt_dlp.utils.YoutubeDLError as exc:
        raise _unreachable(url=url, reason=_strip_ytdlp_prefix(str(exc))) from exc

    files = [p for p in dest_dir.iterdir() if p.is_file() and not p.name.endswith((".part", ".ytdl"))]
    if not files:
        # yt-dlp skips, without an error, a file whose Content-Length is over max_filesize.
        reported = (info or {}).get("filesize") or (info or {}).get("filesize_approx")
        if reported and int(reported) > limit:
            raise _too_large(limit=limit, seen=int(reported))
        if any("max-filesize" in m for m in ytdlp_logger.messages):
            raise _too_large(limit=limit)
        raise _unreachable(url=url, reason="yt-dlp downloaded no file")
    downloaded = max(files, key=lambda p: p.stat().st_size)
    if downloaded.stat().st_size > limit:
        raise _too_large(limit=limit, seen=downloaded.stat().st_size)
    ext = downloaded.suffix.lstrip(".") or "mp4"
    final = downloaded.with_name(_safe_filename(stem=downloaded.stem, ext=ext))
    if final != downloaded:
        downloaded.rename(final)
    content_type = mimetypes.guess_type(final.name)[0] or "application/octet-stream"
    return final, content_type


def _strip_ytdlp_prefix(message: str) -> str:
    return re.sub(r"^(ERROR:\s*)?(\[[^\]]+\]\s*)?", "", message).strip()[:500]


# ---------------------------------------------------------------------------------------------------------------
# Probe


@contextmanager
def _local_copy(storage_name: str) -> Iterator[str]:
    """A local filesystem path for a stored file: the file itself when the storage is local, else a temp copy."""
    try:
        local = default_storage.path(storage_name)
    except NotImplementedError:
        local = None
    if local is not None:
        if not os.path.exists(local):
            raise MediaError("The stored video is missing.", code="media_invalid", details={"name": storage_name})
        yield local
        return
    suffix = PurePosixPath(storage_name).suffix
    with tempfile.NamedTemporaryFile(prefix="kmeme-probe-", suffix=suffix) as tmp:
        try:
            with default_storage.open(storage_name, "rb") as src:
                shutil.copyfileobj(src, tmp, _CHUNK_BYTES)
        except FileNotFoundError as exc:
            raise MediaError(
                "The stored video is missing.", code="media_invalid", details={"name": storage_name}
            ) from exc
        tmp.flush()
        yield tmp.name


def _invalid(storage_name: str, reason: str) -> MediaError:
    return MediaError(
        "The file is not a video we can read.",
        code="media_invalid",
        details={"name": storage_name, "reason": reason},
    )


def _too_long(duration_s: float, limit: float) -> MediaError:
    return MediaError(
        f"The video is longer than the {limit:g} s allowed.",
        code="media_too_long",
        details={"duration_s": round(duration_s, 2), "max_duration_s": limit},
    )


def media_probe(*, storage_name: str) -> ProbeResult:
    """Read duration, frame rate, size, audio presence, scene cuts and tempo of a stored video.

    Raises MediaError media_invalid (not a decodable video) or media_too_long.
    """
    with _local_copy(storage_name) as path:
        try:
            container = av.open(path, mode="r")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise _invalid(storage_name, str(exc)[:300]) from exc
        with container:
            try:
                return _probe_container(container, storage_name=storage_name)
            except av.FFmpegError as exc:
                raise _invalid(storage_name, str(exc)[:300]) from exc


def _probe_container(container: av.container.InputContainer, *, storage_name: str) -> ProbeResult:
    # Cover art in an audio file is a "video" stream of one picture: not a video.
    videos = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not videos:
        raise _invalid(storage_name, "no video stream")
    video = videos[0]
    audio = container.streams.audio[0] if container.streams.audio else None
    limit = _max_duration_s()

    duration = _declared_duration(container, video)
    if duration is not None and duration > limit:
        raise _too_long(duration, limit)

    rate = video.average_rate or video.guessed_rate or video.base_rate
    fps = round(float(rate), 3) if rate else None
    width = video.codec_context.width or None
    height = video.codec_context.height or None
    start_s = float(video.start_time * video.time_base) if video.start_time and video.time_base else 0.0

    video.thread_type = "AUTO"
    scenes = _SceneSampler()
    audio_in = _AudioCollector() if audio is not None else None
    rotation = 0
    last_video_t = 0.0
    frames = 0
    for packet in container.demux([video] if audio is None else [video, audio]):
        if packet.stream.type == "audio":
            if audio_in is None or audio_in.full:
                continue
            try:
                for aframe in packet.decode():
                    audio_in.add(aframe)
            except (av.FFmpegError, ValueError) as exc:  # a damaged audio track: keep the picture, drop the beat
                logger.info("audio decode failed, tempo skipped", extra={"storage_name": storage_name, "error": exc})
                audio_in = None
            continue
        for frame in packet.decode():
            if frame.pts is None or frame.time_base is None:
                continue
            t = max(0.0, float(frame.pts * frame.time_base) - start_s)
            if frames == 0:
                rotation = int(frame.rotation or 0)
            frames += 1
            last_video_t = max(last_video_t, t)
            if last_video_t > limit:
                raise _too_long(last_video_t, limit)
            scenes.add(frame, t)
    if frames == 0:
        raise _invalid(storage_name, "no decodable video frames")
    if duration is None:
        duration = last_video_t + (1.0 / fps if fps else 0.0)
    if rotation % 180 != 0:  # a phone video stored sideways, shown upright: report what viewers see
        width, height = height, width

    bpm = estimate_bpm(samples=audio_in.samples(), sample_rate=_AUDIO_RATE) if audio_in is not None else None
    return ProbeResult(
        duration_s=round(duration, 3),
        fps=fps,
        width=width,
        height=height,
        has_audio=audio is not None,
        keyframes=scenes.keyframes(),
        bpm=bpm,
    )


def _declared_duration(container: av.container.InputContainer, video: av.VideoStream) -> float | None:
    if video.duration is not None and video.time_base is not None and video.duration > 0:
        return float(video.duration * video.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


class _SceneSampler:
    """Compares small thumbnails of the video a few times a second to find hard cuts.

    Frames between two samples are held (a handful of references) so that, where two samples differ
    enough to be a cut, the cut is placed on the exact frame where it happens.
    """

    def __init__(self) -> None:
        self._step = 1.0 / _SCENE_SAMPLE_FPS
        self._next_t = 0.0
        self._prev: tuple[float, np.ndarray] | None = None
        self._between: list[tuple[float, av.VideoFrame]] = []
        self._times: list[float] = []
        self._scores: list[float] = []

    @staticmethod
    def _thumb(frame: av.VideoFrame) -> np.ndarray:
        # Colour, not gray: two shots of equal brightness but different colour are still a cut.
        height = max(2, round(_SCENE_THUMB_WIDTH * frame.height / max(frame.width, 1)))
        rgb = frame.reformat(width=_SCENE_THUMB_WIDTH, height=height, format="rgb24").to_ndarray()
        return rgb[:, :_SCENE_THUMB_WIDTH].astype(np.float32)

    @staticmethod
    def _diff(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.mean(np.abs(a - b))) / 255.0

    def add(self, frame: av.VideoFrame, t: float) -> None:
        if t + 1e-3 < self._next_t:
            self._between.append((t, frame))
            return
        # Sample on a fixed grid (0, 0.25, 0.5 s, ...), at the first frame on or after each point.
        self._next_t = (np.floor(t / self._step + 1e-3) + 1) * self._step
        thumb = self._thumb(frame)
        if self._prev is not None:
            prev_t, prev_thumb = self._prev
            score = self._diff(prev_thumb, thumb)
            cut_t = t
            if score > _SCENE_MIN_SCORE and self._between:
                sequence = [(prev_t, prev_thumb)] + [(bt, self._thumb(bf)) for bt, bf in self._between] + [(t, thumb)]
                steps = [self._diff(a[1], b[1]) for a, b in itertools.pairwise(sequence)]
                cut_t = sequence[int(np.argmax(steps)) + 1][0]
            self._times.append(cut_t)
            self._scores.append(score)
        self._prev = (t, thumb)
        self._between = []

    def keyframes(self) -> list[dict]:
        result: list[dict] = [{"t": 0.0, "score": 1.0}]
        if not self._scores:
            return result
        scores = np.asarray(self._scores, dtype=np.float64)
        # Adaptive: a cut stands out from this video's ordinary frame-to-frame change. The median/MAD
        # keep a video with many cuts from raising its own bar; mean + 2 std is the classic rule.
        median = float(np.median(scores))
        mad = float(np.median(np.abs(scores - median))) * 1.4826
        threshold = max(_SCENE_MIN_SCORE, min(float(scores.mean() + 2 * scores.std()), median + 6 * mad))
        candidates = [(s, t) for s, t in zip(scores.tolist(), self._times, strict=True) if s > threshold]
        chosen: list[tuple[float, float]] = []
        for score, t in sorted(candidates, key=lambda c: -c[0]):
            if len(chosen) >= _MAX_KEYFRAMES - 1:
                break
            if t < _SCENE_MIN_GAP_S or any(abs(t - c) < _SCENE_MIN_GAP_S for _, c in chosen):
                continue
            chosen.append((score, t))
        for score, t in sorted(chosen, key=lambda c: c[1]):
            result.append({"t": round(t, 2), "score": round(min(1.0, score), 3)})
        return result


class _AudioCollector:
    """Decoded audio resampled to mono float32 at _AUDIO_RATE, up to _AUDIO_MAX_S seconds."""

    def __init__(self) -> None:
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=_AUDIO_RATE)
        self._chunks: list[np.ndarray] = []
        self._count = 0
        self._max = int(_AUDIO_MAX_S * _AUDIO_RATE)

    @property
    def full(self) -> bool:
        return self._count >= self._max

    def add(self, frame: av.AudioFrame) -> None:
        if self.full:
            return
        frame.pts = None  # the resampler re-times by itself; stray timestamps only make it warn
        for out in self._resampler.resample(frame):
            self._append(out)

    def _append(self, frame: av.AudioFrame) -> None:
        data = frame.to_ndarray().reshape(-1).astype(np.float32, copy=False)
        self._chunks.append(data[: self._max - self._count])
        self._count += len(self._chunks[-1])

    def samples(self) -> np.ndarray:
        if not self.full:
            for out in self._resampler.resample(None):
                self._append(out)
        if not self._chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self._chunks)


# ---------------------------------------------------------------------------------------------------------------
# Tempo


def _mel_filterbank(*, sample_rate: int, n_fft: int, n_bands: int = 40, f_min: float = 30.0) -> np.ndarray:
    """Triangular mel-spaced bands, (n_fft // 2 + 1, n_bands): low drums count as much as hi-hats."""

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    f_max = min(sample_rate / 2.0, 11025.0)
    edges = mel_to_hz(np.linspace(hz_to_mel(np.array(f_min)), hz_to_mel(np.array(f_max)), n_bands + 2))
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    bank = np.zeros((freqs.size, n_bands), dtype=np.float32)
    for b in range(n_bands):
        lo, mid, hi = edges[b], edges[b + 1], edges[b + 2]
        rising = (freqs - lo) / max(mid - lo, 1e-9)
        falling = (hi - freqs) / max(hi - mid, 1e-9)
        bank[:, b] = np.clip(np.minimum(rising, falling), 0.0, None)
    bank /= np.maximum(bank.sum(axis=0, keepdims=True), 1e-9)
    return bank


def _onset_envelope(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """Onset strength: half-wave-rectified flux of the log-compressed mel-band STFT magnitude.

    Returns (envelope, envelope frames per second); hop 512 at 22050 Hz (about 43 frames/s).
    """
    hop = max(1, round(512 * sample_rate / 22050))
    n_fft = 4 * hop
    if samples.size < n_fft + hop:
        return np.zeros(0), sample_rate / hop
    window = np.hanning(n_fft).astype(np.float32)
    bank = _mel_filterbank(sample_rate=sample_rate, n_fft=n_fft)
    frames = np.lib.stride_tricks.sliding_window_view(samples, n_fft)[::hop]
    flux = np.empty(len(frames), dtype=np.float64)
    prev: np.ndarray | None = None
    pos = 0
    for start in range(0, len(frames), 256):  # blocks keep memory flat for two minutes of audio
        bands = np.log1p(1000.0 * (np.abs(np.fft.rfft(frames[start : start + 256] * window, axis=1)) @ bank))
        stacked = bands if prev is None else np.vstack([prev[None, :], bands])
        values = np.maximum(np.diff(stacked, axis=0), 0.0).mean(axis=1)
        flux[pos : pos + len(values)] = values
        pos += len(values)
        prev = bands[-1]
    return flux[:pos], sample_rate / hop


def _parabolic(values: np.ndarray, i: int) -> float:
    """Sub-sample position of the peak at index i, by fitting a parabola through its neighbours."""
    if i <= 0 or i >= len(values) - 1:
        return float(i)
    left, centre, right = values[i - 1], values[i], values[i + 1]
    denom = left - 2 * centre + right
    if denom >= 0:
        return float(i)
    return i + 0.5 * (left - right) / denom


def estimate_bpm(*, samples: np.ndarray, sample_rate: int) -> float | None:
    """The tempo of a mono (or multi-channel) signal, in beats per minute, rounded to 0.1.

    Onset strength (spectral flux of the log-compressed mel-band STFT magnitude, hop 512 at 22050 Hz),
    then the autocorrelation of that envelope over the lags of 60-200 BPM, weighted by a log-normal
    prior around 120 BPM to pick the right octave; the period is refined by parabolic interpolation
    at the peak and at its multiples. None when the signal is silent or has no clear periodic beat.
    A 2-D `samples` is (channels, samples) as PyAV gives it, or (samples, channels); integer samples
    are scaled to [-1, 1].
    """
    x = np.asarray(samples)
    if x.ndim > 1:
        x = x.mean(axis=0) if x.shape[0] < x.shape[-1] else x.mean(axis=1)
    if np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32) / float(np.iinfo(x.dtype).max)
    x = x.astype(np.float32, copy=False)
    if sample_rate <= 0 or x.size < 3 * sample_rate or not np.isfinite(x).all():
        return None
    if float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) < 1e-4:
        return None

    env, env_rate = _onset_envelope(x, sample_rate)
    min_lag = int(np.floor(60.0 * env_rate / _BPM_MAX))
    max_lag = int(np.ceil(60.0 * env_rate / _BPM_MIN))
    if env.size < 2 * max_lag + 2:
        return None
    # No onsets that stand out from the steady level (silence, a held tone, hiss): no beat to speak of.
    if float(np.percentile(env, 99) - np.median(env)) < _BPM_MIN_ONSET_CONTRAST:
        return None
    # Light smoothing (about 20 ms) makes the peaks round enough for interpolation.
    env = np.convolve(env, np.array([0.25, 0.5, 0.25]), mode="same")
    env = np.sqrt(env)  # evens out loud and soft onsets (kick vs snare), so the beat beats the bar
    env = env - env.mean()
    n = env.size
    spectrum = np.fft.rfft(env, n=2 * n)
    ac = np.fft.irfft(spectrum * np.conj(spectrum), n=2 * n)[:n]
    if ac[0] <= 0:
        return None
    ac = ac / ac[0]
    ac = ac / ((n - np.arange(n)) / n)  # unbiased: later lags overlap fewer frames

    lags = np.arange(max(min_lag, 1), min(max_lag, n - 2) + 1)
    bpms = 60.0 * env_rate / lags
    in_range = (bpms >= _BPM_MIN) & (bpms <= _BPM_MAX)
    # Only true local maxima of the autocorrelation count as candidate periods.
    is_peak = (ac[lags] >= ac[lags - 1]) & (ac[lags] >= ac[lags + 1]) & in_range
    if not is_peak.any():
        return None
    weights = np.exp(-0.5 * (np.log2(bpms / _BPM_PRIOR_CENTER) / _BPM_PRIOR_OCTAVES) ** 2)
    weighted = np.where(is_peak, ac[lags] * weights, -np.inf)
    best = int(lags[int(np.argmax(weighted))])
    strength = float(ac[best])
    prominence = strength - float(np.median(ac[lags]))
    if strength < _BPM_MIN_STRENGTH or prominence < _BPM_MIN_PROMINENCE:
        return None
    # The prior favours the slower of two equally strong readings above ~170 BPM; when the half period is
    # as strong a peak as the period itself, the faster reading is the one that is really there.
    if best // 2 - 1 >= max(min_lag, 1):
        half = best // 2 - 1 + int(np.argmax(ac[best // 2 - 1 : best // 2 + 2]))
        if ac[half] >= _BPM_HALF_LAG_RATIO * strength and 60.0 * env_rate / half <= _BPM_MAX:
            best, strength = half, float(ac[half])

    # Refine: the k-th multiple of the period is a peak too, and measuring it divides the error by k.
    weighted_sum, weight_total = _parabolic(ac, best), 1.0  # least squares through the origin: sum(k*p) / sum(k*k)
    for k in range(2, 9):
        centre = k * weighted_sum / weight_total
        lo, hi = int(np.floor(centre - 2)), int(np.ceil(centre + 2))
        if hi >= n // 2:
            break
        i = lo + int(np.argmax(ac[lo : hi + 1]))
        if ac[i] < 0.5 * strength:
            break
        weighted_sum += k * _parabolic(ac, i)
        weight_total += k * k
    period = weighted_sum / weight_total
    bpm = 60.0 * env_rate / period
    if not _BPM_MIN * 0.98 <= bpm <= _BPM_MAX * 1.02:
        return None
    return round(float(bpm), 1)
