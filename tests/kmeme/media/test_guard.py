"""The address guard: links to private or local addresses are refused, and downloads connect only where it checked.

A real DNS double on loopback is hard, so the guard's one resolver function (`guard.host_resolve`) is replaced by a
table each test fills. The system resolver is left alone, or, for the rebinding tests, made to give the rebound
answer: what an HTTP client that looked the host up again itself would connect to.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kmeme.media import MediaError, guard, media_fetch
from kmeme.media.guard import PinnedHosts, url_check
from tests.kmeme.media.helpers import counted, file_handler, redirect_handler, serve

PUBLIC = "93.184.215.14"  # an ordinary public address; the suite's socket guard refuses to connect to it
BODY = b"\0\0\0\x18ftypmp42" + bytes(4000)  # served as video/mp4; never probed here


class FakeDns:
    """The guard's resolver: each name answers from its list of answers, one per lookup, the last one repeating."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def answer(self, host: str, *answers: list[str]) -> None:
        self.answers[host] = list(answers)

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        queue = self.answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(guard, "host_resolve", fake)
    return fake


@pytest.fixture
def guarded(settings) -> None:
    settings.MEDIA_ALLOW_PRIVATE_HOSTS = False


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.MEDIA_FETCH_TIMEOUT_S = 5
    return settings.MEDIA_ROOT


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Every address a socket tried to connect to (through the suite's loopback-only guard)."""
    attempts: list[tuple] = []
    loopback_only = socket.socket.connect

    def connect(self: socket.socket, address: object) -> object:
        attempts.append(tuple(address[:2]) if isinstance(address, tuple) else (address,))
        return loopback_only(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


@pytest.fixture
def system_dns_rebound(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The system resolver answers 127.0.0.1 for *.test: where a client that resolved the name again would go."""
    real = socket.getaddrinfo

    def getaddrinfo(host: object, port: object, *args: object, **kwargs: object) -> list:
        if isinstance(host, str) and host.endswith(".test"):
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield


def refusal(url: str) -> MediaError:
    with pytest.raises(MediaError) as info:
        url_check(url=url)
    return info.value


# -- the rules ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/v.mp4", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("gopher://example.com:70/_", "scheme"),
        ("http://user:pass@example.com/v.mp4", "credentials"),
        ("https://user@example.com/v.mp4", "credentials"),
        ("http://example.com\\@127.0.0.1/v.mp4", "credentials"),
        ("http:///v.mp4", "host"),
        ("http://example.com:99999/v.mp4", "malformed"),
    ],
)
@pytest.mark.parametrize("allow_private", [False, True])
def test_links_of_the_wrong_shape_are_refused_whatever_the_setting(settings, dns, url, reason, allow_private):
    settings.MEDIA_ALLOW_PRIVATE_HOSTS = allow_private
    error = refusal(url)
    assert (error.code, error.details["reason"], error.status_code) == ("url_not_allowed", reason, 400)
    assert dns.lookups == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",  # decimal
        "0x7f.1",  # hex, short form
        "0x7f000001",
        "0177.0.0.1",  # octal
        "127.1",
        "[::1]",
        "[::ffff:127.0.0.1]",  # IPv4-mapped
        "[::ffff:7f00:1]",
        "[::ffff:8.8.8.8]",  # mapped, even to a public address: a client's IPv6 socket reaches IPv4 with it
        "[2002:7f00:1::]",  # 6to4 around 127.0.0.1
        "[64:ff9b::a00:1]",  # NAT64 around 10.0.0.1
        "10.0.0.8",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.169.254",  # cloud metadata
        "[fe80::1]",
        "[fc00::1]",
        "[fec0::1]",
        "224.0.0.1",
        "239.255.255.250",
        "[ff02::1]",
        "0.0.0.0",  # noqa: S104 - a link to it, refused
        "0",
        "[::]",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",  # documentation
    ],
)
def test_links_to_non_public_addresses_are_refused_in_any_spelling(guarded, dns, host):
    error = refusal(f"http://{host}/v.mp4")
    assert (error.code, error.details["reason"]) == ("url_not_allowed", "address")
    assert dns.lookups == []  # an address is read as written, never looked up


@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1"],
        ["::1"],
        [PUBLIC, "10.1.2.3"],  # one private answer among public ones is enough
        ["2606:4700::1111", "fd00::7"],
        ["::ffff:169.254.169.254"],
    ],
)
def test_a_name_is_refused_when_any_address_it_resolves_to_is_not_public(guarded, dns, answers):
    dns.answer("video.test", answers)
    error = refusal("https://video.test/clip.mp4")
    assert (error.code, error.details["reason"], error.details["host"]) == ("url_not_allowed", "address", "video.test")
    refused = {ipaddress.ip_address(a) for a in error.details["addresses"]}
    assert refused and refused <= {ipaddress.ip_address(a) for a in answers}
    assert ipaddress.ip_address(PUBLIC) not in refused


def test_public_links_pass_and_an_unknown_name_is_unresolvable(guarded, dns):
    dns.answer("video.test", [PUBLIC, "2606:4700::1111"])
    url_check(url="https://video.test/clip.mp4")
    url_check(url=f"http://{PUBLIC}:8080/clip.mp4")
    error = refusal("https://nowhere.test/clip.mp4")
    assert (error.code, error.details["host"]) == ("url_unresolvable", "nowhere.test")


def test_allowing_private_hosts_lifts_the_address_rule_without_resolving(settings, dns):
    settings.MEDIA_ALLOW_PRIVATE_HOSTS = True
    url_check(url="http://127.0.0.1:8000/v.mp4")
    url_check(url="http://video.test/v.mp4")
    assert dns.lookups == []


def test_pinned_hosts_resolve_each_host_once(guarded, dns):
    dns.answer("video.test", [PUBLIC], ["127.0.0.1"])
    pins = PinnedHosts()
    assert pins.addresses("video.test", 443) == [ipaddress.ip_address(PUBLIC)]
    assert pins.addresses("VIDEO.test.", 80) == [ipaddress.ip_address(PUBLIC)]
    assert dns.lookups == ["video.test"]


# -- downloads ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["direct", "tiktok"])
def test_no_request_reaches_a_loopback_server_however_its_address_is_spelled(settings, platform, media_root):
    requests: list[str] = []
    with serve({"/clip.mp4": counted(file_handler(BODY), requests)}) as base:
        port = base.rsplit(":", 1)[1]
        settings.MEDIA_ALLOW_PRIVATE_HOSTS = False
        for host in ("127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1", "[::ffff:127.0.0.1]", "localhost"):
            with pytest.raises(MediaError) as info:
                media_fetch(url=f"http://{host}:{port}/clip.mp4", platform=platform, node_public_id="n1")
            assert info.value.code == "url_not_allowed", (host, info.value.details)
        assert requests == []
        # The same spelling, with the rule lifted, does reach the server: the refusal above was the guard's.
        settings.MEDIA_ALLOW_PRIVATE_HOSTS = True
        media_fetch(url=f"http://2130706433:{port}/clip.mp4", platform=platform, node_public_id="n1")
        assert requests and set(requests) == {"/clip.mp4"}


@pytest.mark.parametrize("platform", ["direct", "youtube"])
def test_a_dns_answer_that_changes_after_the_check_is_never_connected_to(
    guarded, dns, system_dns_rebound, connections, platform, media_root
):
    """DNS rebinding: the name is public when checked and loopback a moment later. The download connects to the
    address that was checked (the suite refuses that connection, as the internet is out of reach), never to the
    second answer, where a loopback server waits with the secret."""
    requests: list[str] = []
    with serve({"/clip.mp4": counted(file_handler(b"secret"), requests)}) as base:
        port = int(base.rsplit(":", 1)[1])
        dns.answer("rebind.test", [PUBLIC], ["127.0.0.1"])
        with pytest.raises(MediaError) as info:
            media_fetch(url=f"http://rebind.test:{port}/clip.mp4", platform=platform, node_public_id="n1")

    assert info.value.code == "media_unreachable"
    assert requests == []
    assert ("127.0.0.1", port) not in connections
    assert (PUBLIC, port) in connections
    assert dns.lookups == ["rebind.test"]  # resolved once for the whole download
    assert not (media_root / "videos").exists()


@pytest.mark.parametrize("platform", ["direct", "tiktok"])
@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.1]/v.mp4",
        "http://internal.test/v.mp4",
        "http://user:pw@public.test:{port}/clip.mp4",
    ],
)
def test_a_redirect_to_a_private_or_credentialed_address_is_refused(
    guarded, dns, monkeypatch, connections, platform, target
):
    # The redirector stands in for a public host: for this test only, its loopback address counts as public.
    real_forbidden = guard.address_forbidden
    monkeypatch.setattr(
        guard, "address_forbidden", lambda a: False if a == ipaddress.ip_address("127.0.0.1") else real_forbidden(a)
    )
    dns.answer("public.test", ["127.0.0.1"])
    dns.answer("internal.test", ["10.0.0.8"])
    requests: list[str] = []
    with serve({"/clip.mp4": counted(file_handler(BODY), requests)}) as base:
        port = int(base.rsplit(":", 1)[1])
        location = target.format(port=port)
        with serve({"/go": counted(redirect_handler(location), requests)}) as redirector:
            url = redirector.replace("127.0.0.1", "public.test") + "/go"
            with pytest.raises(MediaError) as info:
                media_fetch(url=url, platform=platform, node_public_id="n1")

    assert info.value.code == "url_not_allowed", info.value.details
    assert "/go" in requests and "/clip.mp4" not in requests
    assert not any(address[0] in ("169.254.169.254", "10.0.0.8", "::ffff:10.0.0.1") for address in connections)


@pytest.mark.parametrize("platform", ["direct", "tiktok"])
def test_a_proxy_from_the_environment_is_never_used(settings, monkeypatch, platform):
    """A proxy would make the connections for us, past the guard."""
    proxied: list[str] = []
    with (
        serve({}, fallback=counted(file_handler(BODY), proxied)) as proxy,
        serve({"/clip.mp4": file_handler(BODY)}) as base,
    ):
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        fetched = media_fetch(url=f"{base}/clip.mp4", platform=platform, node_public_id="n1")

    assert fetched.size_bytes == len(BODY)
    assert proxied == []
