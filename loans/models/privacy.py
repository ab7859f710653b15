"""Who saw personal data unmasked (PIPL): one append-only row per view or export."""

from django.conf import settings
from django.db import models


class PersonalDataAccess(models.Model):
    """An unmasked view of applicants' resident IDs / mobile numbers.

    A detail page names its applicant; an export names none and counts its rows instead.
    Rows are only ever added: saving an existing row or deleting one raises.
    """

    class Purpose(models.TextChoices):
        DETAIL = "detail", "申请详情"
        PRINT = "print", "打印申请表"
        INTAKE = "intake", "登记时调取"
        ADMIN = "admin", "后台查看"
        ROSTER = "roster", "花名册导出"
        APPLICANT_EXPORT = "applicant_export", "申请人导出"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="用户"
    )
    accessed_at = models.DateTimeField("查看时间", auto_now_add=True, db_index=True)
    purpose = models.CharField("用途", max_length=20, choices=Purpose.choices)
    applicant = models.ForeignKey(
        "loans.Applicant",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="申请人",
    )
    fields = models.CharField("查看字段", max_length=100)
    row_count = models.PositiveIntegerField("记录数", default=1)

    class Meta:
        verbose_name = "个人信息查看记录"
        verbose_name_plural = "个人信息查看记录"
        ordering = ["-accessed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} {self.get_purpose_display()} {self.accessed_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("个人信息查看记录不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("个人信息查看记录不能删除")
