"""Rate caps by review channel, limits by borrower class, principal split, term and maturity."""

from datetime import date
from decimal import Decimal

import pytest

from gonghui.errors import DomainError
from loans.choices import BorrowerClass, ReviewChannel
from loans.models import Program
from loans.services.rules import (
    add_months,
    amount_limit,
    check_maturity,
    check_rate_within_cap,
    check_term,
    split_principal,
)


@pytest.fixture
def program():
    # Unsaved: the rules read only the program's fields.
    return Program(code="jgd-2020", name="2020年九工贷", city="九江市", year=2020)


def test_program_defaults_are_the_notice_values(program):
    assert program.rate_cap_online == Decimal("4.75")
    assert program.rate_cap_offline == Decimal("5.80")
    assert program.limit_general == Decimal("300000.00")
    assert program.limit_model_worker == Decimal("500000.00")
    assert program.limit_epidemic_relative == Decimal("500000.00")
    assert program.target_amount == Decimal("30000000.00")
    assert program.allocation_pool == Decimal("800000.00")
    assert (program.floor_ratio, program.cap_ratio) == (Decimal("80.00"), Decimal("120.00"))
    assert program.term_months == 12
    assert program.max_enterprise_age_years == 5
    assert program.min_jobs == 5


@pytest.mark.django_db
def test_program_deadlines_default_to_the_notice_dates_of_its_year():
    program = Program.objects.create(code="p", name="p", city="九江市", year=2021)
    assert program.mobilise_deadline == date(2021, 5, 30)
    assert program.recommend_deadline == date(2021, 6, 30)
    assert program.disburse_deadline == date(2021, 7, 30)


@pytest.mark.parametrize(
    ("channel", "cap"), [(ReviewChannel.ONLINE, "4.75"), (ReviewChannel.OFFLINE, "5.80")]
)
def test_rate_at_the_cap_is_accepted(program, channel, cap):
    assert check_rate_within_cap(
        program=program, review_channel=channel, annual_rate=cap
    ) == Decimal(cap)


@pytest.mark.parametrize(
    ("channel", "rate"), [(ReviewChannel.ONLINE, "4.76"), (ReviewChannel.OFFLINE, "5.81")]
)
def test_rate_one_hundredth_above_the_cap_is_rejected(program, channel, rate):
    with pytest.raises(DomainError) as error:
        check_rate_within_cap(program=program, review_channel=channel, annual_rate=rate)
    assert error.value.code == "rate_above_cap"
    assert "annual_rate" in error.value.field_errors
    assert "超过" in error.value.message


def test_online_rate_above_online_cap_is_rejected_even_though_below_offline_cap(program):
    with pytest.raises(DomainError):
        check_rate_within_cap(
            program=program, review_channel=ReviewChannel.ONLINE, annual_rate="5.00"
        )


def test_cap_follows_the_program_setting(program):
    program.rate_cap_online = Decimal("4.00")
    with pytest.raises(DomainError):
        check_rate_within_cap(
            program=program, review_channel=ReviewChannel.ONLINE, annual_rate="4.01"
        )


@pytest.mark.parametrize("rate", ["0", "-1", "abc", "NaN", "Infinity", ""])
def test_rate_that_is_not_a_positive_number_is_rejected(program, rate):
    with pytest.raises(DomainError) as error:
        check_rate_within_cap(
            program=program, review_channel=ReviewChannel.OFFLINE, annual_rate=rate
        )
    assert "annual_rate" in error.value.field_errors


def test_unknown_review_channel_is_rejected(program):
    with pytest.raises(DomainError) as error:
        check_rate_within_cap(program=program, review_channel="phone", annual_rate="4")
    assert error.value.code == "review_channel_invalid"


@pytest.mark.parametrize(
    ("borrower_class", "limit"),
    [
        (BorrowerClass.GENERAL, Decimal("300000.00")),
        (BorrowerClass.MODEL_WORKER, Decimal("500000.00")),
        (BorrowerClass.EPIDEMIC_RELATIVE, Decimal("500000.00")),
    ],
)
def test_limit_edge_for_each_borrower_class(program, borrower_class, limit):
    assert amount_limit(program=program, borrower_class=borrower_class) == limit
    at_limit = split_principal(program=program, borrower_class=borrower_class, principal=limit)
    assert (at_limit.subsidised, at_limit.leveraged) == (limit, Decimal("0"))
    above = split_principal(
        program=program, borrower_class=borrower_class, principal=limit + Decimal("0.01")
    )
    assert (above.subsidised, above.leveraged) == (limit, Decimal("0.01"))


def test_principal_below_limit_is_all_subsidised(program):
    split = split_principal(
        program=program, borrower_class=BorrowerClass.GENERAL, principal="123456.78"
    )
    assert split.subsidised == Decimal("123456.78")
    assert split.leveraged == Decimal("0")


def test_leveraged_amount_is_the_part_above_the_limit(program):
    split = split_principal(
        program=program, borrower_class=BorrowerClass.GENERAL, principal="450000"
    )
    assert split.subsidised == Decimal("300000.00")
    assert split.leveraged == Decimal("150000.00")
    assert split.subsidised + split.leveraged == Decimal("450000")


def test_limit_follows_the_program_setting(program):
    program.limit_model_worker = Decimal("600000.00")
    split = split_principal(
        program=program, borrower_class=BorrowerClass.MODEL_WORKER, principal="600000"
    )
    assert split.leveraged == Decimal("0")


def test_non_positive_principal_is_rejected(program):
    with pytest.raises(DomainError):
        split_principal(program=program, borrower_class=BorrowerClass.GENERAL, principal="0")


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2020, 7, 15), 12, date(2021, 7, 15)),
        (date(2020, 1, 31), 1, date(2020, 2, 29)),
        (date(2021, 1, 31), 1, date(2021, 2, 28)),
        (date(2020, 11, 30), 3, date(2021, 2, 28)),
        (date(2020, 3, 31), -1, date(2020, 2, 29)),
        (date(2020, 6, 1), -60, date(2015, 6, 1)),
    ],
)
def test_add_months_clamps_to_the_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_term_longer_than_the_program_term_is_rejected(program):
    assert check_term(program=program, term_months=12) == 12
    with pytest.raises(DomainError) as error:
        check_term(program=program, term_months=13)
    assert error.value.code == "term_out_of_range"
    with pytest.raises(DomainError):
        check_term(program=program, term_months=0)


def test_maturity_within_the_term_is_accepted_and_beyond_it_rejected(program):
    start = date(2020, 7, 1)
    assert check_maturity(program=program, disbursed_on=start, maturity_on=date(2021, 7, 1))
    with pytest.raises(DomainError) as error:
        check_maturity(program=program, disbursed_on=start, maturity_on=date(2021, 7, 2))
    assert error.value.code == "maturity_beyond_term"
    with pytest.raises(DomainError) as error:
        check_maturity(program=program, disbursed_on=start, maturity_on=start)
    assert error.value.code == "maturity_before_disbursal"
