"""Video pages as platforms serve them, for yt-dlp's generic extractor: JSON-LD VideoObject with counters."""

from __future__ import annotations

import http.server
import json
from collections.abc import Callable

COUNTER_TYPES = {"views": "WatchAction", "likes": "LikeAction", "comments": "CommentAction"}


def video_page(base: str, *, name: str = "clip", **counts: int) -> bytes:
    """An HTML page whose JSON-LD carries an interactionStatistic per count given (a count left out is hidden)."""
    statistic = [
        {
            "@type": "InteractionCounter",
            "interactionType": {"@type": COUNTER_TYPES[kind]},
            "userInteractionCount": value,
        }
        for kind, value in counts.items()
    ]
    data = {
        "@context": "https://schema.org",
        "@type": "VideoObject",
        "name": f"A remix ({name})",
        "description": "posted by a creator",
        "uploadDate": "2025-05-01",
        "thumbnailUrl": f"{base}/{name}.jpg",
        "contentUrl": f"{base}/{name}.mp4",
        "interactionStatistic": statistic,
    }
    html = (
        "<!doctype html><html><head><title>remix</title>"
        f'<script type="application/ld+json">{json.dumps(data)}</script></head><body>video</body></html>'
    )
    return html.encode()


def page_handler(
    make: Callable[[], bytes], seen: list[str] | None = None
) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    def handle(req: http.server.BaseHTTPRequestHandler) -> None:
        if seen is not None:
            seen.append(req.path)
        body = make()
        req.send_response(200)
        req.send_header("Content-Type", "text/html; charset=utf-8")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        if req.command != "HEAD":
            req.wfile.write(body)

    return handle


def recording_handler(seen: list[str]) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    """Notes that a path was requested (the video itself must never be) and answers 404."""

    def handle(req: http.server.BaseHTTPRequestHandler) -> None:
        seen.append(req.path)
        req.send_error(404, "Not Found")

    return handle
