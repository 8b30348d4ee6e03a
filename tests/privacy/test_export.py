"""Data portability, tried as a user would: two creators whose data interleave (one campaign, forks of each other's
remixes, audit records of one acting on the other) each export through the API and a real worker; each archive
holds all of its owner's data and nothing of the other's; the link works for an hour and only with its token; a
failing build ends failed and visible; staff export with a command; archives go after their 7 days."""

from __future__ import annotations

import io
import json
import time
import zipfile
from datetime import timedelta
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core import signing
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from procrastinate.contrib.django import app
from rest_framework.test import APIClient

from accounts.models import AuditLog, Role
from accounts.services import audit_log_record
from accounts.uploads import upload_start
from campaigns.participations import participation_submit
from privacy import exports
from privacy.anonymize import user_anonymize
from privacy.exports import EXPORTS_PER_DAY, data_export_run, export_request, exports_expired_delete
from privacy.models import DataExport, ExportStatus
from remix.forks import fork_publish, fork_update, node_fork
from remix.models import BriefSource, NodeStatus
from remix.services import analysis_record, brief_create, node_create, node_transition
from tests.accounts.factories import UserFactory
from tests.campaigns.factories import campaign_launched, location_consent
from tests.remix.factories import BRIEF

KINDS = {
    "profile.json",
    "consents.json",
    "nodes.json",
    "participations.json",
    "mutations.json",
    "uploads.json",
    "audit.json",
}

# What belongs to Joon alone: none of it may appear anywhere in Mina's archive.
JOON = {
    "email": "joon.other@example.com",
    "name": "Joon Otherpark",
    "handle": "joon_handle_77",
    "phone": "010-5555-0199",
    "ip": "198.51.100.77",
    "uid": "firebase-uid-of-joon",
    "latitude": 37.54517,
}
MINA = {"email": "mina.export@example.com", "name": "Mina Exportkim", "ip": "192.0.2.44", "latitude": 37.54493}


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
    """Mina and Joon: forks of each other's forks (and a draft of Joon's under Mina's), both in one campaign, and
    audit records of Joon (or someone using his sign-in) acting on Mina's account."""
    campaign = campaign_launched()
    master = campaign.master_nodes.get()
    mina = UserFactory(role=Role.CREATOR, email=MINA["email"], display_name=MINA["name"])
    joon = UserFactory(role=Role.CREATOR, email=JOON["email"], display_name=JOON["name"])
    handles = {mina: "mina_handle", joon: JOON["handle"]}
    forks = []
    for who, title, types, profile in (
        (mina, "Seongsu latte, take one", ["localization"], {}),
        (joon, "Seongsu latte, slow version", ["audio_swap"], {"phone": JOON["phone"]}),
        (mina, "Seongsu latte, remixed back", ["format_change"], {}),
    ):
        fork = node_fork(
            master=forks[-1] if forks else master, creator=who, title=title, mutation_types=types, profile=profile
        )
        fork_publish(fork=fork, user=who)
        fork_update(fork=fork, user=who, posted_url=f"https://www.tiktok.com/@{handles[who]}/video/{fork.pk}")
        forks.append(fork)
    minas_first, joons, minas_second = forks
    node_fork(master=minas_second, creator=joon, title="an unpublished idea", mutation_types=["format_change"])
    # A video Mina submitted herself: analysed, with two brief versions.
    submitted = node_create(title="A find of Mina's", source_url="https://www.tiktok.com/@else/video/42", owner=mina)
    node_transition(node=submitted, to=NodeStatus.ANALYZING, actor=None)
    analysis_record(node=submitted, provider="manual", status="ok", duration_s=15, bpm=128, commerce_category="food")
    for _ in range(2):
        brief_create(node=submitted, content=BRIEF, source=BriefSource.AI, model="claude-sonnet-5-5")
    for who, fork, latitude in ((mina, minas_first, MINA["latitude"]), (joon, joons, JOON["latitude"])):
        location_consent(who)
        participation_submit(
            campaign=campaign,
            creator=who,
            video_url=f"https://www.tiktok.com/@{handles[who]}/video/{fork.pk}",
            fork_node=fork,
            longitude=127.0561,
            latitude=latitude,
        )
    # Someone signing in with Joon's Firebase account was refused Mina's: the record is about her account, but its
    # personal values (uid, IP) are Joon's. And Joon, acting on her account, with his own details on the record.
    audit_log_record(
        actor=None,
        action="auth.firebase_link_refused",
        target=mina,
        details={"reason": "email_in_use", "firebase_uid": JOON["uid"]},
        ip=JOON["ip"],
    )
    audit_log_record(actor=joon, action="user.note", target=mina, details={"email": JOON["email"]}, ip=JOON["ip"])
    audit_log_record(actor=mina, action="user.note", target=mina, details={"email": MINA["email"]}, ip=MINA["ip"])
    upload_start(owner=mina, filename="mina-cafe-take.mp4", content_type="video/mp4", size=1234)
    upload_start(owner=joon, filename=f"{JOON['handle']}-rough.mp4", content_type="video/mp4", size=999)
    return mina, joon


