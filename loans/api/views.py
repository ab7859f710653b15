"""Bank API endpoints of programs, units, applications and loans.

Reads go through the scoped selectors (another bank's record is a 404); each write calls
one service of ``loans.services`` and renders its result. Every POST is idempotent under
the ``Idempotency-Key`` header (required for banks).
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.scoping import restrict
from gonghui.api import (
    IDEMPOTENCY_PARAMETER,
    IsBankOfficer,
    IsPortalUser,
    IsUnionStaff,
    error_responses,
    idempotent,
)
from gonghui.errors import DomainError
from loans.api import serializers as s
from loans.api.search import BodySearchMixin, search_schema
from loans.filters import ApplicationFilter, LoanFilter
from loans.models import Program, Unit
from loans.selectors import application_list, application_rows, loan_list, loan_rows
from loans.services import applications as application_services
from loans.services import loans as loan_services

READ_ERRORS = error_responses(401, 403, 404, 429)
LIST_ERRORS = error_responses(400, 401, 403, 404, 429)  # 400: a bad filter value
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409, 422, 429)


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _prefixed(error: DomainError, prefix: str) -> DomainError:
    """The error with its field names under ``prefix`` ("applicant.id_number")."""
    fields = {f"{prefix}.{name}": messages for name, messages in error.field_errors.items()}
    return DomainError(error.code, error.message, field_errors=fields)


@extend_schema_view(
    list=extend_schema(summary="贷款项目列表", responses={200: s.ProgramSerializer, **LIST_ERRORS}),
    retrieve=extend_schema(summary="贷款项目", responses={200: s.ProgramSerializer, **READ_ERRORS}),
)
class ProgramViewSet(viewsets.ReadOnlyModelViewSet):
    """Loan programs with their policy numbers (rate caps, limits, term)."""

    serializer_class = s.ProgramSerializer
    queryset = Program.objects.order_by("-year", "code")
    filterset_fields = ["year", "is_active"]


@extend_schema_view(
    list=extend_schema(summary="单位列表", responses={200: s.UnitSerializer, **LIST_ERRORS}),
    retrieve=extend_schema(summary="单位", responses={200: s.UnitSerializer, **READ_ERRORS}),
)
class UnitViewSet(viewsets.ReadOnlyModelViewSet):
    """Counties, districts and the city level where applications are taken in."""

    serializer_class = s.UnitSerializer
    filterset_fields = ["city", "kind"]

    def get_queryset(self):
        return restrict(Unit.objects.order_by("city", "sort_order", "code"), self.request.user)


@extend_schema_view(
    list=extend_schema(
        summary="贷款申请列表", responses={200: s.ApplicationOutputSerializer, **LIST_ERRORS}
    ),
    retrieve=extend_schema(
        summary="贷款申请", responses={200: s.ApplicationOutputSerializer, **READ_ERRORS}
    ),
    search=search_schema(
        "查询贷款申请（条件在请求体中）", s.ApplicationOutputSerializer, LIST_ERRORS
    ),
)
class ApplicationViewSet(
    BodySearchMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Applications: a bank sees its own (recommended to it, referred or applied online)."""

    serializer_class = s.ApplicationOutputSerializer
    filterset_class = ApplicationFilter

    def get_queryset(self):
        if self.action in ("list", "retrieve", "search"):  # the output's columns only
            return application_rows(self.request.user)
        return application_list(self.request.user)

    def get_permissions(self):
        if self.action in ("create", "decision", "consent_request"):
            return [IsPortalUser(), IsBankOfficer()]
        if self.action == "consent":
            return [IsPortalUser(), IsUnionStaff()]
        return [IsPortalUser()]

    def _render(self, application, code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=application.pk)
        return Response(s.ApplicationOutputSerializer(fresh).data, status=code)

    @extend_schema(
        summary="银行推荐或银行线上审核的申请",
        request=s.ApplicationCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: s.ApplicationOutputSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def create(self, request):
        data = _validated(s.ApplicationCreateSerializer, request)
        user = request.user
        with transaction.atomic():
            try:
                applicant = application_services.upsert_applicant(
                    user=user, data=application_services.ApplicantData(**data["applicant"])
                )
            except DomainError as error:
                raise _prefixed(error, "applicant") from None
            try:
                enterprise = application_services.upsert_enterprise(
                    user=user, data=application_services.EnterpriseData(**data["enterprise"])
                )
            except DomainError as error:
                raise _prefixed(error, "enterprise") from None
            application = application_services.create_application(
                user=user,
                program=data["program"],
                unit=data["unit"],
                applicant=applicant,
                enterprise=enterprise,
                channel=data["channel"],
                amount=data["amount"],
                applied_on=data["applied_on"],
                term_months=data["term_months"],
                purpose=data["purpose"],
                purpose_other=data["purpose_other"],
                bank=user.profile.bank,
            )
        return self._render(application, status.HTTP_201_CREATED)

    @extend_schema(
        summary="银行审批（通过或不予贷款）",
        request=s.DecisionSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: s.ApplicationOutputSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def decision(self, request, pk=None):
        application = self.get_object()
        data = _validated(s.DecisionSerializer, request)
        if data["decision"] == "approved":
            application = application_services.approve_application(
                application=application,
                user=request.user,
                amount=data["amount"],
                annual_rate=data["annual_rate"],
                loan_type=data["loan_type"],
                review_channel=data["review_channel"],
                opinion=data["opinion"],
            )
        else:
            application = application_services.decline_application(
                application=application, user=request.user, reason=data["reason"]
            )
        return self._render(application)

    @extend_schema(
        summary="银行线上审核：申请工会同意贴息",
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: s.ApplicationOutputSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="consent-request")
    @idempotent
    def consent_request(self, request, pk=None):
        application = application_services.request_consent(
            application=self.get_object(), user=request.user
        )
        return self._render(application)

    @extend_schema(
        summary="工会同意或不同意贴息（工会经办人）",
        request=s.ConsentSerializer,
        responses={200: s.ApplicationOutputSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def consent(self, request, pk=None):
        application = self.get_object()
        data = _validated(s.ConsentSerializer, request)
        if data["consent"]:
            application = application_services.give_consent(
                application=application, user=request.user, opinion=data["opinion"]
            )
        else:
            application = application_services.refuse_consent(
                application=application, user=request.user, reason=data["reason"]
            )
        return self._render(application)


@extend_schema_view(
    list=extend_schema(summary="贷款列表", responses={200: s.LoanOutputSerializer, **LIST_ERRORS}),
    retrieve=extend_schema(summary="贷款", responses={200: s.LoanOutputSerializer, **READ_ERRORS}),
    search=search_schema("查询贷款（条件在请求体中）", s.LoanOutputSerializer, LIST_ERRORS),
)
class LoanViewSet(
    BodySearchMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Disbursed loans; a disbursement creates one."""

    serializer_class = s.LoanOutputSerializer
    filterset_class = LoanFilter

    def get_queryset(self):
        if self.action in ("list", "retrieve", "search"):  # the output shows related rows by id
            return loan_rows(self.request.user)
        return loan_list(self.request.user)

    def get_permissions(self):
        if self.action in ("create", "repayment", "renewal"):
            return [IsPortalUser(), IsBankOfficer()]
        return [IsPortalUser()]

    def _approved_application(self, pk: int):
        application = application_list(self.request.user).filter(pk=pk).first()
        if application is None:
            message = "申请不存在或不在您的管辖范围内"
            raise DomainError("not_found", message, field_errors={"application": [message]})
        return application

    def _render(self, loan, code=status.HTTP_201_CREATED) -> Response:
        fresh = self.get_queryset().get(pk=loan.pk)
        return Response(s.LoanOutputSerializer(fresh).data, status=code)

    @extend_schema(
        summary="放款（为银行已审批的申请登记贷款）",
        request=s.DisbursementSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: s.LoanOutputSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def create(self, request):
        data = dict(_validated(s.DisbursementSerializer, request))
        application = self._approved_application(data.pop("application"))
        loan = loan_services.disburse_loan(application=application, user=request.user, **data)
        return self._render(loan)

    @extend_schema(
        summary="登记还款",
        request=s.RepaymentInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: s.RepaymentOutputSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def repayment(self, request, pk=None):
        loan = self.get_object()
        data = _validated(s.RepaymentInputSerializer, request)
        repayment = loan_services.record_repayment(loan=loan, user=request.user, **data)
        return Response(s.RepaymentOutputSerializer(repayment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="续贷（以新的已审批申请发放新贷款，原贷款结为已续贷）",
        request=s.RenewalSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: s.LoanOutputSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def renewal(self, request, pk=None):
        loan = self.get_object()
        data = dict(_validated(s.RenewalSerializer, request))
        application = self._approved_application(data.pop("application"))
        renewal = loan_services.renew_loan(
            loan=loan, application=application, user=request.user, **data
        )
        return self._render(renewal)

    @extend_schema(
        summary="贷后跟踪记录",
        responses={
            200: OpenApiResponse(s.FollowUpSerializer(many=True), description="按季度排列"),
            **READ_ERRORS,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="follow-ups",
        filterset_class=None,
        pagination_class=None,
    )
    def follow_ups(self, request, pk=None):
        loan = self.get_object()
        rows = loan.follow_ups.order_by("year", "quarter")
        return Response(s.FollowUpSerializer(rows, many=True).data)
