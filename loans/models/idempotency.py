"""Stored results of POSTs made with an ``Idempotency-Key`` header (bank API)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class IdempotencyRecord(models.Model):
    """The first response to a POST with a given ``Idempotency-Key``, kept so a retry of the
    same request replays it instead of writing again.

    Keys are scoped to the caller's bank (a bank officer) or, for staff, to the user; the
    unique constraints make two parallel requests with one key claim it only once. The
    request's hash tells a retry from a different request reusing the key.
    """

    class State(models.TextChoices):
        RUNNING = "running", "处理中"
        DONE = "done", "已完成"

    bank = models.ForeignKey(
        "loans.Bank",
        verbose_name="银行",
        on_delete=models.CASCADE,
        related_name="+",
        null=True,
        blank=True,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="用户", on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField("幂等键", max_length=255)
    request_hash = models.CharField("请求摘要", max_length=64)
    state = models.CharField("状态", max_length=8, choices=State.choices, default=State.RUNNING)
    response_status = models.PositiveSmallIntegerField("响应状态码", null=True, blank=True)
    response_body = models.JSONField("响应内容", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    expires_at = models.DateTimeField("过期时间")

    class Meta:
        verbose_name = "幂等请求记录"
        verbose_name_plural = "幂等请求记录"
        constraints = [
            models.UniqueConstraint(
                fields=["bank", "key"],
                condition=Q(bank__isnull=False),
                name="idempotency_key_unique_per_bank",
                violation_error_message="该幂等键已被本行使用",
            ),
            models.UniqueConstraint(
                fields=["user", "key"],
                condition=Q(bank__isnull=True),
                name="idempotency_key_unique_per_user",
                violation_error_message="该幂等键已被使用",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["running", "done"]),
                name="idempotency_state_valid",
                violation_error_message="状态无效",
            ),
        ]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expires_at")]

    def __str__(self) -> str:
        return self.key
