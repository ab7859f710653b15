"""The per-loan subsidy formula: hand-worked figures for every loan type, channel, period
rule and cap.

Jiujiang (九工贷 2020) subsidises the interest of every loan type at 100% with caps of 4.75%
online and 5.80% offline; Xuzhou (工惠贷 2022, caps 4.35% / 5.50%) pays interest for
guaranteed and mortgage loans and the 1% premium at 100% for credit and guaranteed loans, so
its credit loans get the premium only. Every figure below is worked by hand in its comment.
"""

from datetime import date
from decimal import Decimal

import pytest

from gonghui.errors import DomainError
from loans.choices import LoanType, ReviewChannel
from loans.models import Program
from subsidies.services.calculation import SubsidyInputs, compute_subsidy, subsidy_period

D = Decimal


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
        rate_cap_online=D("4.35"),
        rate_cap_offline=D("5.50"),
        interest_loan_types=[LoanType.GUARANTEED, LoanType.MORTGAGE],
        premium_loan_types=[LoanType.CREDIT, LoanType.GUARANTEED],
        premium_rate=D("1.00"),
        premium_share=D("100.00"),
    )


def inputs(**overrides):
    values = {
        "subsidised_principal": D("300000.00"),
        "annual_rate": D("5.80"),
        "review_channel": ReviewChannel.OFFLINE,
        "loan_type": LoanType.GUARANTEED,
        "start": date(2020, 7, 10),
        "end": date(2021, 7, 10),
    }
    return SubsidyInputs(**{**values, **overrides})


# --- channels and rate caps -------------------------------------------------------------------


def test_full_year_offline_loan_at_the_cap(jiujiang):
    # 300,000 × 5.80% × 365 / 360 = 17,641.666… → 17,641.67
    result = compute_subsidy(program=jiujiang, inputs=inputs())
    assert (result.days, result.rate_cap, result.applied_rate) == (365, D("5.80"), D("5.80"))
    assert result.total == D("17641.67")
    assert (result.interest_subsidy, result.premium_subsidy) == (D("17641.67"), D("0.00"))


def test_offline_rate_above_the_cap_is_subsidised_at_the_cap(jiujiang):
    # 6.00% offline is paid at 5.80%: the same 17,641.67
    result = compute_subsidy(program=jiujiang, inputs=inputs(annual_rate=D("6.00")))
    assert result.applied_rate == D("5.80")
    assert result.total == D("17641.67")


def test_online_rate_at_the_cap(jiujiang):
    # 300,000 × 4.75% × 365 / 360 = 14,447.916… → 14,447.92
    result = compute_subsidy(
        program=jiujiang,
        inputs=inputs(annual_rate=D("4.75"), review_channel=ReviewChannel.ONLINE),
    )
    assert (result.rate_cap, result.applied_rate) == (D("4.75"), D("4.75"))
    assert result.total == D("14447.92")


def test_online_rate_above_the_cap_is_subsidised_at_the_cap(jiujiang):
    result = compute_subsidy(
        program=jiujiang,
        inputs=inputs(annual_rate=D("5.00"), review_channel=ReviewChannel.ONLINE),
    )
    assert result.applied_rate == D("4.75")
    assert result.total == D("14447.92")


def test_online_rate_below_the_cap_is_subsidised_at_the_contract_rate(jiujiang):
    # 300,000 × 4.35% = 13,050 a year; × 365 / 360 = 13,231.25 exactly
    result = compute_subsidy(
        program=jiujiang,
        inputs=inputs(annual_rate=D("4.35"), review_channel=ReviewChannel.ONLINE),
    )
    assert result.applied_rate == D("4.35")
    assert result.total == D("13231.25")


def test_the_cap_of_an_unknown_channel_is_refused(jiujiang):
    with pytest.raises(DomainError) as error:
        compute_subsidy(program=jiujiang, inputs=inputs(review_channel="phone"))
    assert error.value.code == "review_channel_invalid"


# --- loan types and the Xuzhou rule -----------------------------------------------------------


@pytest.mark.parametrize("loan_type", LoanType.values)
def test_jiujiang_subsidises_the_interest_of_every_loan_type(jiujiang, loan_type):
    result = compute_subsidy(program=jiujiang, inputs=inputs(loan_type=loan_type))
    assert result.interest_applies and not result.premium_applies
    assert result.total == D("17641.67")


