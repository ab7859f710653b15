"""Building the monthly completion statistics (附件3) with aggregate queries only."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum

from accounts.choices import Role
from accounts.scoping import role_of
from gonghui.errors import DomainError
from gonghui.money import HUNDRED, ZERO
from loans.models import Loan, Program, Unit
from quotas.models import Quota, Reallocation
from reports.models import MonthlySnapshot, MonthlySnapshotRow

SUMMED = ("amount", "renewal_amount", "leveraged_amount", "completed")
COUNTED = ("loans", "new_union_members", "jobs_created")


def parse_month(value: str) -> date:
    """ "2020-07" → 2020-07-01, with a Chinese field error otherwise."""
    try:
        year, month = (int(part) for part in str(value).strip().split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        raise DomainError.for_field("month", "month_invalid", "月份格式须为YYYY-MM") from None


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def previous_month(today: date) -> date:
    """The month just ended (the one reported on the 2nd)."""
    first = today.replace(day=1)
    return (
        first.replace(year=first.year - 1, month=12)
        if first.month == 1
        else first.replace(month=first.month - 1)
    )


def _rate(completed: Decimal, task: Decimal) -> Decimal | None:
    if task <= ZERO:
        return None
    return (completed / task * HUNDRED).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@transaction.atomic
def build_monthly_snapshot(*, program: Program, month: date, user=None) -> MonthlySnapshot:
    """Build (or rebuild) 附件3 for the program as of the month's last day.

    Per unit with a quota or a loan: the adjusted task (task − reallocations given +
    received, dated on or before the month end), then cumulative figures of the program's
    loans disbursed by that day — count, principal, of which renewals, leveraged amount,
    new union members, jobs created, the completed amount (subsidised principal) and the
    completion rate. Five queries whatever the number of loans; safe to run twice.
    """
    if user is not None and role_of(user) != Role.CITY_STAFF:
        raise DomainError("permission_denied", "只有市总工会经办人可以生成统计")
    as_of = month_end(month)
    tasks = dict(Quota.objects.filter(program=program).values_list("unit_id", "task_amount"))
    moves = Reallocation.objects.filter(program=program, reallocated_on__lte=as_of)
    for unit_id, given in (
        moves.values_list("from_unit").annotate(s=Sum("amount")).values_list("from_unit", "s")
    ):
        tasks[unit_id] = tasks.get(unit_id, ZERO) - given
    for unit_id, received in (
        moves.values_list("to_unit").annotate(s=Sum("amount")).values_list("to_unit", "s")
    ):
        tasks[unit_id] = tasks.get(unit_id, ZERO) + received
    figures = {
        row["unit"]: row
        for row in Loan.objects.filter(program=program, disbursed_on__lte=as_of)
        .values("unit")
        .annotate(
            loans=Count("id"),
            amount=Sum("principal"),
            renewal_amount=Sum("principal", filter=Q(renewal_of__isnull=False)),
            leveraged_amount=Sum("leveraged_amount"),
            new_union_members=Sum("new_union_members"),
            jobs_created=Sum("jobs_created"),
            completed=Sum("subsidised_principal"),
        )
    }
    units = Unit.objects.filter(pk__in=set(tasks) | set(figures)).order_by("sort_order", "code")
    snapshot, _ = MonthlySnapshot.objects.update_or_create(
        program=program, month=month, defaults={"as_of": as_of, "built_by": user}
    )
    snapshot.rows.all().delete()
    rows, total = [], {name: ZERO for name in SUMMED} | {name: 0 for name in COUNTED}
    total_task = ZERO
    for position, unit in enumerate(units, start=1):
        data = figures.get(unit.pk, {})
        values = {name: data.get(name) or ZERO for name in SUMMED}
        values |= {name: data.get(name) or 0 for name in COUNTED}
        task = tasks.get(unit.pk, ZERO)
        rows.append(
            MonthlySnapshotRow(
                snapshot=snapshot,
                unit=unit,
                position=position,
                task=task,
                completion_rate=_rate(values["completed"], task),
                **values,
            )
        )
        total_task += task
        for name in (*SUMMED, *COUNTED):
            total[name] += values[name]
    rows.append(
        MonthlySnapshotRow(
            snapshot=snapshot,
            unit=None,
            position=len(rows) + 1,
            task=total_task,
            completion_rate=_rate(total["completed"], total_task),
            **total,
        )
    )
    MonthlySnapshotRow.objects.bulk_create(rows)
    return snapshot
