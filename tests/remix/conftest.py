"""Fixtures shared by the remix tests: a real video made with PyAV, served on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kmeme.media.helpers import file_handler, make_video, serve


@pytest.fixture(scope="module")
def video_bytes(tmp_path_factory) -> bytes:
    return make_video(tmp_path_factory.mktemp("video") / "clip.mp4", seconds=7.0, bpm=128.0).read_bytes()


@pytest.fixture
def video_url(video_bytes) -> Iterator[str]:
    with serve({"/clip.mp4": file_handler(video_bytes)}) as base:
        yield f"{base}/clip.mp4"
