"""``reports/monthly``: the stored 附件3 snapshot as JSON, or as the form's .xlsx."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.choices import Role
from accounts.scoping import restrict, role_of
from gonghui.api import IsPortalUser, error_responses
from gonghui.errors import DomainError
from gonghui.spreadsheets import XLSX_TYPE
from loans.models import Program, Unit
from reports.api.serializers import MonthlySnapshotSerializer
from reports.exports import monthly_snapshot_xlsx
from reports.models import MonthlySnapshot
from reports.services import parse_month


class XlsxRenderer(BaseRenderer):
    """Lets ``?format=xlsx`` pick the workbook; the view builds the bytes itself."""

    media_type = XLSX_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class MonthlyReportView(APIView):
    """Union staff and managers read 附件3; county staff see their unit's row only."""

    permission_classes = [IsPortalUser]
    renderer_classes = [JSONRenderer, XlsxRenderer]

    @extend_schema(
        summary="业务完成情况统计（附件3）",
        parameters=[
            OpenApiParameter("program", OpenApiTypes.STR, required=True, description="项目代码"),
            OpenApiParameter("month", OpenApiTypes.STR, required=True, description="YYYY-MM"),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "xlsx"]),
        ],
        responses={200: MonthlySnapshotSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    def get(self, request):
        role = role_of(request.user)
        if role == Role.BANK_OFFICER:
            raise DomainError("permission_denied", "合作银行无权查看工会统计报表")
        errors = {}
        program = Program.objects.filter(code=request.query_params.get("program", "")).first()
        if program is None:
            errors["program"] = ["请提供有效的项目代码"]
        try:
            month = parse_month(request.query_params.get("month", ""))
        except DomainError as error:
            errors.update(error.field_errors)
        if errors:
            raise ValidationError(errors)
        snapshot = MonthlySnapshot.objects.filter(program=program, month=month).first()
        if snapshot is None:
            raise NotFound("该月统计尚未生成")
        if request.accepted_renderer.format == "xlsx":
            if role == Role.COUNTY_STAFF:
                raise DomainError("permission_denied", "县区经办人请在门户中查看本单位统计")
            response = HttpResponse(monthly_snapshot_xlsx(snapshot), content_type=XLSX_TYPE)
            response["Content-Disposition"] = (
                f'attachment; filename="{program.code}-{month:%Y-%m}-completion.xlsx"'
            )
            return response
        visible = set(restrict(Unit.objects.all(), request.user).values_list("pk", flat=True))
        rows = [
            row
            for row in snapshot.rows.select_related("unit").order_by("position")
            if (row.unit_id is None and role != Role.COUNTY_STAFF) or row.unit_id in visible
        ]
        return Response(MonthlySnapshotSerializer(snapshot, context={"rows": rows}).data)
