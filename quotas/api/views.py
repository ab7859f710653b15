"""Read-only quotas (任务数) of each program and unit, within the user's scope."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from accounts.scoping import restrict
from gonghui.api import error_responses
from quotas.api.serializers import QuotaSerializer
from quotas.models import Quota

READ_ERRORS = error_responses(401, 403, 404, 429)
LIST_ERRORS = error_responses(400, 401, 403, 404, 429)  # 400: a bad filter value


@extend_schema_view(
    list=extend_schema(summary="任务分配列表", responses={200: QuotaSerializer, **LIST_ERRORS}),
    retrieve=extend_schema(summary="任务分配", responses={200: QuotaSerializer, **READ_ERRORS}),
)
class QuotaViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = QuotaSerializer
    filterset_fields = ["program", "unit"]

    def get_queryset(self):
        return restrict(
            Quota.objects.select_related("program", "unit").order_by(
                "program", "unit__sort_order", "unit__code"
            ),
            self.request.user,
        )
