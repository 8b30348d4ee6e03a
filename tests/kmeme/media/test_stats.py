"""media_stats_read: a video page's public counters through yt-dlp, without downloading the video."""

from __future__ import annotations

import pytest

from kmeme.media.stats import media_stats_read
from kmeme.media.types import MediaError
from tests.genealogy.pages import page_handler, recording_handler, video_page
from tests.kmeme.media.helpers import serve


def test_counts_come_from_the_pages_json_ld_and_the_video_is_never_requested() -> None:
    seen: list[str] = []
    base_box: list[str] = []
    with serve(
        {"/watch": page_handler(lambda: video_page(base_box[0], views=12345, likes=678, comments=9), seen)},
        fallback=recording_handler(seen),
    ) as base:
        base_box.append(base)
        stats = media_stats_read(url=f"{base}/watch")
    assert (stats.views, stats.likes, stats.comments) == (12345, 678, 9)
    assert stats.shares is None  # the page does not show shares: unknown, not zero
    assert seen == ["/watch"]  # the page only: not the .mp4, not the thumbnail


def test_a_hidden_count_is_none_not_zero() -> None:
    base_box: list[str] = []
    with serve({"/watch": page_handler(lambda: video_page(base_box[0], views=40))}) as base:
        base_box.append(base)
        stats = media_stats_read(url=f"{base}/watch")
    assert (stats.views, stats.likes, stats.comments, stats.shares) == (40, None, None, None)
    assert stats.exposes_any


def test_a_missing_page_is_media_unreachable() -> None:
    with serve({}) as base, pytest.raises(MediaError) as caught:
        media_stats_read(url=f"{base}/gone")
    assert caught.value.code == "media_unreachable"


def test_the_guard_refuses_a_loopback_page_when_private_hosts_are_not_allowed(settings) -> None:
    settings.MEDIA_ALLOW_PRIVATE_HOSTS = False
    seen: list[str] = []
    with serve({}, fallback=recording_handler(seen)) as base, pytest.raises(MediaError) as caught:
        media_stats_read(url=f"{base}/watch")
    assert caught.value.code == "url_not_allowed" and caught.value.details["reason"] == "address"
    assert seen == []  # refused before any connection


def test_links_other_than_http_are_refused() -> None:
    with pytest.raises(MediaError) as caught:
        media_stats_read(url="file:///etc/passwd")
    assert caught.value.code == "url_not_allowed"
