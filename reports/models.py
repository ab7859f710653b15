"""Stored report snapshots: the monthly completion statistics (附件3)."""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from gonghui.fields import money_field, percent_field, user_field


class MonthlySnapshot(models.Model):
    """附件3 of one program as of one month end, built on the 2nd or on demand.

    Rebuilding replaces the rows in one transaction, so there is never a half-built or a
    second snapshot of the same program and month.
    """

    program = models.ForeignKey(
        "loans.Program", verbose_name="贷款项目", on_delete=models.PROTECT, related_name="snapshots"
    )
    month = models.DateField("统计月份", help_text="该月第一天")
    as_of = models.DateField("截至日期")
    built_at = models.DateTimeField("生成时间", auto_now=True)
    built_by = user_field("生成人")

    class Meta:
        verbose_name = "月度完成情况统计"
        verbose_name_plural = "月度完成情况统计"
        ordering = ["-month", "program"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "month"],
                name="snapshot_one_per_program_month",
                violation_error_message="该项目该月的统计已存在",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.program} {self.month:%Y-%m}"


class MonthlySnapshotRow(models.Model):
    """One line of 附件3: a unit, or the city total (``unit`` empty). Amounts in 元."""

    snapshot = models.ForeignKey(
        MonthlySnapshot, verbose_name="统计", on_delete=models.CASCADE, related_name="rows"
    )
    unit = models.ForeignKey(
        "loans.Unit", verbose_name="单位", on_delete=models.PROTECT, null=True, blank=True
    )
    position = models.PositiveSmallIntegerField("序号")
    task = money_field("贷款任务数（元）", default=Decimal("0"))
    loans = models.PositiveIntegerField("已放款笔数", default=0)
    amount = money_field("已放款金额（元）", default=Decimal("0"))
    renewal_amount = money_field("其中续贷金额（元）", default=Decimal("0"))
    leveraged_amount = money_field("拉动贷款金额（元）", default=Decimal("0"))
    new_union_members = models.PositiveIntegerField("新增入会职工人数", default=0)
    jobs_created = models.PositiveIntegerField("带动就业人数", default=0)
    completed = money_field("完成额（贴息本金，元）", default=Decimal("0"))
    completion_rate = percent_field("任务完成率（%）", "0", null=True, blank=True)

    class Meta:
        verbose_name = "月度统计行"
        verbose_name_plural = "月度统计行"
        ordering = ["snapshot", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "unit"],
                name="snapshot_row_one_per_unit",
                violation_error_message="同一统计中每个单位只有一行",
            ),
            models.UniqueConstraint(
                fields=["snapshot"],
                condition=Q(unit__isnull=True),
                name="snapshot_one_total_row",
                violation_error_message="同一统计只有一行合计",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.snapshot} {self.unit or '合计'}"

    @property
    def is_total(self) -> bool:
        return self.unit_id is None
