"""Enumerations of the subsidy domain, with the Chinese labels the ledger and the admin use."""

from django.db import models


class ClaimStatus(models.TextChoices):
    """Where a claim (贴息申请) stands on its way to payment.

    pending → batched (gathered into a draft batch) → approved (the batch is approved) →
    paid (the batch is paid). A paid claim never changes again.
    """

    PENDING = "pending", "待纳入批次"
    BATCHED = "batched", "已纳入批次"
    APPROVED = "approved", "已审批"
    PAID = "paid", "已支付"


class BatchStatus(models.TextChoices):
    """A payment batch (贴息拨付批次): made by one city clerk, approved by another, paid."""

    DRAFT = "draft", "待审批"
    APPROVED = "approved", "已审批"
    PAID = "paid", "已支付"
