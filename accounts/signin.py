"""Sign-in: a verified Firebase ID token → our user (found, linked or created) → our JWT pair; refresh and
logout. Every step audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role, User
from accounts.services import audit_log_record, user_create
from kmeme.errors import ApplicationError

# --- Sign-in: Firebase ID token -> our user -> our JWT pair ----------------------------------------------------


def _firebase_email(claims: Mapping[str, Any]) -> str:
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise ApplicationError(
            "This Firebase account has no email address; sign in with a method that shares your email.",
            code="firebase_email_missing",
        )
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ApplicationError(
            "The email address of this Firebase account is not valid.", code="firebase_email_invalid"
        ) from exc
    return email


def _firebase_sign_in_provider(claims: Mapping[str, Any]) -> str:
    firebase = claims.get("firebase")
    provider = firebase.get("sign_in_provider") if isinstance(firebase, dict) else None
    return provider[:64] if isinstance(provider, str) else ""


def _user_from_firebase_once(*, uid: str, claims: Mapping[str, Any], ip: str | None) -> User:
    with transaction.atomic():
        created = linked = False
        user = User.objects.filter(firebase_uid=uid).first()
        if user is None:
            email = _firebase_email(claims)
            if claims.get("email_verified") is not True:
                # Asked before looking the address up, whatever the answer would be: a reply that differed with
                # whether an account exists would tell anyone holding an unverified token who is registered.
                raise ApplicationError(
                    "Verify your email address with Firebase, then sign in again.",
                    code="email_not_verified",
                    status_code=status.HTTP_403_FORBIDDEN,
                )
            user = User.objects.select_for_update().filter(email__iexact=email).first()
            if user is not None:
                if user.firebase_uid:
                    # Another Firebase account owns this address. Say no more than that: nothing about the user.
                    raise ApplicationError(
                        "This email address is already used by another sign-in method.",
                        code="email_in_use",
                        status_code=status.HTTP_409_CONFLICT,
                    )
                user.firebase_uid = uid
                user.full_clean(exclude=["password"])
                user.save(update_fields=["firebase_uid"])
                linked = True
            else:
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
                "This account is disabled.", code="account_disabled", status_code=status.HTTP_403_FORBIDDEN
            )
        provider = _firebase_sign_in_provider(claims)
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
        return user


def user_from_firebase(*, claims: Mapping[str, Any], ip: str | None = None) -> User:
    """The user a Firebase ID token names: found by Firebase uid, else linked by email (an account without a
    Firebase uid, only if Firebase verified the address), else created as a creator. Audited.

    Precondition: `claims` come from `accounts.auth.firebase_token_verify` (signature, audience, issuer and expiry
    checked). Refuses with ApplicationError: 400 `firebase_email_missing` / `firebase_email_invalid`, 403
    `email_not_verified` / `account_disabled`, 409 `email_in_use`; nothing is written then.
    """
    uid = claims.get("uid") or claims.get("sub")
    if not isinstance(uid, str) or not uid or len(uid) > 128:
        raise ApplicationError(
            "The Firebase ID token names no user.",
            code="invalid_firebase_token",
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    try:
        return _user_from_firebase_once(uid=uid, claims=claims, ip=ip)
    except (IntegrityError, ValidationError):
        # A concurrent first sign-in of the same person won the race for the uid or email; its row is committed
        # now, so a second pass finds it. A genuinely invalid row fails the same way again and is reported.
        return _user_from_firebase_once(uid=uid, claims=claims, ip=ip)


def auth_tokens_issue(*, user: User) -> RefreshToken:
    """A new refresh token (recorded as outstanding, so it can be blacklisted) for a signed-in user;
    `.access_token` is its access token."""
    return RefreshToken.for_user(user)


def _refresh_token_refused() -> ApplicationError:
    return ApplicationError(
        "The refresh token is invalid, expired or already used; sign in again.",
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
            "This refresh token belongs to another account.",
            code="permission_denied",
            status_code=status.HTTP_403_FORBIDDEN,
        )
    BlacklistedToken.objects.create(token=outstanding)
    audit_log_record(actor=user, action="auth.logout", target=user, ip=ip)