def _archive(body: dict) -> dict[str, str]:
    response = APIClient().get(body["download_url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def _assert_nothing_of(files: dict[str, str], person: dict) -> None:
    for name, text in files.items():
        for what in ("email", "name", "handle", "phone", "ip", "uid"):
            if what in person:
                assert person[what].lower() not in text.lower(), f"{name} holds the other user's {what}"
        assert str(person["latitude"]) not in text, f"{name} holds the other user's position"


@pytest.mark.django_db(transaction=True)
def test_each_creator_exports_all_of_theirs_and_nothing_of_the_other():
    mina, joon = _interleaved()
    me = _client(mina)
    started = me.post("/api/v1/me/export", format="json")
    assert started.status_code == 202, started.content
    again = me.post("/api/v1/me/export")
    assert again.status_code == 200 and again.json()["id"] == started.json()["id"]  # one at a time
    assert started.json()["status"] == "queued" and started.json()["download_url"] is None
    listed = me.get("/api/v1/me/exports").json()
    assert [e["id"] for e in listed["results"]] == [started.json()["id"]]

    _work_off_the_queue()
    body = me.get(f"/api/v1/me/export/{started.json()['id']}").json()
    assert body["status"] == "ready" and body["progress"] == 100 and body["download_url"], body
    assert body["files"] == 8 and body["size"] > 0 and body["started_at"] and body["error_code"] == ""
    files = _archive(body)
    assert KINDS | {"README.md"} == set(files)
    assert "내 데이터" in files["README.md"] and "Your data" in files["README.md"]
    assert all(name in files["README.md"] for name in KINDS)

    profile = json.loads(files["profile.json"])
    assert profile["email"] == MINA["email"] and profile["display_name"] == MINA["name"]
    assert [c["kind"] for c in json.loads(files["consents.json"])] == ["location"]
    nodes = {n["title"]: n for n in json.loads(files["nodes.json"])}
    assert set(nodes) == {"Seongsu latte, take one", "Seongsu latte, remixed back", "A find of Mina's"}
    submitted = nodes["A find of Mina's"]
    assert [b["version"] for b in submitted["briefs"]] == [1, 2] and submitted["briefs"][0]["generated"]
    assert submitted["analyses"][0]["bpm"] == "128.0" or float(submitted["analyses"][0]["bpm"]) == 128
    assert submitted["source_url"] == "https://www.tiktok.com/@else/video/42"  # media as links
    remixed_back = nodes["Seongsu latte, remixed back"]
    assert [p["title"] for p in remixed_back["parents"]] == ["Seongsu latte, slow version"]  # Joon's: id and title
    assert set(remixed_back["parents"][0]) == {"id", "title", "mutation_types"}
    assert remixed_back["children"] == []  # Joon's unpublished fork of it is his business
    assert len(nodes["Seongsu latte, take one"]["children"]) == 1  # his published one: by id
    participations = json.loads(files["participations.json"])
    assert len(participations) == 1 and participations[0]["position"]["latitude"] == pytest.approx(MINA["latitude"])
    assert participations[0]["verification_result"] and participations[0]["campaign"]["title"]
    uploads = json.loads(files["uploads.json"])
    assert [(u["filename"], u["size"], u["status"]) for u in uploads] == [("mina-cafe-take.mp4", 1234, "pending")]
    assert uploads[0]["link"].endswith(f"/uploads/{uploads[0]['id']}")
    mutations = json.loads(files["mutations.json"])
    assert {tuple(m["mutation_types"]) for m in mutations} == {("localization",), ("format_change",)}
    audit = json.loads(files["audit.json"])
    actions = {e["action"] for e in audit}
    assert {"node.fork", "participation.submit", "privacy.export_requested", "auth.firebase_link_refused"} <= actions
    own = [e for e in audit if e["action"] == "user.note" and e["by"] == "you"]
    assert own[0]["your_personal_details"] == {"email": MINA["email"]} and own[0]["your_ip"] == MINA["ip"]
    by_joon = [e for e in audit if e["by"] == f"user #{joon.pk}"]
    assert by_joon and all(e["your_personal_details"] is None for e in by_joon)  # Joon by id, nothing of his
    _assert_nothing_of(files, JOON)

    # Joon's own export has none of Mina's personal data.
    other = _client(joon).post("/api/v1/me/export").json()
    _work_off_the_queue()
    theirs = _archive(_client(joon).get(f"/api/v1/me/export/{other['id']}").json())
    assert json.loads(theirs["profile.json"])["email"] == JOON["email"]
    titles = [n["title"] for n in json.loads(theirs["nodes.json"])]
    assert titles == ["Seongsu latte, slow version", "an unpublished idea"]
    _assert_nothing_of(theirs, MINA)

    # Someone else cannot see it; a tampered link, or one of another user's, opens nothing.
    assert _client(joon).get(f"/api/v1/me/export/{started.json()['id']}").status_code == 404
    assert [e["id"] for e in _client(joon).get("/api/v1/me/exports").json()["results"]] == [other["id"]]
    url = body["download_url"]
    assert APIClient().get(url[:-3] + "xyz").status_code == 404
    forged = signing.dumps({"export": started.json()["id"], "user": mina.pk}, salt="another purpose")
    assert APIClient().get(url.split("?")[0] + f"?token={forged}").status_code == 404
    joons_link = _client(joon).get(f"/api/v1/me/export/{other['id']}").json()["download_url"]
    assert APIClient().get(url.split("?")[0] + "?" + joons_link.split("?")[1]).status_code == 404
    assert APIClient().get(url.split("?")[0]).status_code == 404


@pytest.mark.django_db
def test_progress_shows_through_the_api_while_it_is_built(monkeypatch):
    user = UserFactory(role=Role.CREATOR)
    export, _ = export_request(user=user)
    seen = []
    original = exports._participations

    def watched(who):
        seen.append(_client(user).get(f"/api/v1/me/export/{export.public_id}").json())
        yield from original(who)

    monkeypatch.setattr(exports, "_participations", watched)
    data_export_run(export=export)
    assert seen[0]["status"] == "running" and seen[0]["step"] == "campaign entries" and seen[0]["progress"] == 55
    assert seen[0]["download_url"] is None and seen[0]["started_at"]
    assert _client(user).post("/api/v1/me/export").status_code == 202  # the running one is done: a new one


@pytest.mark.django_db
def test_the_link_opens_for_an_hour_and_not_after(monkeypatch):
    user = UserFactory(role=Role.CREATOR)
    export, _ = export_request(user=user)
    data_export_run(export=export)
    body = _client(user).get(f"/api/v1/me/export/{export.public_id}").json()
    made = timezone.now()
    assert body["download_expires_at"]
    assert abs((timezone.datetime.fromisoformat(body["download_expires_at"]) - made) - timedelta(hours=1)).seconds < 5

    def at(seconds_later: int) -> int:
        monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() + seconds_later))
        return APIClient().get(body["download_url"]).status_code

    assert at(0) == 200
    assert at(59 * 60) == 200
    assert at(61 * 60) == 404
    monkeypatch.undo()
    fresh = _client(user).get(f"/api/v1/me/export/{export.public_id}").json()["download_url"]
    assert APIClient().get(fresh).status_code == 200  # a new GET gives a new hour

    # Once the archive's 7 days are over it is no longer offered, even with a fresh link.
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert APIClient().get(fresh).status_code == 404
    assert _client(user).get(f"/api/v1/me/export/{export.public_id}").json()["download_url"] is None


