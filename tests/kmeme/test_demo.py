from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

from campaigns.models import Participation
from kmeme.demo import demo_load
from remix.models import NodeStatus, RemixNode

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("ai", "accounts", "remix", "genealogy", "campaigns")


def _counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for app in PROJECT_APPS
        for model in apps.get_app_config(app).get_models()
    }


def test_demo_data_covers_every_status_and_app():
    demo_load()
    statuses = set(RemixNode.objects.values_list("status", flat=True))
    assert statuses == set(NodeStatus.values)
    empty = [label for label, n in _counts().items() if n == 0]
    # The AI ledger is empty on purpose: demo content is not AI output.
    assert empty == ["ai.AICall"]
    assert RemixNode.objects.filter(layer="fork").count() == 2
    # Published demo remixes can be searched for similar ones right away.
    assert not RemixNode.objects.filter(status=NodeStatus.PUBLISHED, embedding__isnull=True).exists()


def test_demo_data_loads_twice_without_duplicating_anything():
    first = StringIO()
    call_command("seed_demo", stdout=first)
    assert "Demo data loaded" in first.getvalue()
    after_first = _counts()
    second = StringIO()
    call_command("seed_demo", stdout=second)
    assert "already loaded" in second.getvalue()
    assert _counts() == after_first


def test_dev_admin_prints_a_working_login(client, tmp_path, settings):
    settings.DEBUG = True
    out = StringIO()
    password_file = tmp_path / "pw"
    call_command("dev_admin", password_file=str(password_file), stdout=out)
    call_command("dev_admin", password_file=str(password_file), stdout=StringIO())  # idempotent
    password = password_file.read_text().strip()
    assert f"admin@kmeme.local / {password}" in out.getvalue()
    response = client.post("/admin/login/", {"username": "admin@kmeme.local", "password": password})
    assert response.status_code == 302, response.content
    assert client.get("/admin/").status_code == 200


def test_dev_admin_prints_the_port_make_run_serves_on(tmp_path, settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.setenv("KMEME_PORT", "8123")
    out = StringIO()
    call_command("dev_admin", password_file=str(tmp_path / "pw"), stdout=out)
    assert "(http://127.0.0.1:8123/admin/)" in out.getvalue()


@pytest.mark.django_db
def test_the_demo_loads_with_the_address_guard_on_and_no_dns_needed(settings):
    """`make run` loads the demo with the production guard: platform links are not resolved at submission (their
    downloads are, when fetched), so the demo loads on a machine whose DNS is down or absent."""
    settings.MEDIA_ALLOW_PRIVATE_HOSTS = False
    demo_load()
    assert Participation.objects.filter(status="verified").exists()
