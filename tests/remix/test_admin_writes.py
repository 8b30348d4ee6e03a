"""Writes in the remix admin go through the services: posted as an editor (or an admin) would, checked from outside.

Each test posts the admin's own add/change form (read from the page, see tests.kmeme.admin_forms) and looks at
what a user would see afterwards: the public API, the audit log, the job queue, the rows.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts.models import AuditLog, Role
from remix.cache import recipe_key
from remix.forks import node_fork
from remix.lineage import mutation_create
from remix.models import Layer, Mutation, NodeStatus, RemixBrief, RemixNode, VideoAnalysis
from tests.accounts.factories import UserFactory
from tests.kmeme.admin_forms import admin_form, form_errors
from tests.remix.factories import NodeFactory, node_in_review, published_master

pytestmark = pytest.mark.django_db


def _change_url(node: RemixNode) -> str:
    return reverse("admin:remix_remixnode_change", args=[node.pk])


def _recipe(node: RemixNode) -> dict:
    response = Client().get(f"/api/v1/nodes/{node.public_id}")  # anonymous, as the public sees it
    assert response.status_code == 200
    return response.json()


def _node_updates(node: RemixNode):
    return AuditLog.objects.filter(action="node.update", target_type="remix.remixnode", target_id=str(node.pk))


# --- RemixNode: the change form (node_update) ---------------------------------------------------------------------


def test_an_editors_new_title_is_in_the_public_api_at_once_and_audited(editor_session, editor_user):
    node = published_master("Latte art")
    assert _recipe(node)["title"] == "Latte art"
    assert cache.get(recipe_key(node.public_id)) is not None  # the recipe is cached now

    data = admin_form(editor_session, _change_url(node), "remixnode")
    data["title"] = "Latte art, Seongsu cut"
    response = editor_session.post(_change_url(node), data)

    assert response.status_code == 302, form_errors(response)
    recipe = _recipe(node)
    assert recipe["title"] == "Latte art, Seongsu cut"
    assert recipe["status"] == "published"
    [entry] = _node_updates(node)
    assert entry.actor == editor_user
    assert entry.details == {"changes": {"title": {"before": "Latte art", "after": "Latte art, Seongsu cut"}}}


def test_layer_owner_and_status_cannot_be_changed_by_posting_them(editor_session, editor_user):
    node, _ = node_in_review(title="Colour flip")
    data = admin_form(editor_session, _change_url(node), "remixnode")
    assert not {"layer", "owner", "status", "platform"} & set(data)  # the page does not offer them
    data.update(
        title="Colour flip v2", layer=Layer.FORK, status=NodeStatus.PUBLISHED, owner=str(editor_user.pk), platform="x"
    )

    response = editor_session.post(_change_url(node), data)

    assert response.status_code == 302, form_errors(response)
    node.refresh_from_db()
    assert node.title == "Colour flip v2"
    assert (node.layer, node.status, node.owner_id, node.platform) == (
        Layer.MASTER,
        NodeStatus.IN_REVIEW,
        None,
        "tiktok",
    )
    assert node.published_at is None
    [entry] = _node_updates(node)
    assert set(entry.details["changes"]) == {"title"}


def test_the_platform_follows_a_changed_url(editor_session):
    node = published_master("Cup turn")
    _recipe(node)
    data = admin_form(editor_session, _change_url(node), "remixnode")
    data["source_url"] = "https://www.youtube.com/shorts/Xy12abcDEF0"

    response = editor_session.post(_change_url(node), data)

    assert response.status_code == 302, form_errors(response)
    recipe = _recipe(node)
    assert recipe["source_url"] == "https://www.youtube.com/shorts/Xy12abcDEF0"
    assert recipe["platform"] == "youtube_shorts"
    [entry] = _node_updates(node)
    assert entry.details["changes"]["source_url"]["after"] == "https://www.youtube.com/shorts/Xy12abcDEF0"


def test_an_invalid_url_is_a_form_error_and_nothing_is_written(editor_session):
    node = published_master("Cup turn")
    before = model_to_dict(RemixNode.objects.get(pk=node.pk))
    data = admin_form(editor_session, _change_url(node), "remixnode")
    data.update(source_url="not a video url", title="Renamed meanwhile")

    response = editor_session.post(_change_url(node), data)

    assert response.status_code == 200
    assert "Enter a valid URL." in form_errors(response)
    assert model_to_dict(RemixNode.objects.get(pk=node.pk)) == before
    assert not _node_updates(node).exists()
    assert _recipe(node)["title"] == "Cup turn"


# --- RemixNode: the add form (node_submit) ------------------------------------------------------------------------


def test_an_editor_submits_a_video_url_and_exactly_one_analysis_job_is_queued(editor_session, editor_user):
    url = reverse("admin:remix_remixnode_add")
    data = admin_form(editor_session, url, "remixnode")
    assert set(data) == {"source_url", "title", "_save"}
    data.update(source_url="https://www.tiktok.com/@kbeauty/video/7311111111111111111", title="Cushion swap")

    response = editor_session.post(url, data)

    assert response.status_code == 302, form_errors(response)
    node = RemixNode.objects.get(title="Cushion swap")
    assert (node.status, node.layer, node.platform, node.owner) == (
        NodeStatus.ANALYZING,
        Layer.MASTER,
        "tiktok",
        editor_user,
    )
    jobs = ProcrastinateJob.objects.filter(task_name="remix.tasks.node_analyze")
    assert [job.args for job in jobs] == [{"node_id": node.pk, "request_id": response["X-Request-ID"]}]
    history = AuditLog.objects.filter(target_type="remix.remixnode", target_id=str(node.pk))
    assert [(e.action, e.actor, e.details["to"]) for e in history] == [("node.transition", editor_user, "analyzing")]


def test_an_invalid_video_url_on_the_add_form_creates_nothing(editor_session):
    url = reverse("admin:remix_remixnode_add")
    data = admin_form(editor_session, url, "remixnode")
    data.update(source_url="no url at all", title="Nothing")

    response = editor_session.post(url, data)

    assert response.status_code == 200
    assert "Enter a valid URL." in form_errors(response)
    assert not RemixNode.objects.exists()
    assert not ProcrastinateJob.objects.exists()


def test_a_video_url_on_a_private_address_is_refused_on_the_add_form_and_creates_nothing(editor_session, settings):
    settings.MEDIA_ALLOW_PRIVATE_HOSTS = False
    url = reverse("admin:remix_remixnode_add")
    data = admin_form(editor_session, url, "remixnode")
    data.update(source_url="http://[::ffff:169.254.169.254]/latest/meta-data/", title="Metadata")

    response = editor_session.post(url, data)

    assert response.status_code == 200
    assert form_errors(response) == [
        "Links to private, local or otherwise non-public network addresses are not accepted."
    ]
    assert not RemixNode.objects.exists()
    assert not ProcrastinateJob.objects.exists()


# --- RemixNode: forks belong to their creators ---------------------------------------------------------------------


@pytest.fixture
def fork() -> RemixNode:
    master = published_master("Latte art")
    creator = UserFactory(role=Role.CREATOR)
    return node_fork(master=master, creator=creator, title="Busan latte", mutation_types=["localization"])


def test_an_editor_sees_a_fork_read_only_and_cannot_post_its_change_form(editor_session, fork):
    page = editor_session.get(_change_url(fork))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # a view-only page: no Save button
    assert 'name="title"' not in page.content.decode()

    response = editor_session.post(_change_url(fork), {"title": "Hijacked", "source_url": fork.source_url})

    assert response.status_code == 403
    fork.refresh_from_db()
    assert fork.title == "Busan latte"
    assert not _node_updates(fork).exists()


def test_even_a_superuser_posting_a_forks_change_form_gets_a_form_error(admin_session, fork):
    data = admin_form(admin_session, _change_url(fork), "remixnode")
    data["title"] = "Hijacked"

    response = admin_session.post(_change_url(fork), data)

    assert response.status_code == 200
    assert "Forks belong to their creators: editors can only reject or unpublish them." in form_errors(response)
    fork.refresh_from_db()
    assert fork.title == "Busan latte"
    assert not _node_updates(fork).exists()


# --- AI output: VideoAnalysis and RemixBrief are read-only ----------------------------------------------------------


@pytest.mark.parametrize("model", [VideoAnalysis, RemixBrief], ids=["analysis", "brief"])
def test_ai_output_cannot_be_added_changed_or_deleted_even_by_a_superuser(admin_session, model):
    node_in_review(title="Colour flip")
    row = model.objects.get()
    before = model_to_dict(row)
    name = f"admin:remix_{model._meta.model_name}"

    assert admin_session.get(reverse(f"{name}_change", args=[row.pk])).status_code == 200  # shown
    assert admin_session.get(reverse(f"{name}_add")).status_code == 403
    assert admin_session.post(reverse(f"{name}_add"), {"node": row.node_id}).status_code == 403
    tampered = {"node": row.node_id, "status": "failed", "review_status": "approved", "model": "tampered"}
    assert admin_session.post(reverse(f"{name}_change", args=[row.pk]), tampered).status_code == 403
    assert admin_session.post(reverse(f"{name}_delete", args=[row.pk]), {"post": "yes"}).status_code == 403

    assert model.objects.count() == 1
    assert model_to_dict(model.objects.get(pk=row.pk)) == before


# --- Mutation: lineage edges through mutation_create / mutation_update ----------------------------------------------

MUTATION_ADD = "admin:remix_mutation_add"


@pytest.fixture(params=["editor", "admin"])
def edge_adder(request, editor_session, editor_user, admin_session, site_admin):
    """Editors may add edges (a second parent of a blend) as admins may."""
    return (editor_session, editor_user) if request.param == "editor" else (admin_session, site_admin)


def _mutation_add_form(session: Client, parent: RemixNode, child: RemixNode, types: str) -> dict:
    data = admin_form(session, reverse(MUTATION_ADD), "mutation")
    data.update(parent=str(parent.pk), child=str(child.pk), mutation_types=types)
    return data


def test_an_edge_that_closes_a_cycle_is_a_form_error_and_nothing_is_written(edge_adder):
    session, _ = edge_adder
    a, b = NodeFactory(title="A"), NodeFactory(title="B")
    mutation_create(parent=a, child=b, mutation_types=["format_change"])
    audit_rows = AuditLog.objects.count()

    response = session.post(reverse(MUTATION_ADD), _mutation_add_form(session, b, a, "localization"))

    assert response.status_code == 200
    assert "This edge would make a node its own ancestor." in form_errors(response)
    assert list(Mutation.objects.values_list("parent__title", "child__title")) == [("A", "B")]
    assert AuditLog.objects.count() == audit_rows


def test_a_valid_edge_is_written_with_its_author_and_audited(edge_adder):
    session, actor = edge_adder
    a, b, c = NodeFactory(title="A"), NodeFactory(title="B"), NodeFactory(title="C")
    mutation_create(parent=a, child=b, mutation_types=["format_change"])

    response = session.post(reverse(MUTATION_ADD), _mutation_add_form(session, c, b, "audio_swap,localization"))

    assert response.status_code == 302, form_errors(response)
    edge = Mutation.objects.get(parent=c, child=b)
    assert (edge.created_by, edge.mutation_types) == (actor, ["audio_swap", "localization"])
    [entry] = AuditLog.objects.filter(action="mutation.create", actor=actor)
    assert (entry.target_id, entry.details["parent"]) == (str(b.pk), str(c.public_id))


def test_an_admin_edits_an_edges_types_but_never_its_ends(admin_session, site_admin):
    a, b, other = NodeFactory(title="A"), NodeFactory(title="B"), NodeFactory(title="Other")
    edge = mutation_create(parent=a, child=b, mutation_types=["format_change"])
    url = reverse("admin:remix_mutation_change", args=[edge.pk])
    data = admin_form(admin_session, url, "mutation")
    assert not {"parent", "child"} & set(data)
    data.update(mutation_types="localization,audio_swap", parent=str(other.pk), child=str(other.pk))

    response = admin_session.post(url, data)

    assert response.status_code == 302, form_errors(response)
    edge.refresh_from_db()
    assert (edge.parent_id, edge.child_id, edge.mutation_types) == (a.pk, b.pk, ["audio_swap", "localization"])
    [entry] = AuditLog.objects.filter(action="mutation.update")
    assert entry.actor == site_admin
    assert entry.details["before"]["mutation_types"] == ["format_change"]
    assert entry.details["after"]["mutation_types"] == ["audio_swap", "localization"]


def test_editors_cannot_change_an_edge_and_nobody_deletes_one(editor_session, admin_session):
    edge = mutation_create(parent=NodeFactory(), child=NodeFactory(), mutation_types=["format_change"])
    change = reverse("admin:remix_mutation_change", args=[edge.pk])

    assert editor_session.post(change, {"mutation_types": "localization", "profile": "{}"}).status_code == 403
    assert (
        admin_session.post(reverse("admin:remix_mutation_delete", args=[edge.pk]), {"post": "yes"}).status_code == 403
    )
    assert (
        editor_session.post(reverse("admin:remix_mutation_delete", args=[edge.pk]), {"post": "yes"}).status_code == 403
    )

    edge.refresh_from_db()
    assert edge.mutation_types == ["format_change"]
    assert not AuditLog.objects.filter(action="mutation.update").exists()
