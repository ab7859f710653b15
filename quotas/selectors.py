"""Reads of quotas that several doors need: adjusted tasks and completion per unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, Sum

from gonghui.money import HUNDRED, ZERO
from loans.models import Loan, Program, Unit
from quotas.models import Quota, Reallocation


def adjusted_task(*, program: Program, unit: Unit) -> Decimal:
    """A unit's task after every reallocation: task − given + received."""
    task = (
        Quota.objects.filter(program=program, unit=unit)
        .values_list("task_amount", flat=True)
        .first()
        or ZERO
    )
    moves = Reallocation.objects.filter(program=program).aggregate(
        given=Sum("amount", filter=Q(from_unit=unit)),
        received=Sum("amount", filter=Q(to_unit=unit)),
    )
    return task - (moves["given"] or ZERO) + (moves["received"] or ZERO)


@dataclass(frozen=True)
class QuotaRow:
    """One unit's line of the quota table."""

    unit: Unit
    task: Decimal
    given: Decimal  # 调出 (minus mark)
    received: Decimal  # 调入 (plus mark)
    completed: Decimal  # subsidised principal disbursed, renewals included
    loans: int

    @property
    def adjusted_task(self) -> Decimal:
        return self.task - self.given + self.received

    @property
    def completion_rate(self) -> Decimal | None:
        """Completed amount as a percent of the adjusted task (None when there is no task)."""
        if self.adjusted_task <= ZERO:
            return None
        return self.completed / self.adjusted_task * HUNDRED


def quota_table(*, program: Program, as_of: date | None = None) -> list[QuotaRow]:
    """Every unit with a quota under the program, with its reallocations and completion.

    Four aggregate queries whatever the number of units or loans. Completed amount counts
    the subsidised principal of the program's loans (renewals included) by disbursing unit,
    disbursed on or before ``as_of`` when given.
    """
    quotas = list(
        Quota.objects.filter(program=program)
        .select_related("unit")
        .order_by("unit__sort_order", "unit__code")
    )
    given = dict(
        Reallocation.objects.filter(program=program)
        .values_list("from_unit")
        .annotate(total=Sum("amount"))
        .values_list("from_unit", "total")
    )
    received = dict(
        Reallocation.objects.filter(program=program)
        .values_list("to_unit")
        .annotate(total=Sum("amount"))
        .values_list("to_unit", "total")
    )
    loans = Loan.objects.filter(program=program)
    if as_of is not None:
        loans = loans.filter(disbursed_on__lte=as_of)
    completion = {
        row["unit"]: row
        for row in loans.values("unit").annotate(
            completed=Sum("subsidised_principal"), count=Count("id")
        )
    }
    return [
        QuotaRow(
            unit=q.unit,
            task=q.task_amount,
            given=given.get(q.unit_id) or ZERO,
            received=received.get(q.unit_id) or ZERO,
            completed=completion.get(q.unit_id, {}).get("completed") or ZERO,
            loans=completion.get(q.unit_id, {}).get("count") or 0,
        )
        for q in quotas
    ]
