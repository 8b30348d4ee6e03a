"""Brute force on /admin/login/: lockout (django-axes, on the real database), unlocking, and the audit trail."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import AuditLog, Role, User
from accounts.services import user_create

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "a long enough password"
LOCK_MESSAGE = "Too many failed sign-ins: sign-in is locked for 15 minutes."


@pytest.fixture
def editor() -> User:
    return user_create(email="editor@kmeme.local", password=PASSWORD, role=Role.EDITOR)


def sign_in(client: Client, username: str, password: str, ip: str = "127.0.0.1") -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def lock_out(client: Client, username: str = "editor@kmeme.local") -> None:
    for attempt in range(1, 6):
        response = sign_in(client, username, f"wrong guess {attempt}")
        assert response.status_code == (429 if attempt == 5 else 200), attempt


def test_five_wrong_passwords_lock_the_account_and_the_right_one_is_then_refused(client, editor):
    for attempt in range(4):
        response = sign_in(client, "editor@kmeme.local", f"wrong guess {attempt}")
        assert response.status_code == 200
        assert "Please enter the correct email address and password" in response.content.decode()

    fifth = sign_in(client, "editor@kmeme.local", "wrong guess 5")
    assert fifth.status_code == 429
    assert LOCK_MESSAGE in fifth.content.decode()

    sixth = sign_in(client, "editor@kmeme.local", PASSWORD)
    assert sixth.status_code == 429
    assert LOCK_MESSAGE in sixth.content.decode()
    assert "ask an admin to unlock it" in sixth.content.decode()
    assert int(sixth["Retry-After"]) == 15 * 60
    assert not signed_in(client)


def test_case_variants_from_many_addresses_count_against_one_account(client, editor):
    """Typing the address in another case, from another address each time, gains no extra guesses."""
    variants = [
        "Editor@kmeme.local",
        "EDITOR@kmeme.local",
        "editor@KMEME.local",
        "eDiToR@kmeme.local",
        "editor@kmeme.local",
    ]
    for n, variant in enumerate(variants, start=1):
        sign_in(client, variant, "wrong guess", ip=f"127.0.0.{n + 1}")

    response = sign_in(client, "editor@kmeme.local", PASSWORD, ip="127.0.0.50")

    assert response.status_code == 429
    assert not signed_in(client)


def test_one_address_guessing_across_many_accounts_is_locked(client):
    """Password spraying: one wrong password on each of five accounts locks the address, not just the accounts."""
    for n in range(5):
        user_create(email=f"editor{n}@kmeme.local", password=PASSWORD, role=Role.EDITOR)
        sign_in(client, f"editor{n}@kmeme.local", "Spring2026!", ip="127.0.0.9")
    owner = user_create(email="owner@kmeme.local", password=PASSWORD, role=Role.EDITOR)

    assert sign_in(client, owner.email, PASSWORD, ip="127.0.0.9").status_code == 429
    assert not signed_in(client)
    # The account itself is fine from elsewhere.
    assert sign_in(client, owner.email, PASSWORD, ip="127.0.0.10").status_code == 302
    assert signed_in(client)


def test_the_lockout_ends_after_fifteen_minutes(client, editor):
    lock_out(client)
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))

    assert sign_in(client, "editor@kmeme.local", PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_successful_sign_in_starts_the_count_again(client, editor):
    for _ in range(4):
        sign_in(client, "editor@kmeme.local", "wrong guess")
    assert sign_in(client, "editor@kmeme.local", PASSWORD).status_code == 302
    client.post(reverse("admin:logout"))
    for _ in range(4):
        sign_in(client, "editor@kmeme.local", "wrong guess")

    assert sign_in(client, "editor@kmeme.local", PASSWORD).status_code == 302


def test_failed_sign_ins_and_the_lockout_are_audited_once_each(client, editor):
    lock_out(client)
    for _ in range(3):  # refused while locked: not counted again, not logged again
        sign_in(client, "editor@kmeme.local", PASSWORD)

    failures = AuditLog.objects.filter(action="auth.admin_login_failed").order_by("id")
    assert [row.details["failures"] for row in failures] == [1, 2, 3, 4, 5]
    assert {(row.target_id, row.ip, row.actor_id) for row in failures} == {(str(editor.pk), "127.0.0.1", None)}
    # The address typed is personal: kept beside the permanent record, where forgetting the person deletes it.
    assert all(row.details["username"] == "PERSONAL" for row in failures)
    assert all(row.personal_details["username"] == "editor@kmeme.local" for row in failures)
    assert "wrong guess" not in str([row.details for row in failures])  # never the password typed
    locked = AuditLog.objects.get(action="auth.admin_locked_out")
    assert locked.target_id == str(editor.pk)
    assert locked.details == {"username": "PERSONAL", "failures": 5, "ip": "PERSONAL", "locked_minutes": 15}
    assert locked.personal_details == {"username": "editor@kmeme.local", "ip": "127.0.0.1"}
    assert locked.ip == "127.0.0.1" and locked.personal.subject == editor


def test_an_admin_unlocks_the_account_from_the_user_list_and_the_login_works(client, editor, admin_session, site_admin):
    lock_out(client)

    response = admin_session.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "unlock_sign_in", "_selected_action": [editor.pk]},
        follow=True,
    )

    assert "1 account unlocked." in response.content.decode()
    assert sign_in(client, "editor@kmeme.local", PASSWORD).status_code == 302
    assert signed_in(client)
    unlocked = AuditLog.objects.get(action="auth.admin_unlocked")
    assert (unlocked.actor_id, unlocked.target_id) == (site_admin.pk, str(editor.pk))
    assert unlocked.details["attempts_cleared"] >= 1


def test_admins_see_the_lockouts_and_unlock_them_there_editors_do_not(client, editor, admin_session, editor_session):
    lock_out(client)
    changelist = reverse("admin:axes_accessattempt_changelist")

    page = admin_session.get(changelist)
    assert page.status_code == 200
    assert "editor@kmeme.local" in page.content.decode()
    assert editor_session.get(changelist).status_code == 403

    attempt = AccessAttempt.objects.get()
    response = admin_session.post(changelist, {"action": "unlock", "_selected_action": [attempt.pk]}, follow=True)

    assert "1 attempt record cleared." in response.content.decode()
    assert sign_in(client, "editor@kmeme.local", PASSWORD).status_code == 302


def test_the_unlock_command_unlocks_by_email_in_any_case(client, editor):
    lock_out(client)

    dry = StringIO()
    call_command("unlock_sign_in", email="EDITOR@kmeme.local", dry_run=True, stdout=dry)
    assert "1 failed-attempt record(s) would be cleared" in dry.getvalue()
    assert sign_in(client, "editor@kmeme.local", PASSWORD).status_code == 429

    out = StringIO()
    call_command("unlock_sign_in", email="EDITOR@kmeme.local", stdout=out)

    assert "Cleared 1 failed-attempt record(s)" in out.getvalue()
    assert sign_in(client, "editor@kmeme.local", PASSWORD).status_code == 302
    assert AuditLog.objects.filter(action="auth.admin_unlocked", actor=None).count() == 1
