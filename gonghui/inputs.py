"""Parsing of user input shared by every door (forms, API, imports, commands).

Each parser takes whatever arrived (text, number, date, None) and returns a clean value or
raises a :class:`DomainError` for that field, so bad input is always a field message and
never an exception from ``int()``, ``Decimal()`` or a comparison with ``None``.
:class:`FieldErrors` collects the messages of several fields so a form shows them all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from gonghui.errors import DomainError
from gonghui.money import FEN, MONEY_DIGITS, MONEY_PLACES, RATE_PLACES, ZERO

T = TypeVar("T")

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_INTEGER = re.compile(r"[+]?[0-9]+", re.ASCII)
MAX_MONEY = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES)


def clean_text(value, *, max_length: int | None = None, field: str = "") -> str:
    """Text trimmed of surrounding whitespace; ``None`` is the empty string."""
    text = "" if value is None else str(value).strip()
    if max_length is not None and len(text) > max_length:
        raise DomainError.for_field(field, "too_long", f"不能超过{max_length}个字符")
    return text


def _decimal(value, *, field: str, label: str) -> Decimal:
    if isinstance(value, float | bool):
        raise DomainError.for_field(field, f"{label}_invalid", "须以十进制字符串提供，不接受浮点数")
    # Full-width digits fold to ASCII; anything still not ASCII (Arabic-Indic digits, which
    # Decimal() would accept) is refused.
    text = unicodedata.normalize("NFKC", str(value)).strip() if value is not None else ""
    try:
        number = Decimal(text) if text.isascii() else None
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite():
        raise DomainError.for_field(field, f"{label}_invalid", "数值格式不正确")
    return number


def parse_amount(value, *, field: str, allow_zero: bool = False) -> Decimal:
    """An amount in 元: a finite decimal, not negative, at most two decimals (fen), and small
    enough for the database's money columns. Returned with exactly two places."""
    amount = _decimal(value, field=field, label="amount")
    if amount < ZERO or (amount == ZERO and not allow_zero):
        message = "金额不能为负数" if allow_zero else "金额必须大于0"
        raise DomainError.for_field(field, "amount_not_positive", message)
    if amount >= MAX_MONEY:  # before quantize(), which cannot hold 1e30 at fen precision
        raise DomainError.for_field(field, "amount_too_large", "金额超出允许范围")
    if amount != amount.quantize(FEN):
        raise DomainError.for_field(field, "amount_precision", "金额最多保留两位小数（分）")
    return amount.quantize(FEN)


def parse_rate(value, *, field: str) -> Decimal:
    """An annual rate in percent: above 0, at most 100, at most four decimals."""
    rate = _decimal(value, field=field, label="rate")
    places = Decimal(1).scaleb(-RATE_PLACES)
    if rate <= ZERO:
        raise DomainError.for_field(field, "rate_not_positive", "贷款年利率必须大于0")
    if rate > Decimal(100) or rate != rate.quantize(places):
        raise DomainError.for_field(
            field, "rate_invalid", f"年利率须为不超过100、最多{RATE_PLACES}位小数的百分数"
        )
    return rate.quantize(places)


def parse_count(value, *, field: str, label: str = "人数", maximum: int = 10_000_000) -> int:
    """A whole number of people or items, 0 or more."""
    text = "" if value is None else unicodedata.normalize("NFKC", str(value)).strip()
    if isinstance(value, bool | float) or not _INTEGER.fullmatch(text):
        raise DomainError.for_field(field, "count_invalid", f"{label}须为整数")
    number = int(text)
    if number < 0 or number > maximum:
        raise DomainError.for_field(field, "count_out_of_range", f"{label}须在0至{maximum}之间")
    return number


def parse_date(value, *, field: str, label: str = "日期") -> date:
    """A calendar date from a ``date`` or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(value, datetime):
        raise DomainError.for_field(field, "date_invalid", f"{label}须为日期（YYYY-MM-DD）")
    if isinstance(value, date):
        return value
    text = "" if value is None else str(value).strip()
    if not text:
        raise DomainError.for_field(field, "required", f"请填写{label}")
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise DomainError.for_field(field, "date_invalid", f"{label}须为有效日期（YYYY-MM-DD）")


class FieldErrors:
    """Collects field messages from several checks, then raises them together."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def attempt(self, field: str, check: Callable[[], T]) -> T | None:
        """Run one check; on a DomainError remember its messages and return None."""
        try:
            return check()
        except DomainError as error:
            for name, messages in (error.field_errors or {field: [error.message]}).items():
                self.errors.setdefault(name, []).extend(messages)
            return None

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def __contains__(self, field: str) -> bool:
        return field in self.errors

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self, message: str) -> None:
        if self.errors:
            raise DomainError("validation_error", message, field_errors=self.errors)
