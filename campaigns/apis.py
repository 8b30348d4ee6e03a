"""The campaign API: brand members run their own brand's campaigns; creators find campaigns near them, join and
submit. Another brand's campaign, location or participation is a 404, never a 403: its existence is not told."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from campaigns.models import Campaign, CampaignLocation, Participation
from campaigns.participations import participation_join, participation_submit
from campaigns.selectors import (
    NEAR_LIMIT,
    brand_campaigns,
    brands_of,
    campaign_participations,
    campaign_public_detail,
    campaigns_near,
    participations_of,
)
from campaigns.serializers import (
    BrandCampaignSerializer,
    BrandParticipationSerializer,
    CampaignCreateSerializer,
    CampaignSerializer,
    CampaignStatsSerializer,
    CampaignStatusSerializer,
    CampaignUpdateSerializer,
    LocationSerializer,
    LocationUpdateSerializer,
    LocationWriteSerializer,
    NearbyCampaignSerializer,
    NearQuerySerializer,
    ParticipationSerializer,
    SubmissionSerializer,
)
from campaigns.services import (
    campaign_create,
    campaign_location_add,
    campaign_location_delete,
    campaign_location_save,
    campaign_transition,
    campaign_update,
)
from campaigns.stats import campaign_stats
from kmeme.errors import ApplicationError
from kmeme.idempotency import IdempotentWritesMixin
from kmeme.openapi import ERROR_RESPONSES
from kmeme.pagination import PageNumberPagination
from remix.models import Layer, NodeStatus, RemixNode
from remix.services import upload_usable

# --- brands ----------------------------------------------------------------------------------------------------


def _member_campaign(request: Request, campaign_id: int) -> Campaign:
    campaign = brand_campaigns(user=request.user).filter(pk=campaign_id).first()
    if campaign is None:
        raise ApplicationError(_("No such campaign."), code="not_found", status_code=404)
    return campaign


def _member_location(request: Request, campaign_id: int, location_id: int) -> tuple[Campaign, CampaignLocation]:
    campaign = _member_campaign(request, campaign_id)
    location = CampaignLocation.objects.filter(campaign=campaign, pk=location_id).first()
    if location is None:
        raise ApplicationError(_("No such location."), code="not_found", status_code=404)
    return campaign, location


def _masters(ids: list[Any]) -> list[RemixNode]:
    """The featured masters a request names, all of them found (400 `campaign_needs_masters` naming the rest)."""
    found = {str(n.public_id): n for n in RemixNode.objects.filter(public_id__in=ids, layer=Layer.MASTER)}
    missing = sorted({str(i) for i in ids} - set(found))
    if missing:
        raise ApplicationError(
            _("Campaigns feature published masters only; these are not."),
            code="campaign_needs_masters",
            details={"not_masters": missing},
        )
    return [found[str(i)] for i in dict.fromkeys(ids)]


def _fresh(request: Request, campaign: Campaign) -> dict[str, Any]:
    return BrandCampaignSerializer(_member_campaign(request, campaign.pk)).data


@extend_schema_view(
    get=extend_schema(
        operation_id="brand_campaigns_list",
        description="The campaigns of the brands you belong to, newest first (nothing of any other brand).",
        responses={200: BrandCampaignSerializer(many=True), **ERROR_RESPONSES(400, 401, 404, 429, paginated=True)},
    ),
)
class BrandCampaignListApi(IdempotentWritesMixin, ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = BrandCampaignSerializer
    pagination_class = PageNumberPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Campaign.objects.none()
        return brand_campaigns(user=self.request.user)

    @extend_schema(
        operation_id="brand_campaigns_create",
        request=CampaignCreateSerializer,
        responses={201: BrandCampaignSerializer, **ERROR_RESPONSES(400, 401, 403, 429)},
        description=(
            "Create a draft campaign for your brand (name it with `brand` when you belong to several). Add locations, "
            "then launch it with POST …/status. 403 `not_a_brand_member` when you belong to no brand."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = CampaignCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        brand = _brand_for(request.user, data.pop("brand", None))
        masters = _masters(data.pop("featured_masters"))
        campaign = campaign_create(brand=brand, master_nodes=masters, actor=request.user, **data)
        return Response(_fresh(request, campaign), status=status.HTTP_201_CREATED)


def _brand_for(user: User, brand_id: int | None):
    brands = list(brands_of(user=user))
    if not brands:
        raise ApplicationError(_("You are not a member of any brand."), code="not_a_brand_member", status_code=403)
    if brand_id is None:
        if len(brands) > 1:
            raise ApplicationError(
                _("You belong to several brands: say which one with `brand`."),
                code="validation_error",
                details={"brand": ["Required when you belong to several brands."]},
            )
        return brands[0]
    brand = next((b for b in brands if b.pk == brand_id), None)
    if brand is None:
        raise ApplicationError(
            _("No such brand among yours."), code="validation_error", details={"brand": ["Not one of your brands."]}
        )
    return brand


class BrandCampaignDetailApi(IdempotentWritesMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="brand_campaigns_retrieve",
        responses={200: BrandCampaignSerializer, **ERROR_RESPONSES(401, 404, 429)},
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        return Response(BrandCampaignSerializer(_member_campaign(request, campaign_id)).data)

    @extend_schema(
        operation_id="brand_campaigns_partial_update",
        request=CampaignUpdateSerializer,
        responses={200: BrandCampaignSerializer, **ERROR_RESPONSES(400, 401, 404, 429)},
        description="Change the text, window, success bar, grace period or featured masters. Audited.",
    )
    def patch(self, request: Request, campaign_id: int) -> Response:
        campaign = _member_campaign(request, campaign_id)
        serializer = CampaignUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        masters = _masters(data.pop("featured_masters")) if "featured_masters" in data else None
        campaign_update(campaign=campaign, actor=request.user, master_nodes=masters, **data)
        return Response(_fresh(request, campaign))


class BrandCampaignStatusApi(IdempotentWritesMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="brand_campaigns_status",
        request=CampaignStatusSerializer,
        responses={200: BrandCampaignSerializer, **ERROR_RESPONSES(400, 401, 404, 409, 429)},
        description=(
            "Launch (`active`), pause (`paused`), resume (`active`) or close (`ended`, for good). Draft → active | "
            "ended; active → paused | ended; paused → active | ended. Launching needs a location and a featured "
            "master (409 `campaign_incomplete`); any other move is 409 `invalid_transition`. Audited."
        ),
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = _member_campaign(request, campaign_id)
        serializer = CampaignStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign_transition(
            campaign=campaign,
            to=serializer.validated_data["status"],
            actor=request.user,
            reason=serializer.validated_data["reason"],
        )
        return Response(_fresh(request, campaign))


class BrandLocationListApi(IdempotentWritesMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="brand_campaign_locations_create",
        request=LocationWriteSerializer,
        responses={201: LocationSerializer, **ERROR_RESPONSES(400, 401, 404, 429)},
        description="Add a place where creators shoot: a point and a radius in metres (10 to 50,000). Audited.",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = _member_campaign(request, campaign_id)
        serializer = LocationWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        location = campaign_location_add(campaign=campaign, actor=request.user, **serializer.validated_data)
        return Response(LocationSerializer(location).data, status=status.HTTP_201_CREATED)


class BrandLocationDetailApi(IdempotentWritesMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="brand_campaign_locations_partial_update",
        request=LocationUpdateSerializer,
        responses={200: LocationSerializer, **ERROR_RESPONSES(400, 401, 404, 429)},
    )
    def patch(self, request: Request, campaign_id: int, location_id: int) -> Response:
        campaign, location = _member_location(request, campaign_id, location_id)
        serializer = LocationUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        point = location.point.clone()
        if "latitude" in data or "longitude" in data:
            point.x, point.y = data.get("longitude", point.x), data.get("latitude", point.y)
        saved = campaign_location_save(
            actor=request.user,
            campaign=campaign,
            location=location,
            name=data.get("name", location.name),
            address=data.get("address", location.address),
            point=point,
            radius_m=data.get("radius_m", location.radius_m),
        )
        return Response(LocationSerializer(saved).data)

    @extend_schema(
        operation_id="brand_campaign_locations_destroy",
        responses={204: None, **ERROR_RESPONSES(401, 404, 409, 429)},
        description=(
            "Remove a location. 409 `location_in_use` once participations were checked against it; a launched "
            "campaign keeps at least one (409 `campaign_incomplete`)."
        ),
    )
    def delete(self, request: Request, campaign_id: int, location_id: int) -> Response:
        _, location = _member_location(request, campaign_id, location_id)
        campaign_location_delete(location=location, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(
        operation_id="brand_campaign_participations_list",
        description="Who took part and how it went (creators' positions are not shown to brands).",
        responses={
            200: BrandParticipationSerializer(many=True),
            **ERROR_RESPONSES(400, 401, 404, 429, paginated=True),
        },
    ),
)
class BrandParticipationListApi(ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = BrandParticipationSerializer
    pagination_class = PageNumberPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Participation.objects.none()
        return campaign_participations(campaign=_member_campaign(self.request, self.kwargs["campaign_id"]))


class BrandCampaignStatsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="brand_campaign_stats",
        responses={200: CampaignStatsSerializer, **ERROR_RESPONSES(401, 404, 429)},
        description=(
            "The campaign's numbers: participations by status, verified rate, K-Success count and conversion rate "
            "(K-Success ÷ verified participations), per location and day by day. The same figures editors see on "
            "the campaign's admin page."
        ),
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        return Response(CampaignStatsSerializer(campaign_stats(campaign=_member_campaign(request, campaign_id))).data)


# --- creators --------------------------------------------------------------------------------------------------


class CampaignNearApi(APIView):
    """Running campaigns (active, inside their window) with a location within `radius_m` of you, nearest first,
    each with the distance to its nearest location. At most 50."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="campaigns_near",
        parameters=[NearQuerySerializer],
        responses={200: NearbyCampaignSerializer(many=True), **ERROR_RESPONSES(400, 429)},
        examples=[
            OpenApiExample(
                "One campaign 49 m away",
                value=[
                    {
                        "id": 1,
                        "title": "Latte art at our Seongsu pop-ups",
                        "brand": {"id": 1, "name": "Seongsu Roasters"},
                        "starts_at": "2026-11-15T00:00:00+09:00",
                        "ends_at": "2026-12-22T00:00:00+09:00",
                        "success_views": 50000,
                        "distance_m": 48.6,
                        "nearest_location": 1,
                    }
                ],
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        query = NearQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        found = campaigns_near(latitude=data["lat"], longitude=data["lng"], radius_m=data["radius_m"], limit=NEAR_LIMIT)
        return Response(NearbyCampaignSerializer(found, many=True).data)


def _running_campaign(campaign_id: int) -> Campaign:
    campaign = campaign_public_detail(campaign_id=campaign_id)
    if campaign is None:
        raise ApplicationError(_("No such campaign running."), code="not_found", status_code=404)
    return campaign


class CampaignDetailApi(APIView):
    """A running campaign with its locations and featured masters."""

    permission_classes = [AllowAny]

    @extend_schema(operation_id="campaigns_retrieve", responses={200: CampaignSerializer, **ERROR_RESPONSES(404, 429)})
    def get(self, request: Request, campaign_id: int) -> Response:
        return Response(CampaignSerializer(_running_campaign(campaign_id)).data)


class CampaignJoinApi(IdempotentWritesMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="campaigns_join",
        request=None,
        responses={201: ParticipationSerializer, **ERROR_RESPONSES(401, 404, 409, 429)},
        description="Join a running campaign. 409 `already_participating` the second time.",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        participation = participation_join(campaign=_running_campaign(campaign_id), creator=request.user)
        return Response(ParticipationSerializer(participation).data, status=status.HTTP_201_CREATED)


class CampaignSubmissionApi(IdempotentWritesMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="campaigns_submit",
        request=SubmissionSerializer,
        responses={
            200: OpenApiResponse(
                ParticipationSerializer,
                description="Checked at once: `status` is `verified`, or `rejected` with `verification_reason`.",
            ),
            **ERROR_RESPONSES(400, 401, 403, 404, 409, 429),
        },
        description=(
            "Submit your published fork of a featured master (or of a remix of one), its posted video and where it "
            "was shot (joins on the way). It is verified at once: the campaign running and inside its window, the "
            "fork derived from a featured master, the position inside some location's radius. A failed check is "
            "recorded as `rejected` with the reason, and can be submitted again. Refused, with nothing written: "
            "403 `consent_required` without location consent of the current terms (POST /me/consents), 403 "
            "`fork_not_yours`, 400 `not_a_fork`, 409 `fork_not_published`, 409 `campaign_window_closed` / "
            "`campaign_not_active`, 409 `already_participating` once verified. The video: `video_url` (posted; its "
            "views decide K-Success, else the fork's posted link's), `upload_id` (one of your own completed uploads, "
            "the video as shot: 404 `not_found` for anyone else's, 409 `upload_not_completed`), or both."
        ),
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = _running_campaign(campaign_id)
        serializer = SubmissionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        fork = RemixNode.objects.filter(public_id=data["fork"]).first()
        if fork is None or (fork.owner_id != request.user.pk and fork.status != NodeStatus.PUBLISHED):
            raise ApplicationError(_("No such remix."), code="not_found", status_code=404)
        upload = upload_usable(user=request.user, upload_id=data["upload_id"]) if "upload_id" in data else None
        with transaction.atomic():
            participation = participation_submit(
                campaign=campaign,
                creator=request.user,
                video_url=data.get("video_url", ""),
                fork_node=fork,
                upload=upload,
                latitude=data["latitude"],
                longitude=data["longitude"],
            )
        return Response(ParticipationSerializer(participation).data)


@extend_schema_view(
    get=extend_schema(
        operation_id="me_participations_list",
        description="Your participations, newest first, with each check's result and reason.",
        responses={200: ParticipationSerializer(many=True), **ERROR_RESPONSES(400, 401, 404, 429, paginated=True)},
    ),
)
class MyParticipationListApi(ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = ParticipationSerializer
    pagination_class = PageNumberPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Participation.objects.none()
        return participations_of(user=self.request.user).order_by("-joined_at", "-id")
