"""An uploaded video as a source, tried as a creator would: upload a real video through the API, have it analysed
(the pipeline measures the stored file, nothing is downloaded), and hand it in with a campaign submission; nobody
can use someone else's upload, nor one whose file never arrived, and the analysed node keeps its own copy when the
upload goes."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from procrastinate.contrib.django import app
from rest_framework.test import APIClient

from accounts.models import Role, Upload
from campaigns.models import Participation
from genealogy.performance import nodes_due_for_snapshot
from privacy.anonymize import user_anonymize
from remix.forks import fork_publish, node_fork
from remix.models import NodeStatus, RemixNode
from tests.accounts.factories import UserFactory
from tests.campaigns.factories import campaign_launched, location_consent

UPLOADS = "/api/v1/uploads"


@pytest.fixture(autouse=True)
def _local_media(settings, tmp_path, django_db_blocker):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    settings.AWS_STORAGE_BUCKET_NAME = ""
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs CASCADE")


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _uploaded(user, body: bytes, *, complete: bool = True, filename: str = "at the cafe.mp4") -> str:
    ticket = _client(user).post(
        UPLOADS, {"filename": filename, "content_type": "video/mp4", "size": len(body)}, format="json"
    )
    assert ticket.status_code == 201, ticket.content
    ticket = ticket.json()
    sent = APIClient().generic("PUT", ticket["url"], body, content_type="video/mp4")
    assert sent.status_code == 204, sent.content
    upload_id = ticket["upload"]["id"]
    if complete:
        assert _client(user).post(f"{UPLOADS}/{upload_id}/complete").json()["status"] == "uploaded"
    return upload_id


def _work_off_the_queue() -> None:
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(queues=["pipeline"], wait=False, install_signal_handlers=False, listen_notify=False)


@pytest.mark.django_db(transaction=True)
def test_an_uploaded_video_is_analysed_from_the_stored_file(video_bytes):
    mina = UserFactory(role=Role.CREATOR)
    upload_id = _uploaded(mina, video_bytes)
    response = _client(mina).post("/api/v1/analyses", {"upload_id": upload_id}, format="json")
    assert response.status_code == 202, response.content
    node_id = response.json()["node"]["id"]
    assert response.json()["node"]["platform"] == "upload" and response.json()["node"]["title"] == "at the cafe.mp4"
    again = _client(mina).post("/api/v1/analyses", {"upload_id": upload_id, "title": "twice"}, format="json")
    assert again.status_code == 200 and again.json()["node"]["id"] == node_id  # a double tap: one node, one job

    _work_off_the_queue()
    node = RemixNode.objects.get(public_id=node_id)
    assert node.status == NodeStatus.NEEDS_REVIEW  # no AI keys here: the rule-based path, for an editor
    assert node.media_name.startswith(f"videos/{node_id}/") and default_storage.exists(node.media_name)
    assert 6.5 < node.probe["duration_s"] < 7.5  # measured from the uploaded file itself
    assert _client(mina).get(f"/api/v1/analyses/{node_id}").status_code == 200
    assert node not in nodes_due_for_snapshot()  # no public page to read counters from

    # The upload goes with its owner; the node keeps its own copy of the video.
    upload_key = Upload.objects.get(public_id=upload_id).key
    user_anonymize(user=mina, actor=None)
    assert not default_storage.exists(upload_key)
    # Never published, so it was theirs alone: the node and its copy of the video go with the upload.
    assert not RemixNode.objects.filter(pk=node.pk).exists() and not default_storage.exists(node.media_name)


@pytest.mark.django_db(transaction=True)
def test_a_node_made_from_an_upload_keeps_its_copy_when_the_upload_goes(video_bytes):
    mina = UserFactory(role=Role.CREATOR)
    upload_id = _uploaded(mina, video_bytes)
    node_id = _client(mina).post("/api/v1/analyses", {"upload_id": upload_id}, format="json").json()["node"]["id"]
    _work_off_the_queue()
    node = RemixNode.objects.get(public_id=node_id)
    upload = Upload.objects.get(public_id=upload_id)
    default_storage.delete(upload.key)
    upload.delete()  # gone (pruned, or deleted with its owner): the node's own copy stays
    node.refresh_from_db()
    assert node.source_upload is None and default_storage.exists(node.media_name)


@pytest.mark.django_db
def test_someone_elses_or_an_unfinished_upload_cannot_be_used(video_bytes):
    mina, joon = UserFactory(role=Role.CREATOR), UserFactory(role=Role.CREATOR)
    minas = _uploaded(mina, video_bytes)
    theirs = _client(joon).post("/api/v1/analyses", {"upload_id": minas}, format="json")
    assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "not_found"
    unfinished = _uploaded(joon, video_bytes, complete=False)
    early = _client(joon).post("/api/v1/analyses", {"upload_id": unfinished}, format="json")
    assert early.status_code == 409 and early.json()["error"]["code"] == "upload_not_completed"
    both = _client(mina).post(
        "/api/v1/analyses", {"upload_id": minas, "video_url": "https://www.tiktok.com/@a/video/1"}, format="json"
    )
    neither = _client(mina).post("/api/v1/analyses", {"title": "no video"}, format="json")
    assert both.status_code == 400 and neither.status_code == 400
    by_link = _client(joon).post(
        "/api/v1/analyses", {"video_url": f"https://uploads.kmeme.invalid/{minas}/at_the_cafe.mp4"}, format="json"
    )
    assert by_link.status_code == 400 and by_link.json()["error"]["code"] == "url_not_allowed"
    assert not RemixNode.objects.exists()


@pytest.mark.django_db
def test_a_campaign_submission_carries_the_creators_own_upload(video_bytes):
    campaign = campaign_launched()
    master = campaign.master_nodes.get()
    mina, joon = UserFactory(role=Role.CREATOR), UserFactory(role=Role.CREATOR)
    fork = node_fork(master=master, creator=mina, title="Seongsu take", mutation_types=["localization"])
    fork_publish(fork=fork, user=mina)
    location_consent(mina)
    upload_id = _uploaded(mina, video_bytes)
    body = {"fork": str(fork.public_id), "upload_id": upload_id, "latitude": 37.5447, "longitude": 127.0558}

    joons = _client(joon).post(f"/api/v1/campaigns/{campaign.pk}/submission", body, format="json")
    assert joons.status_code == 404  # not his fork, nor his upload
    nothing = _client(mina).post(
        f"/api/v1/campaigns/{campaign.pk}/submission", {**body, "upload_id": None}, format="json"
    )
    assert nothing.status_code == 400
    assert not Participation.objects.exists()

    response = _client(mina).post(f"/api/v1/campaigns/{campaign.pk}/submission", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "verified" and response.json()["upload"] == upload_id
    assert response.json()["video_url"] == ""
    participation = Participation.objects.get()
    assert str(participation.upload.public_id) == upload_id
