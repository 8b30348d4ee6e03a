from __future__ import annotations

from uuid import UUID

from django.core.files.storage import default_storage
from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import MeApi
from kmeme.errors import ApplicationError
from kmeme.idempotency import IdempotentWritesMixin
from kmeme.openapi import ERROR_RESPONSES
from kmeme.pagination import PageNumberPagination
from privacy.anonymize import user_anonymize
from privacy.exports import (
    export_download_url,
    export_downloadable,
    export_error_message,
    export_for_token,
    export_request,
)
from privacy.models import DataExport, ExportStatus
from privacy.selectors import exports_of
from privacy.serializers import (
    CONFIRMATION,
    AccountDeleteSerializer,
    DataExportRequestSerializer,
    DataExportSerializer,
)


class AccountApi(IdempotentWritesMixin, MeApi):
    """Your own account: read it, or delete it (the right to be forgotten)."""

    @extend_schema(
        operation_id="me_destroy",
        request=AccountDeleteSerializer,
        responses={204: None, **ERROR_RESPONSES(400, 401, 409, 429)},
        description=(
            f'Delete your account, with `{{"confirm": "{CONFIRMATION}"}}`. Your email, name and sign-in are removed '
            "and every token you hold stops working; your private forks are deleted and the positions you sent with "
            'campaign entries dropped; what you published stays, shown as by "deleted user", with no way back to '
            "you. Export your data first (POST /me/export) if you want a copy. 409 `last_admin` for the last admin."
        ),
    )
    def delete(self, request: Request) -> Response:
        serializer = AccountDeleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_anonymize(user=request.user, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _export_data(request: Request, export: DataExport) -> dict:
    url, expires = (None, None)
    if export_downloadable(export):
        url, expires = export_download_url(export=export, request_base=request.build_absolute_uri("/")[:-1])
    fields = ("public_id", "status", "progress", "step", "error_code", "size", "files")
    return {
        **{f: getattr(export, f) for f in fields},
        "error": export_error_message(export),
        **{f: getattr(export, f) for f in ("created_at", "started_at", "finished_at", "expires_at")},
        "download_url": url,
        "download_expires_at": expires,
    }


class MyExportsApi(IdempotentWritesMixin, APIView):
    @extend_schema(
        operation_id="me_export_create",
        request=DataExportRequestSerializer,
        responses={
            202: OpenApiResponse(DataExportSerializer, description="Queued: follow it with GET /me/export/{id}."),
            200: OpenApiResponse(DataExportSerializer, description="One is already queued or running: that one."),
            **ERROR_RESPONSES(400, 401, 429),
        },
        description=(
            "Export everything we hold about you as a ZIP (a JSON file per kind and a README in Korean and English). "
            "Built by a job; while one is queued or running you get that one (200). At most 3 in 24 hours, failed "
            "ones not counted (429 `throttled`, with `Retry-After`). No body, or an empty object."
        ),
    )
    def post(self, request: Request) -> Response:
        DataExportRequestSerializer(data=request.data).is_valid(raise_exception=True)
        export, created = export_request(user=request.user)
        body = DataExportSerializer(_export_data(request, export)).data
        return Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


@extend_schema_view(
    get=extend_schema(
        operation_id="me_exports_list",
        description="Your exports, newest first (each kept 7 days), with a fresh download link for each ready one.",
        responses={200: DataExportSerializer(many=True), **ERROR_RESPONSES(400, 401, 404, 429, paginated=True)},
    ),
)
class MyExportListApi(ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = DataExportSerializer
    pagination_class = PageNumberPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DataExport.objects.none()
        return exports_of(user=self.request.user)

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = [_export_data(request, export) for export in page]
        return self.get_paginated_response(DataExportSerializer(rows, many=True).data)


def _my_export(request: Request, export_id: UUID) -> DataExport:
    export = exports_of(user=request.user).filter(public_id=export_id).first()
    if export is None:
        raise ApplicationError(_("No such export."), code="not_found", status_code=404)
    return export


class MyExportDetailApi(APIView):
    @extend_schema(
        operation_id="me_export_retrieve",
        responses={200: DataExportSerializer, **ERROR_RESPONSES(401, 404, 429)},
        description=(
            "Progress, and when ready a `download_url` valid for one hour (a fresh one on every call). Someone "
            "else's export, or one deleted after its 7 days, is 404."
        ),
    )
    def get(self, request: Request, export_id: UUID) -> Response:
        return Response(DataExportSerializer(_export_data(request, _my_export(request, export_id))).data)


class MyExportDownloadApi(APIView):
    """The archive, for the holder of a link from GET /me/export/{id} (valid one hour)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="me_export_download",
        parameters=[OpenApiParameter("token", str, required=True, description="From `download_url`.")],
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The ZIP archive."),
            **ERROR_RESPONSES(404, 429),
        },
        description=(
            "The link itself is the credential (it opens in a browser, without a sign-in): it names one export of "
            "one user and stops working an hour after it was made, or when the archive is deleted. Anything else "
            "is 404."
        ),
    )
    def get(self, request: Request, export_id: UUID):
        export = DataExport.objects.filter(public_id=export_id, status=ExportStatus.READY).first()
        token = request.query_params.get("token", "")
        if export is None or not export_for_token(export=export, token=token):
            raise ApplicationError(_("This link is invalid or has expired."), code="not_found", status_code=404)
        response = FileResponse(default_storage.open(export.storage_key, "rb"), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="kmeme-data-{export.public_id}.zip"'
        response["Cache-Control"] = "private, no-store"
        return response
