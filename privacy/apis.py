from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.apis import MeApi
from kmeme.idempotency import IdempotentWritesMixin
from kmeme.openapi import ERROR_RESPONSES
from privacy.anonymize import user_anonymize
from privacy.serializers import CONFIRMATION, AccountDeleteSerializer


class AccountApi(IdempotentWritesMixin, MeApi):
    """Your own account: read it, or delete it (the right to be forgotten)."""

    @extend_schema(
        operation_id="me_destroy",
        request=AccountDeleteSerializer,
        responses={204: None, **ERROR_RESPONSES(400, 401, 409, 429)},
        description=(
            f'Delete your account, with `{{"confirm": "{CONFIRMATION}"}}`. Your email, name and sign-in are removed '
            "and every token you hold stops working; your private forks are deleted and the positions you sent with "
            'campaign entries dropped; what you published stays, shown as by "deleted user", with no way back to '
            "you. Export your data first (POST /me/export) if you want a copy. 409 `last_admin` for the last admin."
        ),
    )
    def delete(self, request: Request) -> Response:
        serializer = AccountDeleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_anonymize(user=request.user, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
