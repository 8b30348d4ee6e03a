"""A second factor for the admin (django-otp TOTP): who must pass it, enrolment, verification, and what a session
that has only passed its password can reach. Codes are computed from the device key as an authenticator app would."""

from __future__ import annotations

import base64
import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditLog, Role, User
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

SECOND_FACTOR = "/admin/second-factor/"
PASSWORD = "correct horse battery staple"  # the factory's


def code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """What the authenticator app shows (steps_ahead=1: the next 30 s window, as a later sign-in would use)."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=steps_ahead):06d}"


def wrong_code(device: TOTPDevice) -> str:
    right = {code(device, steps_ahead=n) for n in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def reaches_review_queue(session: Client) -> bool:
    response = session.get("/admin/")
    return response.status_code == 200 and 'id="review-queue"' in response.content.decode()


def password_session(user: User) -> Client:
    session = Client()
    response = session.post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return session


def enrol(session: Client, user: User) -> TOTPDevice:
    assert session.get(SECOND_FACTOR).status_code == 200
    device = TOTPDevice.objects.get(user=user)
    response = session.post(SECOND_FACTOR, {"token": code(device), "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/", response.content
    return device


@pytest.fixture
def require_2fa(settings) -> None:
    settings.ADMIN_REQUIRE_2FA = True


def test_off_by_default_in_development_and_tests_so_the_password_alone_opens_the_admin(settings, editor_user):
    assert settings.ADMIN_REQUIRE_2FA is False
    assert reaches_review_queue(password_session(editor_user))


def test_when_required_an_editor_without_a_device_is_sent_to_enrol_and_reaches_nothing(
    require_2fa, editor_user, editor_session
):
    response = editor_session.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == f"{SECOND_FACTOR}?next=%2Fadmin%2F"
    for page in (reverse("admin:remix_remixnode_changelist"), reverse("admin:accounts_auditlog_changelist")):
        assert editor_session.get(page)["Location"].startswith(SECOND_FACTOR)
    assert not reaches_review_queue(editor_session)
    # Nor through the API with the same session: it is not signed in there.
    me = editor_session.get("/api/v1/me")
    assert me.status_code == 401 and me.json()["error"]["code"] == "not_authenticated"

    page = editor_session.get(response["Location"]).content.decode()
    assert "Set up two-factor sign-in" in page
    assert 'id="otp-qr-code" src="data:image/svg+xml;base64,' in page
    assert not TOTPDevice.objects.get(user=editor_user).confirmed


def test_with_a_verified_totp_code_the_editor_reaches_the_review_queue(require_2fa, editor_user, editor_session):
    device = enrol(editor_session, editor_user)

    device.refresh_from_db()
    assert device.confirmed
    assert reaches_review_queue(editor_session)
    assert editor_session.get("/api/v1/me").json()["email"] == editor_user.email
    actions = list(AuditLog.objects.filter(actor=editor_user).order_by("id").values_list("action", flat=True))
    assert actions == ["auth.otp_enrolment_started", "auth.otp_enrolled"]


def test_the_enrolment_page_shows_a_key_that_makes_the_codes(require_2fa, editor_user, editor_session):
    """Typing the key instead of scanning works: it is the device's key, in the base32 apps expect."""
    page = editor_session.get(SECOND_FACTOR).content.decode()
    secret = re.search(r'<code id="otp-secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    device = TOTPDevice.objects.get(user=editor_user)
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key


def test_a_wrong_code_is_refused_and_audited_and_the_admin_stays_closed(require_2fa, editor_user, editor_session):
    editor_session.get(SECOND_FACTOR)
    device = TOTPDevice.objects.get(user=editor_user)

    response = editor_session.post(SECOND_FACTOR, {"token": wrong_code(device), "next": "/admin/"})

    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert not reaches_review_queue(editor_session)
    failed = AuditLog.objects.get(action="auth.otp_failed")
    assert (failed.actor_id, failed.details) == (editor_user.pk, {"stage": "enrolment", "throttled": False})


def test_after_enrolment_a_new_sign_in_must_enter_a_code_and_never_sees_the_key_again(require_2fa, editor_user):
    device = enrol(password_session(editor_user), editor_user)
    session = password_session(editor_user)

    page = session.get(SECOND_FACTOR).content.decode()
    assert "Enter your sign-in code" in page
    assert "otp-secret" not in page and "otp-qr-code" not in page
    assert not reaches_review_queue(session)

    response = session.post(SECOND_FACTOR, {"token": code(device, steps_ahead=1), "next": "/admin/"})

    assert response.status_code == 302
    assert reaches_review_queue(session)
    assert AuditLog.objects.filter(action="auth.otp_verified", actor=editor_user).count() == 1


def test_a_code_cannot_be_used_twice(require_2fa, editor_user):
    device = enrol(password_session(editor_user), editor_user)
    first = password_session(editor_user)
    token = code(device, steps_ahead=1)
    assert first.post(SECOND_FACTOR, {"token": token}).status_code == 302

    second = password_session(editor_user)
    response = second.post(SECOND_FACTOR, {"token": token})

    assert "That code is not right" in response.content.decode()
    assert not reaches_review_queue(second)


def test_repeated_wrong_codes_are_slowed_down(require_2fa, editor_user, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 600  # after one wrong code, wait 10 minutes
    device = enrol(password_session(editor_user), editor_user)
    session = password_session(editor_user)
    session.post(SECOND_FACTOR, {"token": wrong_code(device)})

    response = session.post(SECOND_FACTOR, {"token": code(device, steps_ahead=1)})

    assert "Too many wrong codes in a row" in response.content.decode()
    assert not reaches_review_queue(session)
    failed = AuditLog.objects.filter(action="auth.otp_failed").order_by("id")
    assert [row.details["throttled"] for row in failed] == [False, True]


def test_an_admin_requires_it_of_one_editor_without_ever_seeing_the_key(admin_session, site_admin, editor_user):
    other = UserFactory(role=Role.EDITOR)
    response = admin_session.post(reverse("admin:otp_totp_totpdevice_add"), {"user": editor_user.pk}, follow=True)
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=editor_user)
    page = admin_session.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk])).content.decode()
    assert device.key not in page and "otp-secret" not in page
    required = AuditLog.objects.get(action="auth.otp_required")
    assert (required.actor_id, required.target_id) == (site_admin.pk, str(editor_user.pk))

    editor = password_session(editor_user)
    assert not reaches_review_queue(editor)  # 2FA is off globally, but required of this editor
    assert editor.get("/admin/")["Location"].startswith(SECOND_FACTOR)
    assert reaches_review_queue(password_session(other))

    enrol(editor, editor_user)
    assert reaches_review_queue(editor)


