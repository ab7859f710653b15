"""Payment batches (拨付批次): city staff gather pending claims, another city clerk approves
the batch (four eyes: never its maker), and it is marked paid with a date and a reference.

Each step locks the batch (and the claims it takes in), so two clerks acting at once cannot
put a claim in two batches or approve a batch twice. A paid claim never changes.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.scoping import role_of
from gonghui.errors import DomainError
from gonghui.history import bulk_update_audited, writes_as_user
from gonghui.inputs import FieldErrors, clean_text, parse_count, parse_date
from gonghui.money import ZERO
from loans.models import Program
from subsidies.choices import BatchStatus, ClaimStatus
from subsidies.models import PaymentBatch, SubsidyClaim


def _require_city_staff(user, action: str) -> None:
    if role_of(user) != Role.CITY_STAFF:
        raise DomainError("permission_denied", f"只有市总工会经办人可以{action}")


def _parse_claim_ids(claim_ids: Iterable) -> list[int]:
    if claim_ids is None or isinstance(claim_ids, str | bytes):
        claim_ids = [claim_ids] if claim_ids else []
    ids = []
    for value in claim_ids:
        ids.append(parse_count(value, field="claim_ids", label="贴息申请编号"))
    if not ids:
        raise DomainError.for_field("claim_ids", "claims_required", "请选择要纳入批次的贴息申请")
    return sorted(set(ids))


def _next_number(program: Program) -> str:
    """The program's next batch number (TX-<program>-001, -002, …); the caller holds the
    program lock."""
    sequence = PaymentBatch.objects.filter(program=program).count() + 1
    while PaymentBatch.objects.filter(number=f"TX-{program.code}-{sequence:03d}").exists():
        sequence += 1
    return f"TX-{program.code}-{sequence:03d}"


@writes_as_user
@transaction.atomic
def create_batch(*, program: Program, claim_ids: Iterable, user, note: str = "") -> PaymentBatch:
    """Gather pending claims of one program into a new draft batch made by ``user``."""
    _require_city_staff(user, "制作拨付批次")
    ids = _parse_claim_ids(claim_ids)
    note = clean_text(note, max_length=200, field="note")
    program = Program.objects.select_for_update().get(pk=program.pk)
    claims = list(SubsidyClaim.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    errors = FieldErrors()
    missing = sorted(set(ids) - {claim.pk for claim in claims})
    if missing:
        errors.add("claim_ids", f"贴息申请不存在：{'、'.join(map(str, missing))}")
    other = [claim.pk for claim in claims if claim.program_id != program.pk]
    if other:
        errors.add("claim_ids", f"贴息申请不属于{program}：{'、'.join(map(str, other))}")
    taken = [claim.pk for claim in claims if claim.status != ClaimStatus.PENDING]
    if taken:
        errors.add("claim_ids", f"贴息申请已纳入其他批次或已支付：{'、'.join(map(str, taken))}")
    errors.raise_if_any("拨付批次信息有误")
    batch = PaymentBatch.objects.create(
        number=_next_number(program),
        program=program,
        claim_count=len(claims),
        total=sum((claim.amount for claim in claims), ZERO),
        note=note,
        created_by=user,
    )
    # Every claim is locked and pending (checked above); bulk_update_audited rather than
    # QuerySet.update() so each claim's history shows it entering the batch.
    now = timezone.now()
    for claim in claims:
        claim.status, claim.batch, claim.updated_at = ClaimStatus.BATCHED, batch, now
    bulk_update_audited(SubsidyClaim, claims, ["status", "batch", "updated_at"])
    return batch


def _lock(batch: PaymentBatch) -> PaymentBatch:
    return PaymentBatch.objects.select_for_update().get(pk=batch.pk)


def _move_claims(batch: PaymentBatch, *, from_status: str, to_status: str) -> None:
    claims = list(
        SubsidyClaim.objects.select_for_update()
        .filter(batch=batch, status=from_status)
        .order_by("pk")
    )
    if len(claims) != batch.claim_count:
        # The batch's claims moved behind its back: refuse rather than pay a different set.
        raise DomainError("batch_claims_changed", "批次中的贴息申请已发生变化，请重新核对")
    now = timezone.now()
    for claim in claims:
        claim.status, claim.updated_at = to_status, now
    bulk_update_audited(SubsidyClaim, claims, ["status", "updated_at"])


@writes_as_user
@transaction.atomic
def approve_batch(*, batch: PaymentBatch, user) -> PaymentBatch:
    """Approve a draft batch: city staff, and never the clerk who made it."""
    _require_city_staff(user, "审批拨付批次")
    locked = _lock(batch)
    if locked.status != BatchStatus.DRAFT:
        raise DomainError("batch_not_draft", "该批次已审批，不能重复审批")
    if locked.created_by_id == user.pk:
        raise DomainError("maker_cannot_approve", "制单人不能审批自己制作的批次")
    locked.status = BatchStatus.APPROVED
    locked.approved_by = user
    locked.approved_at = timezone.now()
    locked.save(update_fields=["status", "approved_by", "approved_at"])
    _move_claims(locked, from_status=ClaimStatus.BATCHED, to_status=ClaimStatus.APPROVED)
    return locked


@writes_as_user
@transaction.atomic
def mark_batch_paid(*, batch: PaymentBatch, user, paid_on, reference) -> PaymentBatch:
    """Record the payment of an approved batch (date and the bank's payment reference);
    every claim in it becomes paid and never changes again."""
    _require_city_staff(user, "登记拨付")
    locked = _lock(batch)
    if locked.status == BatchStatus.DRAFT:
        raise DomainError("batch_not_approved", "该批次尚未审批，不能登记支付")
    if locked.status == BatchStatus.PAID:
        raise DomainError("batch_already_paid", "该批次已支付")
    errors = FieldErrors()
    paid_on = errors.attempt(
        "paid_on", lambda: parse_date(paid_on, field="paid_on", label="支付日期")
    )
    reference = errors.attempt(
        "payment_reference",
        lambda: clean_text(reference, max_length=64, field="payment_reference"),
    )
    if reference == "":
        errors.add("payment_reference", "请填写支付凭证号")
    if paid_on is not None:
        approved_on = timezone.localdate(locked.approved_at)
        if paid_on < approved_on:
            errors.add("paid_on", f"支付日期不能早于审批日期{approved_on.isoformat()}")
        elif paid_on > timezone.localdate():
            errors.add("paid_on", "支付日期不能晚于今天")
    errors.raise_if_any("支付信息有误")
    locked.status = BatchStatus.PAID
    locked.paid_by = user
    locked.paid_on = paid_on
    locked.payment_reference = reference
    locked.save(update_fields=["status", "paid_by", "paid_on", "payment_reference"])
    _move_claims(locked, from_status=ClaimStatus.APPROVED, to_status=ClaimStatus.PAID)
    return locked
