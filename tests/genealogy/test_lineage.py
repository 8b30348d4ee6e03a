"""The family tree through the API: forks of forks, blends, and only what the caller may see."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from genealogy.lineage import node_ancestors, node_descendants, node_lineage
from remix.lineage import mutation_create
from remix.models import RemixNode
from tests.accounts.factories import UserFactory
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def fork(user, parent: RemixNode, title: str, types=("localization",), publish: bool = True) -> RemixNode:
    client = client_for(user)
    body = {"title": title, "mutation_types": list(types)}
    response = client.post(f"/api/v1/nodes/{parent.public_id}/forks", body, format="json")
    assert response.status_code == 201, response.json()
    node = RemixNode.objects.get(public_id=response.json()["id"])
    if publish:
        assert (
            client.post(f"/api/v1/nodes/{node.public_id}/publish", {"published": True}, format="json").status_code
            == 200
        )
    return node


def lineage(node: RemixNode, user=None, **query):
    return client_for(user).get(f"/api/v1/nodes/{node.public_id}/lineage", query)


@pytest.fixture
def family():
    """master ← a (published fork) ← b (fork of the fork) ← c (fork of that: depth 3), b ← secret (mina's draft)
    ← hidden (published, reachable only through the draft)."""
    joon, mina, sora = (UserFactory(role=Role.CREATOR, display_name=n) for n in ("Joon", "Mina", "Sora"))
    master = published_master("Latte art")
    a = fork(joon, master, "Busan latte")
    b = fork(mina, a, "Busan latte, K-pop hook", types=("audio_swap", "caption_change"))
    c = fork(sora, b, "Jeju latte")
    secret = fork(mina, b, "<b>Mina's draft</b>", publish=False)
    hidden = fork(sora, c, "Hidden")
    mutation_create(parent=secret, child=hidden, mutation_types=["setting_change"], profile={}, created_by=None)
    return {"master": master, "a": a, "b": b, "c": c, "secret": secret, "hidden": hidden, "mina": mina, "sora": sora}


def ids(body) -> set[str]:
    return {n["id"] for n in body["nodes"]}


def test_a_fork_of_a_fork_of_a_fork_shows_its_whole_chain_up_to_the_master(family):
    body = lineage(family["c"], direction="up", depth=10).json()
    by_id = {n["id"]: n for n in body["nodes"]}
    assert by_id[str(family["master"].public_id)]["depth"] == -3
    assert by_id[str(family["c"].public_id)]["depth"] == 0
    assert body["roots"] == [str(family["master"].public_id)]
    edge = next(e for e in body["edges"] if e["target"] == str(family["b"].public_id))
    assert edge == {
        "source": str(family["a"].public_id),
        "target": str(family["b"].public_id),
        "mutation_types": ["audio_swap", "caption_change"],
    }


def test_a_private_fork_of_someone_else_never_appears_nor_what_lies_only_through_it(family):
    down = lineage(family["b"], direction="down", depth=10).json()
    assert str(family["secret"].public_id) not in ids(down)
    # `hidden` is a child of c too, so it is reached that way, but no edge from the draft shows.
    assert all(str(family["secret"].public_id) not in (e["source"], e["target"]) for e in down["edges"])
    # Its owner sees it, and an editor too.
    assert str(family["secret"].public_id) in ids(lineage(family["b"], family["mina"], direction="down").json())
    assert str(family["secret"].public_id) not in ids(lineage(family["b"], family["sora"], direction="down").json())
    # Asking for the draft itself: 404 for others, as if it did not exist.
    assert lineage(family["secret"], family["sora"]).status_code == 404
    assert lineage(family["secret"]).json()["error"]["code"] == "not_found"


def test_depth_limits_the_walk_and_bad_queries_are_refused(family):
    one = lineage(family["master"], direction="down", depth=1).json()
    assert ids(one) == {str(family["master"].public_id), str(family["a"].public_id)}
    for query in ({"direction": "sideways"}, {"depth": 0}, {"depth": 11}, {"depth": "x"}, {"colour": "red"}):
        response = lineage(family["a"], **query)
        assert response.status_code == 400 and response.json()["error"]["code"], query


def test_the_walk_costs_the_same_few_queries_whatever_the_family_size(family, django_assert_num_queries):
    viewer = UserFactory(role=Role.CREATOR)
    with django_assert_num_queries(3):
        small = node_lineage(node=family["a"], viewer=viewer, direction="both", depth=10)
    for n in range(12):  # a wide fan-out under c
        fork(family["sora"], family["c"], f"Fan {n}")
    with django_assert_num_queries(3):
        big = node_lineage(node=family["a"], viewer=viewer, direction="both", depth=10)
    assert len(big.nodes) == len(small.nodes) + 12


def test_a_blend_has_two_parents_and_the_node_cap_says_when_it_cut(family):
    mutation_create(parent=family["a"], child=family["c"], mutation_types=["product_swap"], profile={}, created_by=None)
    body = lineage(family["c"], direction="up", depth=10).json()
    parents = {e["source"] for e in body["edges"] if e["target"] == str(family["c"].public_id)}
    assert parents == {str(family["a"].public_id), str(family["b"].public_id)}
    capped = node_lineage(node=family["master"], viewer=None, direction="down", depth=10, limit=2)
    assert capped.truncated and len(capped.nodes) == 3  # the node itself and the two nearest


def test_the_picture_escapes_every_title_and_is_served_as_an_inert_image(family):
    hostile = '<script>x</script>"q" \\ ]; e=1 &amp;'
    RemixNode.objects.filter(pk=family["c"].pk).update(title=hostile)
    response = client_for().get(
        f"/api/v1/nodes/{family['b'].public_id}/lineage.svg", {"depth": 2}, HTTP_ACCEPT="image/svg+xml"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response["Content-Security-Policy"]
    svg = response.content.decode()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert "<script" not in svg, [line for line in svg.splitlines() if "<script" in line]
    assert "&lt;script&gt;x&lt;/script&gt;&quot;q&quot; \\ ]; e=1" in svg  # the title, as text only
    assert "&amp;amp;" in svg  # an entity in a title shows as typed
    # b, and within 2 steps: a and master above, c and hidden (under c) below; never mina's draft.
    assert svg.count('<g id="node') == 5
    assert "audio swap, caption change" in svg  # edges labelled with their mutations


def test_the_picture_keeps_the_api_rules(family):
    assert client_for(family["sora"]).get(f"/api/v1/nodes/{family['secret'].public_id}/lineage.svg").status_code == 404
    bad = client_for().get(f"/api/v1/nodes/{family['b'].public_id}/lineage.svg", {"depth": 99})
    assert bad.status_code == 400 and bad.json()["error"]["code"]


def test_the_editor_sees_the_family_on_the_review_screen(family, editor_session):
    page = editor_session.get(f"/admin/remix/remixnode/{family['b'].pk}/review/")
    assert page.status_code == 200
    src = f"/api/v1/nodes/{family['b'].public_id}/lineage.svg?depth=3"
    assert f'src="{src}"' in page.content.decode()
    picture = editor_session.get(src)  # the editor's session draws it, drafts included
    assert picture.status_code == 200 and picture.content.decode().count('<g id="node') == 6


def test_unbounded_walks_find_the_same_family_at_the_same_distances(family):
    mutation_create(parent=family["master"], child=family["c"], mutation_types=["product_swap"], profile={})
    bounded = node_lineage(node=family["c"], viewer=None, direction="up", depth=10)
    everything = node_ancestors(node=family["c"], viewer=None)
    assert everything.depths == bounded.depths  # master is one step up now, through the blend
    assert everything.depths[family["master"].pk] == -1
    down = node_descendants(node=family["master"], viewer=None, depth=None, limit=1000)
    assert down.depths == node_lineage(node=family["master"], viewer=None, direction="down", depth=10).depths
