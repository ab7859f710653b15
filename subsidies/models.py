"""Subsidy claims (贴息申请), payment batches (拨付批次) and frozen county allocations.

Rows here are money the union pays: every foreign key is protected, every figure that went
into an amount is stored next to it, and the workflow (pending → batched → approved → paid)
moves only through ``subsidies.services``; the database refuses what must never hold.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from gonghui.errors import DomainError
from gonghui.fields import money_field, rate_field, user_field
from gonghui.history import audited_history
from gonghui.money import MONEY_DIGITS, PERCENT_DIGITS, PERCENT_PLACES
from loans.choices import LoanType, ReviewChannel
from subsidies.choices import BatchStatus, ClaimStatus

# Exact intermediate figures of the allocation (120% of a task, a unit's exact share) have
# more places than the fen; they are stored to the millionth of a 元 / of a percent.
FINE_PLACES = 6
FINE_DIGITS = MONEY_DIGITS + FINE_PLACES - 2


def _percent(verbose_name: str, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=PERCENT_DIGITS, decimal_places=PERCENT_PLACES, **kwargs
    )


def _fine(verbose_name: str, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=FINE_DIGITS, decimal_places=FINE_PLACES, **kwargs
    )


class SubsidyClaim(models.Model):
    """The interest and premium subsidy (贴息、保费补贴) of one loan, once it is repaid,
    renewed or past maturity.

    One claim per loan: a renewal is a new loan with its own claim. Program, unit and bank
    are copied from the loan so the ledger filters and scopes on this table alone; the
    formula's inputs are stored with the result, so an auditor can recompute every amount
    without the loan or the program as they are today. ``amount`` is the payable figure,
    rounded half-up to the fen once; ``interest_subsidy`` is the interest part rounded the
    same way and ``premium_subsidy`` the rest, so the two parts always add up to ``amount``.
    A paid claim never changes (``save`` and ``delete`` refuse).
    """

    loan = models.ForeignKey(
        "loans.Loan", verbose_name="贷款", on_delete=models.PROTECT, related_name="subsidy_claims"
    )
    program = models.ForeignKey(
        "loans.Program",
        verbose_name="贷款项目",
        on_delete=models.PROTECT,
        related_name="subsidy_claims",
    )
    unit = models.ForeignKey(
        "loans.Unit", verbose_name="放贷单位", on_delete=models.PROTECT, related_name="+"
    )
    bank = models.ForeignKey(
        "loans.Bank", verbose_name="放贷银行", on_delete=models.PROTECT, related_name="+"
    )
    loan_type = models.CharField("贷款类型", max_length=12, choices=LoanType.choices)
    review_channel = models.CharField("审核方式", max_length=8, choices=ReviewChannel.choices)

    subsidised_principal = money_field("贴息本金（元）")
    contract_rate = rate_field("合同年利率（%）")
    rate_cap = rate_field("最高贴息年利率（%）")
    applied_rate = rate_field("贴息年利率（%）")
    start_on = models.DateField("计息起始日")
    end_on = models.DateField("计息截止日")
    days = models.PositiveIntegerField("贴息天数")
    interest_share = _percent("贴息比例（%）")
    premium_rate = rate_field("保费费率（%）")
    premium_share = _percent("保费补贴比例（%）")
    interest_charged = money_field("银行实收利息（元）", null=True, blank=True)

    interest_subsidy = money_field("贴息金额（元）")
    premium_subsidy = money_field("保费补贴金额（元）")
    amount = money_field("补贴合计（元）")

    status = models.CharField(
        "状态", max_length=12, choices=ClaimStatus.choices, default=ClaimStatus.PENDING
    )
    batch = models.ForeignKey(
        "subsidies.PaymentBatch",
        verbose_name="拨付批次",
        on_delete=models.PROTECT,
        related_name="claims",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField("生成时间", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    history = audited_history()

    class Meta:
        verbose_name = "贴息申请"
        verbose_name_plural = "贴息申请"
        ordering = ["-end_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["loan"],
                name="claim_one_per_loan",
                violation_error_message="该贷款已有贴息申请",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(interest_subsidy__gte=0) & Q(premium_subsidy__gte=0),
                name="claim_amounts_not_negative",
                violation_error_message="补贴金额不能为负数",
            ),
            models.CheckConstraint(
                condition=Q(interest_charged__isnull=True)
                | Q(interest_subsidy__lte=F("interest_charged")),
                name="claim_interest_within_charged",
                violation_error_message="贴息金额不能超过银行实收利息",
            ),
            models.CheckConstraint(
                condition=Q(end_on__gte=F("start_on")),
                name="claim_period_valid",
                violation_error_message="计息截止日不能早于计息起始日",
            ),
            models.CheckConstraint(
                condition=Q(applied_rate__lte=F("rate_cap"))
                & Q(applied_rate__lte=F("contract_rate")),
                name="claim_applied_rate_within_cap",
                violation_error_message="贴息年利率不能高于合同利率或最高贴息利率",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ClaimStatus.values),
                name="claim_status_valid",
                violation_error_message="贴息申请状态无效",
            ),
            models.CheckConstraint(
                condition=Q(status=ClaimStatus.PENDING, batch__isnull=True)
                | Q(
                    status__in=[ClaimStatus.BATCHED, ClaimStatus.APPROVED, ClaimStatus.PAID],
                    batch__isnull=False,
                ),
                name="claim_batch_matches_status",
                violation_error_message="只有已纳入批次的贴息申请才有拨付批次",
            ),
        ]
        indexes = [
            models.Index(fields=["program", "status"], name="claim_program_status"),
            models.Index(fields=["unit", "status"], name="claim_unit_status"),
            models.Index(fields=["bank", "status"], name="claim_bank_status"),
        ]

    def __str__(self) -> str:
        return f"贴息申请 {self.loan.contract_number}" if self.loan_id else "贴息申请"

    def save(self, *args, **kwargs):
        self._refuse_if_paid()
        super().save(*args, **kwargs)
        self._stored_status = self.status

    def delete(self, *args, **kwargs):
        self._refuse_if_paid()
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_status = instance.__dict__.get("status")
        return instance

    def _refuse_if_paid(self) -> None:
        """A claim loaded as paid is never saved or deleted again (the status as stored,
        not as set in memory, decides)."""
        if getattr(self, "_stored_status", None) == ClaimStatus.PAID:
            raise DomainError("claim_paid_locked", "该贴息申请已支付，不能修改或删除")


class PaymentBatch(models.Model):
    """A payment batch (贴息拨付批次) of one program's claims.

    Four eyes: the city clerk who makes the batch (制单人) cannot approve it; the database
    refuses an approver equal to the maker. Once approved it is paid with a date and the
    bank's payment reference, which marks every claim in it paid.
    """

    number = models.CharField("批次编号", max_length=48, unique=True)
    program = models.ForeignKey(
        "loans.Program",
        verbose_name="贷款项目",
        on_delete=models.PROTECT,
        related_name="payment_batches",
    )
    status = models.CharField(
        "状态", max_length=12, choices=BatchStatus.choices, default=BatchStatus.DRAFT
    )
    claim_count = models.PositiveIntegerField("贴息申请笔数", default=0)
    total = money_field("批次合计（元）")
    note = models.CharField("备注", max_length=200, blank=True)
    created_by = user_field("制单人", optional=False)
    created_at = models.DateTimeField("制单时间", default=timezone.now, editable=False)
    approved_by = user_field("审批人")
    approved_at = models.DateTimeField("审批时间", null=True, blank=True)
    paid_by = user_field("支付登记人")
    paid_on = models.DateField("支付日期", null=True, blank=True)
    payment_reference = models.CharField("支付凭证号", max_length=64, blank=True)

    history = audited_history()

    class Meta:
        verbose_name = "拨付批次"
        verbose_name_plural = "拨付批次"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total__gte=0),
                name="batch_total_not_negative",
                violation_error_message="批次合计不能为负数",
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("created_by")),
                name="batch_maker_not_approver",
                violation_error_message="制单人不能审批自己制作的批次",
            ),
            models.CheckConstraint(
                condition=Q(status__in=BatchStatus.values),
                name="batch_status_valid",
                violation_error_message="批次状态无效",
            ),
            models.CheckConstraint(
                condition=Q(status=BatchStatus.DRAFT, approved_by__isnull=True)
                | Q(
                    status__in=[BatchStatus.APPROVED, BatchStatus.PAID],
                    approved_by__isnull=False,
                    approved_at__isnull=False,
                ),
                name="batch_approval_recorded",
                violation_error_message="已审批的批次须记录审批人和审批时间",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status=BatchStatus.PAID, paid_on__isnull=False) & ~Q(payment_reference="")
                )
                | (~Q(status=BatchStatus.PAID) & Q(paid_on__isnull=True)),
                name="batch_payment_recorded",
                violation_error_message="已支付的批次须记录支付日期和支付凭证号",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class AllocationResult(models.Model):
    """A county subsidy allocation (贴息补助分配) that city staff confirmed and froze.

    Stored with its inputs (the program's pool, provincial amount, target and thresholds at
    the time) and the city-level figures; each unit's line is an :class:`AllocationRow`.
    One frozen result per program: once confirmed, later data no longer moves the money.
    """

    program = models.ForeignKey(
        "loans.Program",
        verbose_name="贷款项目",
        on_delete=models.PROTECT,
        related_name="allocation_results",
    )
    as_of = models.DateField("统计截止日", null=True, blank=True)
    inputs = models.JSONField("计算参数")
    city_completed = money_field("全市完成额（元）")
    counted_total = _fine("计入补助的完成额合计（元）")
    target_met = models.BooleanField("完成全市任务")
    city_contribution = money_field("市总补助资金（元）")
    provincial_amount = money_field("省总补助资金（元）")
    distributed = money_field("可分配补助资金（元）")
    allocated = money_field("分配合计（元）")
    retained = money_field("市总留存（元）")
    confirmed_by = user_field("确认人", optional=False)
    confirmed_at = models.DateTimeField("确认时间", default=timezone.now)

    history = audited_history()

    class Meta:
        verbose_name = "贴息补助分配结果"
        verbose_name_plural = "贴息补助分配结果"
        ordering = ["-confirmed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["program"],
                name="allocation_one_per_program",
                violation_error_message="该项目的贴息补助分配已确认",
            ),
            models.CheckConstraint(
                condition=Q(allocated__gte=0) & Q(retained__gte=0) & Q(distributed__gte=0),
                name="allocation_amounts_not_negative",
                violation_error_message="分配金额不能为负数",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.program} 贴息补助分配"


class AllocationRow(models.Model):
    """One unit's line of a frozen allocation, with every intermediate column."""

    result = models.ForeignKey(
        AllocationResult, verbose_name="分配结果", on_delete=models.PROTECT, related_name="rows"
    )
    unit = models.ForeignKey(
        "loans.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="+"
    )
    position = models.PositiveSmallIntegerField("序号")
    task = money_field("任务数（元）")
    given = money_field("调出任务（元）")
    received = money_field("调入任务（元）")
    adjusted_task = money_field("调整后任务数（元）")
    completed = money_field("完成额（元）")
    completion_rate = models.DecimalField(
        "完成率（%）", max_digits=20, decimal_places=4, null=True, blank=True
    )
    below_floor = models.BooleanField("未达补助下限")
    capped = models.BooleanField("超过封顶")
    counted = _fine("计入补助的完成额（元）")
    share = models.DecimalField("分配比例（%）", max_digits=FINE_DIGITS, decimal_places=FINE_PLACES)
    exact_allocation = _fine("未取整分配额（元）")
    allocation = money_field("分配金额（元）")

    history = audited_history()

    class Meta:
        verbose_name = "贴息补助分配明细"
        verbose_name_plural = "贴息补助分配明细"
        ordering = ["result", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["result", "unit"],
                name="allocation_row_one_per_unit",
                violation_error_message="每个单位在一次分配中只能有一行",
            ),
            models.CheckConstraint(
                condition=Q(allocation__gte=0) & Q(counted__gte=0),
                name="allocation_row_not_negative",
                violation_error_message="分配金额不能为负数",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.allocation}"
