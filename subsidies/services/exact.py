"""Exact arithmetic for the subsidy formulas.

The formulas divide by 360 and by city-wide totals, which ``Decimal`` can only approximate
(28 significant digits); an approximation just below a half fen would round the wrong way.
So every intermediate is exact, a :class:`~fractions.Fraction` built from the stored
decimals or a whole number of fens (or hundredths of a percent), and a value becomes a
``Decimal`` only when it is rounded, half-up, for payment or display.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

FENS_PER_YUAN = 100


def exact(value) -> Fraction:
    """A stored number (Decimal, int or decimal string) as an exact fraction; floats are
    refused, since a binary float is not the decimal anybody typed."""
    if isinstance(value, float | bool):
        raise TypeError(f"exact arithmetic needs a Decimal, not {type(value).__name__}")
    return Fraction(value)


def fens_half_up(value: Fraction) -> int:
    """A non-negative amount in 元 rounded half-up to a whole number of fen."""
    return math.floor(value * FENS_PER_YUAN + Fraction(1, 2))


def fen_decimal(fens: int) -> Decimal:
    """A whole number of fen as an amount in 元 with two places."""
    return (Decimal(fens) / FENS_PER_YUAN).quantize(Decimal("0.01"))


def is_fen_exact(value) -> bool:
    """Whether an amount has at most two decimals."""
    return (exact(value) * FENS_PER_YUAN).denominator == 1


def ratio_decimal(numerator: int, denominator: int, places: int) -> Decimal:
    """The exact non-negative ratio of two integers, rounded half-up to ``places`` decimals."""
    scaled = numerator * 10**places
    whole = (2 * scaled + denominator) // (2 * denominator)
    return Decimal(whole).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def hundredths(value) -> int:
    """A decimal with at most two places (an amount in 元, a percent) as a whole number of
    hundredths: fens for money, hundredths of a percent for ratios."""
    if isinstance(value, float | bool):
        raise TypeError(f"exact arithmetic needs a Decimal, not {type(value).__name__}")
    scaled = Decimal(value) * 100
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than two decimals")
    return int(scaled)


__all__ = [
    "exact",
    "fen_decimal",
    "fens_half_up",
    "hundredths",
    "is_fen_exact",
    "ratio_decimal",
]
