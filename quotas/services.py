"""Writes on quotas: setting a unit's task and reallocating task between units (调剂)."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from accounts.choices import Role
from accounts.scoping import role_of
from gonghui.errors import DomainError
from gonghui.history import writes_as_user
from gonghui.inputs import FieldErrors, clean_text, parse_amount, parse_date
from loans.models import Program, Unit
from quotas.models import Quota, Reallocation
from quotas.selectors import adjusted_task


def _require_city_staff(user) -> None:
    if role_of(user) != Role.CITY_STAFF:
        raise DomainError("permission_denied", "只有市总工会经办人可以分配或调剂任务")


@writes_as_user
@transaction.atomic
def set_quota(*, program: Program, unit: Unit, task_amount, user) -> Quota:
    """Set (or change) a unit's task under a program."""
    _require_city_staff(user)
    amount = parse_amount(task_amount, field="task_amount", allow_zero=True)
    quota, _ = Quota.objects.update_or_create(
        program=program, unit=unit, defaults={"task_amount": amount}
    )
    return quota


@writes_as_user
@transaction.atomic
def record_reallocation(
    *,
    program: Program,
    from_unit: Unit,
    to_unit: Unit,
    amount,
    reallocated_on: date,
    reason: str,
    user,
) -> Reallocation:
    """Move task amount from one unit to another after the disbursement deadline.

    The giver cannot give more than its adjusted task; both units must hold a quota under
    the program. The move is a minus mark for the giver and a plus mark for the receiver.
    """
    _require_city_staff(user)
    errors = FieldErrors()
    amount = errors.attempt("amount", lambda: parse_amount(amount, field="amount"))
    reallocated_on = errors.attempt(
        "reallocated_on",
        lambda: parse_date(reallocated_on, field="reallocated_on", label="调剂日期"),
    )
    reason = clean_text(reason)
    if from_unit.pk == to_unit.pk:
        errors.add("to_unit", "调出单位和调入单位不能相同")
    quotas = {
        q.unit_id: q
        for q in Quota.objects.select_for_update().filter(
            program=program, unit__in=[from_unit, to_unit]
        )
    }
    for field, unit in (("from_unit", from_unit), ("to_unit", to_unit)):
        if unit.pk not in quotas:
            errors.add(field, f"{unit}在{program}中没有分配任务")
    if not reason:
        errors.add("reason", "请填写调剂原因")
    deadline = program.disburse_deadline
    if reallocated_on is not None and deadline and reallocated_on <= deadline:
        errors.add(
            "reallocated_on", f"任务调剂须在审核发放截止日（{deadline.isoformat()}）之后进行"
        )
    if not errors:
        available = adjusted_task(program=program, unit=from_unit)
        if amount > available:
            errors.add("amount", f"调剂金额超过{from_unit}调整后任务数{available}元")
    errors.raise_if_any("任务调剂信息有误")
    return Reallocation.objects.create(
        program=program,
        from_unit=from_unit,
        to_unit=to_unit,
        amount=amount,
        reallocated_on=reallocated_on,
        reason=reason,
        created_by=user,
    )
