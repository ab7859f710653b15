"""Input parsing shared by every door: bad input is a field message, never an exception."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from gonghui.errors import DomainError
from gonghui.inputs import (
    FieldErrors,
    clean_text,
    parse_amount,
    parse_count,
    parse_date,
    parse_rate,
)
from gonghui.money import round_fen, to_wan, wan


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", "1.00"),
        ("1E+3", "1000.00"),
        (" 12.5 ", "12.50"),
        (Decimal("0.01"), "0.01"),
        (7, "7.00"),
    ],
)
def test_amounts_are_returned_with_two_places(value, expected):
    result = parse_amount(value, field="amount")
    assert result == Decimal(expected)
    assert str(result) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("abc", "amount_invalid"),
        ("", "amount_invalid"),
        (None, "amount_invalid"),
        ("NaN", "amount_invalid"),
        ("Infinity", "amount_invalid"),
        (1.5, "amount_invalid"),  # floats are refused: money is decimal text
        ("0", "amount_not_positive"),
        ("-0.01", "amount_not_positive"),
        ("0.001", "amount_precision"),
        ("1e20", "amount_too_large"),
        ("1e30", "amount_too_large"),
        ("1e-30", "amount_precision"),
        ("100000000000000", "amount_too_large"),
        ("١٢٣", "amount_invalid"),  # Arabic-Indic digits
    ],
)
def test_bad_amounts_are_refused_on_their_field(value, code):
    with pytest.raises(DomainError) as error:
        parse_amount(value, field="amount")
    assert error.value.code == code
    assert list(error.value.field_errors) == ["amount"]


def test_zero_amount_is_accepted_only_when_allowed():
    assert parse_amount("0", field="x", allow_zero=True) == Decimal("0.00")
    with pytest.raises(DomainError):
        parse_amount("-1", field="x", allow_zero=True)


@pytest.mark.parametrize("value", ["4.75", "0.0001", "100", "5.8"])
def test_valid_rates(value):
    assert parse_rate(value, field="annual_rate") == Decimal(value)


@pytest.mark.parametrize("value", ["0", "-1", "0.00001", "1.123456", "100.01", 4.1, "x", None])
def test_bad_rates_are_refused(value):
    with pytest.raises(DomainError) as error:
        parse_rate(value, field="annual_rate")
    assert "annual_rate" in error.value.field_errors


@pytest.mark.parametrize(("value", "expected"), [(5, 5), ("12", 12), (" 0 ", 0)])
def test_counts(value, expected):
    assert parse_count(value, field="jobs") == expected


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", 1.0, True, None, "", "٣"])
def test_bad_counts_are_refused(value):
    with pytest.raises(DomainError) as error:
        parse_count(value, field="jobs")
    assert "jobs" in error.value.field_errors


def test_dates_from_date_objects_and_iso_text():
    assert parse_date(date(2020, 7, 1), field="d") == date(2020, 7, 1)
    assert parse_date(" 2020-07-01 ", field="d") == date(2020, 7, 1)


@pytest.mark.parametrize(
    "value", ["2020-13-01", "2020-02-30", "20200701", "七月一日", None, "", datetime(2020, 7, 1)]
)
def test_bad_dates_are_refused(value):
    with pytest.raises(DomainError) as error:
        parse_date(value, field="d")
    assert "d" in error.value.field_errors


def test_clean_text_trims_and_limits_length():
    assert clean_text(None) == ""
    assert clean_text("  张三 ") == "张三"
    with pytest.raises(DomainError):
        clean_text("x" * 6, max_length=5, field="name")


def test_field_errors_collects_every_message():
    errors = FieldErrors()
    errors.attempt("a", lambda: parse_amount("x", field="a"))
    errors.attempt("b", lambda: parse_count("x", field="b"))
    assert errors.attempt("c", lambda: parse_count("3", field="c")) == 3
    with pytest.raises(DomainError) as error:
        errors.raise_if_any("有误")
    assert set(error.value.field_errors) == {"a", "b"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("0.0049", "0.00"),
        ("2.675", "2.68"),
        ("-0.005", "-0.01"),
        ("1.115", "1.12"),
    ],
)
def test_rounding_is_half_up_to_the_fen(value, expected):
    assert round_fen(Decimal(value)) == Decimal(expected)


def test_wan_conversions():
    assert wan(290) == Decimal("2900000.00")
    assert to_wan(Decimal("1234567.89")) == Decimal("123.46")
