"""Hostile input, property-based: arbitrary JSON bodies (deep, with NULs, lone surrogates, non-finite and huge
numbers, odd keys), text, query parameters, path ids and headers, thrown at the remix API signed in and anonymous.

Every answer must be below 500, every error the one JSON shape with a `code`, and every refusal must write nothing
(tests/kmeme/hostile.py). The auth endpoints are fuzzed in tests/accounts/test_hostile_inputs.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role
from remix.forks import node_fork
from remix.models import RemixNode
from tests.accounts.factories import UserFactory
from tests.kmeme.hostile import (
    HOSTILE,
    NASTY_STRINGS,
    assert_handled,
    bodies,
    content_types,
    datetimes_text,
    dumps,
    hostile_text,
    numbers_text,
    query_string,
    quoted,
)
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db

FORK_BODY = {
    "title": "Busan edition",
    "mutation_types": ["localization"],
    "profile": {"city": "Busan"},
    "source_url": "https://www.tiktok.com/@mina/video/7300000000000000001",
}


class World:
    """A published master, a creator with a fork of it, and another creator's fork: set up through the services."""

    def __init__(self) -> None:
        self.master = published_master("Seongsu latte art")
        self.creator = UserFactory(role=Role.CREATOR, display_name="Mina")
        self.fork = node_fork(
            master=self.master, creator=self.creator, title="Mina's fork", mutation_types=["format_change"]
        )
        self.stranger = UserFactory(role=Role.CREATOR, display_name="Joon")
        self.strangers_fork = node_fork(
            master=self.master, creator=self.stranger, title="Joon's fork", mutation_types=["audio_swap"]
        )
        self.access = str(RefreshToken.for_user(self.creator).access_token)

    def client(self, signed_in: bool) -> APIClient:
        client = APIClient()
        if signed_in:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.access}")
        return client


@pytest.fixture
def world() -> World:
    return World()


def send(client: APIClient, method: str, path: str, body: str | bytes, content_type: str) -> Any:
    cache.delete_pattern("*")  # rate limits and quotas start afresh: each example reaches the code behind them
    return assert_handled(lambda: client.generic(method, path, body, content_type=content_type))


def get(client: APIClient, path: str, params: list[tuple[str, str]]) -> Any:
    cache.delete_pattern("*")
    return assert_handled(lambda: client.get(f"{path}?{query_string(params)}"))


# --- Write endpoints: any body ---------------------------------------------------------------------------------------


@HOSTILE
@given(
    body=bodies({"video_url": "https://www.tiktok.com/@a/video/7300000000000000002", "title": "x"}),
    content_type=content_types,
    signed_in=st.booleans(),
)
def test_analyses_post(world, body, content_type, signed_in):
    send(world.client(signed_in), "POST", "/api/v1/analyses", body, content_type)


@HOSTILE
@given(body=bodies(FORK_BODY), content_type=content_types, signed_in=st.booleans())
def test_fork_post(world, body, content_type, signed_in):
    response = send(
        world.client(signed_in), "POST", f"/api/v1/nodes/{world.master.public_id}/forks", body, content_type
    )
    if response.status_code == 201:  # what was accepted is stored and reads back
        assert world.client(True).get(f"/api/v1/nodes/{response.json()['id']}").status_code == 200


@HOSTILE
@given(body=bodies(FORK_BODY), content_type=content_types, signed_in=st.booleans())
def test_node_patch(world, body, content_type, signed_in):
    response = send(world.client(signed_in), "PATCH", f"/api/v1/nodes/{world.fork.public_id}", body, content_type)
    if response.status_code == 200:
        assert world.client(True).get(f"/api/v1/nodes/{world.fork.public_id}/guide.txt").status_code == 200


@HOSTILE
@given(
    body=bodies({"published": True}),
    content_type=content_types,
    signed_in=st.booleans(),
    target=st.sampled_from(["fork", "strangers_fork", "master"]),
)
def test_node_publish(world, body, content_type, signed_in, target):
    node = getattr(world, target)
    send(world.client(signed_in), "POST", f"/api/v1/nodes/{node.public_id}/publish", body, content_type)


@HOSTILE
@given(
    body=bodies({}) | st.just(""),
    content_type=content_types,
    signed_in=st.booleans(),
    target=st.sampled_from(["strangers_fork", "master"]),
)
def test_node_delete_of_what_is_not_yours(world, body, content_type, signed_in, target):
    node = getattr(world, target)
    response = send(world.client(signed_in), "DELETE", f"/api/v1/nodes/{node.public_id}", body, content_type)
    assert response.status_code in (401, 403, 404)  # 404: a draft is private, its existence not revealed
    assert RemixNode.objects.filter(pk=node.pk).exists()


def test_node_delete_of_your_own_fork_ignores_a_hostile_body(world):
    body = '{"\\u0000": ' + "[" * 5000 + "]" * 5000 + "}"
    response = send(world.client(True), "DELETE", f"/api/v1/nodes/{world.fork.public_id}", body, "application/json")
    assert response.status_code == 204  # DELETE takes no body; whatever is sent is never parsed


