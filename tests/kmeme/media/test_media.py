"""Fetching and probing real video: files made with PyAV in the test, served from a loopback HTTP server."""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from kmeme.media import FetchedMedia, MediaError, estimate_bpm, media_fetch, media_probe
from tests.kmeme.media.helpers import (
    Delivery,
    click_track,
    file_handler,
    make_video,
    redirect_handler,
    serve,
    stalling_handler,
    trickle_handler,
)

CLIP_SECONDS = 7.0
CUTS = (2.0, 4.5)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """7 s, 320x240, 30 fps, H.264 + AAC: three solid-colour scenes cut at 2.0 s and 4.5 s, a click at 128 BPM."""
    path = make_video(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=CLIP_SECONDS, cuts_s=CUTS, bpm=128.0)
    return path.read_bytes()


@pytest.fixture(scope="module")
def silent_portrait_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = make_video(
        tmp_path_factory.mktemp("clips") / "silent.mp4", seconds=3.0, width=360, height=640, cuts_s=(1.5,), bpm=None
    )
    return path.read_bytes()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.MEDIA_MAX_BYTES = 200 * 1024 * 1024
    settings.MEDIA_MAX_DURATION_S = 600
    settings.MEDIA_FETCH_TIMEOUT_S = 10
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def scratch_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Temp files go to a directory of their own, which must be empty again after every test, pass or fail."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield scratch
    assert list(scratch.iterdir()) == []


@pytest.fixture
def node_id() -> str:
    return str(uuid.uuid4())


def stored_videos(media_root: Path) -> list[Path]:
    return [p for p in (media_root / "videos").rglob("*") if p.is_file()] if (media_root / "videos").exists() else []


def fetch_error(**kwargs: str) -> MediaError:
    with pytest.raises(MediaError) as info:
        media_fetch(**kwargs)
    return info.value


# -- tempo -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bpm", [90.0, 128.0, 150.0])
def test_estimate_bpm_finds_the_tempo_of_a_click_track(bpm: float) -> None:
    rng = np.random.default_rng(7)
    samples = click_track(bpm=bpm, seconds=20, sample_rate=22050) + rng.normal(0, 0.02, 20 * 22050).astype(np.float32)

    estimate = estimate_bpm(samples=samples, sample_rate=22050)

    assert estimate is not None
    assert abs(estimate - bpm) <= 2.0, estimate


def test_estimate_bpm_works_at_the_source_sample_rate_and_on_stereo() -> None:
    mono = click_track(bpm=128.0, seconds=10, sample_rate=44100)
    assert abs(estimate_bpm(samples=np.stack([mono, mono]), sample_rate=44100) - 128.0) <= 2.0


@pytest.mark.parametrize(
    "samples",
    [
        pytest.param(np.zeros(10 * 22050, dtype=np.float32), id="silence"),
        pytest.param(np.random.default_rng(1).normal(0, 0.3, 10 * 22050).astype(np.float32), id="hiss"),
        pytest.param(np.sin(2 * np.pi * 440 * np.arange(10 * 22050) / 22050).astype(np.float32), id="held-tone"),
        pytest.param(click_track(bpm=120.0, seconds=1.0, sample_rate=22050), id="too-short"),
    ],
)
def test_estimate_bpm_is_none_without_a_beat(samples: np.ndarray) -> None:
    assert estimate_bpm(samples=samples, sample_rate=22050) is None


# -- direct download + probe -------------------------------------------------------------------------------------


def test_direct_link_is_downloaded_stored_and_probed(clip: bytes, media_root: Path, node_id: str) -> None:
    with serve({"/media/My Clip.mp4": file_handler(clip)}) as base:
        fetched = media_fetch(url=f"{base}/media/My%20Clip.mp4", platform="direct", node_public_id=node_id)

    assert fetched == FetchedMedia(
        storage_name=fetched.storage_name, size_bytes=len(clip), content_type="video/mp4", method="http"
    )
    assert fetched.storage_name.startswith(f"videos/{node_id}/")
    assert fetched.storage_name.endswith(".mp4")
    with default_storage.open(fetched.storage_name, "rb") as fh:
        assert fh.read() == clip

    probe = media_probe(storage_name=fetched.storage_name)

    assert probe.duration_s == pytest.approx(CLIP_SECONDS, abs=0.2)
    assert probe.fps == pytest.approx(30.0, abs=0.01)
    assert (probe.width, probe.height) == (320, 240)
    assert probe.has_audio is True
    times = [k["t"] for k in probe.keyframes]
    assert times[0] == 0.0
    assert len(times) == 3, probe.keyframes  # the moving square is not a cut
    assert times[1] == pytest.approx(CUTS[0], abs=0.3)
    assert times[2] == pytest.approx(CUTS[1], abs=0.3)
    assert all(0.0 <= k["score"] <= 1.0 for k in probe.keyframes)
    assert probe.bpm is not None
    assert abs(probe.bpm - 128.0) <= 2.0
    assert json.loads(json.dumps(probe.as_dict())) == probe.as_dict()


