"""The per-loan subsidy formula: hand-worked figures for the basic cases."""

from datetime import date
from decimal import Decimal

import pytest

from gonghui.errors import DomainError
from loans.choices import LoanType, ReviewChannel
from loans.models import Program
from subsidies.services.calculation import SubsidyInputs, compute_subsidy


@pytest.fixture
def jiujiang():
    return Program(code="jgd-2020", name="2020年九工贷", city="九江市", year=2020)


@pytest.fixture
def xuzhou():
    return Program(
        code="ghd-2022",
        name="2022年工惠贷",
        city="徐州市",
        year=2022,
        interest_loan_types=[LoanType.GUARANTEED, LoanType.MORTGAGE],
        premium_loan_types=[LoanType.CREDIT],
        premium_rate=Decimal("1.00"),
        premium_share=Decimal("100.00"),
    )


def inputs(**overrides):
    values = {
        "subsidised_principal": Decimal("300000.00"),
        "annual_rate": Decimal("5.80"),
        "review_channel": ReviewChannel.OFFLINE,
        "loan_type": LoanType.GUARANTEED,
        "start": date(2020, 7, 10),
        "end": date(2021, 7, 10),
    }
    return SubsidyInputs(**{**values, **overrides})


def test_full_year_offline_loan(jiujiang):
    # 300,000 × 5.80% × 365 / 360 = 17,641.666… → 17,641.67
    result = compute_subsidy(program=jiujiang, inputs=inputs())
    assert result.days == 365
    assert result.total == Decimal("17641.67")


def test_rate_above_the_cap_is_subsidised_at_the_cap(jiujiang):
    # online cap 4.75: 300,000 × 4.75% × 365 / 360 = 14,447.916… → 14,447.92
    result = compute_subsidy(
        program=jiujiang,
        inputs=inputs(annual_rate=Decimal("5.00"), review_channel=ReviewChannel.ONLINE),
    )
    assert result.applied_rate == Decimal("4.75")
    assert result.total == Decimal("14447.92")


def test_interest_share_scales_the_subsidy(jiujiang):
    jiujiang.interest_share = Decimal("50.00")
    assert compute_subsidy(program=jiujiang, inputs=inputs()).total == Decimal("8820.83")


def test_xuzhou_credit_loan_gets_the_premium_only(xuzhou):
    # premium 300,000 × 1% × 100% = 3,000.00; no interest subsidy for a credit loan
    result = compute_subsidy(program=xuzhou, inputs=inputs(loan_type=LoanType.CREDIT))
    assert result.interest_subsidy == Decimal("0")
    assert result.total == Decimal("3000.00")


def test_interest_subsidy_never_exceeds_the_interest_charged(jiujiang):
    result = compute_subsidy(program=jiujiang, inputs=inputs(interest_charged=Decimal("10000.00")))
    assert result.total == Decimal("10000.00")


def test_end_before_start_is_refused(jiujiang):
    with pytest.raises(DomainError):
        compute_subsidy(program=jiujiang, inputs=inputs(end=date(2020, 7, 9)))
