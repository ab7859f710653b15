"""The county subsidy allocation (贴息补助分配) of the 九工贷 notice, per program.

For each unit, with its adjusted task (task − given + received after reallocation):

* counted amount = 0 when its completed amount is below ``floor_ratio`` % of its adjusted
  task (or it has no task), otherwise min(completed, ``cap_ratio`` % of the adjusted task);
* city contribution = the city pool when the city-wide completed amount reaches the program
  target, otherwise pool × city-wide completed / target;
* distributed = city contribution + provincial amount;
* unit allocation = distributed × counted / city-wide completed;
* retained (stays with the city) = distributed − Σ allocations: what the floor and the cap
  withhold.

Rounding, once, to the fen (largest-remainder / Hamilton method):

1. Every figure above is computed exactly, in integers over a common denominator (fens,
   hundredths of a percent), never by an approximate division.
2. The city contribution is rounded half-up to the fen; the provincial amount is already in
   fen; their sum is the distributed amount actually paid out.
3. The allocated total is Σ of the exact unit allocations, rounded half-up to the fen. It
   never exceeds the distributed amount (Σ counted ≤ city-wide completed), and it equals it
   when nothing is withheld.
4. Each unit first gets its exact allocation rounded down to the fen; the fens still
   missing to reach the allocated total (fewer than the number of units) go one each to the
   units with the largest dropped remainders; equal remainders go in table order. So every
   unit is within one fen of its exact allocation, a unit with nothing counted gets exactly
   0, and Σ allocations + retained == distributed to the fen.

The unit shares are taken from the exact (unrounded) city contribution, so raising one
unit's completed amount (within its cap, the others unchanged) never lowers the unit's own
rounded allocation: its exact amount grows, every other unit's shrinks or stays, and the
allocated total does not shrink, which is the case where the largest-remainder method is
monotone.

:func:`compute_allocation` is the pure core over plain rows; :func:`allocate_county_subsidy`
reads a program's rows from the database; :func:`freeze_allocation` stores a confirmed
result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.choices import Role
from accounts.scoping import role_of
from gonghui.errors import DomainError
from gonghui.history import bulk_create_audited, writes_as_user
from gonghui.money import ZERO
from loans.models import Loan, Program, Unit
from quotas.selectors import quota_table
from subsidies.models import FINE_PLACES, AllocationResult, AllocationRow
from subsidies.services.exact import FENS_PER_YUAN, fen_decimal, hundredths, ratio_decimal

RATE_PLACES = 4  # completion rates shown as percent with four decimals
PERCENT = 100
METHOD = "largest_remainder"


@dataclass(frozen=True)
class UnitFigures:
    """One unit's inputs to the allocation; ``unit`` is passed through untouched."""

    unit: Any
    task: Decimal
    given: Decimal = ZERO
    received: Decimal = ZERO
    completed: Decimal = ZERO

    @property
    def adjusted_task(self) -> Decimal:
        return self.task - self.given + self.received


