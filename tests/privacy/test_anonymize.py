"""The right to be forgotten, tried as a user would: a creator with a Firebase sign-in, consents, forks (published
and private), a campaign entry with a position, stored API replies and failed admin sign-ins deletes their account.
Then every text and JSON column of every table, and the log output of the whole run, holds no trace of their email,
name or phone; the audit log still tells what happened and by whom (a pseudonymous id); public recipes still work."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import AuditLog, Role, Upload, User
from campaigns.models import Participation
from privacy.anonymize import user_anonymize
from remix.models import RemixNode
from tests.accounts.factories import UserFactory
from tests.accounts.firebase_tokens import id_token
from tests.campaigns.factories import campaign_launched
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db

EMAIL = "kwon.mina.private@example.com"
NAME = "Kwon Minah-Seo"
PHONE = "010-9876-5432"
CONFIRM = {"confirm": "delete my account"}


def text_columns() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema
            WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
              AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')
            """
        )
        return cursor.fetchall()


def traces(*needles: str) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where some row's value contains a needle, case-insensitively."""
    found = []
    with connection.cursor() as cursor:
        for table, column in text_columns():
            for needle in needles:
                cursor.execute(
                    f'SELECT 1 FROM "{table}" WHERE "{column}"::text ILIKE %s LIMIT 1',  # noqa: S608 - catalogue names
                    [f"%{needle}%"],
                )
                if cursor.fetchone():
                    found.append((table, column, needle))
    return found


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def mina(firebase_emulator, client):
    """A creator with a footprint everywhere a user leaves one, made through the API and the admin login."""
    signed = APIClient().post(
        "/api/v1/auth/firebase", {"id_token": id_token(uid="uid-mina-private", email=EMAIL, name=NAME)}, format="json"
    )
    assert signed.status_code == 200, signed.content
    access = signed.json()["access"]
    api = bearer(access)
    user = User.objects.get(email=EMAIL)
    consent = {"kind": "location", "granted": True, "terms_version": "2026-01"}
    assert api.post("/api/v1/me/consents", consent, format="json").status_code == 201

    campaign = campaign_launched()
    master = campaign.master_nodes.get()
    body = {"title": f"{NAME}'s latte", "mutation_types": ["localization"], "profile": {"call me": PHONE}}
    published = api.post(f"/api/v1/nodes/{master.public_id}/forks", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert published.status_code == 201, published.content
    published_id = published.json()["id"]
    api.patch(f"/api/v1/nodes/{published_id}", {"profile": {"city": "Busan"}, "title": "Busan latte"}, format="json")
    assert api.post(f"/api/v1/nodes/{published_id}/publish", {"published": True}, format="json").status_code == 200
    draft = api.post(
        f"/api/v1/nodes/{master.public_id}/forks",
        {"title": f"Draft by {NAME}", "mutation_types": ["audio_swap"], "profile": {"phone": PHONE}},
        format="json",
    ).json()["id"]
    entry = {
        "fork": published_id,
        "video_url": "https://www.tiktok.com/@minah/video/7311111111111111111",
        "latitude": 37.5449,
        "longitude": 127.0561,
    }
    assert api.post(f"/api/v1/campaigns/{campaign.pk}/submission", entry, format="json").json()["status"] == "verified"
    started = api.post(
        "/api/v1/uploads",
        {"filename": f"{NAME} at home.mp4", "content_type": "video/mp4", "size": 10},
        format="json",
    )
    assert started.status_code == 201, started.content
    for attempt in range(2):  # someone tries her email on the admin login
        client.post("/admin/login/", {"username": EMAIL, "password": f"guess {attempt}"}, REMOTE_ADDR="10.1.2.3")
    return {"user": user, "access": access, "published": published_id, "draft": draft, "signed": signed.json()}


def test_deleting_the_account_leaves_no_trace_and_keeps_the_record(mina, caplog):
    user = mina["user"]
    api = bearer(mina["access"])
    assert traces(EMAIL, NAME, PHONE)  # the scan finds what is there before

    with caplog.at_level(logging.DEBUG):
        refused = api.delete("/api/v1/me", {"confirm": "yes"}, format="json")
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "validation_error"
        assert User.objects.get(pk=user.pk).anonymized_at is None
        deleted = api.delete("/api/v1/me", CONFIRM, format="json")
        assert deleted.status_code == 204, deleted.content

    assert traces(EMAIL, NAME, PHONE) == []
    logged = caplog.text + "".join(str(getattr(r, "__dict__", "")) for r in caplog.records)
    assert EMAIL not in logged and NAME not in logged and PHONE not in logged

    # The account is closed: every token stops working, and the refresh token is revoked.
    assert api.get("/api/v1/me").status_code == 401
    refresh = APIClient().post("/api/v1/auth/refresh", {"refresh": mina["signed"]["refresh"]}, format="json")
    assert refresh.status_code == 401
    fresh = User.objects.get(pk=user.pk)
    assert not fresh.is_active and fresh.firebase_uid is None and fresh.display_name == "deleted user"

    # What they published stays, attributed to "deleted user"; the private fork is gone; no position kept.
    recipe = APIClient().get(f"/api/v1/nodes/{mina['published']}")
    assert recipe.status_code == 200 and recipe.json()["creator"] == "deleted user"
    assert APIClient().get(f"/recipes/{mina['published']}/").status_code == 200
    assert not RemixNode.objects.filter(public_id=mina["draft"]).exists()
    assert Participation.objects.get(creator=user).claimed_position is None
    assert not Upload.objects.filter(owner=user).exists()

    # The audit log still says what happened, by whom, as a pseudonymous id.
    actions = set(AuditLog.objects.filter(actor_id=user.pk).values_list("action", flat=True))
    assert {"auth.firebase_login", "node.fork", "participation.submit", "consent.grant", "user.anonymize"} <= actions


def test_the_command_dry_runs_then_anonymizes_once(mina):
    out = StringIO()
    call_command("user_anonymize", "--user", EMAIL, "--dry-run", stdout=out)
    assert (
        "would be anonymized" in out.getvalue()
        and "1 private forks and unpublished uploaded videos deleted" in out.getvalue()
    )
    assert User.objects.get(pk=mina["user"].pk).anonymized_at is None
    call_command("user_anonymize", "--user", str(mina["user"].pk), stdout=out)
    assert traces(EMAIL, NAME, PHONE) == []
    again = StringIO()
    call_command("user_anonymize", "--user", str(mina["user"].pk), stdout=again)
    assert "already anonymized" in again.getvalue()
    assert AuditLog.objects.filter(action="user.anonymize", target_id=str(mina["user"].pk)).count() == 1


def test_a_user_with_nothing_and_the_last_admin():
    nobody = UserFactory(role=Role.CREATOR)
    report = user_anonymize(user=nobody, actor=None)
    assert "no data besides the account" in report.summary
    admin = UserFactory(role=Role.ADMIN, is_superuser=True, is_staff=True)
    User.objects.filter(is_superuser=True).exclude(pk=admin.pk).update(is_active=False)
    User.objects.filter(role=Role.ADMIN).exclude(pk=admin.pk).update(is_active=False)
    out = StringIO()
    with pytest.raises(Exception, match="last active admin"):
        call_command("user_anonymize", "--user", str(admin.pk), stdout=out)
    assert User.objects.get(pk=admin.pk).anonymized_at is None
    second = UserFactory(role=Role.ADMIN, is_superuser=True, is_staff=True)
    user_anonymize(user=admin, actor=second)
    assert User.objects.get(pk=admin.pk).anonymized_at is not None


def test_published_masters_they_submitted_stay(mina):
    master = published_master("Their submission")
    RemixNode.objects.filter(pk=master.pk).update(owner=mina["user"])
    user_anonymize(user=mina["user"], actor=None)
    assert APIClient().get(f"/api/v1/nodes/{master.public_id}").json()["creator"] == "K-MEME"  # masters: never a person
