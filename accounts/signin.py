"""Sign-in: a verified Firebase ID token → our user (found, linked or created) → our JWT pair; refresh and
logout. Every step audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import AuditLog, ConsentKind, Role, User
from accounts.selectors import consent_current
from accounts.services import audit_log_record, consent_decide, user_create
from kmeme.errors import ApplicationError

# --- Sign-in: Firebase ID token -> our user -> our JWT pair ----------------------------------------------------

_ASCII_UPPER_TO_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def email_normalize_for_sign_in(raw: object) -> str:
    """The one normalisation a Firebase email goes through before it is compared with our accounts' emails: the
    address must already be plain ASCII with no whitespace anywhere and valid for Django's EmailValidator (which
    refuses a trailing dot); then its ASCII letters are lowercased (A-Z only) and nothing else changes. No Unicode
    folding (NFKC, confusables, str.lower's Unicode rules: U+212A KELVIN SIGN lowercases to an ASCII "k"), no
    trimming, no plus-tag or dot removal: every one of those would map an address someone else owns onto an
    existing account. Comparisons after it are exact.

    Raises ApplicationError 400 `firebase_email_missing` / `firebase_email_invalid`.
    """
    if not isinstance(raw, str) or not raw:
        raise ApplicationError(
            _("This Firebase account has no email address; sign in with a method that shares your email."),
            code="firebase_email_missing",
        )
    invalid = ApplicationError(
        _("The email address of this Firebase account is not valid here: sign-in needs a plain ASCII address."),
        code="firebase_email_invalid",
    )
    if len(raw) > 254 or not raw.isascii() or any(c.isspace() or not c.isprintable() for c in raw):
        raise invalid
    email = raw.translate(_ASCII_UPPER_TO_LOWER)
    try:
        validate_email(email)
    except ValidationError as exc:
        raise invalid from exc
    return email


def _firebase_sign_in_provider(claims: Mapping[str, Any]) -> str:
    firebase = claims.get("firebase")
    provider = firebase.get("sign_in_provider") if isinstance(firebase, dict) else None
    return provider[:64] if isinstance(provider, str) else ""


class _LinkRefused(Exception):
    """Raised inside the sign-in transaction, so it rolls back before the refusal is audited."""

    def __init__(self, *, user: User, reason: str) -> None:
        super().__init__(reason)
        self.user = user
        self.reason = reason


def _email_in_use() -> ApplicationError:
    # One answer for every account that is not linked, whatever the reason (staff, a password, linked elsewhere,
    # used before): the only thing it tells is that the address has an account, which the caller, having proved
    # the address is theirs, cannot be kept from learning (addresses are unique).
    return ApplicationError(
        _(
            "This email address already belongs to an account that cannot be signed in to with this Firebase "
            "account. Sign in the way you usually do, or contact support."
        ),
        code="email_in_use",
        status_code=status.HTTP_409_CONFLICT,
    )


def _link_refusal(user: User) -> str | None:
    """Why this account (found by its exact email) may not be linked to a new Firebase uid, or None if it may."""
    if user.firebase_uid:
        return "linked_to_another_firebase_account"
    if user.is_staff or user.is_superuser or user.role in (Role.EDITOR, Role.ADMIN):
        return "staff_account"
    if user.role != Role.CREATOR:
        return "not_a_creator_account"
    if not user.is_active or user.anonymized_at is not None:
        return "inactive_account"
    if user.has_usable_password():
        return "has_a_password"
    if user.last_login is not None or AuditLog.objects.filter(actor=user, action="auth.firebase_login").exists():
        return "signed_in_before"
    return None


def _user_from_firebase_once(
    *, uid: str, claims: Mapping[str, Any], ip: str | None, consents: Sequence[Mapping[str, Any]] = ()
) -> User:
    provider = _firebase_sign_in_provider(claims)
    try:
        with transaction.atomic():
            return _user_from_firebase_locked(uid=uid, claims=claims, ip=ip, provider=provider, consents=consents)
    except _LinkRefused as refused:
        # The transaction is rolled back; only the refused attempt is recorded.
        audit_log_record(
            actor=None,
            action="auth.firebase_link_refused",
            target=refused.user,
            details={"reason": refused.reason, "firebase_uid": uid, "provider": provider},
            ip=ip,
        )
        raise _email_in_use() from None


def _user_from_firebase_locked(
    *, uid: str, claims: Mapping[str, Any], ip: str | None, provider: str, consents: Sequence[Mapping[str, Any]]
) -> User:
    created = linked = False
    user = User.objects.filter(firebase_uid=uid).first()
    if user is None:
        email = email_normalize_for_sign_in(claims.get("email"))
        if claims.get("email_verified") is not True:
            # Asked before looking the address up, whatever the answer would be: a reply that differed with
            # whether an account exists would tell anyone holding an unverified token who is registered.
            raise ApplicationError(
                _("Verify your email address with Firebase, then sign in again."),
                code="email_not_verified",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        user = User.objects.select_for_update().filter(email=email).first()
        if user is None:
            # No exact match; an address equal but for case (a row written before emails were lowercased) is
            # still the same address to the case-insensitive unique constraint: never linked, never duplicated.
            variant = User.objects.filter(email__iexact=email).first()
            if variant is not None:
                raise _LinkRefused(user=variant, reason="email_differs_in_case")
        if user is not None:
            reason = _link_refusal(user)
            if reason is not None:
                raise _LinkRefused(user=user, reason=reason)
            user.firebase_uid = uid
            user.full_clean(exclude=["password"])
            user.save(update_fields=["firebase_uid"])
            linked = True
        else:
            signup_consents_check(consents)
            name = claims.get("name")
            user = user_create(
                email=email,
                role=Role.CREATOR,
                display_name=name.strip()[:80] if isinstance(name, str) else "",
                firebase_uid=uid,
            )
            created = True
    if not user.is_active:
        raise ApplicationError(
            _("This account is disabled."), code="account_disabled", status_code=status.HTTP_403_FORBIDDEN
        )
    if created:
        audit_log_record(
            actor=user, action="user.created", target=user, details={"via": "firebase", "provider": provider}, ip=ip
        )
    audit_log_record(
        actor=user,
        action="auth.firebase_login",
        target=user,
        details={"provider": provider, "created": created, "linked": linked},
        ip=ip,
    )
    for decision in consents:
        current = consent_current(user=user, kind=decision["kind"])
        if current is None or (current.granted, current.terms_version) != (
            decision["granted"],
            decision["terms_version"],
        ):
            consent_decide(user=user, **decision)
    return user


def signup_consents_check(consents: Sequence[Mapping[str, Any]]) -> None:
    """Before an account is created: every decision sent is on the terms in force (400 `terms_outdated`), and,
    once TERMS_VERSION is set, terms and privacy are among the grants (400 `consent_required`)."""
    for decision in consents:
        current = settings.CONSENT_TERMS_VERSIONS[decision["kind"]]
        if decision["terms_version"] != current:
            raise ApplicationError(
                _("These terms are not in force: the current %(value)s terms are version %(current)s.")
                % {"value": decision["kind"], "current": current},
                code="terms_outdated",
                details={"kind": decision["kind"], "current_terms_version": current},
            )
    if not settings.SIGNUP_CONSENT_REQUIRED:
        return
    granted = {d["kind"] for d in consents if d["granted"]}
    missing = [kind for kind in (ConsentKind.TERMS, ConsentKind.PRIVACY) if kind not in granted]
    if missing:
        raise ApplicationError(
            _("Signing up needs your consent to the terms of service and the privacy policy."),
            code="consent_required",
            details={
                "missing": missing,
                "terms_versions": {kind: settings.CONSENT_TERMS_VERSIONS[kind] for kind in missing},
            },
        )


def user_from_firebase(
    *, claims: Mapping[str, Any], ip: str | None = None, consents: Sequence[Mapping[str, Any]] = ()
) -> User:
    """The user a Firebase ID token names: found by Firebase uid, else linked by email, else created as a creator.
    Audited.

    Linking rule. The token's email goes through `email_normalize_for_sign_in` (plain ASCII, ASCII letters
    lowercased, nothing else) and is compared exactly with our accounts' emails, only once Firebase has verified it.
    An account with that email is linked to the new uid only when all of these hold: it has no Firebase uid, it is
    a creator account (never staff or admin: role editor/admin, is_staff or is_superuser; never a brand), it is
    active and not anonymized, it has no usable password, and it was never signed in to (no last_login, no Firebase
    sign-in in the audit log) — an account an admin made for a creator and that is waiting for its first sign-in.
    Any other account with that email (in any case) refuses with 409 `email_in_use`, the same answer whatever the
    reason; nothing is written but an `auth.firebase_link_refused` audit row naming the account and the reason.
    To connect such an account on purpose, an admin sets its Firebase uid in the user admin (audited).

    Precondition: `claims` come from `accounts.auth.firebase_token_verify` (signature, audience, issuer and expiry
    checked). Refuses with ApplicationError: 400 `firebase_email_missing` / `firebase_email_invalid`, 403
    `email_not_verified` / `account_disabled`, 409 `email_in_use`; nothing else is written then.
    """
    uid = claims.get("uid") or claims.get("sub")
    if not isinstance(uid, str) or not uid or len(uid) > 128:
        raise ApplicationError(
            _("The Firebase ID token names no user."),
            code="invalid_firebase_token",
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    try:
        return _user_from_firebase_once(uid=uid, claims=claims, ip=ip, consents=consents)
    except (IntegrityError, ValidationError):
        # A concurrent first sign-in of the same person won the race for the uid or email; its row is committed
        # now, so a second pass finds it. A genuinely invalid row fails the same way again and is reported.
        return _user_from_firebase_once(uid=uid, claims=claims, ip=ip, consents=consents)


def auth_tokens_issue(*, user: User) -> RefreshToken:
    """A new refresh token (recorded as outstanding, so it can be blacklisted) for a signed-in user;
    `.access_token` is its access token."""
    return RefreshToken.for_user(user)


def _refresh_token_refused() -> ApplicationError:
    return ApplicationError(
        _("The refresh token is invalid, expired or already used; sign in again."),
        code="token_not_valid",
        status_code=status.HTTP_401_UNAUTHORIZED,
    )


def _refresh_token_lock(raw: str) -> tuple[RefreshToken, OutstandingToken]:
    """The valid, not yet blacklisted refresh token and its OutstandingToken row, locked until the transaction ends,
    so two requests presenting the same token are served one after the other."""
    try:
        token = RefreshToken(raw)  # signature, expiry, type and blacklist
    except TokenError as exc:
        raise _refresh_token_refused() from exc
    # order_by("pk"): the model's default ordering joins the (nullable) user, and FOR UPDATE refuses outer joins.
    outstanding = (
        OutstandingToken.objects.select_for_update().filter(jti=token[jwt_settings.JTI_CLAIM]).order_by("pk").first()
    )
    if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
        raise _refresh_token_refused()
    return token, outstanding


@transaction.atomic
def auth_tokens_refresh(*, refresh: str) -> RefreshToken:
    """Rotate a refresh token: it is blacklisted and a new one (with a new access token) issued.
    Each refresh token works once; a second use, even a concurrent one, is refused with 401 `token_not_valid`."""
    token, outstanding = _refresh_token_lock(refresh)
    user = User.objects.filter(pk=token.payload.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
        raise _refresh_token_refused()
    BlacklistedToken.objects.create(token=outstanding)
    return RefreshToken.for_user(user)


@transaction.atomic
def auth_logout(*, user: User, refresh: str, ip: str | None = None) -> None:
    """Blacklist the user's refresh token so it can no longer be refreshed. Access tokens already issued stay valid
    until they expire (they are not looked up per request)."""
    token, outstanding = _refresh_token_lock(refresh)
    if str(token.payload.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise ApplicationError(
            _("This refresh token belongs to another account."),
            code="permission_denied",
            status_code=status.HTTP_403_FORBIDDEN,
        )
    BlacklistedToken.objects.create(token=outstanding)
    audit_log_record(actor=user, action="auth.logout", target=user, ip=ip)
