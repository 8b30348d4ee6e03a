"""The address guard: a submitted link is fetched by our server, so it may only point at the public internet."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from kmeme.media.limits import unreachable
from kmeme.media.types import MediaError


def media_host_check(*, url: str) -> None:
    """Refuse links to private, loopback, link-local or otherwise non-public addresses.

    A submitted URL is fetched by our server, so without this check anyone could make it read
    internal services (cloud metadata at 169.254.169.254, the database's admin port, …). Checked
    for the first URL and, for direct downloads, again for every redirect. MEDIA_ALLOW_PRIVATE_HOSTS
    lifts it (tests serve their videos on loopback).
    """
    if settings.MEDIA_ALLOW_PRIVATE_HOSTS:
        return
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError) as exc:
        raise unreachable(url=url, reason="the host name does not resolve") from exc
    private = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%", 1)[0]).is_global)
    if private:
        raise MediaError(
            "Links to private or local network addresses are not fetched.",
            code="media_forbidden_host",
            details={"url": url, "host": host, "addresses": private},
        )
