"""The limits on a fetched video, read from settings at each call, and the errors for breaking them."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from kmeme.media.types import MediaError


def max_bytes() -> int:
    return int(getattr(settings, "MEDIA_MAX_BYTES", 200 * 1024 * 1024))


def max_duration_s() -> float:
    return float(getattr(settings, "MEDIA_MAX_DURATION_S", 600))


def fetch_timeout_s() -> float:
    return float(getattr(settings, "MEDIA_FETCH_TIMEOUT_S", 30))


def too_large(*, limit: int, seen: int | None = None) -> MediaError:
    details: dict[str, Any] = {"max_bytes": limit}
    if seen is not None:
        details["size_bytes"] = seen
    size = f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
    return MediaError(f"The video is larger than the {size} allowed.", code="media_too_large", details=details)


def timed_out(*, url: str, timeout_s: float) -> MediaError:
    return MediaError(
        f"Fetching the video took longer than {timeout_s:g} s.",
        code="media_timeout",
        details={"url": url, "timeout_s": timeout_s},
    )


def unreachable(*, url: str, reason: str, http_status: int | None = None) -> MediaError:
    details: dict[str, Any] = {"url": url, "reason": reason}
    if http_status is not None:
        details["status"] = http_status
    return MediaError(
        "The video could not be downloaded from that address.",
        code="media_unreachable",
        details=details,
    )
