"""A video link changed after submission is held to the submission's rules (kmeme.media.guard.url_check)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditLog, Role
from remix.forks import node_fork
from remix.models import RemixNode
from tests.accounts.factories import UserFactory
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db

PRIVATE_LINKS = ["http://127.0.0.1:8000/admin/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/v.mp4"]


@pytest.fixture
def guarded(settings):
    settings.MEDIA_ALLOW_PRIVATE_HOSTS = False  # the tests' videos live on loopback; here the guard is on


@pytest.mark.parametrize("link", PRIVATE_LINKS)
def test_a_fork_cannot_be_pointed_at_a_private_address(guarded, link):
    creator = UserFactory(role=Role.CREATOR)
    fork = node_fork(master=published_master(), creator=creator, title="Busan", mutation_types=["localization"])
    client = APIClient()
    client.force_authenticate(creator)
    response = client.patch(f"/api/v1/nodes/{fork.public_id}", {"source_url": link}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "url_not_allowed"
    fork.refresh_from_db()
    assert fork.source_url != link
    assert not AuditLog.objects.filter(action="node.update", target_id=str(fork.pk)).exists()


@pytest.mark.parametrize("link", PRIVATE_LINKS)
def test_a_fork_cannot_be_created_on_a_private_address(guarded, link):
    creator = UserFactory(role=Role.CREATOR)
    master = published_master()
    client = APIClient()
    client.force_authenticate(creator)
    body = {"title": "Busan", "mutation_types": ["localization"], "source_url": link}
    response = client.post(f"/api/v1/nodes/{master.public_id}/forks", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "url_not_allowed"
    assert not RemixNode.objects.filter(layer="fork").exists()
