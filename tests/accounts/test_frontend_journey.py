"""Done means, for the frontend team: docs, Firebase sign-in, list, recipe, guide, fork, similar — and nothing else."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.accounts.firebase_tokens import id_token
from tests.remix.factories import node_in_review, published_master

pytestmark = pytest.mark.django_db


def test_a_frontend_developer_walks_the_api_and_reaches_only_what_is_theirs(firebase_emulator):
    published_master("Seongsu latte art")
    published_master("Busan latte art tour")
    hidden, _ = node_in_review(title="Not published yet")
    client = APIClient()

    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and "swagger" in docs.content.decode().lower()
    assert "/api/v1/nodes/{node_id}/forks" in client.get("/api/schema/").content.decode()

    pair = client.post(
        "/api/v1/auth/firebase", {"id_token": id_token(uid="fe-dev", email="fe@example.com")}, format="json"
    ).json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert client.get("/api/v1/me").json()["role"] == "creator"

    listing = client.get("/api/v1/nodes").json()
    assert {r["title"] for r in listing["results"]} == {"Seongsu latte art", "Busan latte art tour"}
    first = next(r for r in listing["results"] if r["title"] == "Seongsu latte art")
    recipe = client.get(f"/api/v1/nodes/{first['id']}").json()
    assert recipe["shots"] and recipe["bpm"] == 128.0
    guide = client.get(f"/api/v1/nodes/{first['id']}/guide.txt")
    assert guide.status_code == 200 and "샷 리스트" in guide.content.decode()

    fork = client.post(
        f"/api/v1/nodes/{first['id']}/forks",
        {"title": "My Busan take", "mutation_types": ["localization", "setting_change"]},
        format="json",
    ).json()
    assert fork["layer"] == "fork" and fork["parent"]["id"] == first["id"]
    similar = client.get(f"/api/v1/nodes/{first['id']}/similar").json()
    assert [s["title"] for s in similar][:1] == ["Busan latte art tour"]

    # …and nothing that isn't theirs.
    assert client.get(f"/api/v1/nodes/{hidden.public_id}").status_code == 404
    assert client.patch(f"/api/v1/nodes/{first['id']}", {"title": "mine"}, format="json").status_code == 403
    assert client.get(f"/api/v1/analyses/{hidden.public_id}").status_code == 404
    someone_else = APIClient()
    other = someone_else.post(
        "/api/v1/auth/firebase", {"id_token": id_token(uid="other", email="o@example.com")}, format="json"
    ).json()
    someone_else.credentials(HTTP_AUTHORIZATION=f"Bearer {other['access']}")
    assert someone_else.get(f"/api/v1/nodes/{fork['id']}").status_code == 404  # a draft fork is private
    assert someone_else.delete(f"/api/v1/nodes/{fork['id']}").status_code == 404
