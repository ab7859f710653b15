"""Stored report snapshots: the monthly completion statistics (附件3)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from gonghui.fields import money_field, user_field


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
    # Unbounded: a unit whose task was reallocated away can complete 100,000 %.
    completion_rate = models.DecimalField(
        "任务完成率（%）",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )

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


class OutboxMessage(models.Model):
    """A Celery task to run, written in the same transaction as the change that wants it.

    ``reports.outbox`` publishes it when that transaction commits and the beat sweep
    republishes what is still pending (broker down, worker lost), so no task is lost; the
    task marks the row done in the transaction of its work, so none runs twice.
    """

    task = models.CharField("任务", max_length=200)
    kwargs = models.JSONField("参数", default=dict, blank=True)
    key = models.CharField(
        "去重键", max_length=200, null=True, blank=True, unique=True, help_text="同一键只排队一次"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    dispatched_at = models.DateTimeField("最近发送时间", null=True, blank=True)
    done_at = models.DateTimeField("完成时间", null=True, blank=True)
    attempts = models.PositiveIntegerField("尝试次数", default=0)
    last_error = models.TextField("最近错误", blank=True, default="")

    class Meta:
        verbose_name = "待执行任务"
        verbose_name_plural = "待执行任务"
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(done_at__isnull=True),
                name="outbox_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"


class ExportJob(models.Model):
    """A large download built by a Celery task (``reports.jobs``), kept for seven days.

    The file lives under ``MEDIA_ROOT/exports/`` and is only ever served by the download
    view to the user who asked for it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "排队中"
        RUNNING = "running", "生成中"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    kind = models.CharField("导出类型", max_length=64)
    params = models.JSONField("参数", default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="申请人",
        on_delete=models.CASCADE,
        related_name="export_jobs",
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    rows_done = models.PositiveIntegerField("已写行数", default=0)
    rows_total = models.PositiveIntegerField("总行数", null=True, blank=True)
    file = models.CharField("文件", max_length=255, blank=True, default="")
    filename = models.CharField("下载文件名", max_length=255, blank=True, default="")
    error = models.CharField("错误信息", max_length=500, blank=True, default="")
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "导出任务"
        verbose_name_plural = "导出任务"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="export_by_user_idx")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)


class DigestDelivery(models.Model):
    """One user's daily digest of one day was sent: the scheduled task sends it once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="用户", on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField("日期")
    sent_at = models.DateTimeField("发送时间", auto_now_add=True)

    class Meta:
        verbose_name = "每日提醒发送记录"
        verbose_name_plural = "每日提醒发送记录"
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="digest_once_per_user_day")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.day}"
