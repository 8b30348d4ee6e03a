from rest_framework import serializers

from accounts.models import ConsentKind, User
from kmeme.serializers import StrictSerializer


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "display_name", "role", "date_joined"]
        read_only_fields = fields


class ConsentDecisionSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=ConsentKind.choices)
    granted = serializers.BooleanField(help_text="true grants, false withdraws.")
    terms_version = serializers.CharField(
        max_length=32, help_text="The version of the terms you were shown: it must be the current one."
    )


class FirebaseLoginSerializer(StrictSerializer):
    # Firebase ID tokens are about 1 kB; the cap keeps a huge body from reaching the JWT decoder.
    id_token = serializers.CharField(max_length=8192, help_text="The ID token from Firebase `user.getIdToken()`.")
    consents = ConsentDecisionSerializer(
        many=True,
        required=False,
        default=list,
        max_length=len(ConsentKind),
        help_text=(
            "The consents the user gave on the sign-up screen, recorded with the account (a decision equal to the "
            "user's current one is not recorded again). Once the server sets TERMS_VERSION, a first sign-in needs "
            "`terms` and `privacy` granted on the current versions (400 `consent_required` otherwise)."
        ),
    )

    def validate_consents(self, value: list[dict]) -> list[dict]:
        kinds = [c["kind"] for c in value]
        if len(set(kinds)) != len(kinds):
            raise serializers.ValidationError("One decision per kind.")
        return value


class RefreshTokenSerializer(StrictSerializer):
    refresh = serializers.CharField(max_length=4096, help_text="A refresh token from sign-in or the last refresh.")


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`; short-lived (30 min default).")
    refresh = serializers.CharField(
        help_text="Exchange at `auth/refresh` for a new pair (7 days default); works once, then it is blacklisted."
    )


class AuthSessionSerializer(TokenPairSerializer):
    user = MeSerializer(help_text="The signed-in user, as `GET /me` returns it.")


class ConsentStateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ConsentKind.choices, read_only=True)
    current_terms_version = serializers.CharField(read_only=True, help_text="The terms version in force now.")
    granted = serializers.BooleanField(
        read_only=True, allow_null=True, help_text="Your latest decision; null if you were never asked."
    )
    terms_version = serializers.CharField(read_only=True, allow_null=True, help_text="The version you decided on.")
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    in_force = serializers.BooleanField(
        read_only=True, help_text="True when you granted it on the current terms: what features that need it check."
    )
