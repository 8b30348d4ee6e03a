"""What the media functions return, and the one error they raise."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rest_framework import status

from kmeme.errors import ApplicationError


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