def test_video_without_audio_has_no_tempo(silent_portrait_clip: bytes, node_id: str) -> None:
    name = default_storage.save(f"videos/{node_id}/silent.mp4", ContentFile(silent_portrait_clip))

    probe = media_probe(storage_name=name)

    assert probe.has_audio is False
    assert probe.bpm is None
    assert (probe.width, probe.height) == (360, 640)
    assert probe.duration_s == pytest.approx(3.0, abs=0.2)
    assert [k["t"] for k in probe.keyframes] == [0.0, pytest.approx(1.5, abs=0.3)]


def test_probe_copies_from_storage_without_local_paths(settings, clip: bytes, node_id: str) -> None:
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tests.kmeme.media.helpers.RemoteLikeStorage"}}
    name = default_storage.save(f"videos/{node_id}/clip.mp4", ContentFile(clip))
    with pytest.raises(NotImplementedError):
        default_storage.path(name)

    probe = media_probe(storage_name=name)

    assert probe.duration_s == pytest.approx(CLIP_SECONDS, abs=0.2)
    assert probe.has_audio is True


def test_redirects_are_followed(clip: bytes, node_id: str) -> None:
    with serve(
        {"/a": redirect_handler("/b"), "/b": redirect_handler("/clip.mp4", code=301), "/clip.mp4": file_handler(clip)}
    ) as base:
        fetched = media_fetch(url=f"{base}/a", platform="direct", node_public_id=node_id)

    assert fetched.size_bytes == len(clip)
    assert fetched.storage_name.endswith("/clip.mp4")


# -- refusals ----------------------------------------------------------------------------------------------------


def test_oversize_is_refused_from_content_length(settings, clip: bytes, media_root: Path, node_id: str) -> None:
    settings.MEDIA_MAX_BYTES = 10_000
    with serve({"/clip.mp4": file_handler(clip)}) as base:
        error = fetch_error(url=f"{base}/clip.mp4", platform="direct", node_public_id=node_id)

    assert error.code == "media_too_large"
    assert error.details["size_bytes"] == len(clip)  # refused on the header, before reading the body
    assert stored_videos(media_root) == []


def test_oversize_is_refused_while_streaming(settings, media_root: Path, node_id: str) -> None:
    settings.MEDIA_MAX_BYTES = 100_000
    body, delivery = bytes(64 * 1024 * 1024), Delivery()  # far more than loopback socket buffers hold
    with serve({"/big.mp4": file_handler(body, content_length=False, delivery=delivery)}) as base:
        error = fetch_error(url=f"{base}/big.mp4", platform="direct", node_public_id=node_id)
        assert delivery.done.wait(10)

    assert error.code == "media_too_large"
    assert "size_bytes" not in error.details  # nobody said how big; we stopped counting at the limit
    assert delivery.whole_body is False  # the download was cut off, not read to the end
    assert stored_videos(media_root) == []


def test_missing_file_is_unreachable(media_root: Path, node_id: str) -> None:
    with serve({}) as base:
        error = fetch_error(url=f"{base}/nope.mp4", platform="direct", node_public_id=node_id)

    assert error.code == "media_unreachable"
    assert error.details["status"] == 404
    assert stored_videos(media_root) == []


def test_closed_port_is_unreachable(node_id: str) -> None:
    with serve({}) as base:
        pass  # the server is gone: nothing listens on that port any more
    assert fetch_error(url=f"{base}/clip.mp4", platform="direct", node_public_id=node_id).code == "media_unreachable"


@pytest.mark.parametrize("platform", ["direct", "tiktok"])
def test_only_http_links_are_fetched(node_id: str, platform: str) -> None:
    error = fetch_error(url="file:///etc/passwd", platform=platform, node_public_id=node_id)
    assert error.code == "media_invalid"


def test_unknown_platform_or_unsafe_node_id_is_a_programming_error(node_id: str) -> None:
    with pytest.raises(ValueError, match="platform"):
        media_fetch(url="http://127.0.0.1:9/v.mp4", platform="vimeo", node_public_id=node_id)
    with pytest.raises(ValueError, match="node_public_id"):
        media_fetch(url="http://127.0.0.1:9/v.mp4", platform="direct", node_public_id="../../etc")


