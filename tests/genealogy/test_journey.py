"""#11's "Done means", end to end through the API and the real collector: a creator forks a fork, sets the posted
URL and sees the family tree and its picture; the snapshot job reads loopback video pages (yt-dlp's generic
extractor, JSON-LD counters); then GET …/strategies ranks mutations from those numbers."""

from __future__ import annotations

import html
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from genealogy.models import NodePerformanceSnapshot, SnapshotSource
from genealogy.strategies import AGE
from remix.models import Layer, NodeStatus, RemixNode
from remix.services import node_update
from tests.accounts.factories import UserFactory
from tests.genealogy.pages import page_handler, recording_handler, video_page
from tests.kmeme.media.helpers import serve
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db

LIFT = {"audio_swap": 1.6, "caption_change": 1.0, "product_swap": 0.8}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _fork(client: APIClient, parent_id: str, title: str, types: list[str]) -> str:
    response = client.post(f"/api/v1/nodes/{parent_id}/forks", {"title": title, "mutation_types": types}, format="json")
    assert response.status_code == 201, response.content
    fork_id = response.json()["id"]
    published = client.post(f"/api/v1/nodes/{fork_id}/publish", {"published": True}, format="json")
    assert published.status_code == 200, published.content
    return fork_id


@contextmanager
def _video_pages(counts: dict[str, int]) -> Iterator[str]:
    """One loopback video page per name, carrying its view count (and a like count)."""
    box: list[str] = []
    routes = {
        f"/{name}": page_handler(lambda n=name, v=views: video_page(box[0], name=n, views=v, likes=v // 20))
        for name, views in counts.items()
    }
    with serve(routes, fallback=recording_handler([])) as base:
        box.append(base)
        yield base


def _age(public_ids: list[str], age: timedelta) -> None:
    """Publication `age` ago, so the collector's reading now is the reading at that age."""
    RemixNode.objects.filter(public_id__in=public_ids).update(published_at=timezone.now() - age)


def test_a_creator_grows_a_chain_posts_it_and_the_collected_counts_rank_the_mutations(settings):
    settings.PERFORMANCE_READS_PER_MINUTE = {"default": 100}  # the loopback pages count as one platform
    joon, mina = (UserFactory(role=Role.CREATOR, display_name=n) for n in ("Joon", "Mina"))
    editor = UserFactory(role=Role.EDITOR)
    master = published_master("Dalgona latte")
    node_update(node=master, editor=editor, commerce_category="food")
    master_id = str(master.public_id)

    # Joon forks the master; Mina forks Joon's fork (a chain two deep) and says where she posted it.
    joons = _fork(_client(joon), master_id, "Busan dalgona", ["localization"])
    minas = _fork(_client(mina), joons, "Busan dalgona, K-pop hook", ["audio_swap"])

    # Planted families in the same category: audio swaps spread (+60 %), caption changes do nothing, product
    # swaps lose (−20 %), with noise. Every node's counts live on its own loopback video page.
    rng = random.Random(11)
    creators = [UserFactory(role=Role.CREATOR) for _ in range(3)]
    views = {"m0": 10_000, "joon": 9_000, "mina": round(9_000 * 1.6)}
    parents = [("m0", master_id)]
    for m in range(1, 4):
        other = published_master(f"Master {m}")
        node_update(node=other, editor=editor, commerce_category="food")
        parents.append((f"m{m}", str(other.public_id)))
        views[f"m{m}"] = 8_000 + 1_000 * m
    children: dict[str, tuple[str, str]] = {}
    for m, (parent_name, parent_id) in enumerate(parents):
        for i in range(9):
            kind = list(LIFT)[i % 3]
            name = f"c{m}_{i}"
            fork_id = _fork(_client(creators[i % 3]), parent_id, f"{kind} {m}.{i}", [kind])
            children[name] = (fork_id, kind)
            views[name] = round(views[parent_name] * LIFT[kind] * math.exp(rng.gauss(0, 0.08)))

    with _video_pages(views) as base:
        posted = _client(mina).patch(f"/api/v1/nodes/{minas}", {"posted_url": f"{base}/mina"}, format="json")
        assert posted.status_code == 200 and posted.json()["posted_url"] == f"{base}/mina"
        assert (
            _client(joon).patch(f"/api/v1/nodes/{joons}", {"posted_url": f"{base}/joon"}, format="json").status_code
            == 200
        )
        for name, (fork_id, _) in children.items():
            node = RemixNode.objects.get(public_id=fork_id)
            assert (
                _client(node.owner)
                .patch(f"/api/v1/nodes/{fork_id}", {"posted_url": f"{base}/{name}"}, format="json")
                .status_code
                == 200
            )
        for name, parent_id in parents:
            RemixNode.objects.filter(public_id=parent_id).update(source_url=f"{base}/{name}")

        # Mina sees the family — up to the master and down — and its picture.
        family = _client(mina).get(f"/api/v1/nodes/{minas}/lineage", {"direction": "both", "depth": 5}).json()
        depths = {n["id"]: n["depth"] for n in family["nodes"]}
        assert depths[master_id] == -2 and depths[joons] == -1 and depths[minas] == 0
        assert family["roots"] == [master_id]
        assert {"source": joons, "target": minas, "mutation_types": ["audio_swap"]} in family["edges"]
        picture = _client(mina).get(f"/api/v1/nodes/{minas}/lineage.svg")
        assert picture.status_code == 200 and picture["Content-Type"].startswith("image/svg+xml")
        svg = html.unescape(picture.content.decode())
        assert "Dalgona latte" in svg and "Busan dalgona, K-pop hook" in svg and "audio swap" in svg

        # Before any counts: too little data, and the answer is cached.
        before = _client(mina).get(f"/api/v1/nodes/{master_id}/strategies").json()
        assert before["enough_data"] is False and before["edges"] == 0

        # A week after publication the collector reads every page (the scheduled job runs the same code).
        everyone = [master_id, *(p for _, p in parents), joons, minas, *(f for f, _ in children.values())]
        _age(everyone, AGE - timedelta(minutes=5))
        out = StringIO()
        call_command("snapshots_collect", stdout=out, stderr=StringIO())

    assert f"{len(views)} recorded" in out.getvalue(), out.getvalue()
    minas_snapshot = NodePerformanceSnapshot.objects.get(node__public_id=minas)
    assert minas_snapshot.views == views["mina"] and minas_snapshot.source == SnapshotSource.YTDLP
    assert minas_snapshot.source_url == f"{base}/mina"

    # The strategies now rank from those numbers, at once (the collector drops the cached table).
    body = _client(mina).get(f"/api/v1/nodes/{master_id}/strategies").json()
    assert body["enough_data"] is True and body["edges"] == len(children) + 2, body
    ranked = [s["mutation_type"] for s in body["strategies"] if s["rank"] is not None]
    assert ranked == ["audio_swap", "caption_change", "product_swap"]
    audio = next(s for s in body["strategies"] if s["mutation_type"] == "audio_swap")
    assert audio["edges"] == 13 and audio["lift_low_pct"] < 60 < audio["lift_high_pct"]

    # A fork's chain is deeper than one level, and nothing the API serves is a draft.
    assert RemixNode.objects.get(public_id=minas).layer == Layer.FORK
    assert not RemixNode.objects.filter(public_id__in=everyone).exclude(status=NodeStatus.PUBLISHED).exists()
