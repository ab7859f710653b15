"""Portal pages of applications: list with filters, search, sorting and batch actions."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import FormView, TemplateView, View

from accounts.audit import application_timeline
from accounts.choices import Role
from accounts.permissions import (
    UNION_STAFF,
    PortalView,
    int_id,
    int_ids,
    safe_next,
    scoped_get_or_404,
)
from accounts.scoping import in_scope, restrict
from gonghui.errors import DomainError
from loans.choices import ApplicationChannel, OpinionKind
from loans.filters import SORTS, ApplicationFilter
from loans.forms import ApplicationIntakeForm
from loans.models import Applicant, Bank, Enterprise, PersonalDataAccess, Unit
from loans.models.webhooks import ApiAuditEntry
from loans.selectors import application_detail, application_list, application_rows, only_overdue
from loans.services.applications import (
    OPEN_STATUSES,
    OPINION_ROLES,
    ApplicantData,
    EnterpriseData,
    approve_application_by_union,
    create_application,
    give_consent,
    recommend_application,
    record_opinion,
    refuse_consent,
    reject_application,
    return_application,
    submit_application,
    upsert_applicant,
    upsert_enterprise,
)
from loans.services.eligibility import REVIEW_STATUSES, override_check
from loans.services.identity import validate_credit_code, validate_resident_id
from loans.services.privacy import record_access
from loans.services.workflow import available_actions
from loans.views.search import ResidentIdSearchMixin

PAGE_SIZES = (20, 50, 100)


def paginate(request, queryset, *, default: int = 20):
    """The requested page of a queryset and the page size in force."""
    try:
        size = int(request.GET.get("page_size", default))
    except ValueError:
        size = default
    size = size if size in PAGE_SIZES else default
    page = Paginator(queryset, size).get_page(request.GET.get("page"))
    return page, size


class ApplicationListView(PortalView, ResidentIdSearchMixin, TemplateView):
    template_name = "loans/application_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        base = application_rows(user, joins=("unit", "bank"))
        if self.request.GET.get("overdue"):
            base = only_overdue(base)
        filterset = ApplicationFilter(self.request.GET, queryset=base)
        filterset.form.fields["unit"].queryset = restrict(Unit.objects.all(), user)
        queryset = filterset.qs
        sort = self.request.GET.get("sort", "-applied_on")
        queryset = queryset.order_by(SORTS.get(sort, "-applied_on"), "-id")
        page, size = paginate(self.request, queryset)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            page_title="贷款申请",
            filter=filterset,
            page=page,
            page_size=size,
            page_sizes=PAGE_SIZES,
            sort=sort,
            query=query.urlencode(),
            can_batch=self.role in UNION_STAFF,
            # The bank filter's rows: the batch form's select reuses them, no second query.
            banks=filterset.form.fields["bank"].queryset,
        )
        return context


BATCH_ACTIONS = {
    "recommend": "推荐至银行",
    "return": "退回修改",
    "approve": "审核通过",
}


class ApplicationBatchView(PortalView, View):
    """Recommend, return or approve several applications; each is checked on its own."""

    allowed_roles = UNION_STAFF
    http_method_names = ["post"]

    def post(self, request):
        action = request.POST.get("action")
        ids = int_ids(request.POST.getlist("ids"))
        if action not in BATCH_ACTIONS or not ids:
            messages.error(request, "请选择申请和批量操作")
            return redirect("loans:application-list")
        bank = Bank.objects.filter(pk=int_id(request.POST.get("bank"))).first()
        note = request.POST.get("note", "")
        results = []
        for application in application_list(request.user).filter(pk__in=ids):
            try:
                if action == "recommend":
                    recommend_application(application=application, user=request.user, bank=bank)
                elif action == "return":
                    return_application(application=application, user=request.user, reason=note)
                else:
                    approve_application_by_union(application=application, user=request.user)
                results.append((application.reference, True, "成功"))
            except DomainError as error:
                results.append((application.reference, False, error.message))
        if not results:
            messages.error(request, "所选申请不存在或不在您的管辖范围内")
            return redirect(safe_next(request, reverse("loans:application-list")))
        done = sum(1 for _, ok, _ in results if ok)
        level = messages.SUCCESS if done == len(results) else messages.WARNING
        messages.add_message(
            request,
            level,
            f"批量{BATCH_ACTIONS[action]}：成功{done}件，失败{len(results) - done}件",
        )
        for reference, ok, text in results:
            if not ok:
                messages.error(request, f"{reference}：{text}")
        return redirect(safe_next(request, reverse("loans:application-list")))


# --- detail and actions -----------------------------------------------------------------

AUDIT_READERS = frozenset({*UNION_STAFF, Role.MANAGER})

# Roles that see resident IDs and mobiles in full on the detail page (the union reviewers).
UNMASKED_ROLES = UNION_STAFF


class ApplicationDetailView(PortalView, TemplateView):
    template_name = "loans/application_detail.html"
    access_purpose = PersonalDataAccess.Purpose.DETAIL

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        application = scoped_get_or_404(application_detail(user), user, pk=self.kwargs["pk"])
        actions = {t.action for t in available_actions(application, user)}
        opinions = {o.kind: o for o in application.opinions.all()}
        context.update(
            page_title=f"申请 {application.reference}",
            application=application,
            applicant=application.applicant,
            enterprise=application.enterprise,
            show_identity=self._show_identity(application),
            checks=list(application.checks.all()),
            opinion_rows=[(kind, label, opinions.get(kind)) for kind, label in OpinionKind.choices],
            events=list(application.events.all()),
            loans=list(application.loans.all()),
            actions=actions,
            can_override=self.role in UNION_STAFF and application.status in REVIEW_STATUSES,
            can_write_opinion=application.status in OPEN_STATUSES,
            opinion_kinds=[
                (kind, label)
                for kind, label in OpinionKind.choices
                if self.role in OPINION_ROLES[kind]
            ],
            banks=Bank.objects.all(),
            audit_entries=self._audit_entries(application),
            history=application_timeline(application),
        )
        return context

    def _show_identity(self, application) -> bool:
        """Whether this role sees the ID and mobile in full; each such view is recorded."""
        if self.role not in UNMASKED_ROLES:
            return False
        record_access(
            user=self.request.user, purpose=self.access_purpose, applicant=application.applicant
        )
        return True

    def _audit_entries(self, application):
        """The bank API writes on this application and its loans (union staff and managers)."""
        if self.role not in AUDIT_READERS:
            return []
        loan_ids = [loan.pk for loan in application.loans.all()]
        return list(
            ApiAuditEntry.objects.filter(
                Q(object_type="application", object_id=application.pk)
                | Q(object_type="loan", object_id__in=loan_ids)
            ).select_related("user", "bank")[:100]
        )


class ApplicationPrintView(ApplicationDetailView):
    """附件2 laid out for printing, one page per application."""

    template_name = "loans/application_print.html"
    access_purpose = PersonalDataAccess.Purpose.PRINT


def _run_action(action: str, application, user, post) -> str:
    """Call the service behind a detail-page button; returns the success message."""
    if action == "submit":
        opinion = post.get("opinion", "")
        approve_application_by_union(application=application, user=user, opinion=opinion)
        return "已提交审核"
    if action == "recommend":
        bank = Bank.objects.filter(pk=int_id(post.get("bank"))).first()
        recommend_application(
            application=application, user=user, bank=bank, opinion=post.get("opinion", "")
        )
        return "已推荐至银行"
    if action == "return":
        return_application(application=application, user=user, reason=post.get("reason", ""))
        return "已退回修改"
    if action == "reject":
        reject_application(application=application, user=user, reason=post.get("reason", ""))
        return "已作不予推荐处理"
    if action == "consent":
        give_consent(application=application, user=user, opinion=post.get("opinion", ""))
        return "已同意贴息"
    if action == "refuse_consent":
        refuse_consent(application=application, user=user, reason=post.get("reason", ""))
        return "已不同意贴息"
    if action == "override":
        override_check(
            application=application,
            rule=post.get("rule", ""),
            reason=post.get("reason", ""),
            user=user,
        )
        return "已记录例外通过理由"
    if action == "opinion":
        record_opinion(
            application=application, user=user, kind=post.get("kind", ""), text=post.get("text", "")
        )
        return "审核意见已保存"
    raise Http404


class ApplicationActionView(PortalView, View):
    """The buttons of the detail page; each calls one service, which checks role and scope."""

    http_method_names = ["post"]

    def post(self, request, pk, action):
        application = scoped_get_or_404(application_list(request.user), request.user, pk=pk)
        try:
            messages.success(request, _run_action(action, application, request.user, request.POST))
        except DomainError as error:
            messages.error(request, error.message)
            for field_messages in error.field_errors.values():
                for text in field_messages:
                    if text != error.message:
                        messages.error(request, text)
        return redirect("loans:application-detail", pk=pk)


# --- intake -------------------------------------------------------------------------------


class _Rollback(Exception):
    pass


class ApplicationCreateView(PortalView, FormView):
    """附件2 intake by union staff: nothing is saved unless every field is right."""

    allowed_roles = UNION_STAFF
    template_name = "loans/application_form.html"
    form_class = ApplicationIntakeForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["units"] = restrict(Unit.objects.all(), self.request.user)
        return kwargs

    def get_initial(self):
        return {"applied_on": timezone.localdate().isoformat(), "term_months": "12"}

    def form_valid(self, form):
        data = form.cleaned_data
        user = self.request.user
        try:
            with transaction.atomic():
                application = self._take_in(form, data, user)
                if form.errors:
                    raise _Rollback
        except _Rollback:
            return self.form_invalid(form)
        messages.success(self.request, f"申请 {application.reference} 已保存")
        return redirect("loans:application-detail", pk=application.pk)

    def _take_in(self, form, data, user):
        """Applicant, enterprise and application in one transaction; errors go on the form."""
        parts = {}
        for section, call in (
            ("applicant", lambda: upsert_applicant(user=user, data=_applicant_data(data))),
            ("enterprise", lambda: upsert_enterprise(user=user, data=_enterprise_data(data))),
        ):
            try:
                parts[section] = call()
            except DomainError as error:
                form.add_service_errors(
                    error.field_errors or {None: [error.message]}, section=section
                )
        if form.errors:
            return None
        try:
            application = create_application(
                user=user,
                program=data["program"],
                unit=data["unit"],
                applicant=parts["applicant"],
                enterprise=parts["enterprise"],
                channel=ApplicationChannel.UNION_REFERRAL,
                amount=data["amount"],
                applied_on=data["applied_on"],
                term_months=data["term_months"],
                purpose=data["purpose"],
                purpose_other=data["purpose_other"],
            )
            if data["recommender_opinion"].strip():
                record_opinion(
                    application=application,
                    user=user,
                    kind=OpinionKind.RECOMMENDER,
                    text=data["recommender_opinion"],
                )
            if data["submit_now"]:
                submit_application(application=application, user=user)
            return application
        except DomainError as error:
            form.add_service_errors(error.field_errors or {None: [error.message]})
            return None


def _applicant_data(data) -> ApplicantData:
    return ApplicantData(
        name=data["name"],
        id_number=data["id_number"],
        mobile=data["mobile"],
        hukou=data["hukou"],
        address=data["address"],
        is_model_worker=data["is_model_worker"],
        is_epidemic_relative=data["is_epidemic_relative"],
        founder_class=data["founder_class"],
        is_union_member=data["is_union_member"],
        union_name=data["union_name"],
        resume=data["resume"],
    )


def _enterprise_data(data) -> EnterpriseData:
    return EnterpriseData(
        name=data["enterprise_name"],
        credit_code=data["credit_code"],
        legal_representative=data["legal_representative"],
        licence_date=data["licence_date"],
        industry_section=data["industry_section"],
        employees=data["employees"],
        address=data["enterprise_address"],
        industry_code=data["industry_code"],
        is_emerging=data["is_emerging"],
        annual_output=data["annual_output"] or "0",
        situation=data["situation"],
    )


class IntakeLookupView(PortalView, View):
    """Finds an existing applicant (by resident ID) or enterprise (by credit code) so the
    intake form can reuse it; only rows the clerk may see are returned.

    POST, not GET: a resident ID in the query string would end up in access logs.
    """

    allowed_roles = UNION_STAFF
    http_method_names = ["post", "options"]

    def post(self, request):
        id_number = request.POST.get("id_number")
        credit_code = request.POST.get("credit_code")
        try:
            if id_number is not None:
                key = validate_resident_id(id_number)
                row = Applicant.objects.by_resident_id(key).first()
                fields = APPLICANT_PREFILL
            else:
                key = validate_credit_code(credit_code or "")
                row = Enterprise.objects.filter(credit_code=key).first()
                fields = ENTERPRISE_PREFILL
        except DomainError as error:
            return JsonResponse({"found": False, "error": error.message})
        if row is None:
            return JsonResponse({"found": False})
        visible = (
            self.role == Role.CITY_STAFF
            or not row.applications.exists()
            or in_scope(request.user, row)
        )
        if not visible:
            return JsonResponse(
                {"found": True, "visible": False, "message": "该记录已由其他单位登记"}
            )
        values = {form_field: _plain(getattr(row, attr)) for form_field, attr in fields.items()}
        if isinstance(row, Applicant):  # the mobile number goes back in full
            record_access(
                user=request.user,
                purpose=PersonalDataAccess.Purpose.INTAKE,
                applicant=row,
                fields="mobile",
            )
        return JsonResponse({"found": True, "visible": True, "values": values})


APPLICANT_PREFILL = {
    "name": "name",
    "hukou": "hukou",
    "address": "address",
    "mobile": "mobile",
    "is_model_worker": "is_model_worker",
    "is_epidemic_relative": "is_epidemic_relative",
    "founder_class": "founder_class",
    "is_union_member": "is_union_member",
    "union_name": "union_name",
    "resume": "resume",
}
ENTERPRISE_PREFILL = {
    "enterprise_name": "name",
    "legal_representative": "legal_representative",
    "enterprise_address": "address",
    "employees": "employees",
    "licence_date": "licence_date",
    "industry_section": "industry_section",
    "industry_code": "industry_code",
    "is_emerging": "is_emerging",
    "annual_output": "annual_output",
    "situation": "situation",
}


def _plain(value):
    if isinstance(value, bool | int) or value is None:
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