@pytest.mark.django_db(transaction=True)
def test_a_failing_build_is_retried_then_ends_failed_and_visible(settings, tmp_path):
    user = UserFactory(role=Role.CREATOR)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("media cannot go here")
    settings.MEDIA_ROOT = blocked  # the storage fails as a full or read-only disk would
    me = _client(user)
    started = me.post("/api/v1/me/export").json()

    _work_off_the_queue()  # the first attempt fails; a retry is scheduled
    body = me.get(f"/api/v1/me/export/{started['id']}").json()
    assert body["status"] == "queued" and body["error_code"] == "storage_failed", body
    assert me.post("/api/v1/me/export").json()["id"] == started["id"]  # the retry is still coming

    with connection.cursor() as cursor:  # the retry's time has come
        cursor.execute("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")
    _work_off_the_queue()
    body = me.get(f"/api/v1/me/export/{started['id']}").json()
    assert body["status"] == "failed" and body["error_code"] == "storage_failed" and body["download_url"] is None
    assert "could not be stored" in body["error"] and str(blocked) not in body["error"]  # no server paths
    export = DataExport.objects.get(public_id=started["id"])
    assert "NotADirectoryError" in export.error or "FileExistsError" in export.error  # for staff, in the admin
    assert export.expires_at is not None  # the record of the failure goes after its 7 days too
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE task_name = 'privacy.tasks.data_export_build'")
        assert [row[0] for row in cursor.fetchall()] == ["failed"]  # the job says so as well

    settings.MEDIA_ROOT = tmp_path / "media"
    again = me.post("/api/v1/me/export")
    assert again.status_code == 202 and again.json()["id"] != started["id"]
    _work_off_the_queue()
    assert me.get(f"/api/v1/me/export/{again.json()['id']}").json()["status"] == "ready"


