"""The yearly loan program and every policy number it sets."""

from datetime import date
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from gonghui.fields import bounded_rate_field, money_field, percent_field
from gonghui.history import audited_history
from loans.choices import (
    DEFAULT_EXCLUDED_INDUSTRIES,
    BorrowerClass,
    LoanType,
    ReviewChannel,
)


def default_excluded_industries() -> list[str]:
    return list(DEFAULT_EXCLUDED_INDUSTRIES)


def default_interest_loan_types() -> list[str]:
    return [LoanType.CREDIT, LoanType.GUARANTEED, LoanType.MORTGAGE]


def default_premium_loan_types() -> list[str]:
    return []


def _money(verbose_name: str, default: str) -> models.DecimalField:
    return money_field(
        verbose_name, default=Decimal(default), validators=[MinValueValidator(Decimal("0"))]
    )


# Month and day of each stage deadline of the 2020 九工贷 notice (section 八).
DEFAULT_DEADLINES = {
    "mobilise_deadline": (5, 30),
    "recommend_deadline": (6, 30),
    "disburse_deadline": (7, 30),
}


class Program(models.Model):
    """One yearly scheme, e.g. 2020年九工贷.

    Every number of the policy is a field here with the seed document's value as default,
    so a federation changes its policy in the admin, never in code. Money is in 元, rates
    and shares are percent decimals.
    """

    code = models.SlugField("项目代码", max_length=32, unique=True)
    name = models.CharField("项目名称", max_length=100)
    city = models.CharField("所属市总工会", max_length=50)
    year = models.PositiveSmallIntegerField(
        "年度", validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    is_active = models.BooleanField("进行中", default=True)

    target_amount = _money("全市贷款任务总额（元）", "30000000.00")
    term_months = models.PositiveSmallIntegerField(
        "贷款期限（月）", default=12, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    rate_cap_online = bounded_rate_field("线上审核最高年利率（%）", "4.75")
    rate_cap_offline = bounded_rate_field("线下审核最高年利率（%）", "5.80")

    limit_general = _money("一般职工贷款限额（元）", "300000.00")
    limit_model_worker = _money("劳模贷款限额（元）", "500000.00")
    limit_epidemic_relative = _money("抗疫一线职工直系亲属贷款限额（元）", "500000.00")

    require_union_membership = models.BooleanField("须为工会会员", default=True)
    max_enterprise_age_years = models.PositiveSmallIntegerField("企业成立年限上限（年）", default=5)
    min_jobs = models.PositiveIntegerField("最少带动就业人数", default=5)
    excluded_industries = models.JSONField(
        "不予贴息行业",
        default=default_excluded_industries,
        blank=True,
        help_text="国民经济行业门类字母或行业代码前缀，如 E、K、P、8051、9013、90",
    )

    interest_share = percent_field("贴息比例（%）", "100.00")
    interest_loan_types = models.JSONField(
        "享受贴息的贷款类型", default=default_interest_loan_types, blank=True
    )
    premium_rate = bounded_rate_field("保费费率（%）", "0")
    premium_share = percent_field("保费补贴比例（%）", "0")
    premium_loan_types = models.JSONField(
        "享受保费补贴的贷款类型", default=default_premium_loan_types, blank=True
    )

    allocation_pool = _money("市总贴息补助资金（元）", "800000.00")
    provincial_amount = _money("省总补助资金（元）", "0.00")
    floor_ratio = percent_field("补助下限（完成率%）", "80.00")
    cap_ratio = percent_field("补助封顶（完成率%）", "120.00")

    mobilise_deadline = models.DateField("动员摸底截止日", null=True, blank=True)
    recommend_deadline = models.DateField("推荐申报截止日", null=True, blank=True)
    disburse_deadline = models.DateField("审核发放截止日", null=True, blank=True)
    max_days_per_stage = models.PositiveSmallIntegerField("每个审核环节最长停留天数", default=10)

    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    history = audited_history()

    class Meta:
        verbose_name = "贷款项目"
        verbose_name_plural = "贷款项目"
        ordering = ["-year", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_amount__gt=0),
                name="program_target_positive",
                violation_error_message="全市贷款任务总额必须大于0",
            ),
            models.CheckConstraint(
                condition=Q(rate_cap_online__gt=0) & Q(rate_cap_offline__gt=0),
                name="program_rate_caps_positive",
                violation_error_message="最高年利率必须大于0",
            ),
            models.CheckConstraint(
                condition=Q(floor_ratio__lte=models.F("cap_ratio")),
                name="program_floor_not_above_cap",
                violation_error_message="补助下限不能高于补助封顶",
            ),
            models.CheckConstraint(
                condition=Q(interest_share__lte=100) & Q(premium_share__lte=100),
                name="program_shares_at_most_100",
                violation_error_message="贴息比例和保费补贴比例不能超过100%",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # Stage deadlines default to the notice's month-days in the program's own year.
        for field, (month, day) in DEFAULT_DEADLINES.items():
            if getattr(self, field) is None and self.year:
                setattr(self, field, date(self.year, month, day))
        super().save(*args, **kwargs)

    def rate_cap(self, review_channel: str) -> Decimal:
        """The highest annual rate (percent) allowed for a review channel."""
        if review_channel == ReviewChannel.ONLINE:
            return self.rate_cap_online
        if review_channel == ReviewChannel.OFFLINE:
            return self.rate_cap_offline
        raise ValueError(f"unknown review channel {review_channel!r}")

    def limit_for(self, borrower_class: str) -> Decimal:
        """The subsidised-amount limit (元) of a borrower class."""
        return {
            BorrowerClass.GENERAL: self.limit_general,
            BorrowerClass.MODEL_WORKER: self.limit_model_worker,
            BorrowerClass.EPIDEMIC_RELATIVE: self.limit_epidemic_relative,
        }[borrower_class]
