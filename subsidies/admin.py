"""Django admin of the subsidy domain: claims, payment batches and frozen allocations.

Everything here is money already computed or paid, so every page is read-only: claims,
batches and allocations are written by ``subsidies.services`` alone (portal, API, tasks).
Each changelist names the joins it renders in ``list_select_related``.
"""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_scoping import ReadOnlyAdminMixin, ScopedModelAdmin
from subsidies.models import AllocationResult, AllocationRow, PaymentBatch, SubsidyClaim


@admin.register(SubsidyClaim)
class SubsidyClaimAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    list_display = (
        "contract_number",
        "borrower",
        "program",
        "unit",
        "bank",
        "subsidised_principal",
        "applied_rate",
        "days",
        "interest_subsidy",
        "premium_subsidy",
        "amount",
        "status",
        "batch",
    )
    list_select_related = ("loan__application__applicant", "program", "unit", "bank", "batch")
    list_filter = ("program", "status", "unit", "bank", "loan_type")
    search_fields = ("loan__contract_number", "loan__application__applicant__name")
    search_help_text = "按合同编号或借款人姓名搜索"
    date_hierarchy = "end_on"
    fieldsets = (
        ("贷款", {"fields": ("loan", "program", "unit", "bank", "loan_type", "review_channel")}),
        (
            "计算依据",
            {
                "fields": (
                    "subsidised_principal",
                    "contract_rate",
                    "rate_cap",
                    "applied_rate",
                    "start_on",
                    "end_on",
                    "days",
                    "interest_share",
                    "premium_rate",
                    "premium_share",
                    "interest_charged",
                )
            },
        ),
        ("补贴金额", {"fields": ("interest_subsidy", "premium_subsidy", "amount")}),
        ("拨付", {"fields": ("status", "batch", "created_at", "updated_at")}),
    )

    @admin.display(description="合同编号", ordering="loan__contract_number")
    def contract_number(self, obj: SubsidyClaim) -> str:
        return obj.loan.contract_number

    @admin.display(description="借款人", ordering="loan__application__applicant__name")
    def borrower(self, obj: SubsidyClaim) -> str:
        return obj.loan.application.applicant.name


class BatchClaimInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SubsidyClaim
    fields = ("loan", "unit", "bank", "amount", "status")
    verbose_name_plural = "批次中的贴息申请"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("loan", "unit", "bank")


@admin.register(PaymentBatch)
class PaymentBatchAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    list_display = (
        "number",
        "program",
        "status",
        "claim_count",
        "total",
        "created_by",
        "created_at",
        "approved_by",
        "approved_at",
        "paid_on",
        "payment_reference",
    )
    list_select_related = ("program", "created_by", "approved_by")
    list_filter = ("program", "status")
    search_fields = ("number", "payment_reference")
    search_help_text = "按批次编号或支付凭证号搜索"
    fields = (
        "number",
        "program",
        "status",
        "claim_count",
        "total",
        "note",
        "created_by",
        "created_at",
        "approved_by",
        "approved_at",
        "paid_by",
        "paid_on",
        "payment_reference",
    )
    inlines = (BatchClaimInline,)


class AllocationRowInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AllocationRow
    fields = (
        "position",
        "unit",
        "task",
        "given",
        "received",
        "adjusted_task",
        "completed",
        "completion_rate",
        "below_floor",
        "capped",
        "counted",
        "share",
        "exact_allocation",
        "allocation",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit")


@admin.register(AllocationResult)
class AllocationResultAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    list_display = (
        "program",
        "city_completed",
        "target_met",
        "city_contribution",
        "provincial_amount",
        "distributed",
        "allocated",
        "retained",
        "confirmed_by",
        "confirmed_at",
    )
    list_select_related = ("program", "confirmed_by")
    list_filter = ("program",)
    fields = (
        "program",
        "as_of",
        "inputs",
        "city_completed",
        "counted_total",
        "target_met",
        "city_contribution",
        "provincial_amount",
        "distributed",
        "allocated",
        "retained",
        "confirmed_by",
        "confirmed_at",
    )
    inlines = (AllocationRowInline,)
