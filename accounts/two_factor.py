"""A second factor for the admin: TOTP devices (django-otp), who must use one, and the services that enrol,
verify, require and remove them. Every change is audited.

Who must: every staff account when ADMIN_REQUIRE_2FA is on, and whatever that setting says, any staff account that
has a TOTP device (its owner enrolled one, or an admin required one by adding it). Such a session is "pending" after
its password until it passes the second factor: SecondFactorMiddleware sends it from every admin page to the
second-factor page (enrol or verify) and treats it as anonymous everywhere else, and KmemeAdminSite.has_permission
refuses it, so nothing of the admin or the API is reachable with the password alone.

Enrolment: the second-factor page shows the QR code and the key of the account's unconfirmed device (created then,
or the one an admin added), and confirms it with a first code. A confirmed device's key is never shown again, to
anyone (OTP_ADMIN_HIDE_SENSITIVE_DATA); a lost phone is replaced by an admin deleting the device, then enrolling anew.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_otp
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework import status

from accounts.models import User
from accounts.services import audit_log_record
from kmeme.errors import ApplicationError

DEVICE_NAME = "Authenticator app"
_REQUIRED_ATTRIBUTE = "_kmeme_second_factor_required"


def second_factor_required(user: Any) -> bool:
    """Whether this user's admin session must pass a second factor (see the module docstring)."""
    if not getattr(user, "is_authenticated", False) or not (user.is_staff or user.is_superuser):
        return False
    if settings.ADMIN_REQUIRE_2FA:
        return True
    required = user.__dict__.get(_REQUIRED_ATTRIBUTE)
    if required is None:  # asked several times per request
        required = TOTPDevice.objects.filter(user_id=user.pk).exists()
        user.__dict__[_REQUIRED_ATTRIBUTE] = required
    return required


def second_factor_pending(user: Any) -> bool:
    """Signed in with a password, but still owing the second factor it must pass."""
    is_verified = getattr(user, "is_verified", None)  # installed by django-otp's OTPMiddleware
    return second_factor_required(user) and not (is_verified is not None and is_verified())


def otp_confirmed_devices(*, user: User) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk"))


def _token_refused(*, user: User, ip: str | None, stage: str, throttled: bool) -> ApplicationError:
    audit_log_record(
        actor=user, action="auth.otp_failed", target=user, details={"stage": stage, "throttled": throttled}, ip=ip
    )
    if throttled:
        return ApplicationError(
            _("Too many wrong codes in a row: wait a little, then enter the code your app shows."),
            code="otp_throttled",
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        )
    return ApplicationError(_("That code is not right; enter the 6 digits your app shows now."), code="otp_invalid")


def _device_accepting(*, user: User, devices: list[TOTPDevice], token: str, ip: str | None, stage: str) -> TOTPDevice:
    """The device that accepts the code, or the refusal (audited). A device still in django-otp's growing delay
    after wrong codes is not even asked, so guessing stays slow."""
    askable = [device for device in devices if device.verify_is_allowed()[0]]
    for device in askable:
        # Locks the device row while it checks, so throttling and replay protection (last_t) hold under concurrency.
        verified = django_otp.verify_token(user, device.persistent_id, token)
        if verified is not None:
            return verified
    raise _token_refused(user=user, ip=ip, stage=stage, throttled=not askable)


@transaction.atomic
def otp_enrolment_start(*, user: User) -> TOTPDevice:
    """The unconfirmed TOTP device whose QR code the enrolment page shows: the one an admin added, else a new one.
    Refuses (409 `otp_already_enrolled`) once the user has a confirmed device: its key is never shown again."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise ApplicationError(
            _("Two-factor sign-in is already set up for this account."),
            code="otp_already_enrolled",
            status_code=status.HTTP_409_CONFLICT,
        )
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice(user=user, name=DEVICE_NAME, confirmed=False)
        device.full_clean()
        device.save()
        audit_log_record(actor=user, action="auth.otp_enrolment_started", target=user, details={"device": device.pk})
    return device


def otp_enrolment_confirm(*, user: User, token: str, ip: str | None = None) -> TOTPDevice:
    """Confirm the user's unconfirmed device with a code from their app; from then on it is their second factor.
    Audited; a wrong code is audited too and refused (400 `otp_invalid`, 429 `otp_throttled`)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        raise ApplicationError(
            _("Start the set-up again."), code="otp_no_enrolment", status_code=status.HTTP_409_CONFLICT
        )
    device = _device_accepting(user=user, devices=[device], token=token, ip=ip, stage="enrolment")
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_log_record(actor=user, action="auth.otp_enrolled", target=user, details={"device": device.pk}, ip=ip)
    return device


