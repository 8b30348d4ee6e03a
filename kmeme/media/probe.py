"""media_probe: PyAV reads a stored video for its duration, frame, audio, scene cuts and tempo."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath

import av
import numpy as np
from django.core.files.storage import default_storage

from kmeme.media.limits import max_duration_s
from kmeme.media.scenes import SceneSampler
from kmeme.media.tempo import estimate_bpm
from kmeme.media.types import MediaError, ProbeResult

logger = logging.getLogger(__name__)

_CHUNK_BYTES = 256 * 1024

# The audio handed to estimate_bpm
_AUDIO_RATE = 22050
_AUDIO_MAX_S = 120.0


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
    limit = max_duration_s()

    duration = _declared_duration(container, video)
    if duration is not None and duration > limit:
        raise _too_long(duration, limit)

    rate = video.average_rate or video.guessed_rate or video.base_rate
    fps = round(float(rate), 3) if rate else None
    width = video.codec_context.width or None
    height = video.codec_context.height or None
    start_s = float(video.start_time * video.time_base) if video.start_time and video.time_base else 0.0

    video.thread_type = "AUTO"
    scenes = SceneSampler()
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
