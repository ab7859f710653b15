"""The county subsidy allocation: a hand-worked example in the shape of 2020 九工贷 (a unit
below 80%, one above 120%, a reallocation, the target missed so the pool is scaled), the same
figures from the database, the freeze, and the edge cases of the floor and the cap.

The example, in 元 (pool 800,000, provincial 200,000, target 30,000,000, 80% / 120%):

| unit | task | realloc. | adjusted | completed | rate | counted |
|------|------|----------|----------|-----------|------|---------|
| A | 10,000,000 | | 10,000,000 | 7,000,000 | 70% | 0 (below 80%) |
| B | 8,000,000 | | 8,000,000 | 11,000,000 | 137.5% | 9,600,000 (120% cap) |
| C | 7,000,000 | +1,000,000 | 8,000,000 | 8,000,000 | 100% | 8,000,000 |
| D | 5,000,000 | −1,000,000 | 4,000,000 | 3,500,000 | 87.5% | 3,500,000 |

City-wide completed 29,500,000 < target: city contribution 800,000 × 29.5 / 30 =
786,666.666… → 786,666.67; distributed 986,666.67. Each unit gets
(786,666.666… + 200,000) × counted / 29,500,000:
B 321,084.7457…, C 267,570.6214…, D 117,062.1468…; Σ = 705,717.5141… → 705,717.51.
Rounded down: 321,084.74 + 267,570.62 + 117,062.14 = 705,717.50, one fen short; it goes to
the largest remainder, D (0.6892… fen > B 0.5762… > C 0.1468…): D 117,062.15.
Retained: 986,666.67 − 705,717.51 = 280,949.16.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gonghui.errors import DomainError
from loans.models import Program
from quotas.models import Reallocation
from subsidies.models import AllocationResult
from subsidies.selectors import allocation_table
from subsidies.services.allocation import (
    AllocationPolicy,
    UnitFigures,
    allocate_county_subsidy,
    compute_allocation,
    freeze_allocation,
)
from tests.factories import LoanFactory, QuotaFactory, UnitFactory

D = Decimal
POLICY = AllocationPolicy(
    pool=D("800000.00"),
    provincial=D("200000.00"),
    target=D("30000000.00"),
    floor_ratio=D("80.00"),
    cap_ratio=D("120.00"),
)
UNITS = [
    UnitFigures("A", task=D("10000000"), completed=D("7000000")),
    UnitFigures("B", task=D("8000000"), completed=D("11000000")),
    UnitFigures("C", task=D("7000000"), received=D("1000000"), completed=D("8000000")),
    UnitFigures("D", task=D("5000000"), given=D("1000000"), completed=D("3500000")),
]


def _columns(table):
    return [
        (
            line.adjusted_task,
            line.completion_rate,
            line.below_floor,
            line.capped,
            line.counted,
            line.allocation,
        )
        for line in table.lines
    ]


EXPECTED_COLUMNS = [
    (D("10000000"), D("70.0000"), True, False, D("0"), D("0.00")),
    (D("8000000"), D("137.5000"), False, True, D("9600000"), D("321084.74")),
    (D("8000000"), D("100.0000"), False, False, D("8000000"), D("267570.62")),
    (D("4000000"), D("87.5000"), False, False, D("3500000"), D("117062.15")),
]


def test_hand_worked_allocation_with_the_target_missed():
    table = compute_allocation(units=UNITS, policy=POLICY)
    assert _columns(table) == EXPECTED_COLUMNS
    assert [line.exact_allocation for line in table.lines] == [
        D("0"),
        D("321084.745763"),
        D("267570.621469"),
        D("117062.146893"),
    ]
    assert [line.share for line in table.lines] == [
        D("0"),
        D("32.542373"),  # 9.6 / 29.5
        D("27.118644"),  # 8 / 29.5
        D("11.864407"),  # 3.5 / 29.5
    ]
    assert (table.city_completed, table.city_completion_rate, table.target_met) == (
        D("29500000.00"),
        D("98.3333"),
        False,
    )
    assert table.counted_total == D("21100000")
    assert (table.city_contribution, table.provincial, table.distributed) == (
        D("786666.67"),
        D("200000.00"),
        D("986666.67"),
    )
    assert (table.allocated, table.retained) == (D("705717.51"), D("280949.16"))
    marks = [
        (line.has_minus_mark, line.has_plus_mark, line.reallocation_mark) for line in table.lines
    ]
    assert marks == [
        (False, False, ""),
        (False, False, ""),
        (False, True, "加分"),
        (True, False, "减分"),
    ]


def test_target_met_pays_the_whole_pool():
    # A reaches 100% instead: city-wide 32,500,000 ≥ 30,000,000, so the city pays its full
    # 800,000 and 1,000,000 is distributed, × counted / 32,500,000:
    # A 10,000,000 → 307,692.3076…; B 9,600,000 → 295,384.6153…; C 8,000,000 → 246,153.8461…;
    # D 3,500,000 → 107,692.3076…; Σ 956,923.0769… → 956,923.08.
    # Rounded down Σ 956,923.05: three fens go to the largest remainders, A and D (0.769 fen
    # each; equal, so in table order) and C (0.615); B (0.538) keeps its rounded-down amount.
    units = [UnitFigures("A", task=D("10000000"), completed=D("10000000")), *UNITS[1:]]
    table = compute_allocation(units=units, policy=POLICY)
    assert table.target_met
    assert (table.city_contribution, table.distributed) == (D("800000.00"), D("1000000.00"))
    assert [line.allocation for line in table.lines] == [
        D("307692.31"),
        D("295384.61"),
        D("246153.85"),
        D("107692.31"),
    ]
    assert (table.allocated, table.retained) == (D("956923.08"), D("43076.92"))
    assert table.allocated + table.retained == table.distributed


def test_exactly_at_the_floor_counts_and_exactly_at_the_cap_is_not_capped():
    units = [
        UnitFigures("floor", task=D("1000000"), completed=D("800000")),
        UnitFigures("just-below", task=D("1000000"), completed=D("799999.99")),
        UnitFigures("cap", task=D("1000000"), completed=D("1200000")),
        UnitFigures("just-above", task=D("1000000"), completed=D("1200000.01")),
    ]
    lines = compute_allocation(units=units, policy=POLICY).lines
    assert [(line.below_floor, line.capped, line.counted) for line in lines] == [
        (False, False, D("800000")),
        (True, False, D("0")),
        (False, False, D("1200000")),
        (False, True, D("1200000")),
    ]


def test_a_unit_without_a_task_gets_nothing_but_counts_city_wide():
    units = [UnitFigures("no-task", task=D("0"), completed=D("100000")), *UNITS]
    table = compute_allocation(units=units, policy=POLICY)
    assert (table.lines[0].completion_rate, table.lines[0].allocation) == (None, D("0.00"))
    assert table.city_completed == D("29600000.00")


def test_nothing_completed_keeps_the_provincial_amount_with_the_city():
    units = [UnitFigures("A", task=D("1000000"))]
    table = compute_allocation(units=units, policy=POLICY)
    assert (table.city_contribution, table.distributed, table.allocated, table.retained) == (
        D("0.00"),
        D("200000.00"),
        D("0.00"),
        D("200000.00"),
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"target": D("0")}, "allocation_target_invalid"),
        ({"pool": D("-1")}, "allocation_pool_invalid"),
        ({"floor_ratio": D("130")}, "allocation_ratio_invalid"),
        ({"pool": D("0.001")}, "allocation_amount_invalid"),
    ],
)
def test_an_impossible_policy_is_refused(change, code):
    policy = AllocationPolicy(**{**POLICY.__dict__, **change})
    with pytest.raises(DomainError) as error:
        compute_allocation(units=UNITS, policy=policy)
    assert error.value.code == code


# --- from the database ------------------------------------------------------------------------


@pytest.fixture
def jiujiang(db, admin_user):
    """The example above as quotas, one reallocation and loans (B's include a renewal)."""
    program = Program.objects.create(
        code="jgd-2020",
        name="2020年九工贷",
        city="九江市",
        year=2020,
        provincial_amount=D("200000.00"),
    )
    units = [
        UnitFactory(code=f"u-{name}", name=f"{name}县", sort_order=i)
        for i, name in enumerate("ABCD")
    ]
    for unit, figures in zip(units, UNITS, strict=True):
        QuotaFactory(program=program, unit=unit, task_amount=figures.task)
    Reallocation.objects.create(
        program=program,
        from_unit=units[3],
        to_unit=units[2],
        amount=D("1000000"),
        reallocated_on=date(2020, 8, 1),
        reason="德安县任务调剂至永修县",
        created_by=admin_user,
    )
    loans = {"A": ["7000000"], "B": ["6000000", "5000000"], "C": ["8000000"], "D": ["3500000"]}
    for unit, (name, amounts) in zip(units, loans.items(), strict=True):
        previous = None
        for amount in amounts:
            previous = LoanFactory(
                application__program=program,
                application__unit=unit,
                principal=D(amount),
                renewal_of=previous if name == "B" else None,
            )
    return program


def test_the_database_gives_the_hand_worked_table(jiujiang):
    table = allocate_county_subsidy(program=jiujiang)
    assert [line.unit.name for line in table.lines] == ["A县", "B县", "C县", "D县"]
    assert _columns(table) == EXPECTED_COLUMNS
    assert (table.distributed, table.allocated, table.retained) == (
        D("986666.67"),
        D("705717.51"),
        D("280949.16"),
    )


def test_the_allocation_costs_the_same_queries_for_more_units(jiujiang):
    with CaptureQueriesContext(connection) as few:
        allocate_county_subsidy(program=jiujiang)
    for _ in range(5):
        unit = UnitFactory()
        QuotaFactory(program=jiujiang, unit=unit)
        LoanFactory(application__program=jiujiang, application__unit=unit)
    with CaptureQueriesContext(connection) as many:
        assert len(allocate_county_subsidy(program=jiujiang).lines) == 9
    assert len(many) == len(few)


def test_a_unit_lending_without_a_quota_is_listed_with_no_task(jiujiang):
    stray = UnitFactory(name="无任务单位")
    LoanFactory(application__program=jiujiang, application__unit=stray, principal=D("500000"))
    table = allocate_county_subsidy(program=jiujiang)
    assert table.lines[-1].unit == stray
    assert (table.lines[-1].task, table.lines[-1].allocation) == (D("0"), D("0.00"))
    assert table.city_completed == D("30000000.00")  # now the target is met
    assert table.target_met


def test_city_staff_freeze_the_allocation_once(jiujiang, city_user):
    result = freeze_allocation(program=jiujiang, user=city_user)
    assert result.confirmed_by == city_user
    assert result.inputs["pool"] == "800000.00"
    assert result.inputs["rounding"] == "largest_remainder"
    rows = list(result.rows.order_by("position"))
    assert [row.allocation for row in rows] == [line[-1] for line in EXPECTED_COLUMNS]
    assert rows[1].capped and rows[0].below_floor
    assert (result.distributed, result.allocated, result.retained) == (
        D("986666.67"),
        D("705717.51"),
        D("280949.16"),
    )
    with pytest.raises(DomainError) as error:
        freeze_allocation(program=jiujiang, user=city_user)
    assert error.value.code == "allocation_already_frozen"


@pytest.mark.parametrize("role", ["county_user", "bank_user", "manager_user"])
def test_only_city_staff_freeze(request, jiujiang, role):
    with pytest.raises(DomainError) as error:
        freeze_allocation(program=jiujiang, user=request.getfixturevalue(role))
    assert error.value.code == "permission_denied"
    assert not AllocationResult.objects.exists()


def test_the_table_is_live_until_frozen_and_then_keeps_the_frozen_figures(jiujiang, city_user):
    live = allocation_table(program=jiujiang)
    assert live.frozen is None
    freeze_allocation(program=jiujiang, user=city_user)
    # Later lending no longer moves the frozen money.
    LoanFactory(
        application__program=jiujiang,
        application__unit=live.lines[0].unit,
        principal=D("2000000"),
    )
    frozen = allocation_table(program=jiujiang)
    assert frozen.frozen is not None
    assert frozen == live
    assert allocate_county_subsidy(program=jiujiang).lines[0].allocation > 0