def test_stalled_server_times_out(settings, media_root: Path, node_id: str) -> None:
    settings.MEDIA_FETCH_TIMEOUT_S = 1
    with serve({"/clip.mp4": stalling_handler(stall_s=4)}) as base:
        started = time.monotonic()
        error = fetch_error(url=f"{base}/clip.mp4", platform="direct", node_public_id=node_id)
        elapsed = time.monotonic() - started

    assert error.code == "media_timeout"
    assert elapsed < 3
    assert stored_videos(media_root) == []


def test_endless_trickle_times_out(settings, media_root: Path, node_id: str) -> None:
    settings.MEDIA_FETCH_TIMEOUT_S = 1
    with serve({"/clip.mp4": trickle_handler(byte_every_s=0.2)}) as base:
        started = time.monotonic()
        error = fetch_error(url=f"{base}/clip.mp4", platform="direct", node_public_id=node_id)
        elapsed = time.monotonic() - started

    assert error.code == "media_timeout"
    assert elapsed < 3
    assert stored_videos(media_root) == []


def test_bytes_that_are_not_a_video_are_invalid(node_id: str) -> None:
    junk = b"<html><body>Sorry, this video is private.</body></html>" * 200
    with serve({"/clip.mp4": file_handler(junk)}) as base:
        fetched = media_fetch(url=f"{base}/clip.mp4", platform="direct", node_public_id=node_id)

    with pytest.raises(MediaError) as info:
        media_probe(storage_name=fetched.storage_name)
    assert info.value.code == "media_invalid"


def test_missing_stored_file_is_invalid(node_id: str) -> None:
    with pytest.raises(MediaError) as info:
        media_probe(storage_name=f"videos/{node_id}/gone.mp4")
    assert info.value.code == "media_invalid"


def test_too_long_video_is_refused(settings, clip: bytes, node_id: str) -> None:
    settings.MEDIA_MAX_DURATION_S = 5
    name = default_storage.save(f"videos/{node_id}/clip.mp4", ContentFile(clip))

    with pytest.raises(MediaError) as info:
        media_probe(storage_name=name)

    assert info.value.code == "media_too_long"
    assert info.value.details["duration_s"] == pytest.approx(CLIP_SECONDS, abs=0.2)


# -- yt-dlp ------------------------------------------------------------------------------------------------------


def test_platform_link_is_downloaded_through_ytdlp(clip: bytes, media_root: Path, node_id: str) -> None:
    with serve({"/clip.mp4": file_handler(clip)}) as base:
        fetched = media_fetch(url=f"{base}/clip.mp4", platform="tiktok", node_public_id=node_id)

    assert fetched.method == "yt-dlp"
    assert fetched.size_bytes == len(clip)
    assert fetched.content_type == "video/mp4"
    assert fetched.storage_name.startswith(f"videos/{node_id}/")
    with default_storage.open(fetched.storage_name, "rb") as fh:
        assert fh.read() == clip
    assert stored_videos(media_root) == [media_root / fetched.storage_name]
    assert media_probe(storage_name=fetched.storage_name).duration_s == pytest.approx(CLIP_SECONDS, abs=0.2)


@pytest.mark.parametrize("content_length", [True, False], ids=["content-length", "streamed"])
def test_ytdlp_oversize_is_refused(settings, media_root: Path, node_id: str, content_length: bool) -> None:
    settings.MEDIA_MAX_BYTES = 100_000
    body, delivery = bytes(64 * 1024 * 1024), Delivery()
    with serve({"/big.mp4": file_handler(body, content_length=content_length, delivery=delivery)}) as base:
        error = fetch_error(url=f"{base}/big.mp4", platform="youtube", node_public_id=node_id)
        assert delivery.done.wait(10)

    assert error.code == "media_too_large"
    assert delivery.whole_body is False
    assert stored_videos(media_root) == []


def test_ytdlp_missing_video_is_unreachable(media_root: Path, node_id: str) -> None:
    with serve({}) as base:
        error = fetch_error(url=f"{base}/nope.mp4", platform="instagram", node_public_id=node_id)

    assert error.code == "media_unreachable"
    assert error.details["status"] == 404
    assert stored_videos(media_root) == []


def test_ytdlp_stalled_server_times_out(settings, media_root: Path, node_id: str) -> None:
    settings.MEDIA_FETCH_TIMEOUT_S = 1
    with serve({"/clip.mp4": stalling_handler(stall_s=6)}) as base:
        started = time.monotonic()
        error = fetch_error(url=f"{base}/clip.mp4", platform="youtube_shorts", node_public_id=node_id)
        elapsed = time.monotonic() - started

    assert error.code == "media_timeout"
    assert elapsed < 4  # one wait plus yt-dlp's single retry
    assert stored_videos(media_root) == []
