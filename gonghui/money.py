"""Shared money and rate arithmetic.

Money is :class:`~decimal.Decimal` in 元 with fen (0.01) precision; rates are percent
decimals ("4.75" means 4.75 % a year). Amounts are stored with ``MONEY_DIGITS`` /
``MONEY_PLACES`` and rates with ``RATE_DIGITS`` / ``RATE_PLACES`` everywhere, and the
one rounding helper rounds half-up to the fen, once, at the end of a computation.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

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