# --- Query parameters --------------------------------------------------------------------------------------------

_list_params = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["published_after", "published_before"]), datetimes_text),
        st.tuples(st.sampled_from(["page", "page_size"]), numbers_text),
        st.tuples(
            st.sampled_from(["platform", "category", "layer", "q", "format", "ordering", "search"]), hostile_text
        ),
        st.tuples(hostile_text, hostile_text),
    ),
    max_size=5,
)


@HOSTILE
@given(params=_list_params, signed_in=st.booleans())
def test_nodes_list_filters_and_pages(world, params, signed_in):
    get(world.client(signed_in), "/api/v1/nodes", params)


@HOSTILE
@given(
    params=st.lists(
        st.one_of(st.tuples(st.just("k"), numbers_text), st.tuples(hostile_text, hostile_text)), max_size=3
    ),
    signed_in=st.booleans(),
)
def test_similar_k(world, params, signed_in):
    get(world.client(signed_in), f"/api/v1/nodes/{world.master.public_id}/similar", params)


@HOSTILE
@given(
    suffix=st.sampled_from(["", "/guide.txt", "/similar", "/forks", "/publish"]),
    node=st.sampled_from(["master", "fork", "strangers_fork"]),
    params=st.lists(st.tuples(hostile_text, hostile_text), max_size=3),
    signed_in=st.booleans(),
)
def test_node_reads_with_any_query(world, suffix, node, params, signed_in):
    get(world.client(signed_in), f"/api/v1/nodes/{getattr(world, node).public_id}{suffix}", params)


@HOSTILE
@given(
    node_id=hostile_text,
    prefix=st.sampled_from(["/api/v1/nodes/", "/api/v1/analyses/"]),
    suffix=st.sampled_from(["", "/guide.txt", "/similar", "/forks", "/publish"]),
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE"]),
    signed_in=st.booleans(),
)
def test_paths_with_any_id(world, node_id, prefix, suffix, method, signed_in):
    send(world.client(signed_in), method, f"{prefix}{quoted(node_id)}{suffix}", '{"title": "x"}', "application/json")


# --- Headers -----------------------------------------------------------------------------------------------------

# What a WSGI server can hand over: header bytes are decoded as Latin-1, and it refuses control characters.
_header_values = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60),
    st.builds(lambda rest: f"Bearer {rest}", st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF))),
    st.sampled_from(["Bearer", "Bearer ", "Bearer a.b.c", "Basic Zm9vOmJhcg==", "Bearer " + "A" * 5000]),
)


@HOSTILE
@given(authorization=_header_values, request_id=_header_values, path=st.sampled_from(["/api/v1/me", "/api/v1/nodes"]))
def test_authorization_and_request_id_headers(world, authorization, request_id, path):
    client = APIClient()
    response = assert_handled(lambda: client.get(path, HTTP_AUTHORIZATION=authorization, HTTP_X_REQUEST_ID=request_id))
    assert response["X-Request-ID"]  # kept only when it is sane, else one of ours


_WRITES = {
    "analyses": ("POST", lambda w: "/api/v1/analyses", {"video_url": "https://www.tiktok.com/@a/video/73"}),
    "fork": ("POST", lambda w: f"/api/v1/nodes/{w.master.public_id}/forks", FORK_BODY),
    "publish": ("POST", lambda w: f"/api/v1/nodes/{w.fork.public_id}/publish", {"published": True}),
    "edit": ("PATCH", lambda w: f"/api/v1/nodes/{w.fork.public_id}", {"title": "Edited"}),
}


@HOSTILE
@given(
    # Any header value, and a few keys that come back: replays, and 409s for another request with a used key.
    key=_header_values | st.sampled_from(["", " ", "k" * 255, "k" * 256, "again", "again", '"quoted"']),
    write=st.sampled_from(sorted(_WRITES)),
    signed_in=st.booleans(),
)
def test_idempotency_key_header(world, key, write, signed_in):
    method, path_of, body = _WRITES[write]
    client = world.client(signed_in)
    cache.delete_pattern("*")
    assert_handled(
        lambda: client.generic(method, path_of(world), dumps(body), "application/json", HTTP_IDEMPOTENCY_KEY=key)
    )


@pytest.mark.parametrize("text", NASTY_STRINGS, ids=range(len(NASTY_STRINGS)))
def test_every_nasty_string_as_a_fork_title_and_a_profile_key(world, text):
    """The fixed list, each one for sure (Hypothesis samples from it): in a field DRF checks, and in free-form JSON."""
    client = world.client(True)
    path = f"/api/v1/nodes/{world.master.public_id}/forks"
    for body in ({**FORK_BODY, "title": text}, {**FORK_BODY, "profile": {text: text}}):
        send(client, "POST", path, dumps(body), "application/json")
