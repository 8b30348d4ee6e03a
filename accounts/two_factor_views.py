"""The admin's second-factor page (/admin/second-factor/): enrol an authenticator app, or enter its code."""

from __future__ import annotations

import base64
import io
from base64 import b32encode

from django import forms
from django.contrib.admin import AdminSite
from django.contrib.auth.views import redirect_to_login
from django.core.validators import RegexValidator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.qr import write_qrcode_image

from accounts.lockout import sign_in_client_ip
from accounts.two_factor import (
    otp_confirmed_devices,
    otp_enrolment_confirm,
    otp_enrolment_start,
    otp_session_start,
    otp_verify,
    second_factor_required,
)
from kmeme.errors import ApplicationError


class OtpTokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Code from your authenticator app"),
        min_length=6,
        max_length=8,
        validators=[RegexValidator(r"^[0-9]+$", gettext_lazy("Enter the digits only."))],
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _qr_code_data_url(device: TOTPDevice) -> str:
    svg = io.BytesIO()
    write_qrcode_image(device.config_url, svg)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode()


def _grouped_secret(device: TOTPDevice) -> str:
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def second_factor_view(request: HttpRequest, *, admin_site: AdminSite) -> HttpResponse:
    """Verify: a staff user with a confirmed device enters its code. Enrol: one without scans the QR code of their
    unconfirmed device and confirms it with a first code. Either way the session then counts as verified and goes
    on to `next` (an admin page of this site)."""
    user = request.user
    login_url = reverse("admin:login", current_app=admin_site.name)
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return redirect_to_login(request.get_full_path(), login_url)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=False):
        next_url = reverse("admin:index", current_app=admin_site.name)

    if user.is_verified():
        mode = "done"
    elif otp_confirmed_devices(user=user):
        mode = "verify"
    else:
        mode = "enrol"
    device = otp_enrolment_start(user=user) if mode == "enrol" else None
    form = OtpTokenForm(request.POST if request.method == "POST" else None) if mode != "done" else None
    if form is not None and form.is_bound and form.is_valid():
        token, ip = form.cleaned_data["token"], sign_in_client_ip(request)
        try:
            if mode == "verify":
                verified = otp_verify(user=user, token=token, ip=ip)
            else:
                verified = otp_enrolment_confirm(user=user, token=token, ip=ip)
        except ApplicationError as exc:
            form.add_error("token", exc.message)
        else:
            otp_session_start(request=request, device=verified)
            return HttpResponseRedirect(next_url)

    context = {
        **admin_site.each_context(request),
        "title": _("Two-factor sign-in"),
        "is_nav_sidebar_enabled": False,  # the pending session may not open the pages it would list
        "mode": mode,
        "form": form,
        "next": next_url,
        "required": second_factor_required(user),
        "qr_code": _qr_code_data_url(device) if device is not None else "",
        "secret": _grouped_secret(device) if device is not None else "",
    }
    return TemplateResponse(request, "admin/kmeme_second_factor.html", context)
