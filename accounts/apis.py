from __future__ import annotations

import ipaddress
from urllib.parse import parse_qs
from uuid import UUID

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import firebase_token_verify
from accounts.models import Upload
from accounts.selectors import consent_states, upload_for_owner
from accounts.serializers import (
    AuthSessionSerializer,
    ConsentDecisionSerializer,
    ConsentStateSerializer,
    FirebaseLoginSerializer,
    MeSerializer,
    RefreshTokenSerializer,
    TokenPairSerializer,
    UploadSerializer,
    UploadStartSerializer,
    UploadTicketSerializer,
)
from accounts.services import consent_decide
from accounts.signin import auth_logout, auth_tokens_issue, auth_tokens_refresh, user_from_firebase
from accounts.uploads import UPLOAD_CONTENT_TYPES, upload_confirm, upload_for_token, upload_receive, upload_start
from kmeme.errors import ApplicationError
from kmeme.idempotency import IdempotentWritesMixin
from kmeme.limits import rate_limits_check, rate_text
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


# --- Uploads ---------------------------------------------------------------------------------------------------------


def _own_upload(request: Request, upload_id: UUID) -> Upload:
    upload = upload_for_owner(owner=request.user, public_id=upload_id)
    if upload is None:
        raise ApplicationError(_("No such upload."), code="not_found", status_code=404)
    return upload


class UploadCreateApi(IdempotentWritesMixin, APIView):
    """Start a video upload: where to send the file, valid for an hour, once."""

    @extend_schema(
        operation_id="uploads_create",
        request=UploadStartSerializer,
        responses={201: UploadTicketSerializer, **ERROR_RESPONSES(400, 401, 413, 429)},
        description=(
            "Declares the file (name, type, exact size) and answers where to send it: with media on S3 a presigned "
            "POST (`method` POST, `url`, `fields`: send a multipart form with every field as given and the file last, "
            "as `file`); S3 refuses any other key, type or size. In local development, the project's own signed URL "
            "(`method` PUT, the file as the body with `headers`). Either works for "
            f"{settings.UPLOAD_URL_TTL_S} s and once; then `POST /uploads/{{id}}/complete`. Types: "
            f"{', '.join(UPLOAD_CONTENT_TYPES)} (400 `unsupported_upload_type`); size 1 to "
            f"{settings.UPLOAD_MAX_BYTES} bytes (413 `upload_too_large`). Limits: "
            f"{' and '.join(map(rate_text, settings.UPLOAD_RATE_LIMITS))} per user (429 `throttled`), and at most "
            f"{settings.UPLOAD_PENDING_MAX} unfinished uploads whose URLs still work (429 `too_many_pending_uploads`)."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = UploadStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rate_limits_check(request=request, group="uploads", rates=settings.UPLOAD_RATE_LIMITS)
        ticket = upload_start(owner=request.user, **serializer.validated_data)
        body = {
            "upload": ticket.upload,
            "method": ticket.method,
            "url": request.build_absolute_uri(ticket.url),  # an S3 URL is absolute already, and kept as it is
            "fields": ticket.fields,
            "headers": ticket.headers,
            "expires_at": ticket.expires_at,
        }
        return Response(UploadTicketSerializer(body).data, status=status.HTTP_201_CREATED)


class UploadDetailApi(APIView):
    """One of your uploads (404 for anyone else's)."""

    @extend_schema(operation_id="uploads_retrieve", responses={200: UploadSerializer, **ERROR_RESPONSES(401, 404, 429)})
    def get(self, request: Request, upload_id: UUID) -> Response:
        return Response(UploadSerializer(_own_upload(request, upload_id)).data)


class UploadCompleteApi(IdempotentWritesMixin, APIView):
    """Say the file is sent: it is checked in storage and the upload becomes `uploaded`."""

    @extend_schema(
        operation_id="uploads_complete",
        request=None,
        responses={200: UploadSerializer, **ERROR_RESPONSES(401, 404, 409, 429)},
        description=(
            "Takes no body. The stored file must have the declared type and size: 409 `upload_missing` (nothing sent "
            "yet), `upload_mismatch` (it differs, and was deleted: upload again), `upload_expired`. Completing an "
            "uploaded upload again answers it as it is. Only an `uploaded` upload can be used, by you alone."
        ),
    )
    def post(self, request: Request, upload_id: UUID) -> Response:
        upload = upload_confirm(upload=_own_upload(request, upload_id), user=request.user)
        return Response(UploadSerializer(upload).data)


class UploadContentApi(APIView):
    """The local-development upload URL (media not on S3): the file as the raw body of a PUT, once."""

    # The signed token in the URL is the authority, as with a presigned S3 URL: no session or token is needed.
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    parser_classes: list[type] = []  # the body is streamed to storage, never parsed nor held in memory

    # Not in the schema: like the presigned S3 URL, it is an opaque URL `POST /uploads` hands out (README, "Uploads"),
    # and its body is a raw video, which no JSON schema or generated client describes.
    @extend_schema(
        exclude=True,
        operation_id="uploads_content",
        request={content_type: OpenApiTypes.BINARY for content_type in UPLOAD_CONTENT_TYPES},
        parameters=[
            OpenApiParameter(
                "token", str, OpenApiParameter.QUERY, required=True, description="From the upload's `url`."
            )
        ],
        responses={
            204: OpenApiResponse(description="Stored; now `POST /uploads/{id}/complete`."),
            **ERROR_RESPONSES(400, 403, 409, 413, 429),
            (411, "application/json"): OpenApiResponse(
                ErrorSerializer, description="No Content-Length header (`length_required`)."
            ),
        },
        description=(
            "Only for the `url` that `POST /uploads` answered with `method` PUT. The body is the file, with the "
            "declared `Content-Type` (400 `upload_type_mismatch`) and exactly the declared size (413 "
            "`upload_too_large`, 400 `upload_incomplete`). 403 `upload_url_invalid` for a token that is not this "
            "upload's, `upload_url_expired` after an hour; 409 `upload_url_used` once the file is stored."
        ),
    )
    def put(self, request: Request, upload_id: UUID) -> Response:
        raw = request._request
        # Read from the raw query string: request.GET decodes it with the body's charset, which this client chose
        # (`Content-Type: video/mp4; charset=bz2_codec` would be a 500 there).
        token = parse_qs(raw.META.get("QUERY_STRING", ""), errors="replace").get("token", [""])[0]
        upload = upload_for_token(upload_id=upload_id, token=token)
        try:
            length: int | None = int(raw.META["CONTENT_LENGTH"])
        except (KeyError, ValueError):
            length = None
        upload_receive(upload=upload, content_type=raw.content_type or "", content_length=length, stream=raw)
        return Response(status=status.HTTP_204_NO_CONTENT)
