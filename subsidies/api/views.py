"""Read-only subsidy claims (贴息台账) within the user's scope."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets

from gonghui.api import error_responses
from gonghui.errors import DomainError
from subsidies.api.serializers import SubsidyClaimSerializer
from subsidies.selectors import claim_rows

READ_ERRORS = error_responses(400, 401, 403, 404, 429)
LEDGER_FILTERS = {
    "program": (OpenApiTypes.INT, "贷款项目 id"),
    "unit": (OpenApiTypes.INT, "单位 id"),
    "bank": (OpenApiTypes.INT, "银行 id"),
    "batch": (OpenApiTypes.INT, "拨付批次 id"),
    "status": (OpenApiTypes.STR, "pending / batched / approved / paid"),
    "loan_type": (OpenApiTypes.STR, "credit / guaranteed / mortgage"),
    "end_from": (OpenApiTypes.DATE, "计息截止日自"),
    "end_to": (OpenApiTypes.DATE, "计息截止日至"),
    "q": (OpenApiTypes.STR, "合同编号或借款人姓名"),
}


@extend_schema_view(
    list=extend_schema(
        summary="贴息台账",
        parameters=[
            OpenApiParameter(name, kind, description=text)
            for name, (kind, text) in LEDGER_FILTERS.items()
        ],
        responses={200: SubsidyClaimSerializer, **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="贴息申请", responses={200: SubsidyClaimSerializer, **READ_ERRORS}
    ),
)
class SubsidyClaimViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SubsidyClaimSerializer
    filter_backends = []

    def get_queryset(self):
        params = self.request.query_params
        filters = {name: params.get(name) for name in LEDGER_FILTERS if self.action == "list"}
        bad = [name for name, value in filters.items() if value and "\x00" in value]
        if bad:
            raise DomainError(
                "validation_error",
                "筛选条件有误",
                field_errors={name: ["不能包含空字符"] for name in bad},
            )
        return claim_rows(user=self.request.user, filters=filters)
