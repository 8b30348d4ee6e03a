from __future__ import annotations

from rest_framework import serializers

from kmeme.serializers import HttpUrlField, StrictSerializer
from remix.models import RemixBrief, RemixNode, VideoAnalysis


class AnalysisRequestSerializer(StrictSerializer):
    video_url = HttpUrlField(help_text="TikTok, Instagram Reels, YouTube (Shorts) or a direct video link.")
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


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


class AnalysisStatusSerializer(NodeSummarySerializer):
    probe = serializers.JSONField(read_only=True, help_text="What the platform measured itself (duration, fps, BPM…).")
    analysis = VideoAnalysisSerializer(allow_null=True, read_only=True, help_text="The latest analysis, if any.")
    brief = BriefSummarySerializer(allow_null=True, read_only=True, help_text="The latest brief version, if any.")
    pipeline_error = serializers.CharField(read_only=True, help_text="The job's last error, empty once it succeeds.")

    class Meta(NodeSummarySerializer.Meta):
        fields = [*NodeSummarySerializer.Meta.fields, "probe", "analysis", "brief", "pipeline_error"]
        read_only_fields = fields
