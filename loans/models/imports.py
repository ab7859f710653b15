"""批量导入 jobs: an uploaded workbook checked, then imported, by a Celery task."""

from django.conf import settings
from django.db import models


class ImportJob(models.Model):
    """One uploaded file on its way through check (dry run) and import (``loans.services.
    import_jobs``). The file lives under ``MEDIA_ROOT/imports/`` (never served) until the job
    ends; only the user who uploaded it sees the job.

    The preview keeps the file's first rows with personal numbers masked and the row errors
    as messages, so nothing here holds a resident ID or a mobile number in clear.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        CHECKING = "checking", "检查中"
        CHECKED = "checked", "检查通过，待确认"
        INVALID = "invalid", "有错误，未导入"
        IMPORTING = "importing", "导入中"
        DONE = "done", "导入完成"
        FAILED = "failed", "失败"

    RUNNING = frozenset({Status.QUEUED, Status.CHECKING, Status.IMPORTING})

    resource = models.CharField("导入内容", max_length=32)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="上传人",
        on_delete=models.CASCADE,
        related_name="import_jobs",
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.QUEUED)
    confirmed = models.BooleanField("已确认导入", default=False)
    file = models.CharField("文件", max_length=255, blank=True, default="")
    filename = models.CharField("上传文件名", max_length=255, blank=True, default="")
    rows_total = models.PositiveIntegerField("总行数", null=True, blank=True)
    rows_done = models.PositiveIntegerField("已检查行数", default=0)
    preview = models.JSONField("预览", default=dict, blank=True)
    errors = models.JSONField("行错误", default=list, blank=True)
    error_count = models.PositiveIntegerField("错误数", default=0)
    created_count = models.PositiveIntegerField("新增条数", default=0)
    updated_count = models.PositiveIntegerField("更新条数", default=0)
    error = models.CharField("失败原因", max_length=500, blank=True, default="")
    attempts = models.PositiveSmallIntegerField("执行次数", default=0)
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "导入任务"
        verbose_name_plural = "导入任务"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="import_by_user_idx")]

    def __str__(self) -> str:
        return f"{self.resource} #{self.pk}"

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING

    @property
    def percent(self) -> int:
        if self.status in (self.Status.CHECKED, self.Status.DONE):
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)
