"""The server-rendered recipe page and the security headers every response carries."""

from __future__ import annotations

import pytest

from remix.models import RemixNode
from tests.remix.factories import node_in_review, published_master

pytestmark = pytest.mark.django_db


def test_the_recipe_page_shows_the_shot_list_and_escapes_every_user_string(client):
    master = published_master(title="<script>alert('x')</script> Latte")
    response = client.get(f"/recipes/{master.public_id}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Latte" in page
    assert "클로즈업" in page and "guide.txt" in page


def test_the_recipe_page_is_locked_down_by_headers(client):
    master = published_master()
    response = client.get(f"/recipes/{master.public_id}/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_an_unpublished_recipe_page_is_not_found(client):
    node, _ = node_in_review(title="Private")
    assert client.get(f"/recipes/{node.public_id}/").status_code == 404
    assert RemixNode.objects.filter(pk=node.pk).exists()


def test_cors_allows_only_the_configured_frontend(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.kmeme.example"]
    allowed = client.get("/api/v1/nodes", HTTP_ORIGIN="https://app.kmeme.example")
    assert allowed["Access-Control-Allow-Origin"] == "https://app.kmeme.example"
    refused = client.get("/api/v1/nodes", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in refused


def test_every_other_html_page_carries_a_baseline_policy(client):
    for url in ("/admin/login/", "/api/docs/"):
        csp = client.get(url)["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "Content-Security-Policy" not in client.get("/health")  # JSON needs none
