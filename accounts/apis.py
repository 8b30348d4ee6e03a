from __future__ import annotations

import ipaddress

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import firebase_token_verify
from accounts.selectors import consent_states
from accounts.serializers import (
    AuthSessionSerializer,
    ConsentDecisionSerializer,
    ConsentStateSerializer,
    FirebaseLoginSerializer,
    MeSerializer,
    RefreshTokenSerializer,
    TokenPairSerializer,
)
from accounts.services import consent_decide
from accounts.signin import auth_logout, auth_tokens_issue, auth_tokens_refresh, user_from_firebase
from kmeme.idempotency import IdempotentWritesMixin
from kmeme.openapi import ERROR_RESPONSES, ErrorSerializer
from kmeme.throttles import AuthThrottle, with_default_throttles


def _client_ip(request: Request) -> str | None:
    """The peer address for the audit log (the proxy's, behind one; never a client-supplied header)."""
    address = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


class MeApi(APIView):
    """The signed-in user's own profile."""

    @extend_schema(operation_id="me_retrieve", responses={200: MeSerializer, **ERROR_RESPONSES(401, 429)})
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


class MyConsentsApi(IdempotentWritesMixin, APIView):
    """Your consent decisions: one entry per kind with your latest decision and whether it is in force (granted on
    the terms version in force now). A new decision is a new record; earlier ones stay as history."""

    @extend_schema(
        operation_id="me_consents_list", responses={200: ConsentStateSerializer(many=True), **ERROR_RESPONSES(401, 429)}
    )
    def get(self, request: Request) -> Response:
        return Response(ConsentStateSerializer(consent_states(user=request.user), many=True).data)

    @extend_schema(
        operation_id="me_consents_decide",
        request=ConsentDecisionSerializer,
        responses={201: ConsentStateSerializer(many=True), **ERROR_RESPONSES(400, 401, 429)},
        description=(
            "Grant or withdraw one kind of consent on the current terms (`current_terms_version` from GET; any "
            "other version is 400 `terms_outdated`). `location` is what campaign submissions with a position need. "
            "Answers every kind's state after the decision."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = ConsentDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent_decide(user=request.user, **serializer.validated_data)
        states = ConsentStateSerializer(consent_states(user=request.user), many=True).data
        return Response(states, status=status.HTTP_201_CREATED)


class FirebaseLoginApi(APIView):
    """Exchange a Firebase ID token for our JWT pair; the first sign-in creates the account."""

    # No authentication here: a stale Authorization header must not stop anyone from signing in again.
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = with_default_throttles(AuthThrottle)

    @extend_schema(
        operation_id="auth_firebase",
        request=FirebaseLoginSerializer,
        responses={
            200: AuthSessionSerializer,
            **ERROR_RESPONSES(400, 401, 403, 409, 429),
            503: OpenApiResponse(
                ErrorSerializer, description="Google's signing keys could not be fetched (`auth_unavailable`)."
            ),
        },
        description=(
            "Verifies the Firebase ID token; the first sign-in creates a creator account with the token's email. "
            "An existing account with exactly that (verified, ASCII, lowercased) email is linked only if it is a "
            "creator account an admin made without a password that was never signed in to; staff and admin "
            "accounts are never linked. "
            "Errors: 401 `invalid_firebase_token` (details.reason `expired` or `invalid`: get a fresh ID token); "
            "400 `firebase_email_missing`, `firebase_email_invalid` (not a plain ASCII address); 403 "
            "`email_not_verified`, `account_disabled`; 400 `consent_required` (a sign-up without consent to the terms "
            "and privacy policy in force, once the server requires it), `terms_outdated`; "
            "409 `email_in_use` (the email belongs to an account that "
            "cannot be signed in to with this Firebase account); 429 `throttled` (the limits below)."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = FirebaseLoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claims = firebase_token_verify(id_token=serializer.validated_data["id_token"])
        consents = serializer.validated_data["consents"]
        user = user_from_firebase(claims=claims, ip=_client_ip(request), consents=consents)
        refresh = auth_tokens_issue(user=user)
        body = {"access": str(refresh.access_token), "refresh": str(refresh), "user": user}
        return Response(AuthSessionSerializer(body).data)


class TokenRefreshApi(APIView):
    """Rotate a refresh token into a new pair."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = with_default_throttles(AuthThrottle)

    @extend_schema(
        operation_id="auth_refresh",
        request=RefreshTokenSerializer,
        responses={200: TokenPairSerializer, **ERROR_RESPONSES(400, 401, 429)},
        description=(
            "Returns a new access and refresh token; the refresh token sent is blacklisted, so each one works once. "
            "401 `token_not_valid`: invalid, expired or already used — sign in again."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = RefreshTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refresh = auth_tokens_refresh(refresh=serializer.validated_data["refresh"])
        return Response(TokenPairSerializer({"access": str(refresh.access_token), "refresh": str(refresh)}).data)


class LogoutApi(IdempotentWritesMixin, APIView):
    """Sign out: the refresh token is blacklisted."""

    @extend_schema(
        operation_id="auth_logout",
        request=RefreshTokenSerializer,
        responses={
            204: OpenApiResponse(description="Signed out; the refresh token can no longer be used."),
            **ERROR_RESPONSES(400, 401, 403, 429),
        },
        description=(
            "Blacklists the given refresh token (it must be the signed-in user's). The access token stays valid until "
            "it expires; discard it. 401 `token_not_valid`: the refresh token is invalid, expired or already used."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = RefreshTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        auth_logout(user=request.user, refresh=serializer.validated_data["refresh"], ip=_client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
