"""Django admin of the loan domain (贷款项目、单位、银行、申请人、企业、申请、贷款).

Every changelist names the foreign keys it renders in ``list_select_related`` and its
display methods read only those joined rows, so a page costs the same number of queries
whatever the number of rows. Personal numbers (身份证号、手机号码) are masked in lists.
Values that services compute (the application status, the loan's principal split) are
read-only here: the admin calls the same rules instead of letting staff type them.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin

from accounts.admin_scoping import ScopedModelAdmin
from gonghui.errors import DomainError
from loans.choices import LoanType
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
    Program,
    Repayment,
    Unit,
)
from loans.services.identity import validate_credit_code, validate_mobile, validate_resident_id
from loans.services.rules import check_maturity, check_rate_within_cap, split_principal


def mask_mobile(mobile: str) -> str:
    """First 3 and last 4 digits of a mobile number with ``****`` between (138****5678)."""
    text = (mobile or "").strip()
    if len(text) >= 8:
        return f"{text[:3]}****{text[-4:]}"
    # Too short to be a real number: keep only the last 4 characters, like mask_resident_id.
    return "*" * max(len(text) - 4, 0) + text[-4:]


def add_domain_error(form: forms.BaseForm, exc: DomainError) -> None:
    """Attach a :class:`DomainError` to *form*: field messages where the field exists."""
    attached = False
    for field, messages in exc.field_errors.items():
        if field in form.fields:
            for message in messages:
                form.add_error(field, message)
            attached = True
    if not attached:
        form.add_error(None, exc.message)


# The admin forms below carry no Meta: ModelAdmin.get_form() supplies the model and the
# fields (those of the fieldsets, minus the read-only ones).


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
        return self._clean_with("id_number")

    def clean_mobile(self):
        return self._clean_with("mobile")


@admin.register(Applicant)
class ApplicantAdmin(ScopedModelAdmin):
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
    list_filter = ("founder_class", "is_model_worker", "is_epidemic_relative", "is_union_member")
    # An ID number is found only when typed in full, never by a fragment.
    search_fields = ("name", "=id_number")
    search_help_text = "按姓名搜索，或输入完整的18位身份证号"
    readonly_fields = ("created_at", "updated_at")

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


# --- applications ------------------------------------------------------------------------------


class OpinionInline(admin.TabularInline):
    model = Opinion
    extra = 0
    fields = ("kind", "text", "author", "created_at")
    readonly_fields = ("author", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


class EligibilityCheckInline(admin.TabularInline):
    """The stored pre-loan checks, as the reviewer saw them: view only."""

    model = EligibilityCheck
    extra = 0
    can_delete = False
    fields = (
        "rule",
        "passed",
        "reason",
        "override_reason",
        "overridden_by",
        "overridden_at",
        "checked_at",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("overridden_by")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ApplicationEventInline(admin.TabularInline):
    """The application's timeline: written by the workflow only."""

    model = ApplicationEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "action", "from_status", "to_status", "actor", "note")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(ScopedModelAdmin):
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
    autocomplete_fields = ("applicant", "enterprise")
    # The status moves only through the workflow service, never by editing the row.
    readonly_fields = ("status", "status_changed_at", "created_by", "created_at", "updated_at")
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

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for instance in instances:
            if isinstance(instance, Opinion):
                # The one who writes or rewrites an opinion signs it.
                instance.author = request.user
            instance.save()
        for instance in formset.deleted_objects:
            instance.delete()
        formset.save_m2m()


@admin.register(Opinion)
class OpinionAdmin(ScopedModelAdmin):
    list_display = ("application", "kind", "text_excerpt", "author", "created_at")
    list_select_related = ("application__applicant", "author")
    list_filter = ("kind",)
    search_fields = ("application__reference", "application__applicant__name", "text")
    raw_id_fields = ("application",)
    readonly_fields = ("author", "created_at")

    @admin.display(description="意见摘要")
    def text_excerpt(self, obj: Opinion) -> str:
        return obj.text if len(obj.text) <= 30 else f"{obj.text[:30]}…"

    def save_model(self, request, obj, form, change):
        obj.author = request.user
        super().save_model(request, obj, form, change)


