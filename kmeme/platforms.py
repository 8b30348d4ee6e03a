"""Which platform a video URL belongs to, from its host and path."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.db import models
from django.utils.translation import gettext_lazy


class Platform(models.TextChoices):
    YOUTUBE = "youtube", gettext_lazy("YouTube")
    YOUTUBE_SHORTS = "youtube_shorts", gettext_lazy("YouTube Shorts")
    TIKTOK = "tiktok", gettext_lazy("TikTok")
    INSTAGRAM = "instagram", gettext_lazy("Instagram Reels")
    DIRECT = "direct", gettext_lazy("Direct video link")
    UPLOAD = "upload", gettext_lazy("Uploaded video")


# A video a user uploaded (accounts.Upload) is named by a URL on a reserved, never-resolving host (RFC 2606), so
# every node keeps a valid source URL; nothing ever fetches it: the pipeline copies the stored upload instead.
UPLOAD_HOST = "uploads.kmeme.invalid"


def upload_source_url(*, upload_public_id: object, filename: str) -> str:
    return f"https://{UPLOAD_HOST}/{upload_public_id}/{filename}"


def _host_matches(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def platform_from_url(url: str) -> Platform:
    """Classify a video URL. Unknown hosts are direct links (downloaded, not fetched by URL)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    path = parts.path.lower()
    if _host_matches(host, "youtube.com") or host == "youtu.be":
        return Platform.YOUTUBE_SHORTS if path.startswith("/shorts/") else Platform.YOUTUBE
    if _host_matches(host, "tiktok.com"):
        return Platform.TIKTOK
    if _host_matches(host, "instagram.com"):
        return Platform.INSTAGRAM
    if host == UPLOAD_HOST:
        return Platform.UPLOAD
    return Platform.DIRECT