def test_xuzhou_credit_loan_gets_the_premium_only(xuzhou):
    # premium 300,000 × 1% × 100% = 3,000.00; no interest subsidy for a credit loan
    result = compute_subsidy(program=xuzhou, inputs=inputs(loan_type=LoanType.CREDIT))
    assert not result.interest_applies and result.premium_applies
    assert result.interest_subsidy == D("0")
    assert (result.premium_subsidy, result.total) == (D("3000.00"), D("3000.00"))


def test_xuzhou_guaranteed_loan_gets_interest_and_premium(xuzhou):
    # interest 300,000 × 5.50% (cap; contract 5.80) × 365 / 360 = 16,729.1666…
    # premium 300,000 × 1% × 100% = 3,000; total 19,729.1666… → 19,729.17
    result = compute_subsidy(program=xuzhou, inputs=inputs(loan_type=LoanType.GUARANTEED))
    assert result.applied_rate == D("5.50")
    assert (result.interest_subsidy, result.premium_subsidy) == (D("16729.17"), D("3000.00"))
    assert result.total == D("19729.17")


def test_xuzhou_mortgage_loan_gets_the_interest_only(xuzhou):
    result = compute_subsidy(program=xuzhou, inputs=inputs(loan_type=LoanType.MORTGAGE))
    assert result.interest_applies and not result.premium_applies
    assert (result.interest_subsidy, result.premium_subsidy) == (D("16729.17"), D("0.00"))


def test_xuzhou_online_guaranteed_loan_uses_the_online_cap(xuzhou):
    # 200,000 × 4.35% (cap; contract 4.75) × 180 / 360 = 4,350.00; premium 2,000.00
    result = compute_subsidy(
        program=xuzhou,
        inputs=inputs(
            subsidised_principal=D("200000.00"),
            annual_rate=D("4.75"),
            review_channel=ReviewChannel.ONLINE,
            end=date(2021, 1, 6),
        ),
    )
    assert (result.days, result.applied_rate) == (180, D("4.35"))
    assert (result.interest_subsidy, result.premium_subsidy) == (D("4350.00"), D("2000.00"))
    assert result.total == D("6350.00")


def test_shares_scale_interest_and_premium(jiujiang):
    # interest 17,641.666… × 50% = 8,820.8333…; premium 300,000 × 0.8% × 50% = 1,200
    # total 10,020.8333… → 10,020.83
    jiujiang.interest_share = D("50.00")
    jiujiang.premium_loan_types = [LoanType.GUARANTEED]
    jiujiang.premium_rate, jiujiang.premium_share = D("0.80"), D("50.00")
    result = compute_subsidy(program=jiujiang, inputs=inputs())
    assert (result.interest_subsidy, result.premium_subsidy) == (D("8820.83"), D("1200.00"))
    assert result.total == D("10020.83")


# --- rounding: half-up, once, at the end ------------------------------------------------------


def test_an_exact_half_fen_rounds_up_although_360_does_not_divide_evenly(jiujiang):
    # 300,000 × 4.75% × 7 / 360 × 30% = 83.125 exactly → 83.13. Dividing by 360 in Decimal
    # first (277.0833…, cut at 28 digits) and then taking 30% gave 83.1249…9 → 83.12.
    jiujiang.interest_share = D("30.00")
    result = compute_subsidy(
        program=jiujiang,
        inputs=inputs(
            annual_rate=D("4.75"), review_channel=ReviewChannel.ONLINE, end=date(2020, 7, 17)
        ),
    )
    assert result.days == 7
    assert result.total == D("83.13")


def test_the_total_is_rounded_once_and_the_parts_add_up_to_it(xuzhou):
    # interest 98,765.43 × 5.50% × 365 / 360 = 5,507.5444645…; premium 98,765.43 × 1% =
    # 987.6543; total 6,495.1987… → 6,495.20. Rounding the parts first would give
    # 5,507.54 + 987.65 = 6,495.19; the premium part shown is the rest: 987.66.
    result = compute_subsidy(
        program=xuzhou, inputs=inputs(subsidised_principal=D("98765.43"), annual_rate=D("5.50"))
    )
    assert result.total == D("6495.20")
    assert (result.interest_subsidy, result.premium_subsidy) == (D("5507.54"), D("987.66"))
    assert result.interest_subsidy + result.premium_subsidy == result.total


