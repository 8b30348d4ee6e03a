from rest_framework import serializers

from kmeme.serializers import StrictSerializer

CONFIRMATION = "delete my account"


class AccountDeleteSerializer(StrictSerializer):
    confirm = serializers.CharField(
        max_length=64, help_text=f'Type exactly "{CONFIRMATION}": deleting an account cannot be undone.'
    )

    def validate_confirm(self, value: str) -> str:
        if value != CONFIRMATION:
            raise serializers.ValidationError(f'Type exactly "{CONFIRMATION}" to delete your account.')
        return value


class DataExportSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    status = serializers.CharField(help_text="queued, running, ready or failed.")
    progress = serializers.IntegerField(help_text="0–100.")
    step = serializers.CharField(help_text="What the job is doing now.")
    error = serializers.CharField(help_text="Why it failed (then ask for a new one).")
    size = serializers.IntegerField(allow_null=True, help_text="Bytes of the archive, when ready.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True, help_text="The archive is deleted then.")
    download_url = serializers.CharField(allow_null=True, help_text="When ready: a link valid for one hour.")
    download_expires_at = serializers.DateTimeField(allow_null=True)