def test_requiring_it_of_a_creator_is_refused_on_the_form(admin_session):
    creator = UserFactory(role=Role.CREATOR)
    response = admin_session.post(reverse("admin:otp_totp_totpdevice_add"), {"user": creator.pk})
    assert response.status_code == 200
    assert "this account needs no second factor" in response.content.decode()
    assert not TOTPDevice.objects.exists()


def test_an_editor_enrols_voluntarily_and_is_asked_for_codes_from_then_on(editor_user, editor_session):
    enrol(editor_session, editor_user)
    assert reaches_review_queue(editor_session)

    later = password_session(editor_user)

    assert not reaches_review_queue(later)
    assert "Enter your sign-in code" in later.get(SECOND_FACTOR).content.decode()


def test_a_lost_phone_an_admin_deletes_the_device_audited(admin_session, site_admin, editor_user, editor_session):
    device = enrol(editor_session, editor_user)

    response = admin_session.post(
        reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"}, follow=True
    )

    assert response.status_code == 200
    assert not TOTPDevice.objects.exists()
    deleted = AuditLog.objects.get(action="auth.otp_device_deleted")
    assert (deleted.actor_id, deleted.target_id, deleted.details["confirmed"]) == (
        site_admin.pk,
        str(editor_user.pk),
        True,
    )
    assert reaches_review_queue(password_session(editor_user))  # 2FA off globally: the password is enough again


def test_the_second_factor_page_sends_only_to_pages_of_this_site(require_2fa, editor_user, editor_session):
    editor_session.get(SECOND_FACTOR)
    device = TOTPDevice.objects.get(user=editor_user)

    response = editor_session.post(SECOND_FACTOR, {"token": code(device), "next": "https://evil.example/phish"})

    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_the_second_factor_page_needs_a_signed_in_staff_member(client):
    assert client.get(SECOND_FACTOR)["Location"].startswith("/admin/login/")
    creator = Client()
    creator.force_login(UserFactory(role=Role.CREATOR))
    assert creator.get(SECOND_FACTOR)["Location"].startswith("/admin/login/")
    assert not TOTPDevice.objects.exists()


def test_a_session_owing_its_second_factor_can_log_out(require_2fa, editor_session):
    page = editor_session.get(SECOND_FACTOR).content.decode()
    assert 'id="second-factor-logout"' in page

    assert editor_session.post(reverse("admin:logout")).status_code == 200

    assert editor_session.get(SECOND_FACTOR)["Location"].startswith("/admin/login/")
