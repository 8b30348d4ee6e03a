"""What the campaign API reads and answers: brands' campaign management, creators' search and participation."""

from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers

from campaigns.models import Campaign, CampaignLocation, CampaignStatus, Participation
from campaigns.selectors import NEAR_MAX_RADIUS_M
from kmeme.serializers import HttpUrlField, StrictSerializer


class FiniteFloatField(serializers.FloatField):
    """A float that is a real number: DRF's FloatField takes "NaN" and "Infinity", which pass every bound."""

    default_error_messages = {"not_finite": "A finite number is required."}

    def to_internal_value(self, data: Any) -> float:
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("not_finite")
        return value


def latitude_field(**kwargs: Any) -> FiniteFloatField:
    return FiniteFloatField(min_value=-90, max_value=90, help_text="Degrees north, −90 to 90 (WGS 84).", **kwargs)


def longitude_field(**kwargs: Any) -> FiniteFloatField:
    return FiniteFloatField(min_value=-180, max_value=180, help_text="Degrees east, −180 to 180 (WGS 84).", **kwargs)


# --- answers ---------------------------------------------------------------------------------------------------


class LocationSerializer(serializers.ModelSerializer):
    latitude = serializers.SerializerMethodField()
    longitude = serializers.SerializerMethodField()

    class Meta:
        model = CampaignLocation
        fields = ["id", "name", "address", "latitude", "longitude", "radius_m"]
        read_only_fields = fields

    def get_latitude(self, location: CampaignLocation) -> float:
        return round(location.point.y, 7)

    def get_longitude(self, location: CampaignLocation) -> float:
        return round(location.point.x, 7)


class FeaturedMasterSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    title = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)


class BrandSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class CampaignSerializer(serializers.ModelSerializer):
    brand = BrandSummarySerializer(read_only=True)
    locations = LocationSerializer(many=True, read_only=True)
    featured_masters = FeaturedMasterSerializer(source="featured", many=True, read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "title",
            "description",
            "brand",
            "status",
            "starts_at",
            "ends_at",
            "success_views",
            "success_grace_days",
            "locations",
            "featured_masters",
        ]
        read_only_fields = fields


class BrandCampaignSerializer(CampaignSerializer):
    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "created_at", "updated_at"]
        read_only_fields = fields


class NearbyCampaignSerializer(serializers.ModelSerializer):
    brand = BrandSummarySerializer(read_only=True)
    distance_m = serializers.FloatField(read_only=True, help_text="Metres to the campaign's nearest location.")
    nearest_location = serializers.IntegerField(source="nearest_location_id", read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "title",
            "brand",
            "starts_at",
            "ends_at",
            "success_views",
            "distance_m",
            "nearest_location",
        ]
        read_only_fields = fields


class CampaignSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    ends_at = serializers.DateTimeField(read_only=True)


class LocationSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class ParticipationSerializer(serializers.ModelSerializer):
    """A participation as its creator sees it, position included."""

    campaign = CampaignSummarySerializer(read_only=True)
    fork = serializers.UUIDField(source="fork_node.public_id", read_only=True, allow_null=True, default=None)
    upload = serializers.UUIDField(
        source="upload.public_id", read_only=True, allow_null=True, default=None, help_text="Your uploaded video."
    )
    location = LocationSummarySerializer(read_only=True, allow_null=True)
    latitude = serializers.SerializerMethodField()
    longitude = serializers.SerializerMethodField()

    class Meta:
        model = Participation
        fields = [
            "id",
            "campaign",
            "status",
            "fork",
            "video_url",
            "upload",
            "latitude",
            "longitude",
            "location",
            "distance_m",
            "verification_result",
            "verification_reason",
            "decision_reason",
            "submissions",
            "joined_at",
            "submitted_at",
            "verified_at",
            "k_success_at",
            "k_success_views",
        ]
        read_only_fields = fields

    def get_latitude(self, participation: Participation) -> float | None:
        point = participation.claimed_position
        return None if point is None else round(point.y, 7)

    def get_longitude(self, participation: Participation) -> float | None:
        point = participation.claimed_position
        return None if point is None else round(point.x, 7)


class BrandParticipationSerializer(serializers.ModelSerializer):
    """A participation as the brand sees it: the outcome, not the creator's position."""

    creator = serializers.CharField(source="creator.display_name", read_only=True)
    fork = serializers.UUIDField(source="fork_node.public_id", read_only=True, allow_null=True, default=None)
    location = LocationSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Participation
        fields = [
            "id",
            "creator",
            "status",
            "fork",
            "video_url",
            "location",
            "distance_m",
            "verification_result",
            "submitted_at",
            "verified_at",
            "k_success_at",
            "k_success_views",
        ]
        read_only_fields = fields


