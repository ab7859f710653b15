"""Django admin of the loan domain (贷款项目、单位、银行、申请人、企业、申请、贷款).

The admin configures (programs, units, banks) and corrects master data (applicants,
enterprises); operational records (applications and their opinions, checks and timeline,
loans, repayments, follow-ups) are read-only here, since only the services apply their
workflow and rules. Every changelist names the foreign keys it renders in
``list_select_related`` and its display methods read only those joined rows, so a page
costs the same number of queries whatever the number of rows. Personal numbers
(身份证号、手机号码) are masked in lists.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from import_export.admin import ImportExportMixin

from accounts.admin_scoping import ReadOnlyAdminMixin, ScopedModelAdmin
from accounts.choices import Role
from accounts.permissions import int_id
from accounts.scoping import role_of
from gonghui.errors import DomainError
from loans.choices import LoanType
from loans.filters import ID_HASH_PARAM, by_id_hash, hide_resident_id
from loans.models import (
    Applicant,
    Application,
    ApplicationEvent,
    Bank,
    EligibilityCheck,
    Enterprise,
    FollowUp,
    Loan,
    Opinion,
    PersonalDataAccess,
    Program,
    Repayment,
    Unit,
)
from loans.resources import ApplicantResource, LoanResource
from loans.services.identity import (
    mask_mobile,
    validate_credit_code,
    validate_mobile,
    validate_resident_id,
)
from loans.services.imports import SafeXLSX
from loans.services.privacy import record_access
from loans.views.search import see_other

# The admin forms below carry no Meta: ModelAdmin.get_form() supplies the model and the
# fields (those of the fieldsets, minus the read-only ones).


class ValidatedImportExportMixin(ImportExportMixin):
    """Export (.xlsx) through the portal's Resources; import through the portal's jobs.

    The admin's 导入 button leads to the portal's 批量导入 page (``portal_import`` names
    the kind), where a Celery task reads and checks the file with row and time limits and
    the Resources validate every row with the services' own functions: the admin parses no
    workbook in its request and is no back door around the rules. City staff only.
    """

    export_formats = [SafeXLSX]
    portal_import = ""  # key of loans.services.import_jobs.RESOURCES

    def has_import_permission(self, request):
        return role_of(request.user) == Role.CITY_STAFF

    def has_export_permission(self, request):
        return role_of(request.user) == Role.CITY_STAFF

    def import_action(self, request, *args, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        return redirect(f"{reverse('loans:import')}?resource={self.portal_import}")

    process_import = import_action

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs), "user": request.user}


class _ValidatedFieldsForm(forms.ModelForm):
    """A model form that runs identity validators on some fields (normalising them)."""

    validators_by_field: dict = {}

    def _clean_with(self, field: str):
        value = self.cleaned_data.get(field)
        if value in (None, ""):
            return value
        try:
            return self.validators_by_field[field](value, field=field)
        except DomainError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc


# --- program, units, banks ------------------------------------------------------------------


class ProgramAdminForm(forms.ModelForm):
    """Loan-type lists as check boxes instead of raw JSON."""

    interest_loan_types = forms.MultipleChoiceField(
        label=Program._meta.get_field("interest_loan_types").verbose_name,
        choices=LoanType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    premium_loan_types = forms.MultipleChoiceField(
        label=Program._meta.get_field("premium_loan_types").verbose_name,
        choices=LoanType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


@admin.register(Program)
class ProgramAdmin(ScopedModelAdmin):
    form = ProgramAdminForm
    list_display = (
        "code",
        "name",
        "city",
        "year",
        "target_amount",
        "rate_cap_online",
        "rate_cap_offline",
        "is_active",
    )
    list_display_links = ("code", "name")
    list_filter = ("year", "city", "is_active")
    search_fields = ("code", "name")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (
            "基本信息",
            {
                "fields": (
                    "code",
                    "name",
                    "city",
                    "year",
                    "is_active",
                    "target_amount",
                    "term_months",
                )
            },
        ),
        ("利率上限", {"fields": ("rate_cap_online", "rate_cap_offline")}),
        (
            "贷款限额",
            {"fields": ("limit_general", "limit_model_worker", "limit_epidemic_relative")},
        ),
        (
            "资格条件",
            {
                "fields": (
                    "require_union_membership",
                    "max_enterprise_age_years",
                    "min_jobs",
                    "excluded_industries",
                )
            },
        ),
        (
            "贴息与保费",
            {
                "fields": (
                    "interest_share",
                    "interest_loan_types",
                    "premium_rate",
                    "premium_share",
                    "premium_loan_types",
                )
            },
        ),
        (
            "补助分配",
            {"fields": ("allocation_pool", "provincial_amount", "floor_ratio", "cap_ratio")},
        ),
        (
            "阶段期限",
            {
                "fields": (
                    "mobilise_deadline",
                    "recommend_deadline",
                    "disburse_deadline",
                    "max_days_per_stage",
                ),
                "description": "截止日留空时按通知默认日期（当年5月30日、6月30日、7月30日）填入。",
            },
        ),
        ("记录信息", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )


@admin.register(Unit)
class UnitAdmin(ScopedModelAdmin):
    list_display = ("code", "name", "city", "kind", "sort_order")
    list_display_links = ("code", "name")
    list_filter = ("city", "kind")
    search_fields = ("code", "name")


@admin.register(Bank)
class BankAdmin(ScopedModelAdmin):
    list_display = ("code", "name", "short_name", "offers_online_review", "offers_offline_review")
    list_display_links = ("code", "name")
    list_filter = ("offers_online_review", "offers_offline_review")
    search_fields = ("code", "name", "short_name")


# --- applicants and enterprises ----------------------------------------------------------------


class ApplicantAdminForm(_ValidatedFieldsForm):
    validators_by_field = {"id_number": validate_resident_id, "mobile": validate_mobile}

    # Wider than the stored 11 digits so "+86 138-0000-1111" reaches validate_mobile,
    # which strips the country code and separators.
    mobile = forms.CharField(label=Applicant._meta.get_field("mobile").verbose_name, max_length=20)

    def clean_id_number(self):
        value = self._clean_with("id_number")
        # Uniqueness lives on the keyed hash now (the ID is encrypted), so check it here.
        if value and Applicant.objects.by_resident_id(value).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("该身份证号已登记，请勿重复添加", code="unique")
        return value

    def clean_mobile(self):
        return self._clean_with("mobile")


class ResidentIdHashFilter(admin.SimpleListFilter):
    """``idh=<keyed hash>``: the whole ID searched for, as the portal lists carry it.

    Shown in the sidebar only while active (its one choice and "全部" to drop it)."""

    title = "身份证号"
    parameter_name = ID_HASH_PARAM

    def lookups(self, request, model_admin):
        return [(self.value(), "按输入的完整身份证号")] if self.value() else []

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return by_id_hash(queryset, self.value(), field="id_number_hash")


@admin.register(Applicant)
class ApplicantAdmin(ValidatedImportExportMixin, ScopedModelAdmin):
    resource_classes = [ApplicantResource]
    portal_import = "applicants"

    form = ApplicantAdminForm
    list_display = (
        "name",
        "masked_id",
        "masked_mobile",
        "founder_class",
        "is_model_worker",
        "is_epidemic_relative",
        "is_union_member",
    )
    list_filter = (
        ResidentIdHashFilter,
        "founder_class",
        "is_model_worker",
        "is_epidemic_relative",
        "is_union_member",
    )
    # An ID number is found only when typed in full (by its keyed hash), never by a fragment;
    # changelist_view swaps it for its hash before it stays in a URL.
    search_fields = ("name",)
    search_help_text = "按姓名搜索，或输入完整的18位身份证号"
    readonly_fields = ("created_at", "updated_at")

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            id_number = validate_resident_id(search_term)
        except DomainError:
            return results, may_have_duplicates
        return results | queryset.by_resident_id(id_number), may_have_duplicates

    def changelist_view(self, request, extra_context=None):
        """A whole ID in the search box (the admin searches by GET) is answered with a 303 to
        the same list with ``idh=<keyed hash>`` instead, so the ID stays in no link, bookmark
        or browser history entry of the result (loans/views/search.py explains the lists')."""
        hidden = hide_resident_id(request.GET)
        if hidden is not None:
            return see_other(request, hidden)
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The change form shows the ID and mobile in full: record each GET of it."""
        response = super().change_view(request, object_id, form_url, extra_context)
        applicant = Applicant.objects.filter(pk=int_id(object_id)).first()
        if request.method == "GET" and response.status_code == 200 and applicant is not None:
            record_access(
                user=request.user, purpose=PersonalDataAccess.Purpose.ADMIN, applicant=applicant
            )
        return response

    @admin.display(description="身份证号")
    def masked_id(self, obj: Applicant) -> str:
        return obj.masked_id_number

    @admin.display(description="手机号码")
    def masked_mobile(self, obj: Applicant) -> str:
        return mask_mobile(obj.mobile)


class EnterpriseAdminForm(_ValidatedFieldsForm):
    validators_by_field = {"credit_code": validate_credit_code}

    def clean_credit_code(self):
        return self._clean_with("credit_code")


@admin.register(Enterprise)
class EnterpriseAdmin(ScopedModelAdmin):
    form = EnterpriseAdminForm
    list_display = (
        "name",
        "credit_code",
        "legal_representative",
        "employees",
        "licence_date",
        "industry_section",
        "is_emerging",
    )
    list_filter = ("industry_section", "is_emerging")
    search_fields = ("name", "=credit_code")
    search_help_text = "按企业名称搜索，或输入完整的统一社会信用代码"
    readonly_fields = ("created_at", "updated_at")


# --- applications (read-only: the workflow services write them) ------------------------------


class OpinionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Opinion
    fields = ("kind", "text", "author", "written_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


class EligibilityCheckInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The stored pre-loan checks, as the reviewer saw them."""

    model = EligibilityCheck
    fields = (
        "rule",
        "passed",
        "reason",
        "override_reason",
        "overridden_by",
        "overridden_at",
        "checked_at",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("overridden_by")


class ApplicationEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The application's timeline."""

    model = ApplicationEvent
    fields = ("created_at", "action", "from_status", "to_status", "actor", "note")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    list_display = (
        "reference",
        "applicant_name",
        "unit",
        "program",
        "bank",
        "channel",
        "status",
        "amount",
        "applied_on",
    )
    list_select_related = ("applicant", "unit", "program", "bank")
    list_filter = ("program", "unit", "status", "channel", "bank")
    search_fields = ("reference", "applicant__name", "enterprise__name")
    search_help_text = "按申请编号、申请人姓名或企业名称搜索"
    date_hierarchy = "applied_on"
    inlines = (OpinionInline, EligibilityCheckInline, ApplicationEventInline)
    fieldsets = (
        (
            "申请信息",
            {
                "fields": (
                    "reference",
                    "program",
                    "unit",
                    "applicant",
                    "enterprise",
                    "bank",
                    "channel",
                    "status",
                    "borrower_class",
                    "amount",
                    "term_months",
                    "purpose",
                    "purpose_other",
                    "applied_on",
                )
            },
        ),
        (
            "银行审批",
            {
                "fields": (
                    "review_channel",
                    "approved_amount",
                    "approved_rate",
                    "loan_type",
                    "decision_reason",
                    "decided_at",
                )
            },
        ),
        ("工会同意贴息", {"fields": ("consent_subsidy_amount", "consented_at")}),
        (
            "记录信息",
            {
                "fields": ("status_changed_at", "created_by", "created_at", "updated_at"),
                "classes": ("collapse",),
            },
        ),
    )

    @admin.display(description="申请人", ordering="applicant__name")
    def applicant_name(self, obj: Application) -> str:
        return obj.applicant.name


@admin.register(Opinion)
class OpinionAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    list_display = ("application", "kind", "text_excerpt", "author", "written_at")
    list_select_related = ("application__applicant", "author")
    list_filter = ("kind",)
    search_fields = ("application__reference", "application__applicant__name", "text")

    @admin.display(description="意见摘要")
    def text_excerpt(self, obj: Opinion) -> str:
        return obj.text if len(obj.text) <= 30 else f"{obj.text[:30]}…"


@admin.register(EligibilityCheck)
class EligibilityCheckAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    list_display = (
        "application",
        "rule",
        "passed",
        "reason",
        "has_override",
        "overridden_by",
        "checked_at",
    )
    list_select_related = ("application__applicant", "overridden_by")
    list_filter = ("rule", "passed")
    search_fields = ("application__reference", "application__applicant__name")

    @admin.display(description="例外通过", boolean=True)
    def has_override(self, obj: EligibilityCheck) -> bool:
        return bool(obj.override_reason)


@admin.register(ApplicationEvent)
class ApplicationEventAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    list_display = ("created_at", "application", "action", "from_status", "to_status", "actor")
    list_select_related = ("application__applicant", "actor")
    list_filter = ("action", "to_status")
    search_fields = ("application__reference", "application__applicant__name", "action")
    date_hierarchy = "created_at"


# --- loans (read-only: the loan services write them) -----------------------------------------


class RepaymentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Repayment
    fields = ("repaid_on", "principal_amount", "interest_amount", "note", "created_by")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")


class FollowUpInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = FollowUp
    fields = (
        "year",
        "quarter",
        "visited_on",
        "operating_status",
        "jobs",
        "insured_employees",
        "note",
        "recorded_by",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")


@admin.register(Loan)
class LoanAdmin(ValidatedImportExportMixin, ReadOnlyAdminMixin, ScopedModelAdmin):
    resource_classes = [LoanResource]
    portal_import = "loans"

    list_display = (
        "contract_number",
        "applicant_name",
        "unit",
        "bank",
        "program",
        "principal",
        "subsidised_principal",
        "leveraged_amount",
        "annual_rate",
        "loan_type",
        "review_channel",
        "disbursed_on",
        "maturity_on",
        "status",
        "is_renewal",
    )
    list_select_related = ("application__applicant", "unit", "bank", "program")
    list_filter = ("program", "unit", "bank", "status", "loan_type", "review_channel")
    search_fields = ("contract_number", "application__applicant__name")
    search_help_text = "按合同编号或申请人姓名搜索"
    date_hierarchy = "disbursed_on"
    inlines = (RepaymentInline, FollowUpInline)
    fieldsets = (
        (
            "贷款信息",
            {
                "fields": (
                    "application",
                    "program",
                    "unit",
                    "bank",
                    "contract_number",
                    "principal",
                    "subsidised_principal",
                    "leveraged_amount",
                    "annual_rate",
                    "review_channel",
                    "loan_type",
                    "disbursed_on",
                    "maturity_on",
                    "renewal_of",
                )
            },
        ),
        ("带动效果", {"fields": ("jobs_created", "new_union_members")}),
        ("结清情况", {"fields": ("status", "settled_on")}),
        (
            "记录信息",
            {"fields": ("created_by", "created_at", "updated_at"), "classes": ("collapse",)},
        ),
    )

    @admin.display(description="申请人", ordering="application__applicant__name")
    def applicant_name(self, obj: Loan) -> str:
        return obj.application.applicant.name

    @admin.display(description="续贷", boolean=True, ordering="renewal_of")
    def is_renewal(self, obj: Loan) -> bool:
        return obj.is_renewal


@admin.register(Repayment)
class RepaymentAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    list_display = (
        "loan",
        "applicant_name",
        "repaid_on",
        "principal_amount",
        "interest_amount",
        "created_by",
    )
    list_select_related = ("loan__application__applicant", "created_by")
    list_filter = ("loan__program", "loan__bank")
    search_fields = ("loan__contract_number", "loan__application__applicant__name")
    date_hierarchy = "repaid_on"

    @admin.display(description="申请人", ordering="loan__application__applicant__name")
    def applicant_name(self, obj: Repayment) -> str:
        return obj.loan.application.applicant.name


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    list_display = (
        "loan",
        "applicant_name",
        "year",
        "quarter",
        "visited_on",
        "operating_status",
        "jobs",
        "insured_employees",
        "recorded_by",
    )
    list_select_related = ("loan__application__applicant", "recorded_by")
    list_filter = ("year", "quarter", "operating_status", "loan__program")
    search_fields = ("loan__contract_number", "loan__application__applicant__name")

    @admin.display(description="申请人", ordering="loan__application__applicant__name")
    def applicant_name(self, obj: FollowUp) -> str:
        return obj.loan.application.applicant.name
