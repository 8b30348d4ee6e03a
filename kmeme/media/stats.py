"""media_stats_read: a video's public counters (views, likes, comments, shares) as its platform shows them.

yt-dlp reads the page (and whatever API its extractor calls) and nothing else: `download=False` and
`skip_download`, so no video byte is requested. It runs through the same pinned, guarded request handler as
media_fetch (kmeme.media.fetch._PinnedYoutubeDL): every host is resolved once, checked against the guard, and
connected to as checked; redirects pass the shape check. A counter the platform does not show is None, never 0:
a platform that hides likes has not got zero likes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import yt_dlp

from kmeme.deadline import deadline, deadline_remaining
from kmeme.media.fetch import _media_error_in, _PinnedYoutubeDL, _strip_ytdlp_prefix, _YtdlpLogger
from kmeme.media.guard import PinnedHosts, url_shape_check
from kmeme.media.limits import fetch_timeout_s, timed_out, unreachable
from kmeme.media.types import MediaError

logger = logging.getLogger(__name__)

# yt-dlp's info-dict keys, and ours.
_COUNTERS = {"views": "view_count", "likes": "like_count", "comments": "comment_count", "shares": "repost_count"}


@dataclass(frozen=True)
class VideoStats:
    """Counters as read; None where the platform does not expose one."""

    views: int | None
    likes: int | None
    comments: int | None
    shares: int | None
    extractor: str

    @property
    def exposes_any(self) -> bool:
        return any(v is not None for v in (self.views, self.likes, self.comments, self.shares))


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def media_stats_read(*, url: str) -> VideoStats:
    """Read the public counters of the video at `url` without downloading it.

    Raises MediaError: `url_not_allowed` / `url_unresolvable` (the guard), `media_unreachable`, `media_timeout`.
    The whole read ends by MEDIA_FETCH_TIMEOUT_S."""
    parts = url_shape_check(url=url)
    scheme = parts.scheme.lower()
    pins = PinnedHosts()
    pins.addresses(parts.hostname or "", parts.port or (443 if scheme == "https" else 80))
    timeout_s = fetch_timeout_s()
    options: dict[str, Any] = {
        "skip_download": True,
        "simulate": True,
        "noplaylist": True,
        "playlist_items": "1",
        "socket_timeout": timeout_s,
        "retries": 0,
        "extractor_retries": 0,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": _YtdlpLogger(),
        "cachedir": False,
        "check_formats": False,  # checking a format would request the video itself
        "ignore_no_formats_error": True,  # counters are wanted even from a page whose formats yt-dlp cannot play
        "writesubtitles": False,
        "writethumbnail": False,
        "proxy": "",  # never a proxy from the environment: it would connect for us, past the guard
    }
    try:
        with deadline(timeout_s), _PinnedYoutubeDL(options, pins=pins) as ydl:
            info = ydl.extract_info(url, download=False, process=False)
    except MediaError:
        raise
    except yt_dlp.utils.YoutubeDLError as exc:
        stopped_by = _media_error_in(exc)
        if stopped_by is not None:
            raise stopped_by from exc
        if deadline_remaining() == 0 or "timed out" in str(exc).lower():
            raise timed_out(url=url, timeout_s=timeout_s) from exc
        cause = exc.exc_info[1] if isinstance(exc, yt_dlp.utils.DownloadError) and exc.exc_info else None
        http_status = getattr(cause, "status", None) if cause is not None else None
        raise unreachable(url=url, reason=_strip_ytdlp_prefix(str(exc)), http_status=http_status) from exc
    info = info or {}
    if info.get("_type") in ("playlist", "multi_video"):  # a page of several videos: the first one's counters
        entries = list(info.get("entries") or [])
        info = entries[0] if entries and isinstance(entries[0], dict) else {}
    stats = VideoStats(
        **{ours: _count(info.get(theirs)) for ours, theirs in _COUNTERS.items()},
        extractor=str(info.get("extractor_key") or info.get("extractor") or ""),
    )
    logger.info("video stats read", extra={"url": url, "extractor": stats.extractor, "views": stats.views})
    return stats
