import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import AuditLog, Role
from kmeme.errors import ApplicationError
from kmeme.platforms import Platform
from remix.forks import node_fork
from remix.models import Mutation, NodeStatus, RemixBrief, RemixNode, ReviewStatus
from remix.recipe import recipe_origin
from remix.services import analysis_record, brief_create, node_create, node_transition
from tests.accounts.factories import UserFactory
from tests.remix.factories import NodeFactory, published_master

pytestmark = pytest.mark.django_db


def test_node_create_derives_platform_and_starts_in_draft():
    node = NodeFactory(source_url="https://www.instagram.com/reel/Cxyz/")
    assert node.platform == Platform.INSTAGRAM
    assert node.status == NodeStatus.DRAFT
    assert node.public_id is not None


def test_invalid_url_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        node_create(title="x", source_url="javascript:alert(1)", owner=None)
    assert "source_url" in excinfo.value.message_dict


def test_a_fork_is_linked_to_its_origin_in_the_same_transaction(editor_user):
    """Lineage edges are the one record of parents: forking writes the node and its edge together, or neither."""
    master = published_master()
    creator = UserFactory(role=Role.CREATOR)
    fork = node_fork(master=master, creator=creator, title="Busan", mutation_types=["localization"])
    assert recipe_origin(fork) == master
    assert list(Mutation.objects.filter(child=fork).values_list("parent_id", flat=True)) == [master.pk]
    before = RemixNode.objects.count()
    with pytest.raises(ApplicationError, match="non-empty list"):
        node_fork(master=master, creator=creator, title="Bad", mutation_types=["teleport"])
    assert RemixNode.objects.count() == before  # the refused edge took its node with it


def test_workflow_walks_to_published_and_audits_each_step():
    editor = UserFactory(role=Role.EDITOR)
    node = NodeFactory()
    for status in ["analyzing", "in_review", "approved", "published"]:
        node_transition(node=node, to=status, actor=editor)
    node.refresh_from_db()
    assert node.status == NodeStatus.PUBLISHED and node.published_at is not None
    steps = AuditLog.objects.filter(action="node.transition", target_id=str(node.pk)).order_by("id")
    assert [(e.details["from"], e.details["to"]) for e in steps] == [
        ("draft", "analyzing"),
        ("analyzing", "in_review"),
        ("in_review", "approved"),
        ("approved", "published"),
    ]
    assert all(e.actor == editor for e in steps)


def test_workflow_refuses_skipping_review():
    node = NodeFactory()
    with pytest.raises(ApplicationError) as excinfo:
        node_transition(node=node, to="published", actor=None)
    assert excinfo.value.code == "invalid_transition" and excinfo.value.status_code == 409
    node.refresh_from_db()
    assert node.status == NodeStatus.DRAFT
    assert not AuditLog.objects.filter(target_id=str(node.pk)).exists()


def test_unpublishing_clears_the_publication_date():
    node = NodeFactory()
    for status in ["analyzing", "in_review", "approved", "published", "approved"]:
        node_transition(node=node, to=status, actor=None)
    node.refresh_from_db()
    assert node.published_at is None


def test_published_status_requires_a_publication_date_in_the_database():
    node = NodeFactory()
    with pytest.raises(IntegrityError, match="node_published_has_date"), transaction.atomic():
        RemixNode.objects.filter(pk=node.pk).update(status=NodeStatus.PUBLISHED)


def test_brief_versions_count_up_and_supersede_pending_ones():
    node = NodeFactory()
    first = brief_create(node=node, content={"concept": "a"}, source="rule_based")
    second = brief_create(
        node=node, content={"concept": "b"}, source="ai", model="claude", regeneration_notes="shorter"
    )
    first.refresh_from_db()
    assert (first.version, second.version) == (1, 2)
    assert first.review_status == ReviewStatus.SUPERSEDED and second.review_status == ReviewStatus.PENDING
    with pytest.raises(IntegrityError, match="brief_unique_version"), transaction.atomic():
        RemixBrief.objects.create(node=node, version=2, source="ai", generated={})


def test_the_editors_version_is_kept_apart_from_the_generated_one():
    brief = brief_create(node=NodeFactory(), content={"caption": "AI caption"}, source="ai")
    assert brief.content == {"caption": "AI caption"}
    brief.edited = {"caption": "Editor caption"}
    brief.save()
    brief.refresh_from_db()
    assert brief.generated == {"caption": "AI caption"}
    assert brief.content == {"caption": "Editor caption"}


def test_a_rejected_brief_must_say_why():
    brief = brief_create(node=NodeFactory(), content={"concept": "x"}, source="ai")
    brief.review_status = ReviewStatus.REJECTED
    with pytest.raises(ValidationError, match="A rejected brief needs a reason") as excinfo:
        brief.full_clean()
    assert excinfo.value.error_dict["__all__"][0].code == "rejection_needs_reason"


def test_a_fallback_analysis_must_give_its_reason():
    with pytest.raises(ValidationError, match="must say why the AI result is missing"):
        analysis_record(node=NodeFactory(), provider="probe", status="fallback")
    analysis = analysis_record(node=NodeFactory(), provider="probe", status="fallback", error="no key", bpm=None)
    assert analysis.duration_s is None and analysis.bpm is None


def test_bpm_out_of_human_range_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        analysis_record(node=NodeFactory(), provider="manual", status="ok", bpm=900)
    assert "bpm" in excinfo.value.message_dict
