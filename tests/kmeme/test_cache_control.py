"""What depends on who asks is never kept by a shared cache; what anyone may see keeps its own caching."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role
from remix.forks import node_fork
from tests.accounts.factories import UserFactory
from tests.remix.factories import node_in_review, published_master

pytestmark = pytest.mark.django_db


class CacheablePublicApi(APIView):
    """A public read whose view chose to let caches keep it a minute."""

    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        response = Response({"hello": "anyone"})
        response["Cache-Control"] = "public, max-age=60"
        return response


def plain_public_page(request) -> HttpResponse:
    response = HttpResponse("not the API")
    response["Cache-Control"] = "public, max-age=60"
    return response


urlpatterns = [
    path("api/v1/cacheable", CacheablePublicApi.as_view()),
    path("elsewhere", plain_public_page),
]


def signed_in(user) -> APIClient:
    """A client holding a real access token, as the frontend does."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def assert_private(response) -> None:
    assert response["Cache-Control"] == "private, no-store", (response.status_code, response.get("Cache-Control"))
    assert {"Authorization", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}


def assert_public(response) -> None:
    cache_control = response.get("Cache-Control", "")
    assert "private" not in cache_control and "no-store" not in cache_control, cache_control
    assert {"Authorization", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}


@pytest.mark.urls(__name__)
def test_a_views_public_caching_is_kept_for_anonymous_readers_and_replaced_for_signed_in_ones():
    anonymous = APIClient().get("/api/v1/cacheable")
    assert anonymous["Cache-Control"] == "public, max-age=60"
    assert_public(anonymous)

    assert_private(signed_in(UserFactory()).get("/api/v1/cacheable"))
    session = Client()
    session.force_login(UserFactory())
    assert_private(session.get("/api/v1/cacheable"))
    assert_private(APIClient().post("/api/v1/cacheable"))  # not a read (a 405 here): never kept either
    assert Client().get("/elsewhere")["Cache-Control"] == "public, max-age=60"  # outside the API: untouched


def test_answers_about_the_viewer_are_private_and_never_stored():
    creator = UserFactory(role=Role.CREATOR)
    editor = UserFactory(role=Role.EDITOR)
    master = published_master()
    private_fork = node_fork(master=master, creator=creator, title="Busan latte", mutation_types=["localization"])
    in_review, _ = node_in_review(title="Not yet public")

    assert_private(signed_in(creator).get("/api/v1/me"))
    for user, node in ((creator, private_fork), (editor, private_fork), (editor, in_review)):
        for suffix in ("", "/guide.txt", "/similar"):
            response = signed_in(user).get(f"/api/v1/nodes/{node.public_id}{suffix}")
            assert response.status_code == 200, (suffix, response.content[:200])
            assert_private(response)
    # The owner follows their analysis; a stranger's 404 for it is private as well.
    assert_private(signed_in(creator).get(f"/api/v1/analyses/{private_fork.public_id}"))
    assert_private(signed_in(UserFactory()).get(f"/api/v1/analyses/{private_fork.public_id}"))
    # Signed in, even a public recipe may show more than to others: not kept either.
    assert_private(signed_in(creator).get(f"/api/v1/nodes/{master.public_id}"))
    assert_private(signed_in(creator).get("/api/v1/nodes"))


def test_a_token_pair_is_never_stored():
    refresh = RefreshToken.for_user(UserFactory())
    response = APIClient().post("/api/v1/auth/refresh", {"refresh": str(refresh)}, format="json")
    assert response.status_code == 200 and "access" in response.json()
    assert_private(response)


def test_public_reads_stay_cacheable_and_vary_on_the_viewer():
    master = published_master()
    for url in ("/api/v1/nodes", f"/api/v1/nodes/{master.public_id}", f"/api/v1/nodes/{master.public_id}/guide.txt"):
        response = APIClient().get(url)
        assert response.status_code == 200
        assert_public(response)
