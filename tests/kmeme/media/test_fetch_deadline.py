"""A download ends by MEDIA_FETCH_TIMEOUT_S however slowly the bytes come, on both paths (direct links over
httpx, platform links through yt-dlp), and a redirect loop says so.

The servers trickle a byte every 0.2 s for 12 s or more: no single read waits long enough for a socket timeout,
so only the download's total deadline can end it in about a second.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kmeme.media import MediaError, media_fetch
from tests.kmeme.media.helpers import counted, redirect_handler, serve, trickle_handler, trickled_head_handler

FETCH_TIMEOUT_S = 1
BYTE_EVERY_S = 0.2
TRICKLE_BYTES = 60  # 12 s of body; the trickled head lasts longer still


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.MEDIA_FETCH_TIMEOUT_S = FETCH_TIMEOUT_S
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def scratch_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A cut-off download leaves no temp files behind."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield scratch
    assert list(scratch.iterdir()) == []


def fetch_failure(url: str, platform: str) -> tuple[MediaError, float]:
    started = time.monotonic()
    with pytest.raises(MediaError) as caught:
        media_fetch(url=url, platform=platform, node_public_id=str(uuid.uuid4()))
    return caught.value, time.monotonic() - started


SLOW_SERVERS = {
    "trickled-body": lambda: trickle_handler(byte_every_s=BYTE_EVERY_S, total_bytes=TRICKLE_BYTES),
    "trickled-head": lambda: trickled_head_handler(byte_every_s=BYTE_EVERY_S, padding=TRICKLE_BYTES),
}


@pytest.mark.parametrize("platform", ["direct", "tiktok"], ids=["httpx", "yt-dlp"])
@pytest.mark.parametrize("slow", SLOW_SERVERS.values(), ids=SLOW_SERVERS.keys())
def test_a_trickled_download_is_cut_off_at_the_fetch_timeout(media_root: Path, platform: str, slow) -> None:
    with serve({"/clip.mp4": slow()}) as base:
        error, took = fetch_failure(f"{base}/clip.mp4", platform)

    assert error.code == "media_timeout"
    assert error.details["timeout_s"] == FETCH_TIMEOUT_S
    assert took < FETCH_TIMEOUT_S + 2.5, f"cut off after {took:.2f} s (the trickle lasts 12 s)"
    assert not (media_root / "videos").exists()


def test_a_redirect_loop_is_reported_as_one(media_root: Path) -> None:
    requests: list[str] = []
    with serve(
        {"/a": counted(redirect_handler("/b"), requests), "/b": counted(redirect_handler("/a"), requests)}
    ) as base:
        error, _ = fetch_failure(f"{base}/a", "direct")

    assert error.code == "media_unreachable"
    assert error.details["reason"] == f"redirect loop: {base}/a redirects back to itself"
    assert requests[:3] == ["/a", "/b", "/a"]
