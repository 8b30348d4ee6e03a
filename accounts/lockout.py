"""Admin sign-in lockout with django-axes: how attempts are keyed, the page a locked-out person sees, the audited
unlock, and the audit rows for failed sign-ins and lockouts (signal handlers connected in AccountsConfig.ready()).

The numbers are settings (ADMIN_LOGIN_FAILURE_LIMIT wrong passwords → locked ADMIN_LOGIN_LOCKOUT_MINUTES). There are
two counters and either one locks: the account's (so spreading a guessing run over many addresses gains nothing) and
the client address's (so trying one password on many accounts gains nothing). The price is that anyone can lock a
known account for a while; an admin unlocks it early.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_log_record

_KEYS_ATTRIBUTE = "_kmeme_sign_in_lockout_keys"


def sign_in_client_ip(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the peer address (the proxy's, behind one; never a header a client can set)."""
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")))
    except ValueError:
        return None


def sign_in_lockout_key(request: HttpRequest | None, credentials: Mapping[str, Any] | None) -> str | None:
    """AXES_USERNAME_CALLABLE: whose failure counter an attempt counts on. The address typed is looked up as the
    login itself looks it up (case-insensitively); when it names an account, the key is that account's address as
    stored, so "Editor@…", "EDITOR@…" and "editor@…" share one counter. Other addresses are keyed case-folded."""
    raw = None
    if credentials:
        raw = credentials.get("username") or credentials.get(User.USERNAME_FIELD)
    if raw is None and request is not None:
        raw = request.POST.get("username")
    if not isinstance(raw, str) or not raw.strip():
        return None
    raw = raw.strip()
    memo: dict[str, str] = {}
    if request is not None:
        memo = request.__dict__.setdefault(_KEYS_ATTRIBUTE, {})  # axes asks several times per attempt
    if raw not in memo:
        account_email = User.objects.filter(email__iexact=raw).values_list("email", flat=True).first()
        memo[raw] = account_email or raw.casefold()[:255]
    return memo[raw]


def sign_in_locked_out_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Mapping[str, Any] | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the admin's own page saying the account is locked, for how long, and who can help.
    (Keyword defaults: axes calls this with two arguments if three raise a TypeError.)"""
    minutes = settings.ADMIN_LOGIN_LOCKOUT_MINUTES
    context = {
        **admin.site.each_context(request),
        "title": _("Sign-in locked"),
        "failure_limit": settings.ADMIN_LOGIN_FAILURE_LIMIT,
        "lockout_minutes": minutes,
    }
    response = render(request, "admin/kmeme_locked_out.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


@transaction.atomic
def sign_in_unlock(*, actor: User | None, email: str | None = None, ip: str | None = None) -> int:
    """Clear the failed admin sign-ins counted against an account (by its address) and/or from a client address, so
    they can sign in again at once. Returns how many attempt records were cleared; audited (`auth.admin_unlocked`)
    when there were any."""
    key = None
    if email:
        key = User.objects.filter(email__iexact=email).values_list("email", flat=True).first() or email.casefold()
    cleared = (axes_reset(username=key) if key else 0) + (axes_reset(ip=ip) if ip else 0)
    if cleared:
        audit_log_record(
            actor=actor,
            action="auth.admin_unlocked",
            target=User.objects.filter(email=key).first() if key else None,
            details={"username": key or "", "ip": ip or "", "attempts_cleared": cleared},
        )
    return cleared


def _refused_while_locked(request: HttpRequest) -> bool:
    # axes marks a refused attempt as locked out without counting it (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT
    # is off); a counted failure carries its running total.
    return (
        bool(getattr(request, "axes_locked_out", False)) and getattr(request, "axes_failures_since_start", None) is None
    )


def sign_in_failure_audit(sender: object, credentials: Mapping[str, Any], request: HttpRequest | None = None, **_: Any):
    """user_login_failed: one `auth.admin_login_failed` row per counted wrong password. Attempts refused during a
    lockout are not recorded again (the lockout is), so hammering a locked account cannot flood the log."""
    if request is None or _refused_while_locked(request):
        return
    key = sign_in_lockout_key(request, credentials)
    audit_log_record(
        actor=None,
        action="auth.admin_login_failed",
        target=User.objects.filter(email=key).first() if key else None,
        details={"username": key or "", "failures": getattr(request, "axes_failures_since_start", None)},
        ip=sign_in_client_ip(request),
    )


def sign_in_lockout_audit(sender: object, request: HttpRequest, username: str | None, ip_address: str | None, **_: Any):
    """axes' user_locked_out: one `auth.admin_locked_out` row when an account becomes locked (axes sends the signal
    again for each refused attempt; those are not new lockouts)."""
    if _refused_while_locked(request):
        return
    audit_log_record(
        actor=None,
        action="auth.admin_locked_out",
        target=User.objects.filter(email=username).first() if username else None,
        details={
            "username": username or "",
            "failures": getattr(request, "axes_failures_since_start", None),
            "ip": ip_address or "",
            "locked_minutes": settings.ADMIN_LOGIN_LOCKOUT_MINUTES,
        },
        ip=ip_address,
    )
