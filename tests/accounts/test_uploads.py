"""Video uploads: presigned S3 POSTs checked by a real S3-compatible server on loopback (tests/doubles/s3.py), the
local-development signed URL, and the API around both (start, complete, read: your own only)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import requests
from botocore.exceptions import EndpointConnectionError
from django.core import signing
from django.core.management import call_command
from django.utils import timezone
from procrastinate.contrib.django import app
from rest_framework.test import APIClient

from accounts.models import AuditLog, Role, Upload, UploadStatus
from accounts.uploads import upload_filename_safe, uploads_prune
from privacy.anonymize import user_anonymize
from tests.accounts.factories import UserFactory
from tests.doubles.s3 import S3Server

pytestmark = pytest.mark.django_db

START = "/api/v1/uploads"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"v" * 1000  # the servers check sizes and types, not codecs
VIDEO_SIZE = len(VIDEO)


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    with S3Server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture
def s3(s3_server, settings) -> S3Server:
    """Media on the loopback S3 server, as AWS_STORAGE_BUCKET_NAME and AWS_S3_ENDPOINT_URL would configure it."""
    settings.STORAGES = {**settings.STORAGES, "default": s3_server.storage_settings()}
    settings.AWS_STORAGE_BUCKET_NAME = s3_server.bucket
    settings.AWS_S3_ENDPOINT_URL = s3_server.endpoint
    return s3_server


@pytest.fixture
def local_media(settings, tmp_path) -> Path:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    settings.AWS_STORAGE_BUCKET_NAME = ""
    settings.AWS_S3_ENDPOINT_URL = None
    return tmp_path


@pytest.fixture
def mina():
    return UserFactory(role=Role.CREATOR, display_name="Mina")


@pytest.fixture
def joon():
    return UserFactory(role=Role.CREATOR, display_name="Joon")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def start(user, *, filename="clip.mp4", content_type="video/mp4", size=VIDEO_SIZE) -> dict:
    response = client_for(user).post(
        START, {"filename": filename, "content_type": content_type, "size": size}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def browser_post(ticket: dict, body: bytes, *, fields: dict | None = None, content_type="video/mp4"):
    """What a browser's form does: the fields as given, then the file."""
    with requests.Session() as session:
        session.trust_env = False  # never through a proxy from the environment: the server is on loopback
        form = fields if fields is not None else ticket["fields"]
        return session.post(ticket["url"], data=form, files={"file": ("clip.mp4", body, content_type)}, timeout=30)


def stored(s3: S3Server, key: str) -> dict | None:
    try:
        return s3.client.head_object(Bucket=s3.bucket, Key=key)
    except s3.client.exceptions.ClientError:
        return None


# --- S3: the policy is enforced by the server ---------------------------------------------------------------------


def test_s3_upload_of_the_declared_file_is_stored_and_completes(s3, mina):
    ticket = start(mina)
    upload = Upload.objects.get(public_id=ticket["upload"]["id"])
    assert ticket["method"] == "POST" and ticket["url"].startswith(s3.endpoint)
    assert ticket["fields"]["key"] == upload.key == f"user_content/{mina.pk}/{upload.public_id}/clip.mp4"
    assert ticket["upload"]["status"] == "pending"

    assert browser_post(ticket, VIDEO).status_code == 204
    head = stored(s3, upload.key)
    assert head["ContentLength"] == len(VIDEO) and head["ContentType"] == "video/mp4"

    response = client_for(mina).post(f"{START}/{upload.public_id}/complete")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "uploaded"
    upload.refresh_from_db()
    assert upload.status == UploadStatus.UPLOADED and upload.actual_size == len(VIDEO)
    assert client_for(mina).get(f"{START}/{upload.public_id}").json()["status"] == "uploaded"
    actions = set(AuditLog.objects.filter(target_id=str(upload.pk)).values_list("action", flat=True))
    assert actions == {"upload.start", "upload.complete"}


def test_s3_refuses_a_wrong_content_type(s3, mina):
    ticket = start(mina)
    refused = browser_post(ticket, VIDEO, fields={**ticket["fields"], "Content-Type": "text/html"})
    assert refused.status_code == 403 and "Policy" in refused.text
    assert stored(s3, ticket["fields"]["key"]) is None
    response = client_for(mina).post(f"{START}/{ticket['upload']['id']}/complete")
    assert response.status_code == 409 and response.json()["error"]["code"] == "upload_missing"


