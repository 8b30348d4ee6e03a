"""Account takeover through Firebase: a verified token whose email is some variant of a staff member's address must
never reach their account. Through the real firebase-admin SDK in Auth emulator mode, as in test_auth_api."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import AuditLog, Role, User
from accounts.services import user_create, user_update
from tests.accounts.firebase_tokens import id_token
from tests.accounts.test_auth_api import assert_error, rows, sign_in

pytestmark = pytest.mark.django_db

EDITOR_EMAIL = "editor@kmeme.local"


@pytest.fixture
def staff_editor() -> User:
    """An editor as an admin creates one in the admin: a password, no Firebase uid."""
    return user_create(email=EDITOR_EMAIL, password="a long enough password", role=Role.EDITOR)


def assert_untouched(user: User) -> None:
    """What the attacker must not get: the uid on the account, or a token pair for it."""
    user.refresh_from_db()
    assert user.firebase_uid is None
    assert not OutstandingToken.objects.filter(user=user).exists()
    assert not AuditLog.objects.filter(actor=user, action="auth.firebase_login").exists()


# Addresses Firebase could report as verified for someone who does not own editor@kmeme.local.
REFUSED_AS_INVALID = {
    "Cyrillic е": "\u0435ditor@kmeme.local",
    "fullwidth letters": "\uff45\uff44\uff49\uff54\uff4f\uff52@kmeme.local",
    "fullwidth @": "editor\uff20kmeme.local",
    "NFKC: script small e": "\u212fditor@kmeme.local",
    "NFKC: roman numeral fifty as l": "editor@kmeme.loca\u217c",
    "NFKC: decomposed accent": "e\u0301ditor@kmeme.local",
    "zero-width space": "editor\u200b@kmeme.local",
    "trailing dot": "editor@kmeme.local.",
    "trailing space": "editor@kmeme.local ",
    "leading space": " editor@kmeme.local",
    "trailing newline": "editor@kmeme.local\n",
}


@pytest.mark.parametrize("email", REFUSED_AS_INVALID.values(), ids=REFUSED_AS_INVALID.keys())
def test_look_alike_addresses_are_refused_before_any_account_is_looked_up(
    api_client, firebase_emulator, staff_editor, email
):
    before = rows()

    response = sign_in(api_client, id_token(uid="uid-attacker", email=email, email_verified=True))

    assert_error(response, 400, "firebase_email_invalid")
    assert_untouched(staff_editor)
    assert rows() == before


def test_the_kelvin_sign_does_not_lowercase_into_another_account(api_client, firebase_emulator):
    """str.lower() turns U+212A KELVIN SIGN into an ASCII "k": a normalisation built on it would hand kate's account
    (or her address, for a new account) to whoever verified "\u212aate@…"."""
    kate = user_create(email="kate@kmeme.local", role=Role.CREATOR)  # waiting for her first sign-in: linkable
    before = rows()

    response = sign_in(api_client, id_token(uid="uid-attacker", email="\u212aate@kmeme.local"))

    assert_error(response, 400, "firebase_email_invalid")
    assert_untouched(kate)
    assert rows() == before


@pytest.mark.parametrize("email", [EDITOR_EMAIL, "Editor@kmeme.local", "EDITOR@KMEME.LOCAL", "editor@KMEME.local"])
def test_a_staff_account_is_never_linked_whatever_the_case(api_client, firebase_emulator, staff_editor, email):
    before = rows()

    response = sign_in(api_client, id_token(uid="uid-attacker", email=email, email_verified=True))

    error = assert_error(response, 409, "email_in_use")
    assert error["details"] is None
    assert "editor" not in response.content.decode().lower()  # neither the role nor the address is echoed
    assert_untouched(staff_editor)
    # Nothing written but the refused attempt, on the account it aimed at.
    assert rows() == {**before, "AuditLog": before["AuditLog"] + 1}
    refused = AuditLog.objects.get(action="auth.firebase_link_refused")
    assert refused.actor is None
    assert (refused.target_type, refused.target_id) == ("accounts.user", str(staff_editor.pk))
    assert refused.details == {"reason": "staff_account", "firebase_uid": "PERSONAL", "provider": "google.com"}
    assert refused.personal_details == {"firebase_uid": "uid-attacker"}
    assert refused.ip == "127.0.0.1"


def test_plus_addressing_makes_a_separate_account_never_the_editors(api_client, firebase_emulator, staff_editor):
    response = sign_in(api_client, id_token(uid="uid-plus", email="editor+x@kmeme.local"))

    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] != staff_editor.pk
    assert response.json()["user"]["email"] == "editor+x@kmeme.local"
    assert response.json()["user"]["role"] == "creator"
    assert_untouched(staff_editor)


@pytest.mark.parametrize(
    "make_account",
    [
        pytest.param(lambda: user_create(email=EDITOR_EMAIL, role=Role.EDITOR), id="editor without a password"),
        pytest.param(lambda: user_create(email=EDITOR_EMAIL, role=Role.ADMIN), id="admin without a password"),
        pytest.param(
            lambda: user_create(email=EDITOR_EMAIL, password="a long enough password", role=Role.ADMIN), id="admin"
        ),
    ],
)
def test_staff_accounts_are_refused_even_unused_and_without_a_password(api_client, firebase_emulator, make_account):
    account = make_account()

    response = sign_in(api_client, id_token(uid="uid-attacker", email=EDITOR_EMAIL))

    assert_error(response, 409, "email_in_use")
    assert_untouched(account)
    assert AuditLog.objects.get(action="auth.firebase_link_refused").details["reason"] == "staff_account"


def _signed_in_once_then_unlinked() -> User:
    user = user_create(email=EDITOR_EMAIL, role=Role.CREATOR, firebase_uid="uid-first")
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    return user_update(user=user, actor=None, firebase_uid="")


REFUSED_ACCOUNTS = {
    "staff": lambda: user_create(email=EDITOR_EMAIL, password="a long enough password", role=Role.EDITOR),
    "linked to another uid": lambda: user_create(email=EDITOR_EMAIL, firebase_uid="uid-owner"),
    "a creator with a password": lambda: user_create(email=EDITOR_EMAIL, password="a long enough password"),
    "a brand": lambda: user_create(email=EDITOR_EMAIL, role=Role.BRAND),
    "a creator signed in before": _signed_in_once_then_unlinked,
}


def test_every_refusal_gives_the_same_answer_so_it_tells_nothing_about_the_account(api_client, firebase_emulator):
    """Staff or not, a password or not, linked or used before: one answer, so no one learns which."""
    answers: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    for name, make_account in REFUSED_ACCOUNTS.items():
        User.objects.filter(email=EDITOR_EMAIL).update(email=f"retired-{len(answers)}@kmeme.local")
        account = make_account()
        response = sign_in(api_client, id_token(uid=f"uid-{len(answers)}", email=EDITOR_EMAIL))
        error = assert_error(response, 409, "email_in_use")
        answers[name] = {k: v for k, v in error.items() if k != "request_id"}
        account.refresh_from_db()
        assert account.firebase_uid in (None, "uid-owner")
        reasons[name] = AuditLog.objects.filter(action="auth.firebase_link_refused").first().details["reason"]

    assert len({str(answer) for answer in answers.values()}) == 1, answers
    assert reasons == {
        "staff": "staff_account",
        "linked to another uid": "linked_to_another_firebase_account",
        "a creator with a password": "has_a_password",
        "a brand": "not_a_creator_account",
        "a creator signed in before": "signed_in_before",
    }


def test_an_address_stored_in_another_case_is_never_linked_nor_duplicated(api_client, firebase_emulator):
    # A row written before addresses were lowercased (straight to the database, as an import would).
    legacy = user_create(email="mina@example.com", role=Role.CREATOR)
    User.objects.filter(pk=legacy.pk).update(email="Mina@Example.com")

    response = sign_in(api_client, id_token(uid="uid-mina", email="mina@example.com"))

    assert_error(response, 409, "email_in_use")
    assert_untouched(legacy)
    assert User.objects.count() == 1
    assert AuditLog.objects.get(action="auth.firebase_link_refused").details["reason"] == "email_differs_in_case"


def test_an_admin_links_an_account_on_purpose_by_setting_its_uid(api_client, firebase_emulator, site_admin):
    """The explicit link step for an account the automatic rule refuses (here one that has signed in before)."""
    account = _signed_in_once_then_unlinked()
    assert_error(sign_in(api_client, id_token(uid="uid-new-phone", email=EDITOR_EMAIL)), 409, "email_in_use")

    user_update(user=account, actor=site_admin, firebase_uid="uid-new-phone")
    response = sign_in(api_client, id_token(uid="uid-new-phone", email=EDITOR_EMAIL))

    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] == account.pk