@dataclass(frozen=True)
class AllocationPolicy:
    """The program's allocation settings (money in 元, ratios in percent)."""

    pool: Decimal
    provincial: Decimal
    target: Decimal
    floor_ratio: Decimal
    cap_ratio: Decimal

    @classmethod
    def of(cls, program: Program) -> AllocationPolicy:
        return cls(
            pool=program.allocation_pool,
            provincial=program.provincial_amount,
            target=program.target_amount,
            floor_ratio=program.floor_ratio,
            cap_ratio=program.cap_ratio,
        )

    def as_json(self) -> dict[str, str]:
        return {
            "pool": str(self.pool),
            "provincial": str(self.provincial),
            "target": str(self.target),
            "floor_ratio": str(self.floor_ratio),
            "cap_ratio": str(self.cap_ratio),
        }

    @classmethod
    def from_json(cls, data: dict) -> AllocationPolicy:
        return cls(**{name: Decimal(data[name]) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class AllocationLine:
    """One unit's line of the allocation table, with every intermediate column."""

    unit: Any
    task: Decimal
    given: Decimal  # 调出: a minus mark
    received: Decimal  # 调入: a plus mark
    adjusted_task: Decimal
    completed: Decimal
    completion_rate: Decimal | None  # percent of the adjusted task; None without a task
    below_floor: bool
    capped: bool
    counted: Decimal  # exact (120% of a task can have more places than the fen)
    share: Decimal  # counted ÷ city-wide completed, percent (display)
    exact_allocation: Decimal  # before rounding, to the millionth (display)
    allocation: Decimal  # to the fen

    @property
    def has_minus_mark(self) -> bool:
        return self.given > ZERO

    @property
    def has_plus_mark(self) -> bool:
        return self.received > ZERO

    @property
    def reallocation_mark(self) -> str:
        """减分 for a unit that gave task away, 加分 for one that received (both if both)."""
        marks = []
        if self.has_minus_mark:
            marks.append("减分")
        if self.has_plus_mark:
            marks.append("加分")
        return "、".join(marks)


@dataclass(frozen=True)
class AllocationTable:
    """The whole allocation: unit lines and the city-level figures."""

    policy: AllocationPolicy
    lines: tuple[AllocationLine, ...]
    city_completed: Decimal
    city_completion_rate: Decimal  # percent of the program target
    target_met: bool
    counted_total: Decimal
    city_contribution: Decimal
    provincial: Decimal
    distributed: Decimal
    allocated: Decimal
    retained: Decimal
    as_of: date | None = None
    frozen: Any = field(default=None, compare=False)  # the AllocationResult, when frozen

    @property
    def task_total(self) -> Decimal:
        return sum((line.task for line in self.lines), ZERO)

    @property
    def adjusted_task_total(self) -> Decimal:
        return sum((line.adjusted_task for line in self.lines), ZERO)

    @property
    def given_total(self) -> Decimal:
        return sum((line.given for line in self.lines), ZERO)

    @property
    def received_total(self) -> Decimal:
        return sum((line.received for line in self.lines), ZERO)


def _check_policy(policy: AllocationPolicy) -> None:
    if policy.target <= ZERO:
        raise DomainError("allocation_target_invalid", "全市贷款任务总额必须大于0")
    if policy.pool < ZERO or policy.provincial < ZERO:
        raise DomainError("allocation_pool_invalid", "补助资金不能为负数")
    if policy.floor_ratio < ZERO or policy.floor_ratio > policy.cap_ratio:
        raise DomainError("allocation_ratio_invalid", "补助下限须不小于0且不高于补助封顶")


def _hundredths(value, what: str) -> int:
    try:
        return hundredths(value)
    except (TypeError, ValueError, ArithmeticError):
        raise DomainError("allocation_amount_invalid", f"{what}须为最多两位小数的数值") from None


def _largest_remainder(numerators: Sequence[int], denominator: int, total: int) -> list[int]:
    """Whole fens per unit adding up to ``total``, unit i's exact share being
    ``numerators[i] / denominator`` fens (see the module docstring, step 4)."""
    split = [divmod(numerator, denominator) for numerator in numerators]
    fens = [whole for whole, _ in split]
    missing = total - sum(fens)
    if not 0 <= missing <= len(fens):
        raise ValueError("the allocated total is not within one fen per unit of the shares")
    by_remainder = sorted(range(len(split)), key=lambda i: (-split[i][1], i))
    for index in by_remainder[:missing]:
        fens[index] += 1
    return fens


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up to a whole number (both non-negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


def compute_allocation(
    *, units: Sequence[UnitFigures], policy: AllocationPolicy, as_of: date | None = None
) -> AllocationTable:
    """The allocation table of plain unit rows under a policy: pure, no database.

    Exact integer arithmetic: amounts are taken in fens and ratios in hundredths of a
    percent (both have two decimals), so a counted amount is a whole number of
    millionths of a 元 (fen × 1/10,000) and every unit's exact allocation is a fraction over
    one common denominator, whose remainders compare exactly.
    """
    _check_policy(policy)
    floor = _hundredths(policy.floor_ratio, "补助下限")
    cap = _hundredths(policy.cap_ratio, "补助封顶")
    pool = _hundredths(policy.pool, "市总补助资金")
    provincial = _hundredths(policy.provincial, "省总补助资金")
    target = _hundredths(policy.target, "全市贷款任务总额")
    scale = 100 * PERCENT  # hundredths of a percent in one

    # Counted amounts in fen / 10,000 (the cap ratio has four decimals as a fraction).
    counted: list[int] = []
    flags: list[tuple[bool, bool]] = []
    completed_fens: list[int] = []
    adjusted_fens: list[int] = []
    for row in units:
        if min(row.task, row.given, row.received, row.completed) < ZERO:
            raise DomainError("allocation_amount_invalid", f"{row.unit}的任务数或完成额不能为负数")
        completed = _hundredths(row.completed, f"{row.unit}的完成额")
        adjusted = _hundredths(row.adjusted_task, f"{row.unit}的调整后任务数")
        completed_fens.append(completed)
        adjusted_fens.append(adjusted)
        if adjusted <= 0:
            counted.append(0)
            flags.append((False, False))
        elif completed * scale < floor * adjusted:
            counted.append(0)
            flags.append((True, False))
        else:
            counted.append(min(completed * scale, cap * adjusted))
            flags.append((False, completed * scale > cap * adjusted))

    city = sum(completed_fens)
    target_met = city >= target
    reached = min(city, target)
    # City contribution = pool × reached / target fens; distributed = that + provincial.
    # Unit i's exact allocation = distributed × counted_i / (scale × city)
    #                           = (pool × reached + provincial × target) × counted_i
    #                             / (target × scale × city) fens.
    distributed_numerator = pool * reached + provincial * target
    denominator = target * scale * city if city else 1
    numerators = [distributed_numerator * c if city else 0 for c in counted]

    contribution_fens = _half_up(pool * reached, target)
    distributed_fens = contribution_fens + provincial
    allocated_fens = _half_up(sum(numerators), denominator)
    unit_fens = _largest_remainder(numerators, denominator, allocated_fens)

    share_denominator = scale * city if city else 1
    lines = tuple(
        AllocationLine(
            unit=row.unit,
            task=fen_decimal(_hundredths(row.task, f"{row.unit}的任务数")),
            given=fen_decimal(_hundredths(row.given, f"{row.unit}的调出任务")),
            received=fen_decimal(_hundredths(row.received, f"{row.unit}的调入任务")),
            adjusted_task=fen_decimal(adjusted),
            completed=fen_decimal(completed),
            completion_rate=(
                ratio_decimal(completed * PERCENT, adjusted, RATE_PLACES) if adjusted > 0 else None
            ),
            below_floor=below_floor,
            capped=capped,
            counted=ratio_decimal(amount_counted, scale * FENS_PER_YUAN, FINE_PLACES),
            share=ratio_decimal(amount_counted * PERCENT, share_denominator, FINE_PLACES),
            exact_allocation=ratio_decimal(numerator, denominator * FENS_PER_YUAN, FINE_PLACES),
            allocation=fen_decimal(fens),
        )
        for row, completed, adjusted, (below_floor, capped), amount_counted, numerator, fens in zip(
            units, completed_fens, adjusted_fens, flags, counted, numerators, unit_fens, strict=True
        )
    )
    return AllocationTable(
        policy=policy,
        lines=lines,
        city_completed=fen_decimal(city),
        city_completion_rate=ratio_decimal(city * PERCENT, target, RATE_PLACES),
        target_met=target_met,
        counted_total=ratio_decimal(sum(counted), scale * FENS_PER_YUAN, FINE_PLACES),
        city_contribution=fen_decimal(contribution_fens),
        provincial=fen_decimal(provincial),
        distributed=fen_decimal(distributed_fens),
        allocated=fen_decimal(allocated_fens),
        retained=fen_decimal(distributed_fens - allocated_fens),
        as_of=as_of,
    )


def unit_figures(*, program: Program, as_of: date | None = None) -> list[UnitFigures]:
    """The program's units with their tasks, reallocations and completed amounts.

    Units with a quota come in the quota table's order; a unit that lent under the program
    without a quota is appended with a task of 0 (it counts towards the city-wide completed
    amount but receives nothing). Five or six queries whatever the number of units or loans.
    """
    rows = quota_table(program=program, as_of=as_of)
    figures = [
        UnitFigures(
            unit=row.unit,
            task=row.task,
            given=row.given,
            received=row.received,
            completed=row.completed,
        )
        for row in rows
    ]
    loans = Loan.objects.filter(program=program).exclude(unit__in=[row.unit.pk for row in rows])
    if as_of is not None:
        loans = loans.filter(disbursed_on__lte=as_of)
    extra = {
        item["unit"]: item["completed"]
        for item in loans.values("unit").annotate(completed=Sum("subsidised_principal"))
    }
    if extra:
        for unit in Unit.objects.filter(pk__in=extra).order_by("sort_order", "code"):
            figures.append(UnitFigures(unit=unit, task=ZERO, completed=extra[unit.pk]))
    return figures


def allocate_county_subsidy(*, program: Program, as_of: date | None = None) -> AllocationTable:
    """The program's allocation table as the data stand now (or as of a date)."""
    return compute_allocation(
        units=unit_figures(program=program, as_of=as_of),
        policy=AllocationPolicy.of(program),
        as_of=as_of,
    )


@writes_as_user
@transaction.atomic
def freeze_allocation(*, program: Program, user, as_of: date | None = None) -> AllocationResult:
    """Store the program's allocation as city staff confirmed it, with its inputs.

    One frozen result per program; the program row is locked so two confirmations cannot
    both store one.
    """
    if role_of(user) != Role.CITY_STAFF:
        raise DomainError("permission_denied", "只有市总工会经办人可以确认贴息补助分配")
    program = Program.objects.select_for_update().get(pk=program.pk)
    if AllocationResult.objects.filter(program=program).exists():
        raise DomainError("allocation_already_frozen", "该项目的贴息补助分配已确认，不能重复确认")
    table = allocate_county_subsidy(program=program, as_of=as_of)
    result = AllocationResult.objects.create(
        program=program,
        as_of=as_of,
        inputs={
            **table.policy.as_json(),
            "as_of": as_of.isoformat() if as_of else None,
            "rounding": METHOD,
        },
        city_completed=table.city_completed,
        counted_total=table.counted_total,
        target_met=table.target_met,
        city_contribution=table.city_contribution,
        provincial_amount=table.provincial,
        distributed=table.distributed,
        allocated=table.allocated,
        retained=table.retained,
        confirmed_by=user,
        confirmed_at=timezone.now(),
    )
    bulk_create_audited(
        AllocationRow,
        [
            AllocationRow(
                result=result,
                unit=line.unit,
                position=position,
                task=line.task,
                given=line.given,
                received=line.received,
                adjusted_task=line.adjusted_task,
                completed=line.completed,
                completion_rate=line.completion_rate,
                below_floor=line.below_floor,
                capped=line.capped,
                counted=line.counted,
                share=line.share,
                exact_allocation=line.exact_allocation,
                allocation=line.allocation,
            )
            for position, line in enumerate(table.lines, start=1)
        ],
    )
    return result


def table_from_result(result: AllocationResult, rows: Sequence[AllocationRow]) -> AllocationTable:
    """A frozen result read back as the same table the live computation returns."""
    policy = AllocationPolicy.from_json(result.inputs)
    return AllocationTable(
        policy=policy,
        lines=tuple(
            AllocationLine(
                unit=row.unit,
                task=row.task,
                given=row.given,
                received=row.received,
                adjusted_task=row.adjusted_task,
                completed=row.completed,
                completion_rate=row.completion_rate,
                below_floor=row.below_floor,
                capped=row.capped,
                counted=row.counted,
                share=row.share,
                exact_allocation=row.exact_allocation,
                allocation=row.allocation,
            )
            for row in rows
        ),
        city_completed=result.city_completed,
        city_completion_rate=ratio_decimal(
            hundredths(result.city_completed) * PERCENT, hundredths(policy.target), RATE_PLACES
        ),
        target_met=result.target_met,
        counted_total=result.counted_total,
        city_contribution=result.city_contribution,
        provincial=result.provincial_amount,
        distributed=result.distributed,
        allocated=result.allocated,
        retained=result.retained,
        as_of=result.as_of,
        frozen=result,
    )
