"""Status callbacks to banks (webhook deliveries and their attempts) and the API audit trail."""

from django.conf import settings
from django.db import models


class WebhookDelivery(models.Model):
    """One status change to be POSTed to a bank's webhook URL.

    Created in the transaction that changes the status; a Celery task sends it after the
    commit and records each attempt. ``attempts`` counts the attempts of the current round
    (a redelivery starts a new round); every attempt ever made is a WebhookAttempt row.
    """

    class State(models.TextChoices):
        PENDING = "pending", "待发送"
        DELIVERED = "delivered", "已送达"
        FAILED = "failed", "发送失败"

    bank = models.ForeignKey(
        "loans.Bank", on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    unit = models.ForeignKey(
        "loans.Unit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    event = models.CharField("事件类型", max_length=50)
    object_type = models.CharField("对象类型", max_length=20)
    object_id = models.PositiveBigIntegerField("对象编号")
    payload = models.JSONField("推送内容")
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField("本轮尝试次数", default=0)
    last_status_code = models.PositiveSmallIntegerField("最近响应状态码", null=True, blank=True)
    last_error = models.TextField("最近错误", blank=True)
    next_attempt_at = models.DateTimeField("下次尝试时间", null=True, blank=True)
    delivered_at = models.DateTimeField("送达时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "回调推送"
        verbose_name_plural = "回调推送"
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="webhook_pending_idx")]

    def __str__(self) -> str:
        return f"{self.event} #{self.object_id}"


class WebhookAttempt(models.Model):
    """The outcome of one POST of a delivery."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    attempted_at = models.DateTimeField("尝试时间", auto_now_add=True)
    status_code = models.PositiveSmallIntegerField("响应状态码", null=True, blank=True)
    error = models.TextField("错误", blank=True)
    succeeded = models.BooleanField("成功", default=False)
    retry_in_seconds = models.PositiveIntegerField("重试间隔（秒）", null=True, blank=True)

    class Meta:
        verbose_name = "回调尝试"
        verbose_name_plural = "回调尝试"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"


class ApiAuditEntry(models.Model):
    """One API write (POST/PUT/PATCH/DELETE): who, which bank, what, and the outcome."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    bank = models.ForeignKey(
        "loans.Bank", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    unit = models.ForeignKey(
        "loans.Unit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("时间", auto_now_add=True)
    method = models.CharField("请求方法", max_length=10)
    path = models.CharField("路径", max_length=255)
    object_type = models.CharField("对象类型", max_length=30, blank=True)
    object_id = models.PositiveBigIntegerField("对象编号", null=True, blank=True)
    changes = models.JSONField("提交内容", default=dict, blank=True)
    response_status = models.PositiveSmallIntegerField("响应状态码")
    request_id = models.CharField("请求编号", max_length=64)

    class Meta:
        verbose_name = "接口审计记录"
        verbose_name_plural = "接口审计记录"
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.response_status}"
