"""The caller's own identity: lets a bank's client check which officer a token belongs to."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import MeSerializer
from accounts.scoping import profile_of, role_of
from gonghui.api import error_responses


class MeView(APIView):
    @extend_schema(
        summary="当前用户", responses={200: MeSerializer, **error_responses(401, 403, 429)}
    )
    def get(self, request):
        profile = profile_of(request.user)
        data = {
            "username": request.user.get_username(),
            "role": role_of(request.user),
            "bank": profile.bank_id if profile else None,
            "unit": profile.unit_id if profile else None,
        }
        return Response(MeSerializer(data).data)
