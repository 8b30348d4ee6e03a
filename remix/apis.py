from __future__ import annotations

from uuid import UUID

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kmeme.errors import ApplicationError
from kmeme.limits import quota_consume, quota_refund, rate_limits_check
from kmeme.openapi import ERROR_RESPONSES
from remix.pipeline import analysis_request
from remix.selectors import node_with_latest_work
from remix.serializers import AnalysisAcceptedSerializer, AnalysisRequestSerializer, AnalysisStatusSerializer


class AnalysisCreateApi(APIView):
    """Submit a video URL for analysis: Gemini analyses it, Claude drafts a brief, an editor reviews it."""

    @extend_schema(
        operation_id="analyses_create",
        request=AnalysisRequestSerializer,
        responses={
            202: OpenApiResponse(AnalysisAcceptedSerializer, description="Accepted; poll the node's analysis status."),
            **ERROR_RESPONSES(400, 401, 429),
        },
        description=(
            "Rate limits: 10 per minute and 100 per hour per user; quota: 50 per user per day (resets at midnight, "
            "Asia/Seoul by default). Past either: 429 with `Retry-After`."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = AnalysisRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rate_limits_check(request=request, group="analyses", rates=settings.ANALYSIS_RATE_LIMITS)
        remaining = quota_consume(user=request.user)
        try:
            node, job_id = analysis_request(user=request.user, **serializer.validated_data)
        except Exception:
            quota_refund(user=request.user)
            raise
        body = AnalysisAcceptedSerializer({"node": node, "job_id": job_id, "quota_remaining": remaining}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class AnalysisDetailApi(APIView):
    """Where a submitted video is in the pipeline: probe results, latest analysis and brief, last error."""

    @extend_schema(
        operation_id="analyses_retrieve", responses={200: AnalysisStatusSerializer, **ERROR_RESPONSES(401, 404)}
    )
    def get(self, request: Request, node_id: UUID) -> Response:
        node = node_with_latest_work(public_id=str(node_id), viewer=request.user)
        if node is None:
            raise ApplicationError("No such analysis.", code="not_found", status_code=404)
        return Response(AnalysisStatusSerializer(node).data)
