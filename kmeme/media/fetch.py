"""media_fetch: a video link into default_storage, over plain HTTP or through yt-dlp, within the limits."""

from __future__ import annotations

import functools
import http.client
import logging
import mimetypes
import re
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import httpcore2
import httpx2 as httpx  # the maintained httpx line (same API), already required by the AI SDKs
import yt_dlp
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils.text import get_valid_filename
from yt_dlp.downloader import get_suitable_downloader
from yt_dlp.downloader.dash import DashSegmentsFD
from yt_dlp.downloader.http import HttpFD
from yt_dlp.networking._urllib import HTTPHandler as YtdlpHTTPHandler
from yt_dlp.networking._urllib import RedirectHandler as YtdlpRedirectHandler
from yt_dlp.networking._urllib import UrllibRH
from yt_dlp.networking.exceptions import RequestError, UnsupportedRequest

from kmeme.deadline import DeadlineNetworkBackend, deadline, deadline_remaining, deadline_watch
from kmeme.media.guard import PinnedHosts, url_shape_check
from kmeme.media.limits import fetch_timeout_s, max_bytes, timed_out, too_large, unreachable
from kmeme.media.types import FetchedMedia, MediaError
from kmeme.platforms import Platform

logger = logging.getLogger(__name__)

_MAX_REDIRECTS = 5
_CONNECT_TIMEOUT_CAP_S = 10.0
_USER_AGENT = "kmeme-media-fetch/1.0"
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _safe_filename(*, stem: str, ext: str) -> str:
    stem = get_valid_filename(stem.strip()) if stem.strip() else ""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "", stem).strip("._-")[:60] or "video"
    ext = re.sub(r"[^A-Za-z0-9]", "", ext).lower()[:8] or "mp4"
    return f"{stem}.{ext}"


def _store(*, local_path: Path, node_public_id: str, filename: str) -> str:
    with local_path.open("rb") as fh:
        return default_storage.save(f"videos/{node_public_id}/{filename}", File(fh, name=filename))


def media_fetch(*, url: str, platform: str, node_public_id: str) -> FetchedMedia:
    """Download the video at `url` into default_storage under videos/{node_public_id}/.

    Direct links are streamed over HTTP; platform links go through yt-dlp. Raises MediaError
    (media_unreachable, media_too_large, media_timeout, media_invalid); nothing is stored then.
    """
    node_public_id = str(node_public_id)
    if not _SAFE_ID.match(node_public_id):
        raise ValueError(f"node_public_id {node_public_id!r} is not a safe path component")
    if platform not in Platform.values:
        raise ValueError(f"unknown platform {platform!r}")
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise MediaError(
            "Only http and https video links can be fetched.",
            code="media_invalid",
            details={"url": url, "scheme": scheme},
        )
    # Checked before anything is requested; the download then connects only to the addresses checked here.
    parts = url_shape_check(url=url)
    pins = PinnedHosts()
    pins.addresses(parts.hostname or "", parts.port or (443 if scheme == "https" else 80))
    # The whole download, however slowly the bytes come, ends by MEDIA_FETCH_TIMEOUT_S (kmeme.deadline).
    with tempfile.TemporaryDirectory(prefix="kmeme-fetch-") as tmp, deadline(fetch_timeout_s()):
        if platform == Platform.DIRECT:
            local_path, content_type = _http_download(url=url, dest_dir=Path(tmp), pins=pins)
            method = "http"
        else:
            local_path, content_type = _ytdlp_download(url=url, dest_dir=Path(tmp), pins=pins)
            method = "yt-dlp"
        size = local_path.stat().st_size
        if size > max_bytes():
            raise too_large(limit=max_bytes(), seen=size)
        if size == 0:
            raise MediaError("The download was empty.", code="media_invalid", details={"url": url})
        storage_name = _store(local_path=local_path, node_public_id=node_public_id, filename=local_path.name)
    logger.info("media fetched", extra={"url": url, "method": method, "storage_name": storage_name, "size": size})
    return FetchedMedia(storage_name=storage_name, size_bytes=size, content_type=content_type, method=method)