def otp_verify(*, user: User, token: str, ip: str | None = None) -> TOTPDevice:
    """The confirmed device that accepts this code. Audited; a wrong code is audited too and refused
    (400 `otp_invalid`, 429 `otp_throttled` after repeated failures: django-otp's growing delay per device)."""
    devices = otp_confirmed_devices(user=user)
    if not devices:
        raise ApplicationError(
            _("Set up two-factor sign-in first."), code="otp_not_enrolled", status_code=status.HTTP_409_CONFLICT
        )
    device = _device_accepting(user=user, devices=devices, token=token, ip=ip, stage="sign-in")
    audit_log_record(actor=user, action="auth.otp_verified", target=user, details={"device": device.pk}, ip=ip)
    return device


def otp_session_start(*, request: HttpRequest, device: TOTPDevice) -> None:
    """Mark the session as having passed the second factor, under a new session key (the privilege changed)."""
    request.session.cycle_key()
    django_otp.login(request, device)


@transaction.atomic
def otp_device_require(*, user: User, actor: User | None) -> TOTPDevice:
    """An admin requires a second factor of one staff account: an unconfirmed device that its owner enrols on their
    next admin visit (the key is shown to them, never to the admin). Audited."""
    if not (user.is_staff or user.is_superuser):
        raise ApplicationError(
            _("Only staff accounts sign in to the admin; this account needs no second factor."), code="otp_not_staff"
        )
    if TOTPDevice.objects.filter(user=user).exists():
        raise ApplicationError(
            _("This account already has a TOTP device: it must use it already."), code="otp_device_exists"
        )
    device = TOTPDevice(user=user, name=DEVICE_NAME, confirmed=False)
    device.full_clean()
    device.save()
    audit_log_record(actor=actor, action="auth.otp_required", target=user, details={"device": device.pk})
    return device


@transaction.atomic
def otp_device_delete(*, device: TOTPDevice, actor: User | None) -> None:
    """Remove a TOTP device (a lost phone): its owner enrols a new one next time, if a second factor is required
    of them. Audited."""
    user = device.user
    details = {"device": device.pk, "name": device.name, "confirmed": device.confirmed}
    device.delete()
    audit_log_record(actor=actor, action="auth.otp_device_deleted", target=user, details=details)


# Admin pages a pending session may open: the second factor itself, and the ways out.
_PENDING_ALLOWED = {"second_factor", "login", "logout"}


class SecondFactorMiddleware:
    """After django-otp's OTPMiddleware: a session that owes its second factor is sent to the second-factor page from
    every other admin page, and is anonymous outside the admin (the API's session authentication included)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)  # no session, nothing half signed in (JWT requests stay untouched)
        admin_root = _admin_root()
        if admin_root is not None and request.path_info.startswith(admin_root):
            if second_factor_pending(request.user) and _admin_view_name(request) not in _PENDING_ALLOWED:
                target = reverse("admin:second_factor")
                return HttpResponseRedirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        else:
            user = request.user
            request.user = SimpleLazyObject(lambda: AnonymousUser() if second_factor_pending(user) else user)
        return self.get_response(request)


def _admin_root() -> str | None:
    try:
        return reverse("admin:index")
    except NoReverseMatch:  # a URLconf without the admin: every page is outside it
        return None


def _admin_view_name(request: HttpRequest) -> str | None:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    return match.url_name if match.namespace == "admin" else None
