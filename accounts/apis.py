from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.serializers import MeSerializer
from kmeme.openapi import ERROR_RESPONSES


class MeApi(APIView):
    """The signed-in user's own profile."""

    @extend_schema(operation_id="me_retrieve", responses={200: MeSerializer, **ERROR_RESPONSES(401)})
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)