def media_copy(*, storage_name: str, node_public_id: str, filename: str, content_type: str) -> FetchedMedia:
    """Copy a video already in media storage (a user's upload) to videos/{node_public_id}/, as media_fetch stores a
    download, so the node's media does not go when the upload does. Raises MediaError `media_unreachable` when the
    file is gone, `media_too_large` or `media_invalid` (empty) as a download would."""
    node_public_id = str(node_public_id)
    if not _SAFE_ID.match(node_public_id):
        raise ValueError(f"node_public_id {node_public_id!r} is not a safe path component")
    try:
        size = default_storage.size(storage_name)
    except (FileNotFoundError, OSError) as exc:
        raise MediaError(
            "The uploaded video is no longer stored.", code="media_unreachable", details={"reason": "gone"}
        ) from exc
    if size > max_bytes():
        raise too_large(limit=max_bytes(), seen=size)
    if size == 0:
        raise MediaError("The uploaded video is empty.", code="media_invalid", details={})
    stem, _, ext = filename.rpartition(".")
    with default_storage.open(storage_name, "rb") as source:
        stored = default_storage.save(
            f"videos/{node_public_id}/{_safe_filename(stem=stem or filename, ext=ext if stem else '')}",
            File(source, name=filename),
        )
    logger.info("media copied from an upload", extra={"storage_name": stored, "size": size})
    return FetchedMedia(storage_name=stored, size_bytes=size, content_type=content_type, method="upload")


class _PinnedNetworkBackend(httpcore2.SyncBackend):
    """httpcore's sockets, opened to the addresses the guard checked for the host instead of a fresh lookup.

    httpcore still knows the host by name, so TLS sends it as SNI and verifies the certificate against it, and
    the Host header is the URL's; only where the TCP connection goes is decided here. Every connection, the
    first and each redirect's to a new host, asks `pins`, which resolves a host once and refuses it unless all
    its addresses are public."""

    def __init__(self, pins: PinnedHosts) -> None:
        self._pins = pins

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        error: Exception | None = None
        for address in self._pins.addresses(host, port):
            try:
                return super().connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                error = exc
        raise error if error is not None else httpcore2.ConnectError(f"no address for {host}")


