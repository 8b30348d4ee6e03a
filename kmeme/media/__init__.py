"""Fetch a source video into storage and probe it: duration, format, scene cuts and tempo.

`media_fetch` downloads a direct link with a plain streaming HTTP request, and anything on a
platform (YouTube, TikTok, Instagram) through yt-dlp; both enforce the same size and time limits
and leave nothing behind on failure. `media_probe` opens the stored file with PyAV and reads
what the recipe view needs: how long it is, its frame, where the scene cuts are, and the beat.

Limits come from settings: MEDIA_MAX_BYTES, MEDIA_MAX_DURATION_S, MEDIA_FETCH_TIMEOUT_S.
MEDIA_FETCH_TIMEOUT_S bounds every connect and every wait for data, and the whole download: exactly
for direct links; for yt-dlp the total is checked at each progress report (about once a second on a
slow link), and its one retry of a failed request may add another wait.

Project infrastructure: it imports no app. The modules, each importing only those above it:

    types   MediaError and the result dataclasses
    limits  the limits from settings, and the errors for breaking them
    guard   url_check (at submission) and PinnedHosts (each download): only public addresses, connected to
            exactly as checked
    fetch   media_fetch: direct links over HTTP, platform links through yt-dlp
    tempo   estimate_bpm: the beat of an audio signal
    scenes  the scene-cut detector
    probe   media_probe: PyAV reads a stored video, feeding scenes and tempo
"""

from kmeme.media.fetch import media_copy, media_fetch
from kmeme.media.probe import media_probe
from kmeme.media.tempo import estimate_bpm
from kmeme.media.types import FetchedMedia, MediaError, ProbeResult

__all__ = [
    "FetchedMedia",
    "MediaError",
    "ProbeResult",
    "estimate_bpm",
    "media_copy",
    "media_fetch",
    "media_probe",
]
