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
