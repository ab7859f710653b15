"""Shared money and rate arithmetic.

Money is :class:`~decimal.Decimal` in 元 with fen (0.01) precision; rates are percent
decimals ("4.75" means 4.75 % a year). Amounts are stored with ``MONEY_DIGITS`` /
``MONEY_PLACES`` and rates with ``RATE_DIGITS`` / ``RATE_PLACES`` everywhere, and the
one rounding helper rounds half-up to the fen, once, at the end of a computation.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MONEY_DIGITS = 16
MONEY_PLACES = 2
RATE_DIGITS = 7
RATE_PLACES = 4
PERCENT_DIGITS = 6
PERCENT_PLACES = 2

FEN = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")
WAN = Decimal("10000")


def round_fen(value: Decimal) -> Decimal:
    """Round an amount in 元 half-up to the fen (0.01 元)."""
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def to_wan(value: Decimal, places: int = 2) -> Decimal:
    """Express an amount in 元 as 万元, rounded half-up to ``places`` decimals."""
    return (Decimal(value) / WAN).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def wan(value: int | str | Decimal) -> Decimal:
    """An amount given in 万元 (as the seeds write them) converted to 元."""
    return round_fen(Decimal(value) * WAN)


def parse_amount(value, *, field: str, allow_zero: bool = False) -> Decimal:
    """An amount in 元 with at most two decimals, from any input door (form, API, import).

    Refuses text that is not a finite decimal, negative amounts, zero unless allowed, and
    sub-fen precision, each as a :class:`DomainError` on ``field``.
    """
    from gonghui.errors import DomainError

    if isinstance(value, float):
        raise DomainError.for_field(field, "amount_invalid", "金额须以十进制字符串提供")
    try:
        amount = Decimal(str(value).strip()) if value is not None else None
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite():
        raise DomainError.for_field(field, "amount_invalid", "金额格式不正确")
    if amount < ZERO or (amount == ZERO and not allow_zero):
        message = "金额不能为负数" if allow_zero else "金额必须大于0"
        raise DomainError.for_field(field, "amount_not_positive", message)
    if amount != round_fen(amount):
        raise DomainError.for_field(field, "amount_precision", "金额最多保留两位小数（分）")
    return amount
