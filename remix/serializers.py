from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kmeme.serializers import FreeFormJSONObjectField, HttpUrlField, StrictSerializer
from remix.models import MutationType, NodeStatus, RemixBrief, RemixNode, VideoAnalysis
from remix.recovery import node_auto_retry_pending


class AnalysisRequestSerializer(StrictSerializer):
    """Exactly one source: a link, or one of your own completed uploads."""

    video_url = HttpUrlField(
        required=False, help_text="TikTok, Instagram Reels, YouTube (Shorts) or a direct video link."
    )
    upload_id = serializers.UUIDField(
        required=False, help_text="One of your own completed uploads (POST /api/v1/uploads), instead of a link."
    )
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        if "video_url" not in attrs and "upload_id" not in attrs:
            raise serializers.ValidationError(
                {"video_url": ["This field is required (or send upload_id: one of your uploads)."]}, code="required"
            )
        if "video_url" in attrs and "upload_id" in attrs:
            raise serializers.ValidationError(
                {"upload_id": ["Send a video_url or an upload_id, not both."]}, code="one_source"
            )
        return attrs


class NodeSummarySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = RemixNode
        fields = ["id", "title", "source_url", "platform", "layer", "status", "created_at"]
        read_only_fields = fields


class AnalysisAcceptedSerializer(serializers.Serializer):
    node = NodeSummarySerializer()
    job_id = serializers.IntegerField(help_text="The background job analysing the video.")
    quota_remaining = serializers.IntegerField(help_text="Analyses left today.")


class VideoAnalysisSerializer(serializers.ModelSerializer):
    duration_s = serializers.FloatField(allow_null=True)
    bpm = serializers.FloatField(allow_null=True)

    class Meta:
        model = VideoAnalysis
        fields = [
            "provider",
            "model",
            "status",
            "duration_s",
            "bpm",
            "keyframes",
            "hook",
            "commerce_category",
            "error",
            "created_at",
        ]
        read_only_fields = fields


class BriefSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = RemixBrief
        fields = ["version", "source", "review_status", "created_at"]
        read_only_fields = fields


class FallbackSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(
        choices=["gemini", "anthropic", "media"],
        help_text="What could not be had: the Gemini analysis, the Claude brief, or the video itself.",
    )
    code = serializers.CharField(
        help_text="Why: `provider_error`, `circuit_open` (the provider was down; retried automatically once it "
        "answers again), `budget_exceeded`, `not_configured`, `invalid_output`, or a media code such as "
        "`media_unreachable`, `media_timeout`, `media_too_large`, `media_invalid`."
    )
    reason = serializers.CharField(help_text="The same, in words, for the submitter and the editors.")
    at = serializers.DateTimeField()
    auto_retries = serializers.IntegerField(help_text="Automatic retries made so far after an outage.")
    auto_retry_pending = serializers.BooleanField(
        help_text="Whether it will be retried automatically once the provider answers again: false for good once "
        "an editor has changed the node's brief or analysis, and while an editor has the node open."
    )


class AnalysisStatusSerializer(NodeSummarySerializer):
    probe = serializers.JSONField(read_only=True, help_text="What the platform measured itself (duration, fps, BPM…).")
    analysis = VideoAnalysisSerializer(allow_null=True, read_only=True, help_text="The latest analysis, if any.")
    brief = BriefSummarySerializer(allow_null=True, read_only=True, help_text="The latest brief version, if any.")
    pipeline_error = serializers.CharField(read_only=True, help_text="The job's last error, empty once it succeeds.")
    fallback = serializers.SerializerMethodField(
        help_text="Why the last run went without AI (the brief is then rule-based and waits for manual review); "
        "null when Gemini and Claude both answered, or while the node is being analysed."
    )

    class Meta(NodeSummarySerializer.Meta):
        fields = [*NodeSummarySerializer.Meta.fields, "probe", "analysis", "brief", "pipeline_error", "fallback"]
        read_only_fields = fields

    @extend_schema_field(FallbackSerializer(allow_null=True))
    def get_fallback(self, node: RemixNode) -> dict | None:
        if not node.fallback_code or node.status == NodeStatus.ANALYZING:
            return None
        pending = node_auto_retry_pending(node=node)
        return FallbackSerializer(
            {
                "provider": node.fallback_provider,
                "code": node.fallback_code,
                "reason": node.fallback_reason,
                "at": node.fallback_at,
                "auto_retries": node.auto_retries,
                "auto_retry_pending": pending,
            }
        ).data


class NodeListSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    parent_id = serializers.UUIDField(
        source="origin_public_id",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="The node this one was remixed from (its first parent in the lineage), if any.",
    )
    creator = serializers.SerializerMethodField()

    class Meta:
        model = RemixNode
        fields = ["id", "title", "platform", "layer", "commerce_category", "published_at", "parent_id", "creator"]
        read_only_fields = fields

    def get_creator(self, node: RemixNode) -> str:
        return node.public_creator


class ShotSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    start_s = serializers.FloatField()
    end_s = serializers.FloatField()
    beat = serializers.IntegerField(help_text="Beat number (at the video's BPM) the shot starts on.")
    beats = serializers.IntegerField(help_text="How many beats the shot lasts.")
    shot = serializers.CharField(help_text="What to film.")
    line = serializers.CharField(allow_blank=True, help_text="What is said or shown on screen.")


class RecipeBriefSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    inherited_from_parent = serializers.BooleanField(help_text="A fork shows its master's brief until it has one.")
    written_by = serializers.ChoiceField(choices=["ai", "rule_based", "editor"])
    concept = serializers.CharField(allow_blank=True)
    hook = serializers.CharField(allow_blank=True)
    caption = serializers.CharField(allow_blank=True)
    hashtags = serializers.ListField(child=serializers.CharField())
    music_notes = serializers.CharField(allow_blank=True)
    cultural_notes = serializers.CharField(allow_blank=True)
    product_placement = serializers.CharField(allow_blank=True)


class KeyframeSerializer(serializers.Serializer):
    t = serializers.FloatField()
    description = serializers.CharField(allow_blank=True)


class ParentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()


class RecipeSerializer(serializers.Serializer):
    """The Smart Recipe View."""

    id = serializers.UUIDField()
    title = serializers.CharField()
    source_url = serializers.URLField()
    posted_url = serializers.CharField(
        default="",
        help_text="A fork's own video as its creator posted it (empty until set): its views, likes, comments and "
        "shares are read from this link. Always empty for a master, whose counts come from `source_url`.",
    )
    platform = serializers.CharField()
    layer = serializers.CharField()
    status = serializers.CharField()
    commerce_category = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    parent = ParentSerializer(allow_null=True)
    creator = serializers.CharField()
    bpm = serializers.FloatField(allow_null=True)
    bpm_assumed = serializers.BooleanField(help_text="True when no tempo was measured and 120 BPM is assumed.")
    duration_s = serializers.FloatField(allow_null=True)
    seconds_per_beat = serializers.FloatField()
    keyframes = KeyframeSerializer(many=True)
    brief = RecipeBriefSerializer(allow_null=True)
    shots = ShotSerializer(many=True)
    is_public = serializers.BooleanField()


class ForkCreateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200)
    mutation_types = serializers.ListField(
        child=serializers.ChoiceField(choices=MutationType.choices), min_length=1, max_length=len(MutationType)
    )
    profile = FreeFormJSONObjectField(required=False, default=dict, help_text="Free-form details of what changes.")
    source_url = HttpUrlField(required=False, allow_blank=True, default="", help_text="Your own video, if shot.")


class ForkUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False)
    mutation_types = serializers.ListField(
        child=serializers.ChoiceField(choices=MutationType.choices),
        min_length=1,
        max_length=len(MutationType),
        required=False,
    )
    profile = FreeFormJSONObjectField(required=False, help_text="Free-form details of what changes.")
    source_url = HttpUrlField(required=False)
    posted_url = HttpUrlField(
        required=False,
        allow_blank=True,
        help_text="Your remix as you posted it (TikTok, Instagram, YouTube…), once it is posted: its public views, "
        "likes, comments and shares are then collected from it (hourly for 3 days, daily up to 60). Held to the "
        "rules of a submitted link (400 `url_not_allowed`, `url_unresolvable`); an empty string clears it.",
    )


class PublishSerializer(StrictSerializer):
    published = serializers.BooleanField(help_text="true publishes the fork, false takes it back to draft.")


class SimilarNodeSerializer(NodeListSerializer):
    similarity = serializers.FloatField(help_text="Cosine similarity, 1 = identical.")

    class Meta(NodeListSerializer.Meta):
        fields = [*NodeListSerializer.Meta.fields, "similarity"]
        read_only_fields = fields
