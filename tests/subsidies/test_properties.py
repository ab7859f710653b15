"""Property-based tests (hypothesis) of the two pure cores: the county allocation over random
programs, units and completions, and the per-loan subsidy over random programs and loans.

No database: both cores take plain values, so a few hundred examples run in seconds.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from loans.choices import LoanType, ReviewChannel
from loans.models import Program
from subsidies.services.allocation import AllocationPolicy, UnitFigures, compute_allocation
from subsidies.services.calculation import SubsidyInputs, compute_subsidy

FEN = Decimal("0.01")
PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _yuan(fens: int) -> Decimal:
    return Decimal(fens) * FEN


def fen_amounts(max_yuan: int, min_yuan: int = 0):
    return st.integers(min_yuan * 100, max_yuan * 100).map(_yuan)


def percents(low: int, high: int):
    """Percent decimals with two places, in [low, high]."""
    return st.integers(low * 100, high * 100).map(lambda hundredths: Decimal(hundredths) * FEN)


# One unit as plain integers (cheap to generate and to shrink): task in fens, the percent of
# it given away, fens received, and the completed amount either as a percent of the adjusted
# task (to land on and around the thresholds) or in fens.
UNIT_ROWS = st.tuples(
    st.integers(0, 5_000_000_000),
    st.one_of(st.just(0), st.integers(0, 100)),
    st.one_of(st.just(0), st.integers(0, 1_000_000_000)),
    st.one_of(
        st.tuples(st.just("percent"), st.integers(0, 200)),
        st.tuples(st.just("fens"), st.integers(0, 6_000_000_000)),
    ),
)
# floor, cap − floor (hundredths of a percent), pool, provincial, target (fens)
POLICY_ROWS = st.tuples(
    st.integers(0, 10_000),
    st.integers(0, 20_000),
    st.integers(0, 1_000_000_000),
    st.integers(0, 500_000_000),
    st.integers(1, 100_000_000_000),
)


def build_unit(index: int, row) -> UnitFigures:
    task, given_percent, received, (kind, completion) = row
    given = task * given_percent // 100
    adjusted = task - given + received
    completed = adjusted * completion // 100 if kind == "percent" else completion
    return UnitFigures(
        unit=f"unit-{index}",
        task=_yuan(task),
        given=_yuan(given),
        received=_yuan(received),
        completed=_yuan(completed),
    )


def build_policy(row) -> AllocationPolicy:
    floor, above_floor, pool, provincial, target = row
    return AllocationPolicy(
        pool=_yuan(pool),
        provincial=_yuan(provincial),
        target=_yuan(target),
        floor_ratio=_yuan(floor),
        cap_ratio=_yuan(floor + above_floor),
    )


def allocations():
    return st.tuples(st.lists(UNIT_ROWS, min_size=1, max_size=15), POLICY_ROWS).map(
        lambda case: (
            [build_unit(i, row) for i, row in enumerate(case[0])],
            build_policy(case[1]),
        )
    )


# --- the county allocation --------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(allocations())
def test_allocations_plus_retained_equal_the_distributed_amount_exactly(case):
    units, policy = case
    table = compute_allocation(units=units, policy=policy)
    allocated = sum((line.allocation for line in table.lines), Decimal("0"))
    assert allocated == table.allocated
    assert allocated + table.retained == table.distributed
    assert table.distributed == table.city_contribution + policy.provincial
    assert table.retained >= 0
    for line in table.lines:
        assert line.allocation == line.allocation.quantize(FEN)
        assert abs(line.allocation - line.exact_allocation) < FEN


@PROPERTY_SETTINGS
@given(allocations())
def test_a_unit_below_the_floor_gets_nothing(case):
    units, policy = case
    for figures, line in zip(
        units, compute_allocation(units=units, policy=policy).lines, strict=True
    ):
        below = figures.adjusted_task > 0 and Fraction(figures.completed) < Fraction(
            policy.floor_ratio
        ) / 100 * Fraction(figures.adjusted_task)
        assert line.below_floor == below
        if below or figures.adjusted_task <= 0:
            assert (line.counted, line.allocation) == (0, 0)


@PROPERTY_SETTINGS
@given(allocations())
def test_no_unit_is_counted_above_the_cap(case):
    units, policy = case
    for figures, line in zip(
        units, compute_allocation(units=units, policy=policy).lines, strict=True
    ):
        assert line.counted <= figures.completed
        assert line.counted <= policy.cap_ratio / 100 * max(figures.adjusted_task, Decimal("0"))


@PROPERTY_SETTINGS
@given(allocations())
def test_nothing_is_retained_when_every_unit_counts_in_full(case):
    units, policy = case
    assume(all(unit.adjusted_task > 0 for unit in units))
    assume(any(unit.completed > 0 for unit in units))
    # No floor, and a cap above every unit's completion rate.
    highest = max(unit.completed / unit.adjusted_task for unit in units)
    generous = AllocationPolicy(
        pool=policy.pool,
        provincial=policy.provincial,
        target=policy.target,
        floor_ratio=Decimal("0"),
        cap_ratio=(highest * 100 + 1).quantize(FEN),
    )
    table = compute_allocation(units=units, policy=generous)
    assert not any(line.capped or line.below_floor for line in table.lines)
    assert table.retained == 0
    assert table.allocated == table.distributed


@PROPERTY_SETTINGS
@given(
    allocations(),
    st.data(),
    st.one_of(fen_amounts(1, min_yuan=0), fen_amounts(5_000_000)),
)
def test_raising_a_units_completion_within_its_cap_never_lowers_its_allocation(
    case, data, raise_by
):
    units, policy = case
    index = data.draw(st.integers(0, len(units) - 1), label="unit")
    unit = units[index]
    cap = (policy.cap_ratio / 100 * unit.adjusted_task).quantize(FEN, rounding="ROUND_FLOOR")
    assume(unit.adjusted_task > 0 and unit.completed <= cap)
    raised = min(unit.completed + max(raise_by, FEN), cap)
    assume(raised > unit.completed)
    before = compute_allocation(units=units, policy=policy).lines[index].allocation
    changed = [*units]
    changed[index] = UnitFigures(
        unit=unit.unit,
        task=unit.task,
        given=unit.given,
        received=unit.received,
        completed=raised,
    )
    after = compute_allocation(units=changed, policy=policy).lines[index].allocation
    assert after >= before


# --- the per-loan subsidy ---------------------------------------------------------------------


@st.composite
def programs(draw) -> Program:
    loan_types = st.lists(st.sampled_from(LoanType.values), unique=True)
    return Program(
        code="p",
        name="p",
        city="c",
        year=2020,
        rate_cap_online=draw(percents(1, 10)),
        rate_cap_offline=draw(percents(1, 10)),
        interest_share=draw(percents(0, 100)),
        interest_loan_types=draw(loan_types),
        premium_rate=draw(percents(0, 5)),
        premium_share=draw(percents(0, 100)),
        premium_loan_types=draw(loan_types),
    )


@st.composite
def loans(draw) -> SubsidyInputs:
    start = draw(st.dates(date(2018, 1, 1), date(2025, 12, 31)))
    return SubsidyInputs(
        subsidised_principal=draw(fen_amounts(500_000)),
        annual_rate=draw(
            st.integers(1, 150_000).map(lambda ten_thousandths: Decimal(ten_thousandths).scaleb(-4))
        ),
        review_channel=draw(st.sampled_from(ReviewChannel.values)),
        loan_type=draw(st.sampled_from(LoanType.values)),
        start=start,
        end=start + timedelta(days=draw(st.integers(0, 800))),
        interest_charged=draw(st.one_of(st.none(), fen_amounts(60_000))),
    )


@PROPERTY_SETTINGS
@given(programs(), loans())
def test_a_loans_subsidy_is_never_negative_nor_above_the_interest_charged(program, loan):
    result = compute_subsidy(program=program, inputs=loan)
    assert result.total >= 0
    assert result.interest_subsidy >= 0 and result.premium_subsidy >= 0
    assert result.interest_subsidy + result.premium_subsidy == result.total
    if loan.interest_charged is not None:
        assert result.interest_subsidy <= loan.interest_charged
        if not result.premium_applies:
            assert result.total <= loan.interest_charged


@PROPERTY_SETTINGS
@given(programs(), loans())
def test_a_loans_subsidy_is_the_exact_formula_rounded_half_up_once(program, loan):
    result = compute_subsidy(program=program, inputs=loan)
    principal = Fraction(loan.subsidised_principal)
    rate = min(Fraction(loan.annual_rate), Fraction(program.rate_cap(loan.review_channel)))
    interest = Fraction(0)
    if loan.loan_type in program.interest_loan_types:
        days = (loan.end - loan.start).days
        interest = principal * rate / 100 * days / 360 * Fraction(program.interest_share) / 100
        if loan.interest_charged is not None:
            interest = min(interest, Fraction(loan.interest_charged))
    premium = Fraction(0)
    if loan.loan_type in program.premium_loan_types:
        premium = (
            principal * Fraction(program.premium_rate) / 100 * Fraction(program.premium_share) / 100
        )
    exact = interest + premium
    assert abs(Fraction(result.total) - exact) <= Fraction(1, 200)
    # Half-up: an exact half fen always rounds away from zero.
    if (exact * 200).denominator == 1 and (exact * 200) % 2 == 1:
        assert Fraction(result.total) > exact
