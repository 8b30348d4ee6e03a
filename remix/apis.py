from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kmeme.errors import ApplicationError
from kmeme.idempotency import IdempotentWritesMixin
from kmeme.limits import quota_consume, quota_refund, rate_limits_check, rate_text
from kmeme.openapi import ERROR_RESPONSES
from kmeme.pagination import PageNumberPagination
from kmeme.renderers import PlainTextRenderer
from kmeme.serializers import StrictSerializer
from kmeme.throttles import ForkThrottle, SimilarThrottle, with_default_throttles
from remix.cache import SIMILAR_TTL_S, cached, similar_key
from remix.filters import PublishedNodeFilter
from remix.forks import fork_delete, fork_publish, fork_update, node_fork
from remix.models import NodeStatus
from remix.recipe import recipe_get, recipe_guide_text
from remix.selectors import node_for_viewer, node_list_public, node_with_latest_work
from remix.serializers import (
    AnalysisAcceptedSerializer,
    AnalysisRequestSerializer,
    AnalysisStatusSerializer,
    ForkCreateSerializer,
    ForkUpdateSerializer,
    NodeListSerializer,
    NodeSummarySerializer,
    PublishSerializer,
    RecipeSerializer,
    SimilarNodeSerializer,
)
from remix.services import node_submit, node_submit_upload
from remix.similar import node_similar


class AnalysisInFlightSerializer(serializers.Serializer):
    node = NodeSummarySerializer(help_text="The node your earlier submission of this link made, still analysing.")
    quota_remaining = serializers.IntegerField(help_text="Analyses left today (this answer used none).")


