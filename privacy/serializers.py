from django.utils.translation import gettext as _
from rest_framework import serializers

from kmeme.serializers import StrictSerializer
from privacy.models import ExportStatus

CONFIRMATION = "delete my account"


class AccountDeleteSerializer(StrictSerializer):
    confirm = serializers.CharField(
        max_length=64, help_text=f'Type exactly "{CONFIRMATION}": deleting an account cannot be undone.'
    )

    def validate_confirm(self, value: str) -> str:
        if value != CONFIRMATION:
            raise serializers.ValidationError(
                _('Type exactly "%(CONFIRMATION)s" to delete your account.') % {"CONFIRMATION": CONFIRMATION}
            )
        return value


class DataExportRequestSerializer(StrictSerializer):
    """No fields: an export is always of everything we hold about you. Anything sent is refused (400)."""


class DataExportSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    status = serializers.ChoiceField(choices=ExportStatus.choices, help_text="queued, running, ready or failed.")
    progress = serializers.IntegerField(min_value=0, max_value=100, help_text="0–100.")
    step = serializers.CharField(help_text="What the job is doing now.")
    error_code = serializers.CharField(
        allow_blank=True,
        help_text="Why the build failed: `build_failed` or `storage_failed` (empty otherwise). While the status is "
        "still `queued`, a retry is coming; once `failed`, ask for a new export.",
    )
    error = serializers.CharField(allow_blank=True, help_text="The same, in words for the user.")
    size = serializers.IntegerField(allow_null=True, help_text="Bytes of the archive, when ready.")
    files = serializers.IntegerField(allow_null=True, help_text="Files in the archive, when ready.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True, help_text="The archive is deleted then.")
    download_url = serializers.CharField(
        allow_null=True, help_text="When ready: a link valid for one hour (a fresh one on every GET)."
    )
    download_expires_at = serializers.DateTimeField(allow_null=True, help_text="When `download_url` stops working.")
