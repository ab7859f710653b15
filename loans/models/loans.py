"""Disbursed loans, their repayments and their quarterly follow-ups."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from gonghui.fields import money_field, rate_field, user_field
from gonghui.history import audited_history
from loans.choices import LoanStatus, LoanType, OperatingStatus, ReviewChannel


class Loan(models.Model):
    """A loan a bank disbursed against an approved application.

    Program, unit and bank are copied from the application so that the statistics group
    and the bank scoping filter on the loan table alone. ``subsidised_principal`` is the
    part within the borrower's limit; the rest is ``leveraged_amount`` (拉动贷款金额) and gets
    no subsidy; the two always add up to the principal.
    """

    application = models.ForeignKey(
        "loans.Application", verbose_name="申请", on_delete=models.PROTECT, related_name="loans"
    )
    program = models.ForeignKey(
        "loans.Program", verbose_name="贷款项目", on_delete=models.PROTECT, related_name="loans"
    )
    unit = models.ForeignKey(
        "loans.Unit", verbose_name="放贷单位", on_delete=models.PROTECT, related_name="loans"
    )
    bank = models.ForeignKey(
        "loans.Bank", verbose_name="放贷银行", on_delete=models.PROTECT, related_name="loans"
    )
    contract_number = models.CharField("合同编号", max_length=64)
    principal = money_field("贷款金额（元）")
    subsidised_principal = money_field("贴息本金（元）")
    leveraged_amount = money_field("拉动贷款金额（元）", default=Decimal("0"))
    annual_rate = rate_field("年利率（%）")
    review_channel = models.CharField("审核方式", max_length=8, choices=ReviewChannel.choices)
    loan_type = models.CharField("贷款类型", max_length=12, choices=LoanType.choices)
    disbursed_on = models.DateField("放款日期")
    maturity_on = models.DateField("到期日期")
    renewal_of = models.OneToOneField(
        "self",
        verbose_name="续贷原贷款",
        on_delete=models.PROTECT,
        related_name="renewed_by",
        null=True,
        blank=True,
    )
    jobs_created = models.PositiveIntegerField("带动就业人数", default=0)
    new_union_members = models.PositiveIntegerField("新增入会职工人数", default=0)
    status = models.CharField(
        "状态", max_length=8, choices=LoanStatus.choices, default=LoanStatus.ACTIVE
    )
    settled_on = models.DateField("结清日期", null=True, blank=True)
    created_by = user_field("录入人")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    history = audited_history()

    class Meta:
        verbose_name = "贷款"
        verbose_name_plural = "贷款"
        ordering = ["-disbursed_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank", "contract_number"],
                name="loan_contract_unique_per_bank",
                violation_error_message="该合同编号在本行已存在",
            ),
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(status=LoanStatus.ACTIVE),
                name="loan_one_active_per_application",
                violation_error_message="该申请已有未结清贷款",
            ),
            models.CheckConstraint(
                condition=Q(principal__gt=0),
                name="loan_principal_positive",
                violation_error_message="贷款金额必须大于0",
            ),
            models.CheckConstraint(
                condition=Q(subsidised_principal__gte=0) & Q(leveraged_amount__gte=0),
                name="loan_split_not_negative",
                violation_error_message="贴息本金和拉动贷款金额不能为负数",
            ),
            models.CheckConstraint(
                condition=Q(principal=F("subsidised_principal") + F("leveraged_amount")),
                name="loan_split_adds_up",
                violation_error_message="贴息本金与拉动贷款金额之和须等于贷款金额",
            ),
            models.CheckConstraint(
                condition=Q(annual_rate__gt=0),
                name="loan_rate_positive",
                violation_error_message="年利率必须大于0",
            ),
            models.CheckConstraint(
                condition=Q(maturity_on__gt=F("disbursed_on")),
                name="loan_matures_after_disbursal",
                violation_error_message="到期日期须晚于放款日期",
            ),
            models.CheckConstraint(
                condition=Q(status__in=LoanStatus.values),
                name="loan_status_valid",
                violation_error_message="贷款状态无效",
            ),
            models.CheckConstraint(
                condition=Q(review_channel__in=ReviewChannel.values),
                name="loan_review_channel_valid",
                violation_error_message="审核方式无效",
            ),
            models.CheckConstraint(
                condition=Q(loan_type__in=LoanType.values),
                name="loan_type_valid",
                violation_error_message="贷款类型无效",
            ),
            models.CheckConstraint(
                condition=Q(status=LoanStatus.ACTIVE) | Q(settled_on__isnull=False),
                name="loan_closed_has_settled_on",
                violation_error_message="已结清或已续贷的贷款须填写结清日期",
            ),
        ]
        indexes = [
            models.Index(fields=["program", "unit", "disbursed_on"], name="loan_prog_unit_date"),
            models.Index(fields=["disbursed_on"], name="loan_disbursed_on"),
            models.Index(fields=["bank", "status"], name="loan_bank_status"),
            models.Index(fields=["status", "maturity_on"], name="loan_status_maturity"),
        ]

    def __str__(self) -> str:
        return self.contract_number

    @property
    def is_renewal(self) -> bool:
        return self.renewal_of_id is not None


class Repayment(models.Model):
    """A repayment the bank reports, with the interest it charged for the period."""

    loan = models.ForeignKey(
        Loan, verbose_name="贷款", on_delete=models.PROTECT, related_name="repayments"
    )
    repaid_on = models.DateField("还款日期")
    principal_amount = money_field("归还本金（元）")
    interest_amount = money_field("实收利息（元）", default=Decimal("0"))
    note = models.CharField("备注", max_length=200, blank=True)
    created_by = user_field("录入人")
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    history = audited_history()

    class Meta:
        verbose_name = "还款记录"
        verbose_name_plural = "还款记录"
        ordering = ["loan", "repaid_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(principal_amount__gte=0) & Q(interest_amount__gte=0),
                name="repayment_amounts_not_negative",
                violation_error_message="还款金额不能为负数",
            ),
            models.CheckConstraint(
                condition=Q(principal_amount__gt=0) | Q(interest_amount__gt=0),
                name="repayment_amount_positive",
                violation_error_message="归还本金和实收利息不能同时为0",
            ),
        ]
        indexes = [models.Index(fields=["repaid_on"], name="repayment_repaid_on")]

    def __str__(self) -> str:
        return f"{self.loan} {self.repaid_on}"


class FollowUp(models.Model):
    """A quarterly post-loan follow-up (贷后跟踪: 一季度一跟踪)."""

    loan = models.ForeignKey(
        Loan, verbose_name="贷款", on_delete=models.PROTECT, related_name="follow_ups"
    )
    year = models.PositiveSmallIntegerField("年度")
    quarter = models.PositiveSmallIntegerField(
        "季度", validators=[MinValueValidator(1), MaxValueValidator(4)]
    )
    visited_on = models.DateField("跟踪日期")
    operating_status = models.CharField("经营状况", max_length=8, choices=OperatingStatus.choices)
    jobs = models.PositiveIntegerField("带动就业人数")
    insured_employees = models.PositiveIntegerField("缴纳社保职工人数")
    note = models.TextField("跟踪情况", blank=True)
    recorded_by = user_field("跟踪人")
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    history = audited_history()

    class Meta:
        verbose_name = "贷后跟踪"
        verbose_name_plural = "贷后跟踪"
        ordering = ["loan", "year", "quarter"]
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "year", "quarter"],
                name="follow_up_one_per_quarter",
                violation_error_message="每笔贷款每季度只能有一条跟踪记录",
            ),
            models.CheckConstraint(
                condition=Q(quarter__gte=1) & Q(quarter__lte=4),
                name="follow_up_quarter_valid",
                violation_error_message="季度须为1至4",
            ),
            models.CheckConstraint(
                condition=Q(operating_status__in=OperatingStatus.values),
                name="follow_up_status_valid",
                violation_error_message="经营状况无效",
            ),
            models.CheckConstraint(
                condition=Q(insured_employees__lte=F("jobs")),
                name="follow_up_insured_not_above_jobs",
                violation_error_message="缴纳社保职工人数不能超过带动就业人数",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan} {self.year}Q{self.quarter}"