class AnalysisCreateApi(IdempotentWritesMixin, APIView):
    """Submit a video URL for analysis: Gemini analyses it, Claude drafts a brief, an editor reviews it."""

    @extend_schema(
        operation_id="analyses_create",
        request=AnalysisRequestSerializer,
        responses={
            202: OpenApiResponse(AnalysisAcceptedSerializer, description="Accepted; poll the node's analysis status."),
            200: OpenApiResponse(
                AnalysisInFlightSerializer,
                description=(
                    "You submitted this link already and its node is still being analysed: that node. No new node, "
                    "no new job, and the daily quota is not used."
                ),
            ),
            **ERROR_RESPONSES(400, 401, 404, 409, 429),
        },
        description=(
            f"Analyses have limits of their own: {' and '.join(map(rate_text, settings.ANALYSIS_RATE_LIMITS))} per "
            f"user (429 `throttled`), and a quota of {settings.ANALYSIS_DAILY_QUOTA} per user per day, reset at "
            f"midnight ({settings.TIME_ZONE}; 429 `quota_exceeded`). Past either: `Retry-After` says when to retry. "
            "A link our server will not fetch is refused with 400 `url_not_allowed` (`details.reason`: `scheme`, "
            "`credentials`, `host`, `malformed`, or `address` when its host is or resolves to a private, loopback, "
            "link-local, multicast, reserved or unspecified address), and a host that does not resolve with 400 "
            "`url_unresolvable`; nothing is stored and the quota is not used. "
            "Submitting a link again while the node your earlier submission made is still `analyzing` answers 200 with "
            "that node instead of starting a second analysis (five taps at once make one node); once it has left "
            "analysis, the same link makes a new node. "
            "Instead of a link, `upload_id` names one of your own uploads whose file has arrived (POST "
            "/api/v1/uploads, then …/complete): the stored file is analysed; someone else's or an unknown upload is "
            "404 `not_found`, one not completed 409 `upload_not_completed`. Send exactly one of the two (400)."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = AnalysisRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rate_limits_check(request=request, group="analyses", rates=settings.ANALYSIS_RATE_LIMITS)
        # The daily quota is the creators'; staff (editors adding masters, admins) are held only by the rate limits.
        staff = request.user.is_staff
        remaining = settings.ANALYSIS_DAILY_QUOTA if staff else quota_consume(user=request.user)
        data = serializer.validated_data
        try:
            if "upload_id" in data:
                node, job_id = node_submit_upload(user=request.user, upload_id=data["upload_id"], title=data["title"])
            else:
                node, job_id = node_submit(user=request.user, video_url=data["video_url"], title=data["title"])
        except Exception:
            if not staff:
                quota_refund(user=request.user)
            raise
        if job_id is None:  # already in analysis: one video, one analysis, one unit of quota
            if not staff:
                quota_refund(user=request.user)
            body = AnalysisInFlightSerializer({"node": node, "quota_remaining": remaining + (0 if staff else 1)}).data
            return Response(body, status=status.HTTP_200_OK)
        body = AnalysisAcceptedSerializer({"node": node, "job_id": job_id, "quota_remaining": remaining}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class AnalysisDetailApi(APIView):
    """Where a submitted video is in the pipeline: probe results, latest analysis and brief, last error."""

    @extend_schema(
        operation_id="analyses_retrieve", responses={200: AnalysisStatusSerializer, **ERROR_RESPONSES(401, 404, 429)}
    )
    def get(self, request: Request, node_id: UUID) -> Response:
        node = node_with_latest_work(public_id=str(node_id), viewer=request.user)
        if node is None:
            raise ApplicationError(_("No such analysis."), code="not_found", status_code=404)
        return Response(AnalysisStatusSerializer(node).data)


# --- The public recipe API ---------------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        operation_id="nodes_list",
        description="Published remix recipes, newest first.",
        responses={200: NodeListSerializer(many=True), **ERROR_RESPONSES(400, 404, 429, paginated=True)},
    ),
)
class NodeListApi(ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = NodeListSerializer
    pagination_class = PageNumberPagination
    filterset_class = PublishedNodeFilter

    def get_queryset(self):
        return node_list_public()


def _visible_node(request: Request, node_id: UUID):
    node = node_for_viewer(public_id=str(node_id), viewer=request.user)
    if node is None:
        raise ApplicationError(_("No such remix."), code="not_found", status_code=404)
    return node


def _recipe(node) -> dict:
    return RecipeSerializer(recipe_get(node=node)).data


class NodeDetailApi(IdempotentWritesMixin, APIView):
    """A remix as a Smart Recipe View; its creator edits or deletes their own fork here."""

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(operation_id="nodes_retrieve", responses={200: RecipeSerializer, **ERROR_RESPONSES(404, 429)})
    def get(self, request: Request, node_id: UUID) -> Response:
        return Response(_recipe(_visible_node(request, node_id)))

    @extend_schema(
        operation_id="nodes_partial_update",
        request=ForkUpdateSerializer,
        responses={200: RecipeSerializer, **ERROR_RESPONSES(400, 401, 403, 404, 429)},
    )
    def patch(self, request: Request, node_id: UUID) -> Response:
        node = _visible_node(request, node_id)
        serializer = ForkUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fork_update(fork=node, user=request.user, **serializer.validated_data)
        return Response(_recipe(_visible_node(request, node_id)))

    @extend_schema(operation_id="nodes_destroy", responses={204: None, **ERROR_RESPONSES(401, 403, 404, 409, 429)})
    def delete(self, request: Request, node_id: UUID) -> Response:
        fork_delete(fork=_visible_node(request, node_id), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NodeGuideApi(APIView):
    """The recipe as a plain-text guide to download."""

    permission_classes = [AllowAny]
    renderer_classes = [PlainTextRenderer]  # errors are JSON all the same (kmeme.errors)

    @extend_schema(
        operation_id="nodes_guide",
        responses={
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="The guide, UTF-8 text."),
            **ERROR_RESPONSES(404, 429),
        },
    )
    def get(self, request: Request, node_id: UUID) -> HttpResponse:
        node = _visible_node(request, node_id)
        response = HttpResponse(recipe_guide_text(_recipe(node)), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="kmeme-recipe-{node.public_id}.txt"'
        return response


class NodeForkApi(IdempotentWritesMixin, APIView):
    """Fork a published remix (a master or a published fork: chains grow deeper): a draft remix you own, linked to
    it by the mutations you name. 409 `not_forkable` for a node that is not published."""

    throttle_classes = with_default_throttles(ForkThrottle)

    @extend_schema(
        operation_id="nodes_fork",
        request=ForkCreateSerializer,
        responses={201: RecipeSerializer, **ERROR_RESPONSES(400, 401, 403, 404, 409, 429)},
    )
    def post(self, request: Request, node_id: UUID) -> Response:
        master = _visible_node(request, node_id)
        serializer = ForkCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fork = node_fork(master=master, creator=request.user, **serializer.validated_data)
        return Response(_recipe(_visible_node(request, fork.public_id)), status=status.HTTP_201_CREATED)


class NodePublishApi(IdempotentWritesMixin, APIView):
    """Publish your fork (or take it back to draft)."""

    @extend_schema(
        operation_id="nodes_publish",
        request=PublishSerializer,
        responses={200: RecipeSerializer, **ERROR_RESPONSES(400, 401, 403, 404, 409, 429)},
    )
    def post(self, request: Request, node_id: UUID) -> Response:
        node = _visible_node(request, node_id)
        serializer = PublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fork_publish(fork=node, user=request.user, publish=serializer.validated_data["published"])
        return Response(_recipe(_visible_node(request, node_id)))


class SimilarQuerySerializer(StrictSerializer):
    k = serializers.IntegerField(min_value=1, max_value=50, default=10, help_text="How many (1–50).")


class NodeSimilarApi(APIView):
    """Published remixes most like this one (cosine similarity of their embeddings)."""

    permission_classes = [AllowAny]
    throttle_classes = with_default_throttles(SimilarThrottle)

    @extend_schema(
        operation_id="nodes_similar",
        parameters=[SimilarQuerySerializer],
        responses={200: SimilarNodeSerializer(many=True), **ERROR_RESPONSES(400, 404, 429)},
    )
    def get(self, request: Request, node_id: UUID) -> Response:
        query = SimilarQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        node = _visible_node(request, node_id)
        k = query.validated_data["k"]

        def build() -> list:
            rows = []
            for other, similarity in node_similar(node=node, k=k):
                other.similarity = round(similarity, 4)
                rows.append(other)
            return SimilarNodeSerializer(rows, many=True).data

        if node.status != NodeStatus.PUBLISHED:
            return Response(build())
        return Response(cached(similar_key(node.public_id, k), SIMILAR_TTL_S, build))
