from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import serializers

from accounts.models import ConsentKind, Upload, User
from accounts.uploads import FILENAME_MAX_CHARS, UPLOAD_CONTENT_TYPES
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
            raise serializers.ValidationError(_("One decision per kind."))
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


class UploadStartSerializer(StrictSerializer):
    filename = serializers.CharField(
        max_length=255,
        trim_whitespace=False,
        help_text=(
            "The file's name on the device. Stored keys use a safe version of it: the last path part, Unicode NFKC, "
            f"letters, digits, `-`, `_`, `.` only, at most {FILENAME_MAX_CHARS} characters, with the extension "
            "of `content_type`."
        ),
    )
    content_type = serializers.ChoiceField(
        choices=list(UPLOAD_CONTENT_TYPES), help_text="The video's type; the upload must be sent with exactly this."
    )
    size = serializers.IntegerField(
        min_value=1,
        help_text=f"The file's exact size in bytes, 1 to {settings.UPLOAD_MAX_BYTES} (413 `upload_too_large` past it); "
        "the upload must be exactly this size.",
    )


class UploadSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Upload
        fields = ["id", "filename", "content_type", "size", "status", "created_at", "expires_at", "uploaded_at"]
        read_only_fields = fields


class UploadTicketSerializer(serializers.Serializer):
    upload = UploadSerializer(help_text="The upload, `pending` until you complete it.")
    method = serializers.ChoiceField(
        choices=["POST", "PUT"],
        help_text="`POST`: a multipart form to `url` with `fields` first and the file last, as `file` (S3). `PUT`: the "
        "file as the raw body to `url`, with `headers` (local development).",
    )
    url = serializers.URLField(help_text="Where to send the file; it works until `expires_at`, once.")
    fields = serializers.DictField(
        child=serializers.CharField(), help_text="Form fields to send as they are (POST); empty for PUT."
    )
    headers = serializers.DictField(child=serializers.CharField(), help_text="Headers to send (PUT); empty for POST.")
    expires_at = serializers.DateTimeField()
