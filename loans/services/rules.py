"""Loan rules that read only the program and the numbers at hand.

Views, serializers, forms, imports and tasks all call these, so a rule is stated once.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gonghui.errors import DomainError
from gonghui.inputs import parse_count, parse_rate
from gonghui.money import ZERO, round_fen
from loans.choices import BorrowerClass, ReviewChannel
from loans.models import Program

# Checked once per imported row: sets built once, not ``Choices.values`` lists each call.
REVIEW_CHANNELS = frozenset(ReviewChannel.values)
BORROWER_CLASSES = frozenset(BorrowerClass.values)


def check_rate_within_cap(
    *, program: Program, review_channel: str, annual_rate: Decimal, field: str = "annual_rate"
) -> Decimal:
    """Refuse a contract rate above the program's cap for the review channel.

    A rate above the cap is rejected, never clipped (notice section 三: 不得突破).
    """
    if review_channel not in REVIEW_CHANNELS:
        raise DomainError.for_field(
            "review_channel", "review_channel_invalid", "审核方式须为线上审核或线下审核"
        )
    rate = parse_rate(annual_rate, field=field)
    cap = program.rate_cap(review_channel)
    if rate > cap:
        label = ReviewChannel(review_channel).label
        raise DomainError.for_field(
            field,
            "rate_above_cap",
            f"年利率{rate.normalize():f}%超过本项目{label}最高年利率{cap.normalize():f}%，不予受理",
        )
    return rate


def amount_limit(*, program: Program, borrower_class: str) -> Decimal:
    """The most principal (元) the union subsidises for a borrower class."""
    if borrower_class not in BORROWER_CLASSES:
        raise DomainError.for_field("borrower_class", "borrower_class_invalid", "借款人类别无效")
    return program.limit_for(borrower_class)


@dataclass(frozen=True)
class PrincipalSplit:
    """A loan's principal divided into the subsidised part and the leveraged rest."""

    subsidised: Decimal
    leveraged: Decimal


def split_principal(*, program: Program, borrower_class: str, principal: Decimal) -> PrincipalSplit:
    """Split a principal at the borrower's limit.

    The union subsidises only the part within the limit; the rest is the leveraged amount
    (拉动贷款金额) that the borrower and bank settle between themselves (notice section 六).
    """
    principal = round_fen(Decimal(principal))
    if principal <= ZERO:
        raise DomainError.for_field("principal", "principal_not_positive", "贷款金额必须大于0")
    subsidised = min(principal, amount_limit(program=program, borrower_class=borrower_class))
    return PrincipalSplit(subsidised=subsidised, leveraged=principal - subsidised)


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def check_term(*, program: Program, term_months: int, field: str = "term_months") -> int:
    """A loan term of at least one month and at most the program's term."""
    months = parse_count(term_months, field=field, label="贷款期限")
    if not 1 <= months <= program.term_months:
        raise DomainError.for_field(
            field, "term_out_of_range", f"贷款期限须在1至{program.term_months}个月之间"
        )
    return months


def check_maturity(
    *, program: Program, disbursed_on: date, maturity_on: date, field: str = "maturity_on"
) -> date:
    """The maturity date must fall after disbursement and within the program's term."""
    latest = add_months(disbursed_on, program.term_months)
    if maturity_on <= disbursed_on:
        raise DomainError.for_field(field, "maturity_before_disbursal", "到期日期须晚于放款日期")
    if maturity_on > latest:
        raise DomainError.for_field(
            field,
            "maturity_beyond_term",
            f"到期日期不得晚于{latest.isoformat()}（贷款期限{program.term_months}个月）",
        )
    return maturity_on