def test_s3_refuses_a_file_larger_than_declared(s3, mina):
    ticket = start(mina)
    refused = browser_post(ticket, VIDEO + b"x")
    assert refused.status_code in (400, 403) and "EntityTooLarge" in refused.text
    assert stored(s3, ticket["fields"]["key"]) is None


def test_s3_refuses_a_key_under_another_users_prefix(s3, mina, joon):
    ticket = start(mina)
    theirs = ticket["fields"]["key"].replace(f"user_content/{mina.pk}/", f"user_content/{joon.pk}/")
    refused = browser_post(ticket, VIDEO, fields={**ticket["fields"], "key": theirs})
    assert refused.status_code == 403
    assert stored(s3, theirs) is None and stored(s3, ticket["fields"]["key"]) is None


def test_s3_refuses_a_forged_signature(s3, mina):
    ticket = start(mina)
    signature_field = next(name for name in ticket["fields"] if name.lower() == "x-amz-signature")
    refused = browser_post(ticket, VIDEO, fields={**ticket["fields"], signature_field: "0" * 64})
    assert refused.status_code == 403 and "SignatureDoesNotMatch" in refused.text


def test_another_users_upload_is_not_found(s3, mina, joon):
    ticket = start(mina)
    assert browser_post(ticket, VIDEO).status_code == 204
    upload_id = ticket["upload"]["id"]
    for response in (
        client_for(joon).get(f"{START}/{upload_id}"),
        client_for(joon).post(f"{START}/{upload_id}/complete"),
    ):
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert Upload.objects.get(public_id=upload_id).status == UploadStatus.PENDING


