"""The public recipe API: what the frontend reads and what creators change, and what nobody else can."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Role
from remix import review, review_locks
from remix.cache import recipe_key
from remix.models import Layer, Mutation, NodeStatus, RemixNode
from tests.accounts.factories import UserFactory
from tests.remix.factories import BRIEF, node_in_review, published_master

pytestmark = pytest.mark.django_db


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def creator():
    return UserFactory(role=Role.CREATOR, display_name="Mina")


def _fork(client: APIClient, master: RemixNode, **extra) -> dict:
    body = {"title": "Busan edition", "mutation_types": ["localization"], **extra}
    response = client.post(f"/api/v1/nodes/{master.public_id}/forks", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_the_list_shows_only_published_nodes_with_filters_and_pages():
    published_master("Seoul latte")
    published_master("Busan ramyeon")
    node_in_review(title="Not yet public")
    body = client_for().get("/api/v1/nodes").json()
    assert body["count"] == 2 and {r["title"] for r in body["results"]} == {"Seoul latte", "Busan ramyeon"}
    assert [r["title"] for r in client_for().get("/api/v1/nodes", {"q": "ramyeon"}).json()["results"]] == [
        "Busan ramyeon"
    ]
    assert client_for().get("/api/v1/nodes", {"platform": "youtube"}).json()["count"] == 0
    assert client_for().get("/api/v1/nodes", {"page_size": 1}).json()["next"] is not None
    far_offset = client_for().get("/api/v1/nodes", {"published_after": "2026-01-19T18:40:16-20:03"})
    assert far_offset.status_code == 200  # Python accepts the offset, PostgreSQL would not: compared in UTC
    bad = client_for().get("/api/v1/nodes", {"platform": "myspace"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "last", "3"])
def test_a_page_that_is_not_a_page_is_a_404_invalid_page(page):
    published_master("One")
    published_master("Two")
    response = client_for().get("/api/v1/nodes", {"page": page, "page_size": 1})
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert (error["code"], error["details"]) == ("invalid_page", {"page": page})


@pytest.mark.parametrize("page_size", ["0", "-5", "abc", ""])
def test_a_page_size_that_is_not_a_whole_number_from_1_is_a_400(page_size):
    response = client_for().get("/api/v1/nodes", {"page_size": page_size})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and list(error["details"]) == ["page_size"]


def test_pages_from_1_and_sizes_above_100_are_answered():
    published_master("One")
    published_master("Two")
    assert client_for().get("/api/v1/nodes", {"page": 2, "page_size": 1}).json()["count"] == 2
    assert len(client_for().get("/api/v1/nodes", {"page_size": 1000}).json()["results"]) == 2  # taken as 100
    assert client_for().get("/api/v1/nodes", {"platform": "youtube", "page": 1}).status_code == 200  # empty page 1


def test_the_list_costs_the_same_queries_for_2_or_20_nodes():
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client_for().get("/api/v1/nodes").status_code == 200
        return len(ctx)

    for i in range(2):
        published_master(f"Few {i}")
    few = queries()
    for i in range(18):
        published_master(f"Many {i}")
    assert queries() == few


def test_the_recipe_view_times_the_shots_to_the_beat():
    master = published_master()
    recipe = client_for().get(f"/api/v1/nodes/{master.public_id}").json()
    assert recipe["bpm"] == 128.0 and recipe["seconds_per_beat"] == 0.469
    assert recipe["brief"]["concept"] == BRIEF["concept"] and recipe["brief"]["written_by"] == "ai"
    first, second = recipe["shots"]
    assert (first["start_s"], first["end_s"], first["beat"], first["beats"]) == (0.0, 3.75, 1, 7)
    assert (second["start_s"], second["end_s"], second["beat"]) == (3.75, 15.0, 8)
    assert second["beats"] == round((15.0 - 3.75) / (60 / 128))


def test_the_text_guide_downloads_as_a_file():
    master = published_master()
    response = client_for().get(f"/api/v1/nodes/{master.public_id}/guide.txt")
    assert response.status_code == 200 and response["Content-Type"] == "text/plain; charset=utf-8"
    assert "attachment;" in response["Content-Disposition"]
    text = response.content.decode()
    assert "템포: 128 BPM (비트당 0.469초)" in text and "클로즈업" in text and "#성수카페" in text


def _json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json", response.content[:200]
    error = response.json()["error"]
    assert set(error) == {"status", "code", "message", "details", "request_id"}
    assert (error["status"], error["code"]) == (status, code)
    return error


@pytest.mark.parametrize("accept", [None, "*/*", "text/plain", "text/plain, application/json;q=0.5"])
def test_the_text_guide_answers_its_errors_in_the_json_error_shape(creator, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    private, _ = node_in_review(title="Secret")
    missing = "00000000-0000-4000-8000-000000000000"
    for node_id in (missing, private.public_id):
        for client in (client_for(), client_for(creator)):
            _json_error(client.get(f"/api/v1/nodes/{node_id}/guide.txt", **headers), 404, "not_found")
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    master = published_master()
    _json_error(bad_token.get(f"/api/v1/nodes/{master.public_id}/guide.txt", **headers), 401, "token_not_valid")
    session = Client(enforce_csrf_checks=True)
    session.force_login(creator)
    _json_error(session.post(f"/api/v1/nodes/{master.public_id}/guide.txt", **headers), 403, "permission_denied")
    _json_error(client_for().post(f"/api/v1/nodes/{master.public_id}/guide.txt", **headers), 405, "method_not_allowed")


def test_the_text_guide_refuses_to_be_json_in_the_json_error_shape():
    master = published_master()
    response = client_for().get(f"/api/v1/nodes/{master.public_id}/guide.txt", HTTP_ACCEPT="application/json")
    _json_error(response, 406, "not_acceptable")


def test_unpublished_nodes_are_invisible_and_their_existence_is_not_revealed(creator):
    node, _ = node_in_review(title="Secret")
    for client in (client_for(), client_for(creator)):
        response = client.get(f"/api/v1/nodes/{node.public_id}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
        assert client.get(f"/api/v1/nodes/{node.public_id}/guide.txt").status_code == 404
    assert client_for(UserFactory(role=Role.EDITOR)).get(f"/api/v1/nodes/{node.public_id}").status_code == 200


def test_a_creator_forks_a_master_and_only_they_can_change_or_delete_it(creator):
    master = published_master()
    fork = _fork(client_for(creator), master, profile={"city": "Busan"})
    assert fork["layer"] == "fork" and fork["status"] == "draft" and fork["parent"]["id"] == str(master.public_id)
    assert fork["brief"]["inherited_from_parent"] is True
    edge = Mutation.objects.get(child__public_id=fork["id"])
    assert edge.parent_id == master.pk and edge.mutation_types == ["localization"] and edge.profile == {"city": "Busan"}

    other = client_for(UserFactory(role=Role.CREATOR))
    assert other.get(f"/api/v1/nodes/{fork['id']}").status_code == 404  # a draft is private
    mine = client_for(creator)
    assert mine.patch(f"/api/v1/nodes/{fork['id']}", {"title": "Busan, at night"}, format="json").json()["title"] == (
        "Busan, at night"
    )
    assert mine.post(f"/api/v1/nodes/{fork['id']}/publish", {"published": True}, format="json").json()["is_public"]
    # Published now: others see it but still cannot change it.
    assert other.get(f"/api/v1/nodes/{fork['id']}").status_code == 200
    refused = other.patch(f"/api/v1/nodes/{fork['id']}", {"title": "mine now"}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert other.delete(f"/api/v1/nodes/{fork['id']}").status_code == 403
    assert mine.delete(f"/api/v1/nodes/{fork['id']}").status_code == 204
    assert not RemixNode.objects.filter(public_id=fork["id"]).exists()


def test_masters_are_read_only_and_brands_do_not_fork(creator):
    master = published_master()
    response = client_for(creator).patch(f"/api/v1/nodes/{master.public_id}", {"title": "x"}, format="json")
    assert response.status_code == 403
    brand = client_for(UserFactory(role=Role.BRAND))
    body = {"title": "x", "mutation_types": ["audio_swap"]}
    assert brand.post(f"/api/v1/nodes/{master.public_id}/forks", body, format="json").status_code == 403
    assert RemixNode.objects.get(pk=master.pk).title == "Latte art"


def test_forking_needs_a_published_node_and_known_mutations(creator):
    master = published_master()
    fork = _fork(client_for(creator), master)  # a draft
    client = client_for(creator)
    assert (
        client.post(
            f"/api/v1/nodes/{fork['id']}/forks", {"title": "x", "mutation_types": ["audio_swap"]}, format="json"
        ).json()["error"]["code"]
        == "not_forkable"
    )
    bad = client.post(
        f"/api/v1/nodes/{master.public_id}/forks", {"title": "x", "mutation_types": ["teleport"]}, format="json"
    )
    assert bad.status_code == 400 and "mutation_types" in bad.json()["error"]["details"]


def test_the_recipe_is_cached_and_an_edit_is_never_read_stale(creator):
    master = published_master()
    url = f"/api/v1/nodes/{master.public_id}"
    assert client_for().get(url).json()["brief"]["caption"] == BRIEF["caption"]
    assert cache.get(recipe_key(master.public_id)) is not None
    with CaptureQueriesContext(connection) as ctx:
        client_for().get(url)
    assert len(ctx) == 1  # just the visibility lookup; the recipe itself came from Redis
    # An editor corrects the published brief (unpublish, new version, approve, publish).
    editor = UserFactory(role=Role.EDITOR)
    review_locks.review_lock_takeover(node=master, editor=editor)
    review.node_unpublish(node=master, editor=editor)
    assert client_for().get(url).status_code == 404
    from remix.services import brief_create, node_transition

    node_transition(node=master, to=NodeStatus.IN_REVIEW, actor=editor)
    brief = brief_create(node=master, content={**BRIEF, "caption": "새 캡션"}, source="editor")
    review.brief_approve(brief=brief, editor=editor, expected_revision=brief.revision)
    review.node_publish(node=master, editor=editor)
    assert client_for().get(url).json()["brief"]["caption"] == "새 캡션"


def test_a_new_fork_invalidates_its_masters_cached_recipe(creator):
    master = published_master()
    client_for().get(f"/api/v1/nodes/{master.public_id}")
    assert cache.get(recipe_key(master.public_id)) is not None
    _fork(client_for(creator), master)
    assert cache.get(recipe_key(master.public_id)) is None


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        (json.dumps({"title": ["not", "a", "string"], "mutation_types": ["localization"]}), "application/json"),
        (json.dumps({"title": "x", "mutation_types": "localization"}), "application/json"),
        (json.dumps({"title": "x", "mutation_types": ["localization"], "owner": 1}), "application/json"),
        (json.dumps({"title": "<script>alert(1)</script>' OR 1=1 --", "mutation_types": []}), "application/json"),
        (
            json.dumps({"title": "x", "mutation_types": ["localization"], "source_url": "javascript:x"}),
            "application/json",
        ),
        ("title=x", "text/plain"),
        ("title=x&mutation_types=localization", "application/x-www-form-urlencoded"),  # the API takes JSON only
        # What Python's json module decodes but PostgreSQL cannot store (or Python cannot even encode back):
        ('{"title": "x", "mutation_types": ["localization"], "profile": {"a": "\\u0000"}}', "application/json"),
        ('{"title": "x", "mutation_types": ["localization"], "profile": {"\\u0000": 1}}', "application/json"),
        ('{"title": "x", "mutation_types": ["localization"], "profile": {"a": "\\ud800"}}', "application/json"),
        ('{"title": "x", "mutation_types": ["localization"], "profile": {"\\udfff": 1}}', "application/json"),
        ('{"title": "x", "mutation_types": ["\\ud800"]}', "application/json"),
        ('{"title": "x", "mutation_types": ["localization"], "\\ud800": 1}', "application/json"),
        ('{"title": "x", "mutation_types": ["localization"], "profile": {"a": 1e999}}', "application/json"),
        ('{"title": "x", "mutation_types": ["localization"], "profile": {"a": -1e999}}', "application/json"),
        ('{"title": "x", "mutation_types": ["localization"], "profile": {"a": NaN}}', "application/json"),
        ('{"title": "x", "mutation_types": ["localization"], "profile": {"a": Infinity}}', "application/json"),
        (
            '{"title": "x", "mutation_types": ["localization"], "profile": {"a": ' + "[" * 10_000 + "]" * 10_000 + "}}",
            "application/json",
        ),
    ],
)
def test_bad_fork_requests_are_4xx_in_the_error_shape_and_write_nothing(creator, body, content_type):
    master = published_master()
    before = RemixNode.objects.count()
    response = client_for(creator).generic(
        "POST", f"/api/v1/nodes/{master.public_id}/forks", body, content_type=content_type
    )
    assert 400 <= response.status_code < 500
    assert set(response.json()["error"]) >= {"code", "message", "status"}
    assert RemixNode.objects.count() == before


def test_a_huge_body_is_refused(creator):
    master = published_master()
    huge = json.dumps({"title": "x", "mutation_types": ["localization"], "profile": {"blob": "x" * 3_000_000}})
    response = client_for(creator).generic(
        "POST", f"/api/v1/nodes/{master.public_id}/forks", huge, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert RemixNode.objects.filter(layer=Layer.FORK).count() == 0


def test_similar_remixes_are_published_nodes_ranked_by_likeness_and_never_stale():
    latte = published_master("Seongsu latte art café")
    latte_too = published_master("Busan latte art café tour")
    ramyeon = published_master("Han river ramyeon challenge")
    assert latte.embedding is not None  # publishing gave it a search embedding
    url = f"/api/v1/nodes/{latte.public_id}/similar"
    results = client_for().get(url, {"k": 5}).json()
    titles = [r["title"] for r in results]
    assert titles[0] == latte_too.title and latte.title not in titles and ramyeon.title in titles
    assert results[0]["similarity"] > results[-1]["similarity"]
    # The nearest one is taken down: nobody may still see it listed, cache or not.
    review_locks.review_lock_takeover(node=latte_too, editor=(editor := UserFactory(role=Role.EDITOR)))
    review.node_unpublish(node=latte_too, editor=editor)
    assert latte_too.title not in [r["title"] for r in client_for().get(url, {"k": 5}).json()]


@pytest.mark.parametrize("param", ["published_after", "published_before"])
@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01",  # midnight in Seoul (TIME_ZONE): the year 0 in UTC
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T08:27:51",  # Seoul's offset in the year 1 is its local mean time, +08:27:52
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:59:59.999999-00:01",
    ],
)
def test_dates_past_the_calendars_ends_in_utc_are_a_400(param, value):
    published_master()
    response = client_for().get("/api/v1/nodes", {param: value})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and param in error["details"]


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "0001-01-01T09:00:00", "9999-12-31T23:59:59+14:00"])
def test_dates_at_the_calendars_ends_that_fit_in_utc_are_fine(value):
    published_master()
    assert client_for().get("/api/v1/nodes", {"published_after": value}).status_code == 200


@pytest.mark.parametrize("k", ["0", "51", "ten", "-1"])
def test_similar_refuses_a_bad_k(k):
    master = published_master()
    response = client_for().get(f"/api/v1/nodes/{master.public_id}/similar", {"k": k})
    assert response.status_code == 400 and "k" in response.json()["error"]["details"]


def test_masters_are_credited_to_k_meme_and_forks_to_their_creator(creator):
    """The editor who submitted a master's link is not its author: no staff name appears in public."""
    master = published_master("Curated by an editor")
    RemixNode.objects.filter(pk=master.pk).update(owner=UserFactory(role=Role.EDITOR, display_name="김에디터"))
    creator.display_name = "Mina Creates"
    creator.save(update_fields=["display_name"])
    fork = _fork(client_for(creator), master)
    client_for(creator).post(f"/api/v1/nodes/{fork['id']}/publish", {"published": True}, format="json")
    listed = {n["title"]: n["creator"] for n in client_for().get("/api/v1/nodes").json()["results"]}
    assert listed["Curated by an editor"] == "K-MEME" and listed[fork["title"]] == "Mina Creates"
    assert client_for().get(f"/api/v1/nodes/{master.public_id}").json()["creator"] == "K-MEME"
    lineage = client_for().get(f"/api/v1/nodes/{master.public_id}/lineage", {"direction": "down"}).json()
    assert {n["creator"] for n in lineage["nodes"]} == {"K-MEME", "Mina Creates"}
    page = client_for().get(f"/recipes/{master.public_id}/").content.decode()
    assert "김에디터" not in page