@pytest.mark.django_db
def test_at_most_three_a_day_failed_ones_not_counted():
    user = UserFactory(role=Role.CREATOR)
    for _ in range(EXPORTS_PER_DAY):
        assert _client(user).post("/api/v1/me/export").status_code == 202
        DataExport.objects.filter(user=user).update(status=ExportStatus.READY)
    refused = _client(user).post("/api/v1/me/export")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "throttled"
    assert 23 * 3600 < int(refused["Retry-After"]) <= 24 * 3600 + 1
    assert refused.json()["error"]["details"]["retry_after_seconds"] == int(refused["Retry-After"])
    assert DataExport.objects.filter(user=user).count() == EXPORTS_PER_DAY

    oldest = DataExport.objects.filter(user=user).order_by("created_at").first()
    DataExport.objects.filter(pk=oldest.pk).update(created_at=timezone.now() - timedelta(hours=23))
    assert 3500 < int(_client(user).post("/api/v1/me/export")["Retry-After"]) <= 3601  # when that one is a day old
    DataExport.objects.filter(pk=oldest.pk).update(status=ExportStatus.FAILED)  # a failure of ours does not count
    assert _client(user).post("/api/v1/me/export").status_code == 202


@pytest.mark.django_db
def test_a_body_is_refused_and_nothing_is_queued():
    user = UserFactory(role=Role.CREATOR)
    refused = _client(user).post("/api/v1/me/export", {"user": 1}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "validation_error"
    assert not DataExport.objects.exists()
    assert _client(user).post("/api/v1/me/export", {}, format="json").status_code == 202


@pytest.mark.django_db
def test_staff_export_with_the_command(tmp_path):
    mina, _ = _interleaved()
    out = tmp_path / "mina.zip"
    stdout, stderr = StringIO(), StringIO()
    call_command("user_export", "--user", mina.email, "--out", str(out), stdout=stdout, stderr=stderr)
    size = out.stat().st_size
    assert stdout.getvalue().strip() == f"User #{mina.pk}: 8 files, {size:,} bytes written to {out}."
    assert "Exporting: 6/6 (100%)" in stderr.getvalue()  # the progress bar, to its end
    with zipfile.ZipFile(out) as archive:
        files = {n: archive.read(n).decode() for n in archive.namelist()}
    assert set(files) == KINDS | {"README.md"}
    assert json.loads(files["profile.json"])["id"] == mina.pk
    _assert_nothing_of(files, JOON)
    record = AuditLog.objects.get(action="privacy.export_by_staff")
    assert record.target_id == str(mina.pk) and record.details["files"] == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mina.zip"]  # no partial file left beside it

    call_command("user_export", "--user", str(mina.pk), "--out", str(out), stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="No user"):
        call_command("user_export", "--user", "nobody@example.com", "--out", str(out), stdout=StringIO())
    with pytest.raises(CommandError, match="does not exist"):
        call_command("user_export", "--user", str(mina.pk), "--out", str(tmp_path / "no" / "x.zip"))


@pytest.mark.django_db
def test_archives_go_after_seven_days_and_with_an_anonymized_account():
    user = UserFactory(role=Role.CREATOR)
    export, _ = export_request(user=user)
    export = data_export_run(export=export)
    assert default_storage.exists(export.storage_key)
    assert export.storage_key == f"exports/{user.pk}/{export.public_id}.zip"
    assert timedelta(days=6, hours=23) < export.expires_at - timezone.now() <= timedelta(days=7)

    exports_expired_delete()
    assert DataExport.objects.filter(pk=export.pk).exists()  # not yet
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    exports_expired_delete()
    assert not DataExport.objects.filter(pk=export.pk).exists() and not default_storage.exists(export.storage_key)
    assert _client(user).get(f"/api/v1/me/export/{export.public_id}").status_code == 404

    kept, _ = export_request(user=user)
    kept = data_export_run(export=kept)
    user_anonymize(user=user, actor=None)
    assert not DataExport.objects.filter(user=user).exists() and not default_storage.exists(kept.storage_key)


@pytest.mark.django_db
def test_an_account_anonymized_while_its_archive_is_built_leaves_no_archive_behind(monkeypatch):
    user = UserFactory(role=Role.CREATOR)
    export, _ = export_request(user=user)
    real = exports._uploads

    def forgotten_meanwhile(who):  # the person is forgotten while the build reads their data
        user_anonymize(user=user, actor=None)
        yield from real(who)

    monkeypatch.setattr(exports, "_uploads", forgotten_meanwhile)
    data_export_run(export=export)
    assert not DataExport.objects.filter(user=user).exists()
    assert not default_storage.exists(exports.export_storage_key(export))


@pytest.mark.django_db
def test_the_admin_lists_exports_read_only(admin_session):
    user = UserFactory(role=Role.CREATOR, email="listed@example.com")
    export, _ = export_request(user=user)
    changelist = admin_session.get(reverse("admin:privacy_dataexport_changelist"))
    assert changelist.status_code == 200 and "listed@example.com" in changelist.content.decode()
    page = admin_session.get(reverse("admin:privacy_dataexport_change", args=[export.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_session.get(reverse("admin:privacy_dataexport_add")).status_code == 403
