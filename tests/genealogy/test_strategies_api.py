"""The strategy table from the database: which edges count, GET /api/v1/nodes/{id}/strategies, the admin page."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Role
from genealogy.services import snapshot_record
from genealogy.strategies import AGE, CACHE_KEY, MIN_TOTAL_EDGES, strategy_edges
from remix.lineage import mutation_create
from remix.models import Layer, NodeStatus
from remix.services import node_create, node_transition, node_update
from tests.accounts.factories import UserFactory
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db

LIFT = {"audio_swap": 1.6, "caption_change": 1.0, "product_swap": 0.8}


def _views(node, views: int, *, age: timedelta = AGE) -> None:
    snapshot_record(node=node, views=views, likes=0, shares=0, captured_at=node.published_at + age)


def _fork(master, *, types: list[str], publish: bool = True, n: int = 0):
    fork = node_create(
        title=f"fork {n}",
        source_url=f"https://www.tiktok.com/@c/video/{7400000000000000000 + n}",
        owner=None,
        layer=Layer.FORK,
    )
    mutation_create(parent=master, child=fork, mutation_types=types)
    if publish:
        node_transition(node=fork, to=NodeStatus.PUBLISHED, actor=None)
    return fork


def _master(category: str = "food", title: str = "Latte art"):
    master = published_master(title)
    node_update(node=master, editor=UserFactory(role=Role.EDITOR), commerce_category=category)
    master.refresh_from_db()
    return master


def _family(master, n: int, *, seed: int = 1, start: int = 0) -> None:
    rng = random.Random(seed)
    _views(master, 10_000)
    for i in range(n):
        mutation_type = list(LIFT)[i % 3]
        fork = _fork(master, types=[mutation_type], n=start + i)
        _views(fork, round(10_000 * LIFT[mutation_type] * math.exp(rng.gauss(0, 0.1))))


def test_only_published_edges_with_views_at_the_same_age_count():
    master = _master()
    _views(master, 1000)
    counted = _fork(master, types=["audio_swap", "caption_change"], n=1)
    _views(counted, 1600)
    _views(counted, 99_999, age=AGE + timedelta(hours=1))  # after the age: not used
    unpublished = _fork(master, types=["audio_swap"], publish=False, n=2)
    snapshot_record(node=unpublished, views=5000, likes=0, shares=0, captured_at=master.published_at)
    too_early = _fork(master, types=["audio_swap"], n=3)
    _views(too_early, 5000, age=AGE - timedelta(days=2))  # no snapshot within the tolerance of the age
    _fork(master, types=["audio_swap"], n=4)  # no snapshot at all

    edges = strategy_edges()
    assert len(edges) == 1
    assert edges[0].types == {"audio_swap", "caption_change"}
    assert edges[0].category == "food"
    assert edges[0].y == pytest.approx(math.log(1601) - math.log(1001))


def test_a_master_gets_its_categorys_ranking(client):
    master = _master()
    _family(master, 36)
    response = client.get(reverse("v1:node-strategies", args=[master.public_id]))
    assert response.status_code == 200
    body = response.json()
    assert body["basis"] == "category" and body["enough_data"] and body["message"] is None
    assert body["commerce_category"] == "food" and body["edges"] == 36 and body["age_days"] == 7
    ranked = [s for s in body["strategies"] if s["rank"] is not None]
    assert [s["mutation_type"] for s in ranked] == ["audio_swap", "caption_change", "product_swap"]
    audio = ranked[0]
    assert audio["edges"] == 12
    assert audio["lift_low_pct"] < 60 < audio["lift_high_pct"]
    assert {s["mutation_type"] for s in body["strategies"] if s["rank"] is None} == {
        "localization",
        "format_change",
        "setting_change",
        "character_change",
    }


def test_too_little_data_is_said(client):
    master = _master()
    _family(master, MIN_TOTAL_EDGES - 1)
    body = client.get(reverse("v1:node-strategies", args=[master.public_id])).json()
    assert body["basis"] == "none" and not body["enough_data"] and body["strategies"] == []
    assert "Too little data" in body["message"]


def test_a_category_with_few_edges_gets_the_all_category_table(client):
    _family(_master("food"), 36)
    beauty = _master("beauty", title="Lip tint")
    body = client.get(reverse("v1:node-strategies", args=[beauty.public_id])).json()
    assert body["basis"] == "all_categories" and body["enough_data"]
    assert "all categories" in body["message"]
    assert body["strategies"][0]["mutation_type"] == "audio_swap"


def test_forks_unpublished_and_unknown_nodes_are_refused(client):
    master = _master()
    fork = _fork(master, types=["audio_swap"], n=9)
    draft = _fork(master, types=["audio_swap"], publish=False, n=10)
    response = client.get(reverse("v1:node-strategies", args=[fork.public_id]))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_a_master"
    for public_id in [draft.public_id, "00000000-0000-0000-0000-000000000000"]:
        response = client.get(reverse("v1:node-strategies", args=[public_id]))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    node_transition(node=master, to=NodeStatus.ARCHIVED, actor=None)
    assert client.get(reverse("v1:node-strategies", args=[master.public_id])).status_code == 404


@pytest.mark.parametrize("families", [1, 3])
def test_the_endpoint_costs_the_same_queries_however_many_edges(client, django_assert_num_queries, families):
    masters = [_master(title=f"Master {i}") for i in range(families)]
    for i, master in enumerate(masters):
        _family(master, 24, seed=i, start=100 * i)
    url = reverse("v1:node-strategies", args=[masters[0].public_id])
    cache.delete(CACHE_KEY)
    with django_assert_num_queries(2):  # the node, then every usable edge in one query
        assert client.get(url).status_code == 200
    with django_assert_num_queries(1):  # the table comes from Redis
        assert client.get(url).status_code == 200


def test_editors_see_the_strategy_tables_in_the_admin(editor_session, client):
    _family(_master(), 36)
    url = reverse("admin:genealogy_strategies")
    response = editor_session.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Which mutations spread best" in page
    assert "Audio swap" in page and "<svg" in page
    assert "Food &amp; drink" in page
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]


def test_the_admin_page_says_when_there_is_too_little_data(editor_session):
    response = editor_session.get(reverse("admin:genealogy_strategies"))
    assert response.status_code == 200
    assert "Too little data" in response.content.decode()