# --- requests --------------------------------------------------------------------------------------------------


class NearQuerySerializer(StrictSerializer):
    lat = latitude_field()
    lng = longitude_field()
    radius_m = FiniteFloatField(
        min_value=1,
        max_value=NEAR_MAX_RADIUS_M,
        default=5000,
        help_text=f"Search radius in metres, more than 0 and at most {NEAR_MAX_RADIUS_M}; 5000 by default.",
    )


class CampaignCreateSerializer(StrictSerializer):
    brand = serializers.IntegerField(
        required=False, help_text="Your brand's id; needed only when you belong to more than one brand."
    )
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    success_views = serializers.IntegerField(min_value=1, max_value=2_000_000_000, default=10_000)
    success_grace_days = serializers.IntegerField(min_value=0, max_value=90, default=7)
    featured_masters = serializers.ListField(
        child=serializers.UUIDField(), max_length=20, required=False, default=list, help_text="Published masters."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": ["Must be after starts_at."]}, code="campaign_window_invalid")
        return attrs


class CampaignUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False)
    success_views = serializers.IntegerField(min_value=1, max_value=2_000_000_000, required=False)
    success_grace_days = serializers.IntegerField(min_value=0, max_value=90, required=False)
    featured_masters = serializers.ListField(child=serializers.UUIDField(), max_length=20, required=False)


class CampaignStatusSerializer(StrictSerializer):
    status = serializers.ChoiceField(
        choices=[CampaignStatus.ACTIVE, CampaignStatus.PAUSED, CampaignStatus.ENDED],
        help_text="active launches (or resumes), paused pauses, ended closes for good.",
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class LocationWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    latitude = latitude_field()
    longitude = longitude_field()
    radius_m = serializers.IntegerField(min_value=10, max_value=50_000, default=200, help_text="10 to 50,000 metres.")


class LocationUpdateSerializer(LocationWriteSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class SubmissionSerializer(StrictSerializer):
    """The fork, and the video: a posted link, an upload of your own, or both."""

    fork = serializers.UUIDField(help_text="Your fork of a featured master (or of a remix of one).")
    video_url = HttpUrlField(
        required=False,
        help_text="Your remix as posted: its view counts decide K-Success (without it, the fork's posted link).",
    )
    upload_id = serializers.UUIDField(
        required=False, help_text="The video as shot, one of your own completed uploads (POST /api/v1/uploads)."
    )
    latitude = latitude_field()
    longitude = longitude_field()

    def validate(self, attrs: dict) -> dict:
        if "video_url" not in attrs and "upload_id" not in attrs:
            raise serializers.ValidationError(
                {"video_url": ["This field is required (or send upload_id: one of your uploads; or both)."]},
                code="required",
            )
        return attrs


class StatusCountsSerializer(serializers.Serializer):
    joined = serializers.IntegerField()
    submitted = serializers.IntegerField()
    verified = serializers.IntegerField()
    rejected = serializers.IntegerField()
    k_success = serializers.IntegerField()
    total = serializers.IntegerField()


class LocationStatsSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    verified = serializers.IntegerField()
    k_success = serializers.IntegerField()
    conversion_rate = serializers.FloatField(allow_null=True)


class DayStatsSerializer(serializers.Serializer):
    date = serializers.DateField()
    submitted = serializers.IntegerField(help_text="Participations last submitted that day.")
    verified = serializers.IntegerField(help_text="Verified (or since certified) participations last checked that day.")
    k_success = serializers.IntegerField(help_text="Participations certified K-Success that day.")


class CampaignStatsSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    computed_at = serializers.DateTimeField()
    participations = StatusCountsSerializer(help_text="Participations by status.")
    submitted = serializers.IntegerField(help_text="Participations submitted at least once.")
    verified = serializers.IntegerField(help_text="Verified or K-Success.")
    verified_rate = serializers.FloatField(allow_null=True, help_text="verified ÷ submitted; null with none.")
    k_success = serializers.IntegerField()
    conversion_rate = serializers.FloatField(
        allow_null=True, help_text="K-Success ÷ verified: the headline metric (target > 0.10); null with none."
    )
    locations = LocationStatsSerializer(many=True)
    daily = DayStatsSerializer(many=True)