def test_presigned_urls_are_https_without_an_endpoint_override(settings, mina):
    """Production: AWS itself. Signing a POST needs no request, so this runs offline."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": "kmeme-prod", "access_key": "a", "secret_key": "b", "region_name": REGION_EU},
        },
    }
    settings.AWS_S3_ENDPOINT_URL = None
    ticket = start(mina)
    assert ticket["url"].startswith("https://")
    assert ticket["fields"]["key"].startswith(f"user_content/{mina.pk}/")


REGION_EU = "eu-west-1"


# --- Local development: the project's own signed URL ------------------------------------------------------------


def put(ticket: dict, body: bytes, *, content_type: str = "video/mp4", url: str | None = None):
    return APIClient().generic("PUT", url or ticket["url"], body, content_type=content_type)


def test_local_url_takes_the_declared_file_once(local_media, mina):
    ticket = start(mina, filename="../../etc/내 영상.MOV", content_type="video/quicktime")
    upload = Upload.objects.get(public_id=ticket["upload"]["id"])
    assert ticket["method"] == "PUT" and ticket["headers"] == {"Content-Type": "video/quicktime"}
    assert upload.key == f"user_content/{mina.pk}/{upload.public_id}/내_영상.mov"

    assert put(ticket, VIDEO, content_type="video/quicktime").status_code == 204
    assert (local_media / upload.key).read_bytes() == VIDEO
    again = put(ticket, VIDEO, content_type="video/quicktime")
    assert again.status_code == 409 and again.json()["error"]["code"] == "upload_url_used"

    assert client_for(mina).post(f"{START}/{upload.public_id}/complete").json()["status"] == "uploaded"
    after = put(ticket, VIDEO, content_type="video/quicktime")
    assert after.status_code == 409 and after.json()["error"]["code"] == "upload_url_used"


def test_local_url_refuses_a_tampered_or_borrowed_token(local_media, mina, joon):
    ticket = start(mina)
    other = start(joon)
    tampered = ticket["url"][:-3] + ("AAA" if not ticket["url"].endswith("AAA") else "BBB")
    borrowed = ticket["url"].split("?")[0] + "?" + other["url"].split("?")[1]
    for url in (tampered, borrowed, ticket["url"].split("?")[0], ticket["url"].split("?")[0] + "?token="):
        response = put(ticket, VIDEO, url=url)
        assert response.status_code == 403, url
        assert response.json()["error"]["code"] == "upload_url_invalid"
    assert not any(local_media.rglob("*.mp4"))


def test_local_url_refuses_once_expired(local_media, mina, monkeypatch):
    made_an_hour_ago = signing.b62_encode(int(signing.time.time()) - 3601)
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: made_an_hour_ago)
    ticket = start(mina)
    monkeypatch.undo()
    response = put(ticket, VIDEO)
    assert response.status_code == 403 and response.json()["error"]["code"] == "upload_url_expired"


def test_local_url_refuses_a_body_larger_than_declared_or_of_another_type(local_media, mina):
    ticket = start(mina)
    too_big = put(ticket, VIDEO + b"x")
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "upload_too_large"
    short = put(ticket, VIDEO[:-1])
    assert short.status_code == 400 and short.json()["error"]["code"] == "upload_incomplete"
    wrong_type = put(ticket, VIDEO, content_type="text/html")
    assert wrong_type.status_code == 400 and wrong_type.json()["error"]["code"] == "upload_type_mismatch"
    assert not any(local_media.rglob("*.mp4"))
    assert put(ticket, VIDEO).status_code == 204  # refusals do not use the URL up


# --- Starting: what is accepted -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"filename": "a.mp4", "content_type": "image/png", "size": 10}, 400, "validation_error"),
        ({"filename": "a.mp4", "content_type": "video/mp4", "size": 0}, 400, "validation_error"),
        ({"filename": "a.mp4", "content_type": "video/mp4", "size": 200 * 1024 * 1024 + 1}, 413, "upload_too_large"),
        ({"filename": "a.mp4", "content_type": "video/mp4", "size": 10, "key": "user_content/1/x"}, 400, None),
        ({"filename": "a.mp4", "content_type": "video/mp4"}, 400, "validation_error"),
    ],
)
def test_start_refuses_what_is_not_a_video_of_an_allowed_size(local_media, mina, body, status, code):
    response = client_for(mina).post(START, body, format="json")
    assert response.status_code == status, response.content
    if code:
        assert response.json()["error"]["code"] == code
    assert not Upload.objects.exists()


def test_start_needs_a_signed_in_user(local_media):
    response = APIClient().post(START, {"filename": "a.mp4", "content_type": "video/mp4", "size": 1}, format="json")
    assert response.status_code == 401


def test_pending_uploads_are_capped_per_user(local_media, settings, mina, joon):
    settings.UPLOAD_PENDING_MAX = 2
    start(mina)
    start(mina)
    body = {"filename": "c.mp4", "content_type": "video/mp4", "size": 5}
    response = client_for(mina).post(START, body, format="json")
    assert response.status_code == 429 and response.json()["error"]["code"] == "too_many_pending_uploads"
    assert response["Retry-After"]
    start(joon)  # another user's count is their own


@pytest.mark.parametrize(
    ("given", "content_type", "expected"),
    [
        ("clip.mp4", "video/mp4", "clip.mp4"),
        ("C:\\Users\\mina\\Desktop\\holiday.webm", "video/webm", "holiday.webm"),
        ("../../../etc/passwd", "video/mp4", "passwd.mp4"),
        ("a\x00b\r\n\u202ec.mp4", "video/mp4", "abc.mp4"),
        ("ｃｌｉｐ．ｍｐ４", "video/mp4", "clip.mp4"),  # NFKC: fullwidth letters are plain ones
        ("성수 카페 vlog.mov", "video/quicktime", "성수_카페_vlog.mov"),
        ("...", "video/mp4", "video.mp4"),
        ("", "video/mp4", "video.mp4"),
        ("evil.html", "video/mp4", "evil.mp4"),  # the extension follows the declared type
        ("x" * 300 + ".mp4", "video/mp4", "x" * 96 + ".mp4"),
    ],
)
def test_filenames_are_made_safe(given, content_type, expected):
    assert upload_filename_safe(given, content_type=content_type) == expected


# --- Forgetting a user deletes their videos -------------------------------------------------------------------------


def test_anonymizing_deletes_the_users_stored_videos_on_s3_and_leaves_others(s3, mina, joon):
    completed, sent, unsent, joons = start(mina), start(mina), start(mina), start(joon)
    for ticket in (completed, sent, joons):
        assert browser_post(ticket, VIDEO).status_code == 204
    assert client_for(mina).post(f"{START}/{completed['upload']['id']}/complete").status_code == 200
    # A file under her prefix that no row points to any more (its upload row was lost) goes too.
    stray = f"user_content/{mina.pk}/{unsent['upload']['id']}/older.mp4"
    s3.client.put_object(Bucket=s3.bucket, Key=stray, Body=VIDEO, ContentType="video/mp4")

    report = user_anonymize(user=mina, actor=mina)

    assert report.counts["uploads deleted"] == 3
    assert not Upload.objects.filter(owner=mina).exists()
    listed = s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=f"user_content/{mina.pk}/")
    assert listed.get("KeyCount", 0) == 0, listed.get("Contents")
    assert stored(s3, joons["fields"]["key"])["ContentLength"] == len(VIDEO)
    assert client_for(joon).get(f"{START}/{joons['upload']['id']}").status_code == 200


def test_anonymizing_deletes_the_users_stored_videos_in_local_media(local_media, mina, joon):
    mine, joons = start(mina), start(joon)
    assert put(mine, VIDEO).status_code == 204 and put(joons, VIDEO).status_code == 204
    key = Upload.objects.get(public_id=mine["upload"]["id"]).key
    assert (local_media / key).is_file()

    user_anonymize(user=mina, actor=None)

    assert not Upload.objects.filter(owner=mina).exists()
    assert not [path for path in (local_media / f"user_content/{mina.pk}").rglob("*") if path.is_file()]
    assert (local_media / Upload.objects.get(public_id=joons["upload"]["id"]).key).read_bytes() == VIDEO


def test_a_failing_storage_keeps_the_account_and_its_uploads_to_try_again(s3, mina, settings):
    """Storage down mid-way: nothing is committed (the user is not half-forgotten with videos left behind)."""
    ticket = start(mina)
    assert browser_post(ticket, VIDEO).status_code == 204
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**settings.STORAGES["default"]["OPTIONS"], "endpoint_url": "http://127.0.0.1:9"},
        },
    }
    with pytest.raises(EndpointConnectionError):
        user_anonymize(user=mina, actor=None)
    mina.refresh_from_db()
    assert mina.anonymized_at is None and Upload.objects.filter(owner=mina).count() == 1
    assert stored(s3, ticket["fields"]["key"]) is not None


def test_a_file_sent_late_to_a_forgotten_users_url_is_swept_by_the_nightly_prune(s3, mina):
    """Her presigned POST still works after she is forgotten (S3 cannot take it back): what it brings is swept."""
    ticket = start(mina)
    user_anonymize(user=mina, actor=None)
    assert browser_post(ticket, VIDEO).status_code == 204
    assert stored(s3, ticket["fields"]["key"]) is not None

    out = StringIO()
    call_command("uploads_prune", "--dry-run", stdout=out)
    assert "1 forgotten users' storage would be swept" in out.getvalue()
    assert stored(s3, ticket["fields"]["key"]) is not None
    call_command("uploads_prune", stdout=out)
    assert stored(s3, ticket["fields"]["key"]) is None


def test_uploads_never_completed_are_pruned_a_day_after_their_url_expired(s3, mina):
    sent, unsent, completed, recent = start(mina), start(mina), start(mina), start(mina)
    for ticket in (sent, completed, recent):
        assert browser_post(ticket, VIDEO).status_code == 204
    assert client_for(mina).post(f"{START}/{completed['upload']['id']}/complete").status_code == 200
    long_ago = timezone.now() - timedelta(days=1, minutes=1)
    Upload.objects.filter(public_id__in=[t["upload"]["id"] for t in (sent, unsent, completed)]).update(
        expires_at=long_ago
    )

    assert uploads_prune(dry_run=True).abandoned == 2
    assert Upload.objects.filter(owner=mina).count() == 4
    assert uploads_prune().abandoned == 2

    left = set(Upload.objects.filter(owner=mina).values_list("public_id", flat=True))
    assert {str(public_id) for public_id in left} == {completed["upload"]["id"], recent["upload"]["id"]}
    assert stored(s3, sent["fields"]["key"]) is None
    assert stored(s3, completed["fields"]["key"]) is not None and stored(s3, recent["fields"]["key"]) is not None
    assert client_for(mina).get(f"{START}/{sent['upload']['id']}").status_code == 404


def test_the_worker_prunes_uploads_nightly():
    periodic = {p.task.name: p for p in app.periodic_registry.periodic_tasks.values()}
    nightly = periodic["accounts.tasks.uploads_prune_nightly"]
    assert nightly.cron == "29 4 * * *" and nightly.task.queue == "maintenance"