@admin.register(EligibilityCheck)
class EligibilityCheckAdmin(ScopedModelAdmin):
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
    raw_id_fields = ("application", "overridden_by")

    @admin.display(description="例外通过", boolean=True)
    def has_override(self, obj: EligibilityCheck) -> bool:
        return bool(obj.override_reason)


@admin.register(ApplicationEvent)
class ApplicationEventAdmin(ScopedModelAdmin):
    """The timeline is an audit record: nobody adds, edits or deletes it by hand."""

    list_display = ("created_at", "application", "action", "from_status", "to_status", "actor")
    list_select_related = ("application__applicant", "actor")
    list_filter = ("action", "to_status")
    search_fields = ("application__reference", "application__applicant__name", "action")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- loans -------------------------------------------------------------------------------------


class LoanAdminForm(forms.ModelForm):
    """Applies the loan rules of the services: the application's program, unit and bank,
    the rate cap of the channel, the term, and the principal split."""

    def clean(self):
        cleaned = super().clean()
        application = cleaned.get("application")
        program = cleaned.get("program")
        principal = cleaned.get("principal")
        if application is None or program is None or principal is None:
            return cleaned
        for field in ("program", "unit", "bank"):
            if field in cleaned and getattr(application, f"{field}_id") != getattr(
                cleaned[field], "pk", None
            ):
                self.add_error(field, "须与所属申请一致")
        checks = []
        if cleaned.get("review_channel") and cleaned.get("annual_rate") is not None:
            checks.append(
                lambda: check_rate_within_cap(
                    program=program,
                    review_channel=cleaned["review_channel"],
                    annual_rate=cleaned["annual_rate"],
                )
            )
        if cleaned.get("disbursed_on") and cleaned.get("maturity_on"):
            checks.append(
                lambda: check_maturity(
                    program=program,
                    disbursed_on=cleaned["disbursed_on"],
                    maturity_on=cleaned["maturity_on"],
                )
            )
        for check in checks:
            try:
                check()
            except DomainError as exc:
                add_domain_error(self, exc)
        is_new = self.instance._state.adding
        if is_new or {"application", "program", "principal"} & set(self.changed_data):
            try:
                split = split_principal(
                    program=program,
                    borrower_class=application.borrower_class,
                    principal=principal,
                )
            except DomainError as exc:
                add_domain_error(self, exc)
            else:
                self.instance.subsidised_principal = split.subsidised
                self.instance.leveraged_amount = split.leveraged
        return cleaned


class RepaymentInline(admin.TabularInline):
    model = Repayment
    extra = 0
    fields = ("repaid_on", "principal_amount", "interest_amount", "note", "created_by")
    readonly_fields = ("created_by",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")


class FollowUpInline(admin.TabularInline):
    model = FollowUp
    extra = 0
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
    readonly_fields = ("recorded_by",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")


@admin.register(Loan)
class LoanAdmin(ScopedModelAdmin):
    form = LoanAdminForm
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
    raw_id_fields = ("application", "renewal_of")
    # The split is computed from the program's limit (loans.services.rules.split_principal).
    readonly_fields = (
        "subsidised_principal",
        "leveraged_amount",
        "created_by",
        "created_at",
        "updated_at",
    )
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

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for instance in instances:
            if isinstance(instance, Repayment) and instance.created_by_id is None:
                instance.created_by = request.user
            if isinstance(instance, FollowUp) and instance.recorded_by_id is None:
                instance.recorded_by = request.user
            instance.save()
        for instance in formset.deleted_objects:
            instance.delete()
        formset.save_m2m()


@admin.register(Repayment)
class RepaymentAdmin(ScopedModelAdmin):
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
    raw_id_fields = ("loan",)
    readonly_fields = ("created_by", "created_at")

    @admin.display(description="申请人", ordering="loan__application__applicant__name")
    def applicant_name(self, obj: Repayment) -> str:
        return obj.loan.application.applicant.name

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(FollowUp)
class FollowUpAdmin(ScopedModelAdmin):
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
    raw_id_fields = ("loan",)
    readonly_fields = ("recorded_by", "created_at")

    @admin.display(description="申请人", ordering="loan__application__applicant__name")
    def applicant_name(self, obj: FollowUp) -> str:
        return obj.loan.application.applicant.name

    def save_model(self, request, obj, form, change):
        if not change and obj.recorded_by_id is None:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)
