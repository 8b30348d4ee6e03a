"""Data portability, tried as a user would: two creators whose data interleave (one campaign, forks of each other's
remixes) each export through the API and a real worker; each archive holds all of its owner's data and nothing of
the other's; the link works for an hour and only with its token; staff export with a command."""

from __future__ import annotations

import io
import json
import zipfile
from io import StringIO

import pytest
from django.core import signing
from django.core.management import call_command
from django.db import connection
from procrastinate.contrib.django import app
from rest_framework.test import APIClient

from accounts.models import Role
from campaigns.participations import participation_submit
from privacy import exports
from privacy.anonymize import user_anonymize
from privacy.exports import EXPORTS_PER_DAY, data_export_run, export_request
from privacy.models import DataExport, ExportStatus
from remix.forks import fork_publish, fork_update, node_fork
from tests.accounts.factories import UserFactory
from tests.campaigns.factories import campaign_launched, location_consent

KINDS = {"profile.json", "consents.json", "nodes.json", "participations.json", "mutations.json", "audit.json"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path, django_db_blocker):
    settings.MEDIA_ROOT = tmp_path / "media"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs CASCADE")


def _work_off_the_queue() -> None:
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(queues=["privacy"], wait=False, install_signal_handlers=False, listen_notify=False)


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _interleaved():
    """Mina and Joon: forks of each other's forks, both in one campaign."""
    campaign = campaign_launched()
    master = campaign.master_nodes.get()
    mina = UserFactory(role=Role.CREATOR, email="mina.export@example.com", display_name="Mina Exportkim")
    joon = UserFactory(role=Role.CREATOR, email="joon.other@example.com", display_name="Joon Otherpark")
    forks = {}
    for who, parent in ((mina, master), (joon, None), (mina, None)):
        base = parent or forks[list(forks)[-1]]
        fork = node_fork(
            master=base, creator=who, title=f"{who.display_name} take {len(forks)}", mutation_types=["localization"]
        )
        fork_publish(fork=fork, user=who)
        fork_update(fork=fork, user=who, posted_url=f"https://www.tiktok.com/@{who.pk}/video/{len(forks) + 1}")
        forks[f"{who.display_name}-{len(forks)}"] = fork
    for who in (mina, joon):
        location_consent(who)
        fork = next(f for f in forks.values() if f.owner == who)
        participation_submit(
            campaign=campaign,
            creator=who,
            video_url=fork.posted_url,
            fork_node=fork,
            longitude=127.0561,
            latitude=37.5449,
        )
    return mina, joon


def _archive(body: dict) -> dict[str, str]:
    response = APIClient().get(body["download_url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


@pytest.mark.django_db(transaction=True)
def test_each_creator_exports_all_of_theirs_and_nothing_of_the_other():
    mina, joon = _interleaved()
    me = _client(mina)
    started = me.post("/api/v1/me/export")
    assert started.status_code == 202, started.content
    again = me.post("/api/v1/me/export")
    assert again.status_code == 200 and again.json()["id"] == started.json()["id"]  # one at a time
    assert started.json()["status"] == "queued" and started.json()["download_url"] is None

    _work_off_the_queue()
    body = me.get(f"/api/v1/me/export/{started.json()['id']}").json()
    assert body["status"] == "ready" and body["progress"] == 100 and body["download_url"]
    files = _archive(body)
    assert KINDS | {"README.md"} == set(files)
    assert "내 데이터" in files["README.md"] and "Your data" in files["README.md"]
    profile = json.loads(files["profile.json"])
    assert profile["email"] == "mina.export@example.com"
    nodes = json.loads(files["nodes.json"])
    assert len(nodes) == 2 and all(n["title"].startswith("Mina Exportkim") for n in nodes)
    assert any(p["title"].startswith("Joon Otherpark") for n in nodes for p in n["parents"])  # a parent's title only
    participations = json.loads(files["participations.json"])
    assert len(participations) == 1 and participations[0]["position"]["latitude"] == pytest.approx(37.5449)
    assert json.loads(files["mutations.json"]) and json.loads(files["audit.json"])
    everything = "".join(files.values())
    assert "joon.other@example.com" not in everything and f'"by": "user #{joon.pk}"' not in everything
    assert str(joon.pk) not in json.loads(files["profile.json"]).values()
    # Joon's own export has none of Mina's personal data.
    other = _client(joon).post("/api/v1/me/export").json()
    _work_off_the_queue()
    theirs = _archive(_client(joon).get(f"/api/v1/me/export/{other['id']}").json())
    assert "mina.export@example.com" not in "".join(theirs.values())

    # Someone else cannot read it; a tampered or expired link opens nothing.
    assert _client(joon).get(f"/api/v1/me/export/{started.json()['id']}").status_code == 404
    url = body["download_url"]
    assert APIClient().get(url[:-3] + "xyz").status_code == 404
    forged = signing.dumps({"export": started.json()["id"]}, salt="another purpose")
    assert APIClient().get(url.split("?")[0] + f"?token={forged}").status_code == 404
    joons_link = _client(joon).get(f"/api/v1/me/export/{other['id']}").json()["download_url"]
    assert APIClient().get(url.split("?")[0] + "?" + joons_link.split("?")[1]).status_code == 404


@pytest.mark.django_db
def test_the_link_lasts_an_hour(monkeypatch):
    user = UserFactory(role=Role.CREATOR)
    export, _ = export_request(user=user)
    data_export_run(export=export)
    body = _client(user).get(f"/api/v1/me/export/{export.public_id}").json()
    assert APIClient().get(body["download_url"]).status_code == 200
    monkeypatch.setattr(exports, "LINK_TTL_S", -1)  # an hour later, as far as the signature's age goes
    assert APIClient().get(body["download_url"]).status_code == 404


@pytest.mark.django_db
def test_a_failing_build_is_visible_and_another_can_be_asked(settings, tmp_path):
    user = UserFactory(role=Role.CREATOR)
    export = DataExport.objects.create(user=user)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("media cannot go here")
    settings.MEDIA_ROOT = blocked  # the storage fails as a full or read-only disk would

    with pytest.raises(OSError):
        data_export_run(export=export)
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED and export.error
    body = _client(user).get(f"/api/v1/me/export/{export.public_id}").json()
    assert body["status"] == "failed" and body["error"]
    assert _client(user).post("/api/v1/me/export").status_code == 202


@pytest.mark.django_db
def test_at_most_three_a_day():
    user = UserFactory(role=Role.CREATOR)
    for _ in range(EXPORTS_PER_DAY):
        assert _client(user).post("/api/v1/me/export").status_code == 202
        DataExport.objects.filter(user=user).update(status=ExportStatus.READY)
    refused = _client(user).post("/api/v1/me/export")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "throttled" and refused["Retry-After"]


@pytest.mark.django_db
def test_staff_export_with_the_command_and_anonymization_deletes_archives(tmp_path):
    mina, _ = _interleaved()
    out = tmp_path / "mina.zip"
    stdout = StringIO()
    call_command("user_export", "--user", mina.email, "--out", str(out), stdout=stdout, stderr=StringIO())
    assert f"User #{mina.pk}: 7 files" in stdout.getvalue()
    with zipfile.ZipFile(out) as archive:
        assert set(archive.namelist()) == KINDS | {"README.md"}
        assert "joon.other@example.com" not in "".join(archive.read(n).decode() for n in archive.namelist())
    DataExport.objects.create(user=mina, status=ExportStatus.READY)
    user_anonymize(user=mina, actor=None)
    assert not DataExport.objects.filter(user=mina).exists()
