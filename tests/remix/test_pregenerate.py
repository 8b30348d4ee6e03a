"""Nightly pre-generation, as operators and readers meet it: the worker's nightly job writes the missing briefs and
warms the recipe cache of what readers read most; the next morning's first read is a cache hit, and an editor's
change still shows at once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from accounts.models import Role
from remix.cache import recipe_key, recipes_most_read
from remix.models import BriefSource, NodeStatus, RemixBrief, RemixNode
from remix.services import analysis_record, node_transition, node_update
from tests.accounts.factories import UserFactory
from tests.remix.factories import NodeFactory, published_master


@pytest.fixture(autouse=True)
def _clean(django_db_blocker):
    cache.clear()
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs CASCADE")
    yield
    cache.clear()


def _analysed(status: str = NodeStatus.NEEDS_REVIEW):
    node = NodeFactory()
    node_transition(node=node, to=NodeStatus.ANALYZING, actor=None)
    analysis_record(node=node, provider="manual", status="ok", duration_s=14, bpm=120, commerce_category="food")
    if status != NodeStatus.ANALYZING:
        node_transition(node=node, to=status, actor=None, reason="analysed by hand")
    return node


def _read(node, times: int) -> None:
    for _ in range(times):
        assert APIClient().get(f"/api/v1/nodes/{node.public_id}").status_code == 200


def _run_nightly_job() -> ProcrastinateJob:
    app.configure_task("remix.tasks.pregenerate_nightly").defer(timestamp=0)
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(queues=["maintenance"], wait=False, install_signal_handlers=False, listen_notify=False)
    return ProcrastinateJob.objects.get(task_name="remix.tasks.pregenerate_nightly")


@pytest.mark.django_db(transaction=True)
def test_the_nightly_job_writes_missing_briefs_and_warms_the_most_read_recipes():
    waiting = _analysed()
    in_flight = _analysed(status=NodeStatus.ANALYZING)  # its own pipeline job writes its brief
    popular, steady, unread = published_master("Popular"), published_master("Steady"), published_master("Unread")
    _read(popular, 3)
    _read(steady, 1)
    assert recipes_most_read(top=10) == [(str(popular.public_id), 3), (str(steady.public_id), 1)]
    cache.delete_many([recipe_key(n.public_id) for n in (popular, steady, unread)])  # the hour went by

    job = _run_nightly_job()
    assert job.status == "succeeded"
    assert waiting.briefs.get().source == BriefSource.RULE_BASED  # ready for the editors' queue
    assert not RemixBrief.objects.filter(node=in_flight).exists()
    assert cache.get(recipe_key(popular.public_id)) and cache.get(recipe_key(steady.public_id))
    assert cache.get(recipe_key(unread.public_id)) is None
    assert 23 * 3600 < cache.ttl(recipe_key(popular.public_id)) <= 24 * 3600
    assert recipes_most_read(top=10) == []  # tonight counts afresh

    # The morning's first read is served from the warmed entry; an editor's change still shows at once.
    warmed = cache.get(recipe_key(popular.public_id))
    assert APIClient().get(f"/api/v1/nodes/{popular.public_id}").json() == warmed
    node_update(node=popular, editor=UserFactory(role=Role.EDITOR), title="Popular, retitled")
    assert APIClient().get(f"/api/v1/nodes/{popular.public_id}").json()["title"] == "Popular, retitled"


@pytest.mark.django_db
def test_a_recipe_unpublished_since_it_was_read_is_not_warmed():
    node = published_master("Soon gone")
    _read(node, 2)
    node_transition(node=node, to=NodeStatus.ARCHIVED, actor=None, reason="taken down")
    _read(published_master("Still here"), 1)
    out = StringIO()
    call_command("pregenerate", stdout=out, stderr=StringIO())
    assert "Recipe cache warmed for 1 most-read recipe(s) (3 read(s) counted); 1 no longer published." in out.getvalue()
    assert cache.get(recipe_key(node.public_id)) is None


@pytest.mark.django_db
def test_private_and_unpublished_reads_are_not_counted():
    owner = UserFactory(role=Role.CREATOR)
    draft = _analysed()
    client = APIClient()
    client.force_authenticate(owner)
    client.get(f"/api/v1/nodes/{draft.public_id}")
    assert recipes_most_read(top=10) == []


@pytest.mark.django_db
def test_the_command_reports_and_a_dry_run_writes_nothing():
    node = _analysed()
    _read(published_master(), 1)
    out = StringIO()
    call_command("pregenerate", "--dry-run", stdout=out, stderr=StringIO())
    assert out.getvalue().strip() == "Dry run: 1 node(s) need a brief; 1 recipe(s) would be warmed; nothing written."
    assert not RemixBrief.objects.filter(node=node).exists() and len(recipes_most_read(top=10)) == 1

    out, err = StringIO(), StringIO()
    call_command("pregenerate", stdout=out, stderr=err)
    assert "Briefs written: 0 by AI, 1 rule-based; 0 failed (of 1 node(s) without a brief)." in out.getvalue()
    assert "Writing briefs: 1/1" in err.getvalue()
    with pytest.raises(CommandError, match="at least 1"):
        call_command("pregenerate", "--top", "0")


def test_the_job_is_scheduled_nightly():
    periodic = {p.task.name: p for p in app.periodic_registry.periodic_tasks.values()}
    assert periodic["remix.tasks.pregenerate_nightly"].cron == "37 1 * * *"


@pytest.mark.django_db
def test_a_write_landing_while_a_recipe_is_built_is_never_hidden_by_the_cache(monkeypatch):
    """The race both caches had: a build reads the old state, the editor's write invalidates (nothing cached yet),
    then the build stores the old state — for an hour, or 24 h when warmed. The build's result is dropped now."""
    from remix import pregenerate, recipe

    node = published_master("Before")
    editor = UserFactory(role=Role.EDITOR)
    real = recipe.recipe_build

    def slow_build(*, node):
        built = real(node=node)  # the old state, read
        node_update(node=RemixNode.objects.get(pk=node.pk), editor=editor, title=f"After {built['title']}")
        return built

    monkeypatch.setattr(recipe, "recipe_build", slow_build)
    APIClient().get(f"/api/v1/nodes/{node.public_id}")  # a read that raced the write
    monkeypatch.setattr(recipe, "recipe_build", real)
    assert cache.get(recipe_key(node.public_id)) is None
    assert APIClient().get(f"/api/v1/nodes/{node.public_id}").json()["title"] == "After Before"

    monkeypatch.setattr(pregenerate, "recipe_build", slow_build)
    cache.delete(recipe_key(node.public_id))
    pregenerate.recipe_caches_warm()
    assert cache.get(recipe_key(node.public_id)) is None
    assert APIClient().get(f"/api/v1/nodes/{node.public_id}").json()["title"] == "After After Before"
