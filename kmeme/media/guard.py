"""The address guard: a submitted link is fetched by our server, so it may only point at the public internet.

Without it anyone could make the server read internal services through a video link (cloud metadata at
169.254.169.254, the database's admin port, a neighbour on the private network, …). Two entry points:

- `url_check(url=…)`, at submission (remix.services.node_submit, so the API and the admin's add form): the
  link's shape (http or https, no user:password@, a host) and every address its host resolves to. A refused
  link is never stored, so no job fetches it.
- `PinnedHosts`, one per download: each host is resolved once, every address it resolves to is checked, and
  connections go to those checked addresses only (`PinnedHosts.connect`, which both HTTP stacks in
  kmeme.media.fetch open their sockets with). A DNS answer that changes after the check (DNS rebinding) is
  therefore never used, redirects to another host are resolved and checked the same way when their connection
  opens, and `url_shape_check` refuses a redirect's credentials or scheme before it is followed.

MEDIA_ALLOW_PRIVATE_HOSTS lifts the address rule (not the shape rules): the tests serve videos on loopback.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from rest_framework import status

from kmeme.media.types import MediaError
from kmeme.platforms import UPLOAD_HOST, Platform, platform_from_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

URL_NOT_ALLOWED = "url_not_allowed"
URL_UNRESOLVABLE = "url_unresolvable"
ALLOWED_SCHEMES = ("http", "https")

# What inet_aton reads as an IPv4 address: 1 to 4 parts, each decimal, octal (0177) or hex (0x7f), so
# http://2130706433/, http://0x7f.1/ and http://0177.0.0.1/ are all 127.0.0.1. Read here, not left to a resolver.
_LEGACY_IPV4 = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)


def _refused(url: str, reason: str, message: str, **details: Any) -> MediaError:
    return MediaError(
        message,
        code=URL_NOT_ALLOWED,
        status_code=status.HTTP_400_BAD_REQUEST,
        details={"url": url, "reason": reason, **details},
    )


def url_shape_check(*, url: str) -> SplitResult:
    """Refuse a link whose scheme is not http(s), that carries credentials, or has no host or a bad port.

    Needs no DNS; checked for the submitted link and for every redirect. Returns the parsed link."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise _refused(url, "malformed", "The link is not a valid http(s) URL.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise _refused(url, "scheme", "Only http and https links are accepted.", scheme=scheme)
    if "@" in parts.netloc:
        raise _refused(url, "credentials", "Links with a user name or password in them are not accepted.")
    if not parts.hostname:
        raise _refused(url, "host", "The link has no host.")
    if port == 0:
        raise _refused(url, "port", "The link's port is not valid.")
    if parts.hostname.lower().rstrip(".") == UPLOAD_HOST:
        # The name the project gives uploaded videos: never fetched, and not a way to point at someone's upload.
        raise _refused(url, "host", "That is not a video link. To use an uploaded video, send its upload_id.")
    return parts


def ip_literal(host: str) -> IPAddress | None:
    """The address a host *is*, in any spelling a resolver or HTTP client would accept, or None for a name."""
    host = host.strip("[]").split("%", 1)[0]  # brackets of an IPv6 literal; an IPv6 zone id
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def address_forbidden(address: IPAddress) -> bool:
    """True unless the address is an ordinary public unicast address.

    `is_global` alone is not enough: Python counts multicast (224.0.0.0/4, ff00::/8), site-local (fec0::/10) and
    IPv6 forms that carry an IPv4 address (6to4 2002::/16) as global. IPv4-mapped (::ffff:0:0/96), IPv4-compatible
    and NAT64 (64:ff9b::/96) addresses are reserved, so refused whatever IPv4 address they carry."""
    if (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    ):
        return True
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_site_local:
            return True
        embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
        return any(v4 is not None and address_forbidden(v4) for v4 in embedded)
    return False


def host_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`, in its order: the one DNS lookup of this module."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def host_addresses_checked(*, host: str, port: int, url: str | None = None) -> list[IPAddress]:
    """Resolve `host` once and check every address: all must be public (unless MEDIA_ALLOW_PRIVATE_HOSTS), or
    none is used. A literal address is taken as it is spelled, without DNS."""
    shown = url or host
    literal = ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            answers = host_resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise MediaError(
                "The link's host name does not resolve.",
                code=URL_UNRESOLVABLE,
                details={"url": shown, "host": host},
            ) from exc
        addresses = [ipaddress.ip_address(answer.split("%", 1)[0]) for answer in answers]
        if not addresses:
            raise MediaError(
                "The link's host name does not resolve.", code=URL_UNRESOLVABLE, details={"url": shown, "host": host}
            )
    if not settings.MEDIA_ALLOW_PRIVATE_HOSTS:
        forbidden = sorted({str(a) for a in addresses if address_forbidden(a)})
        if forbidden:
            raise _refused(
                shown,
                "address",
                "Links to private, local or otherwise non-public network addresses are not accepted.",
                host=host,
                addresses=forbidden,
            )
    return addresses


def url_check(*, url: str) -> None:
    """Refuse, before anything is stored, a link our server must not fetch: see url_shape_check, and every address
    its host resolves to must be public (MEDIA_ALLOW_PRIVATE_HOSTS lifts that, and then nothing is resolved)."""
    parts = url_shape_check(url=url)
    if settings.MEDIA_ALLOW_PRIVATE_HOSTS:
        return
    if platform_from_url(url) != Platform.DIRECT and parts.port is None:
        # youtube.com, tiktok.com, instagram.com (and their subdomains): public by whom they belong to, not by what
        # a resolver says now; their downloads are still resolved, checked and pinned (host_addresses_checked at
        # fetch time). Not resolving here keeps a submission from depending on DNS being up this very second.
        return
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    host_addresses_checked(host=parts.hostname or "", port=port, url=url)


class PinnedHosts:
    """One download's DNS: each host resolved and checked once, and connections opened to those addresses only.

    `connect` has socket.create_connection's signature, so http.client (yt-dlp) and httpcore (httpx) can use it
    in place of their own resolve-and-connect. TLS is unaffected: the clients still send the host name as SNI
    and verify the certificate against it; only the TCP connection goes to the checked address.
    """

    def __init__(self) -> None:
        self._addresses: dict[str, list[IPAddress]] = {}
        self._lock = threading.Lock()

    def addresses(self, host: str, port: int) -> list[IPAddress]:
        key = host.strip("[]").lower().rstrip(".")
        with self._lock:
            if key not in self._addresses:
                self._addresses[key] = host_addresses_checked(host=host, port=port)
            return self._addresses[key]

    def connect(
        self,
        address: tuple[str, int],
        timeout: float | object | None = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
        source_address: tuple[str, int] | None = None,
    ) -> socket.socket:
        host, port = address[0], int(address[1])
        error: OSError | None = None
        for ip in self.addresses(host, port):
            family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                    sock.settimeout(timeout)  # type: ignore[arg-type]
                if source_address is not None:
                    sock.bind(source_address)
                sock.connect((str(ip), port))
            except OSError as exc:
                sock.close()
                error = exc
                continue
            return sock
        raise error if error is not None else OSError(f"no address to connect to for {host}")