def test_a_leap_year_counts_366_days(jiujiang):
    # 300,000 × 5.80% = 17,400 a year; × 366 / 360 = 17,690.00
    result = compute_subsidy(
        program=jiujiang, inputs=inputs(start=date(2020, 1, 15), end=date(2021, 1, 15))
    )
    assert (result.days, result.total) == (366, D("17690.00"))


# --- the interest the bank charged ------------------------------------------------------------


def test_interest_subsidy_never_exceeds_the_interest_charged(jiujiang):
    result = compute_subsidy(program=jiujiang, inputs=inputs(interest_charged=D("10000.00")))
    assert result.total == D("10000.00")


def test_interest_charged_above_the_formula_changes_nothing(jiujiang):
    result = compute_subsidy(program=jiujiang, inputs=inputs(interest_charged=D("18000.00")))
    assert result.total == D("17641.67")


def test_the_premium_is_not_capped_by_the_interest_charged(xuzhou):
    # The premium refunds the guarantee insurance, not interest: 1,000.00 interest + 3,000.00
    result = compute_subsidy(program=xuzhou, inputs=inputs(interest_charged=D("1000.00")))
    assert (result.interest_subsidy, result.premium_subsidy) == (D("1000.00"), D("3000.00"))
    credit = compute_subsidy(
        program=xuzhou, inputs=inputs(loan_type=LoanType.CREDIT, interest_charged=D("10.00"))
    )
    assert credit.total == D("3000.00")


def test_negative_interest_charged_is_refused(jiujiang):
    with pytest.raises(DomainError) as error:
        compute_subsidy(program=jiujiang, inputs=inputs(interest_charged=D("-1.00")))
    assert error.value.code == "interest_charged_invalid"


# --- the subsidised period --------------------------------------------------------------------

DISBURSED, MATURITY = date(2020, 7, 10), date(2021, 7, 10)


@pytest.mark.parametrize(
    ("settled_on", "end", "days", "total"),
    [
        # early repayment: 184 days; 17,400 × 184 / 360 = 8,893.333… → 8,893.33
        (date(2021, 1, 10), date(2021, 1, 10), 184, D("8893.33")),
        # repaid on the maturity date: the full 365 days
        (MATURITY, MATURITY, 365, D("17641.67")),
        # repaid late: only to maturity
        (date(2021, 8, 20), MATURITY, 365, D("17641.67")),
        # not repaid at all, past maturity: to maturity
        (None, MATURITY, 365, D("17641.67")),
        # renewed in the maturity month before the maturity day: to the renewal date,
        # 360 days; 17,400 × 360 / 360 = 17,400.00
        (date(2021, 7, 5), date(2021, 7, 5), 360, D("17400.00")),
        # renewed after the maturity day: to maturity
        (date(2021, 7, 20), MATURITY, 365, D("17641.67")),
    ],
    ids=["early", "on-time", "late", "unpaid", "renewed-early", "renewed-late"],
)
def test_days_run_to_repayment_or_renewal_but_never_past_maturity(
    jiujiang, settled_on, end, days, total
):
    start, period_end = subsidy_period(
        disbursed_on=DISBURSED, maturity_on=MATURITY, settled_on=settled_on
    )
    assert (start, period_end) == (DISBURSED, end)
    result = compute_subsidy(program=jiujiang, inputs=inputs(start=start, end=period_end))
    assert (result.days, result.total) == (days, total)


def test_repaid_on_the_disbursement_day_is_zero(jiujiang):
    result = compute_subsidy(program=jiujiang, inputs=inputs(end=DISBURSED))
    assert (result.days, result.total) == (0, D("0.00"))


def test_end_before_start_is_refused(jiujiang):
    with pytest.raises(DomainError):
        compute_subsidy(program=jiujiang, inputs=inputs(end=date(2020, 7, 9)))


def test_negative_principal_is_refused(jiujiang):
    with pytest.raises(DomainError):
        compute_subsidy(program=jiujiang, inputs=inputs(subsidised_principal=D("-1")))
