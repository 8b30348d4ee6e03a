"""A fork's own posted video: set by its creator through PATCH /nodes/{id}, checked like a submitted link,
audited, and what the performance collector reads."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditLog, Role
from genealogy.performance import nodes_due_for_snapshot
from remix.forks import fork_publish, node_fork
from remix.models import RemixNode
from tests.accounts.factories import UserFactory
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db

POSTED = "https://www.tiktok.com/@mina/video/7311111111111111111"


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def creator():
    return UserFactory(role=Role.CREATOR, display_name="Mina")


@pytest.fixture
def fork(creator) -> RemixNode:
    return node_fork(master=published_master(), creator=creator, title="Busan", mutation_types=["localization"])


def test_the_creator_sets_the_posted_url_and_snapshots_follow_it(creator, fork):
    fork_publish(fork=fork, user=creator)
    assert not nodes_due_for_snapshot().filter(pk=fork.pk).exists()
    response = _client(creator).patch(f"/api/v1/nodes/{fork.public_id}", {"posted_url": POSTED}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["posted_url"] == POSTED
    assert response.json()["source_url"] != POSTED  # the video it remixes stays as it was
    fork.refresh_from_db()
    assert fork.posted_url == POSTED
    entry = AuditLog.objects.get(action="node.update", target_id=str(fork.pk))
    assert entry.actor == creator and entry.details["changes"]["posted_url"] == {"before": "", "after": "PERSONAL"}
    assert entry.personal_details["changes"]["posted_url"] == {"before": "", "after": POSTED}  # forgettable
    assert nodes_due_for_snapshot().filter(pk=fork.pk).exists()
    # An empty string takes it back.
    cleared = _client(creator).patch(f"/api/v1/nodes/{fork.public_id}", {"posted_url": ""}, format="json")
    assert cleared.status_code == 200 and cleared.json()["posted_url"] == ""


def test_only_the_creator_sets_it(creator, fork):
    other = _client(UserFactory(role=Role.CREATOR))
    hidden = other.patch(f"/api/v1/nodes/{fork.public_id}", {"posted_url": POSTED}, format="json")
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"  # a draft is private
    fork_publish(fork=fork, user=creator)
    refused = other.patch(f"/api/v1/nodes/{fork.public_id}", {"posted_url": POSTED}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert (
        APIClient().patch(f"/api/v1/nodes/{fork.public_id}", {"posted_url": POSTED}, format="json").status_code == 401
    )
    fork.refresh_from_db()
    assert fork.posted_url == ""


@pytest.mark.parametrize(
    ("link", "code"),
    [
        ("http://127.0.0.1:8000/admin/", "url_not_allowed"),
        ("http://169.254.169.254/latest/meta-data/", "url_not_allowed"),
        ("ftp://example.com/video.mp4", "validation_error"),
        ("not a link", "validation_error"),
    ],
)
def test_a_bad_link_is_400_in_the_error_shape_and_nothing_changes(settings, creator, fork, link, code):
    settings.MEDIA_ALLOW_PRIVATE_HOSTS = False
    response = _client(creator).patch(f"/api/v1/nodes/{fork.public_id}", {"posted_url": link}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == code and body["message"]
    fork.refresh_from_db()
    assert fork.posted_url == ""
    assert not AuditLog.objects.filter(action="node.update", target_id=str(fork.pk)).exists()


def test_a_masters_counts_follow_its_source_so_it_has_no_posted_url():
    master = published_master()
    body = APIClient().get(f"/api/v1/nodes/{master.public_id}").json()
    assert body["posted_url"] == ""