class _PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport (request mapping, errors, streaming), over a connection pool on the pinned backend.

    HTTPTransport builds its pool without a way to pass a network backend, so the pool is replaced after its
    __init__; no proxy from the environment is used (trust_env=False), since a proxy would connect for us."""

    def __init__(self, *, pins: PinnedHosts) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=DeadlineNetworkBackend(_PinnedNetworkBackend(pins)),
        )


def _http_download(*, url: str, dest_dir: Path, pins: PinnedHosts) -> tuple[Path, str]:
    limit = max_bytes()
    timeout_s = fetch_timeout_s()
    deadline = time.monotonic() + timeout_s
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, _CONNECT_TIMEOUT_CAP_S))
    visited: list[str] = []

    def on_request(request: httpx.Request) -> None:
        visited.append(str(request.url))
        url_shape_check(url=str(request.url))  # every hop's shape; its address is checked when its connection opens

    try:
        with (
            httpx.Client(
                transport=_PinnedTransport(pins=pins),
                trust_env=False,
                follow_redirects=True,
                max_redirects=_MAX_REDIRECTS,
                timeout=timeout,
                headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"},
                event_hooks={"request": [on_request]},
            ) as client,
            client.stream("GET", url) as response,
        ):
            final_url = str(response.url)
            if response.url.scheme not in ("http", "https"):
                raise unreachable(url=url, reason=f"redirected to a {response.url.scheme} address")
            if response.status_code >= 400:
                raise unreachable(url=url, reason=f"HTTP {response.status_code}", http_status=response.status_code)
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise too_large(limit=limit, seen=int(declared))
            content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            path = PurePosixPath(unquote(urlsplit(final_url).path))
            ext = path.suffix.lstrip(".") or (mimetypes.guess_extension(content_type) or ".mp4").lstrip(".")
            local_path = dest_dir / _safe_filename(stem=path.stem, ext=ext)
            received = 0
            with local_path.open("wb") as out:
                for chunk in response.iter_raw():  # as the bytes arrive, so limits are checked as they arrive
                    received += len(chunk)
                    if received > limit:
                        raise too_large(limit=limit)
                    if time.monotonic() > deadline:
                        raise timed_out(url=url, timeout_s=timeout_s)
                    out.write(chunk)
    except httpx.TimeoutException as exc:
        raise timed_out(url=url, timeout_s=timeout_s) from exc
    except httpx.TooManyRedirects as exc:
        loop = next((hop for hop in visited if visited.count(hop) > 1), None)
        if loop is not None:
            raise unreachable(url=url, reason=f"redirect loop: {loop} redirects back to itself") from exc
        raise unreachable(url=url, reason=f"more than {_MAX_REDIRECTS} redirects") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise unreachable(url=url, reason=type(exc).__name__) from exc
    if not content_type or content_type in ("application/octet-stream", "binary/octet-stream"):
        content_type = mimetypes.guess_type(local_path.name)[0] or "application/octet-stream"
    return local_path, content_type


class _FetchAborted(yt_dlp.utils.YoutubeDLError):
    """Raised from a yt-dlp progress hook to stop a download that broke a limit."""

    def __init__(self, error: MediaError) -> None:
        super().__init__(error.message)
        self.error = error


class _YtdlpLogger:
    """yt-dlp's messages go to our log, not to stdout/stderr."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def debug(self, msg: str) -> None:
        self.messages.append(msg)
        logger.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        self.debug(msg)

    def warning(self, msg: str) -> None:
        self.messages.append(msg)
        logger.info("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        self.warning(msg)


def _ytdlp_format() -> str:
    """Prefer one MP4 file of at most 720p. Separate video+audio streams only when ffmpeg can merge them:
    nothing is ever downloaded to make that possible. Only formats fetched over http(s) by yt-dlp itself
    (`[protocol^=http]`: https, http, http_dash_segments): HLS, RTMP and the like may be handed to ffmpeg or
    another program, whose connections the guard cannot see."""
    http = "[protocol^=http]"
    single = f"b[ext=mp4][height<=?720]{http}/b[height<=?720]{http}/w[ext=mp4]{http}/w{http}"
    if shutil.which("ffmpeg"):
        return f"bv*[ext=mp4][height<=720]{http}+ba[ext=m4a]{http}/{single}"
    return single


class _PinnedYtdlpHTTPHandler(YtdlpHTTPHandler):
    """yt-dlp's urllib handler, with http.client opening its sockets through the guard's PinnedHosts.

    http.client connects with `self._create_connection((host, port), timeout, source_address)` and then, for
    https, wraps the socket with the host name as SNI and for certificate checks; yt-dlp's own handler replaces
    that function the same way (with its own resolver), so this is the hook it is built around."""

    def __init__(self, *, pins: PinnedHosts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pins = pins

    def _connection(self, connection_class: type[http.client.HTTPConnection], *args: Any, **kwargs: Any) -> Any:
        connection = connection_class(*args, **kwargs)
        connection._create_connection = self._connect  # type: ignore[attr-defined]
        return connection

    def _connect(self, *args: Any, **kwargs: Any) -> Any:
        sock = self._pins.connect(*args, **kwargs)
        deadline_watch(sock)  # cut when the download's deadline passes, even mid-read
        return sock

    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(functools.partial(self._connection, http.client.HTTPConnection), req)

    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(
            functools.partial(self._connection, http.client.HTTPSConnection), req, context=self._context
        )


class _CheckedRedirectHandler(YtdlpRedirectHandler):
    """A redirect's target must pass the same shape check as the submitted link (its address is checked when
    its connection opens)."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        url_shape_check(url=newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _GuardRefused(RequestError):
    """The guard refused a request yt-dlp made. A RequestError, so yt-dlp treats it as a failed request (not as a
    bug in the handler) and keeps it as the cause of the error it reports; _media_error_in finds it there."""

    def __init__(self, error: MediaError) -> None:
        super().__init__(error.message)
        self.error = error


class _PinnedUrllibRH(UrllibRH):
    """The only request handler our yt-dlp has: http(s) only, no proxies, no file/ftp/data URLs, every socket
    through PinnedHosts and every redirect through the shape check."""

    _SUPPORTED_URL_SCHEMES = ("http", "https")
    _SUPPORTED_PROXY_SCHEMES = ()
    _SUPPORTED_FEATURES = ()

    def __init__(self, *, pins: PinnedHosts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pins = pins

    def _check_proxies(self, proxies: dict[str, str | None]) -> None:
        if any(proxy for key, proxy in proxies.items() if key != "no"):
            raise UnsupportedRequest("proxies are not used for media downloads")

    def _send(self, request: Any) -> Any:
        try:
            return super()._send(request)
        except MediaError as exc:
            raise _GuardRefused(exc) from exc

    def _create_instance(self, proxies: Any, cookiejar: Any, legacy_ssl_support: Any = None) -> Any:
        opener = urllib.request.OpenerDirector()
        for handler in (
            _PinnedYtdlpHTTPHandler(
                pins=self._pins, context=self._make_sslcontext(legacy_ssl_support=legacy_ssl_support)
            ),
            urllib.request.HTTPCookieProcessor(cookiejar),
            urllib.request.UnknownHandler(),
            urllib.request.HTTPDefaultErrorHandler(),
            urllib.request.HTTPErrorProcessor(),
            _CheckedRedirectHandler(),
        ):
            opener.add_handler(handler)
        opener.addheaders = []
        return opener


# The downloaders that fetch through yt-dlp's request handlers (so through _PinnedUrllibRH): no external program.
_NATIVE_DOWNLOADERS = (HttpFD, DashSegmentsFD)


class _PinnedYoutubeDL(yt_dlp.YoutubeDL):
    """yt-dlp whose every request (extractor pages and APIs, the download, its fragments) goes through
    _PinnedUrllibRH, and which never hands a download to ffmpeg or another program."""

    def __init__(self, params: dict[str, Any], *, pins: PinnedHosts) -> None:
        self._pins = pins
        super().__init__(params)

    def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
        return super().build_request_director([functools.partial(_PinnedUrllibRH, pins=self._pins)], preferences)

    def dl(self, name: str, info: dict[str, Any], subtitle: bool = False, test: bool = False) -> Any:
        downloader = get_suitable_downloader(info, self.params, to_stdout=(name == "-"))
        if downloader not in _NATIVE_DOWNLOADERS:
            raise unreachable(url=str(info.get("url", "")), reason=f"{info.get('protocol')} downloads are not used")
        return super().dl(name, info, subtitle=subtitle, test=test)


def _media_error_in(exc: BaseException | None) -> MediaError | None:
    """The guard's (or a limit's) MediaError that yt-dlp raised through or wrapped, if that is what stopped it:
    yt-dlp wraps errors in its own (DownloadError.exc_info, ExtractorError.cause, exception chaining)."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, MediaError):
            return current
        if isinstance(current, (_FetchAborted, _GuardRefused)):
            return current.error
        exc_info = getattr(current, "exc_info", None)
        pending += [exc_info[1] if isinstance(exc_info, tuple) else None, getattr(current, "cause", None)]
        pending += [current.__cause__, current.__context__]
    return None


def _ytdlp_download(*, url: str, dest_dir: Path, pins: PinnedHosts) -> tuple[Path, str]:
    limit = max_bytes()
    timeout_s = fetch_timeout_s()
    started = time.monotonic()
    ytdlp_logger = _YtdlpLogger()

    def on_progress(progress: dict[str, Any]) -> None:
        downloaded = progress.get("downloaded_bytes") or 0
        total = progress.get("total_bytes") or progress.get("total_bytes_estimate")
        if downloaded > limit or (total is not None and total > limit):
            raise _FetchAborted(too_large(limit=limit, seen=max(downloaded, int(total or 0))))
        if time.monotonic() - started > timeout_s:
            raise _FetchAborted(timed_out(url=url, timeout_s=timeout_s))

    options: dict[str, Any] = {
        "format": _ytdlp_format(),
        "merge_output_format": "mp4",
        "outtmpl": {"default": str(dest_dir / "%(id).60B.%(ext)s")},
        "restrictfilenames": True,
        "noplaylist": True,
        "playlist_items": "1",  # a playlist-only link still yields one video, never a batch
        "max_filesize": limit,
        "socket_timeout": timeout_s,
        "retries": 1,
        "fragment_retries": 1,
        "extractor_retries": 0,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": ytdlp_logger,
        "progress_hooks": [on_progress],
        "cachedir": False,
        "updatetime": False,
        "nopart": False,
        "overwrites": True,
        "postprocessors": [],
        "writesubtitles": False,
        "writethumbnail": False,
        "http_headers": {"Accept-Encoding": "identity"},
        "proxy": "",  # never a proxy from the environment: it would connect for us, past the guard
        "external_downloader": {"default": "native"},
        "hls_prefer_native": True,
    }
    try:
        with _PinnedYoutubeDL(options, pins=pins) as ydl:
            info = ydl.extract_info(url, download=True)
    except MediaError:
        raise
    except _FetchAborted as exc:
        raise exc.error from exc
    except yt_dlp.utils.DownloadError as exc:
        cause = exc.exc_info[1] if exc.exc_info else None
        stopped_by = _media_error_in(exc)
        if stopped_by is not None:
            raise stopped_by from exc
        if deadline_remaining() == 0:  # the deadline cut its sockets: whatever yt-dlp says, it ran out of time
            raise timed_out(url=url, timeout_s=timeout_s) from exc
        message = str(exc)
        if "timed out" in message.lower() or isinstance(cause, TimeoutError):
            raise timed_out(url=url, timeout_s=timeout_s) from exc
        http_status = getattr(cause, "status", None) if cause is not None else None
        raise unreachable(url=url, reason=_strip_ytdlp_prefix(message), http_status=http_status) from exc
    except yt_dlp.utils.YoutubeDLError as exc:
        stopped_by = _media_error_in(exc)
        if stopped_by is not None:
            raise stopped_by from exc
        if deadline_remaining() == 0:
            raise timed_out(url=url, timeout_s=timeout_s) from exc
        raise unreachable(url=url, reason=_strip_ytdlp_prefix(str(exc))) from exc

    files = [p for p in dest_dir.iterdir() if p.is_file() and not p.name.endswith((".part", ".ytdl"))]
    if not files:
        # yt-dlp skips, without an error, a file whose Content-Length is over max_filesize.
        reported = (info or {}).get("filesize") or (info or {}).get("filesize_approx")
        if reported and int(reported) > limit:
            raise too_large(limit=limit, seen=int(reported))
        if any("max-filesize" in m for m in ytdlp_logger.messages):
            raise too_large(limit=limit)
        raise unreachable(url=url, reason="yt-dlp downloaded no file")
    downloaded = max(files, key=lambda p: p.stat().st_size)
    if downloaded.stat().st_size > limit:
        raise too_large(limit=limit, seen=downloaded.stat().st_size)
    ext = downloaded.suffix.lstrip(".") or "mp4"
    final = downloaded.with_name(_safe_filename(stem=downloaded.stem, ext=ext))
    if final != downloaded:
        downloaded.rename(final)
    content_type = mimetypes.guess_type(final.name)[0] or "application/octet-stream"
    return final, content_type


def _strip_ytdlp_prefix(message: str) -> str:
    return re.sub(r"^(ERROR:\s*)?(\[[^\]]+\]\s*)?", "", message).strip()[:500]
