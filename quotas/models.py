"""County quotas (任务数) and the reallocations (调剂) that adjust them."""

from django.db import models
from django.db.models import F, Q

from gonghui.fields import money_field, user_field
from gonghui.history import audited_history


class Quota(models.Model):
    """The lending task of one unit under one program (附件1), in 元."""

    program = models.ForeignKey(
        "loans.Program", verbose_name="贷款项目", on_delete=models.PROTECT, related_name="quotas"
    )
    unit = models.ForeignKey(
        "loans.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="quotas"
    )
    task_amount = money_field(
        "贷款任务数（元）",
    )

    history = audited_history()

    class Meta:
        verbose_name = "任务分配"
        verbose_name_plural = "任务分配"
        ordering = ["program", "unit__sort_order", "unit__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "unit"],
                name="quota_one_per_program_unit",
                violation_error_message="该项目已为该单位分配任务",
            ),
            models.CheckConstraint(
                condition=Q(task_amount__gte=0),
                name="quota_task_not_negative",
                violation_error_message="任务数不能为负数",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.program} {self.unit}"


class Reallocation(models.Model):
    """A move of task amount from one unit to another after the deadline (调剂).

    It is a minus mark (减分项) for the giver and a plus mark (加分项) for the receiver, and
    the adjusted task (task − given + received) is what the allocation formula counts.
    """

    program = models.ForeignKey(
        "loans.Program",
        verbose_name="贷款项目",
        on_delete=models.PROTECT,
        related_name="reallocations",
    )
    from_unit = models.ForeignKey(
        "loans.Unit", verbose_name="调出单位", on_delete=models.PROTECT, related_name="+"
    )
    to_unit = models.ForeignKey(
        "loans.Unit", verbose_name="调入单位", on_delete=models.PROTECT, related_name="+"
    )
    amount = money_field(
        "调剂金额（元）",
    )
    reallocated_on = models.DateField("调剂日期")
    reason = models.TextField("调剂原因")
    created_by = user_field("经办人", optional=False)
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    history = audited_history()

    class Meta:
        verbose_name = "任务调剂"
        verbose_name_plural = "任务调剂"
        ordering = ["program", "reallocated_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="reallocation_amount_positive",
                violation_error_message="调剂金额必须大于0",
            ),
            models.CheckConstraint(
                condition=~Q(from_unit=F("to_unit")),
                name="reallocation_between_two_units",
                violation_error_message="调出单位和调入单位不能相同",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_unit} → {self.to_unit} {self.amount}"
