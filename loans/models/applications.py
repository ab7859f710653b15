"""The 附件2 application, its opinions, its stored pre-loan checks and its timeline."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from gonghui.fields import money_field, rate_field, user_field
from gonghui.history import audited_history
from loans.choices import (
    EVENT_LABELS,
    ApplicationChannel,
    ApplicationStatus,
    BorrowerClass,
    CheckRule,
    LoanPurpose,
    LoanType,
    OpinionKind,
    ReviewChannel,
)


class Application(models.Model):
    """A loan application under one program, taken in by one unit.

    The status moves only through ``loans.services.workflow``; the bank's decision and the
    union's consent are stored on the row so that disbursement can check against them.
    """

    reference = models.CharField("申请编号", max_length=48, unique=True)
    program = models.ForeignKey(
        "loans.Program",
        verbose_name="贷款项目",
        on_delete=models.PROTECT,
        related_name="applications",
    )
    unit = models.ForeignKey(
        "loans.Unit", verbose_name="所属单位", on_delete=models.PROTECT, related_name="applications"
    )
    applicant = models.ForeignKey(
        "loans.Applicant",
        verbose_name="申请人",
        on_delete=models.PROTECT,
        related_name="applications",
    )
    enterprise = models.ForeignKey(
        "loans.Enterprise",
        verbose_name="企业",
        on_delete=models.PROTECT,
        related_name="applications",
    )
    bank = models.ForeignKey(
        "loans.Bank",
        verbose_name="合作银行",
        on_delete=models.PROTECT,
        related_name="applications",
        null=True,
        blank=True,
    )
    channel = models.CharField("申报方式", max_length=16, choices=ApplicationChannel.choices)
    status = models.CharField(
        "状态", max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT
    )
    borrower_class = models.CharField(
        "借款人类别", max_length=20, choices=BorrowerClass.choices, default=BorrowerClass.GENERAL
    )
    amount = money_field(
        "申请贷款金额（元）",
    )
    term_months = models.PositiveSmallIntegerField(
        "贷款期限（月）", default=12, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    purpose = models.CharField(
        "贷款用途", max_length=16, choices=LoanPurpose.choices, default=LoanPurpose.PRODUCTION
    )
    purpose_other = models.CharField("其他用途说明", max_length=100, blank=True)
    applied_on = models.DateField("申请时间")

    # The bank's decision (银行审批).
    review_channel = models.CharField(
        "审核方式", max_length=8, choices=ReviewChannel.choices, blank=True
    )
    approved_amount = money_field(
        "银行审批金额（元）",
        null=True,
        blank=True,
    )
    approved_rate = rate_field(
        "银行审批年利率（%）",
        null=True,
        blank=True,
    )
    loan_type = models.CharField("贷款类型", max_length=12, choices=LoanType.choices, blank=True)
    decision_reason = models.CharField("审批说明/拒绝原因", max_length=500, blank=True)
    decided_at = models.DateTimeField("银行审批时间", null=True, blank=True)

    # The union's consent to a bank-online loan, with the subsidy it agreed to.
    consent_subsidy_amount = money_field(
        "同意贴息金额（元）",
        null=True,
        blank=True,
    )
    consented_at = models.DateTimeField("工会同意时间", null=True, blank=True)

    status_changed_at = models.DateTimeField("状态变更时间", default=timezone.now)
    created_by = user_field("录入人")
    # Plain defaults rather than auto_now_add: imports and the demo data carry real times.
    created_at = models.DateTimeField("创建时间", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    history = audited_history()

    class Meta:
        verbose_name = "贷款申请"
        verbose_name_plural = "贷款申请"
        ordering = ["-applied_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="application_amount_positive",
                violation_error_message="申请贷款金额必须大于0",
            ),
            models.CheckConstraint(
                condition=Q(approved_amount__isnull=True) | Q(approved_amount__gt=0),
                name="application_approved_amount_positive",
                violation_error_message="银行审批金额必须大于0",
            ),
            models.CheckConstraint(
                condition=Q(approved_rate__isnull=True) | Q(approved_rate__gt=0),
                name="application_approved_rate_positive",
                violation_error_message="银行审批年利率必须大于0",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ApplicationStatus.values),
                name="application_status_valid",
                violation_error_message="申请状态无效",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=ApplicationChannel.values),
                name="application_channel_valid",
                violation_error_message="申报方式无效",
            ),
            models.CheckConstraint(
                condition=Q(borrower_class__in=BorrowerClass.values),
                name="application_borrower_class_valid",
                violation_error_message="借款人类别无效",
            ),
            models.CheckConstraint(
                condition=Q(review_channel__in=[*ReviewChannel.values, ""]),
                name="application_review_channel_valid",
                violation_error_message="审核方式无效",
            ),
            models.CheckConstraint(
                condition=Q(loan_type__in=[*LoanType.values, ""]),
                name="application_loan_type_valid",
                violation_error_message="贷款类型无效",
            ),
            models.CheckConstraint(
                condition=Q(term_months__gte=1) & Q(term_months__lte=60),
                name="application_term_in_range",
                violation_error_message="贷款期限须在1至60个月之间",
            ),
        ]
        indexes = [
            models.Index(fields=["program", "unit", "status"], name="application_prog_unit_status"),
            models.Index(fields=["status", "status_changed_at"], name="application_status_since"),
            models.Index(fields=["bank", "status"], name="application_bank_status"),
            # The lists' order (newest first): the first page without sorting every row.
            models.Index(fields=["applied_on", "id"], name="application_applied_on_id"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.applicant.name}" if self.applicant_id else self.reference


class Opinion(models.Model):
    """One of the three opinion boxes of 附件2, with who wrote it and when."""

    application = models.ForeignKey(
        Application, verbose_name="申请", on_delete=models.CASCADE, related_name="opinions"
    )
    kind = models.CharField("意见类别", max_length=16, choices=OpinionKind.choices)
    text = models.TextField("意见")
    author = user_field("填写人", optional=False)
    written_at = models.DateTimeField("填写时间", default=timezone.now)

    history = audited_history()

    class Meta:
        verbose_name = "审核意见"
        verbose_name_plural = "审核意见"
        ordering = ["application", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "kind"],
                name="opinion_one_per_kind",
                violation_error_message="每类审核意见只能有一条",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=OpinionKind.values),
                name="opinion_kind_valid",
                violation_error_message="意见类别无效",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.text[:20]}"


class EligibilityCheck(models.Model):
    """The stored result of one pre-loan check, as it stood when the reviewer decided.

    A failed check lets the application proceed only with a written override reason.
    """

    application = models.ForeignKey(
        Application, verbose_name="申请", on_delete=models.CASCADE, related_name="checks"
    )
    rule = models.CharField("审查项目", max_length=24, choices=CheckRule.choices)
    passed = models.BooleanField("是否通过")
    reason = models.CharField("说明", max_length=300)
    override_reason = models.TextField("例外通过理由", blank=True)
    overridden_by = user_field("例外批准人")
    overridden_at = models.DateTimeField("例外批准时间", null=True, blank=True)
    checked_at = models.DateTimeField("审查时间")

    history = audited_history()

    class Meta:
        verbose_name = "贷前审查结果"
        verbose_name_plural = "贷前审查结果"
        ordering = ["application", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "rule"],
                name="check_one_per_rule",
                violation_error_message="每个审查项目只能有一条结果",
            ),
            models.CheckConstraint(
                condition=Q(rule__in=CheckRule.values),
                name="check_rule_valid",
                violation_error_message="审查项目无效",
            ),
            models.CheckConstraint(
                condition=Q(overridden_by__isnull=True) | ~Q(override_reason=""),
                name="check_override_needs_reason",
                violation_error_message="例外通过须填写理由",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()}：{'通过' if self.passed else '未通过'}"

    @property
    def is_satisfied(self) -> bool:
        return self.passed or bool(self.override_reason)


class ApplicationEvent(models.Model):
    """One entry of an application's timeline: a workflow transition or a recorded change."""

    application = models.ForeignKey(
        Application, verbose_name="申请", on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField("操作", max_length=32)
    from_status = models.CharField(
        "原状态", max_length=20, choices=ApplicationStatus.choices, blank=True
    )
    to_status = models.CharField(
        "新状态", max_length=20, choices=ApplicationStatus.choices, blank=True
    )
    actor = user_field("操作人")
    note = models.TextField("说明", blank=True)
    created_at = models.DateTimeField("时间", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "申请流转记录"
        verbose_name_plural = "申请流转记录"
        ordering = ["application", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.action}"

    @property
    def action_label(self) -> str:
        return EVENT_LABELS.get(self.action, self.action)
