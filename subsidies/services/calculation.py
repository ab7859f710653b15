"""The per-loan interest and premium subsidy (贴息、保费补贴) of SPEC.md.

interest = subsidised principal × min(contract rate, channel cap) × days / 360 × share
premium  = subsidised principal × premium rate × premium share (where the program pays it)

Each part applies only to the loan types the program lists for it (Xuzhou: credit loans
get the premium subsidy only). Every intermediate stays an exact Decimal; the total is
rounded half-up to the fen once, at the end; the interest part never exceeds the interest
the bank reports as charged when that is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gonghui.errors import DomainError
from gonghui.money import HUNDRED, ZERO, round_fen
from loans.models import Program

DAY_BASIS = Decimal("360")  # Chinese banks' day-count basis for annual rates


@dataclass(frozen=True)
class SubsidyInputs:
    subsidised_principal: Decimal
    annual_rate: Decimal
    review_channel: str
    loan_type: str
    start: date
    end: date
    interest_charged: Decimal | None = None


@dataclass(frozen=True)
class SubsidyResult:
    days: int
    applied_rate: Decimal
    interest_subsidy: Decimal  # unrounded
    premium_subsidy: Decimal  # unrounded
    total: Decimal  # rounded to the fen, capped by the interest charged


def compute_subsidy(*, program: Program, inputs: SubsidyInputs) -> SubsidyResult:
    """The subsidy of one loan period; see the module docstring for the formula."""
    if inputs.end < inputs.start:
        raise DomainError("subsidy_period_invalid", "贴息计算截止日期早于放款日期")
    if inputs.subsidised_principal < ZERO:
        raise DomainError("subsidy_principal_negative", "贴息本金不能为负数")
    days = (inputs.end - inputs.start).days
    applied_rate = min(Decimal(inputs.annual_rate), program.rate_cap(inputs.review_channel))
    interest = ZERO
    if inputs.loan_type in program.interest_loan_types:
        interest = (
            inputs.subsidised_principal
            * applied_rate
            / HUNDRED
            * Decimal(days)
            / DAY_BASIS
            * program.interest_share
            / HUNDRED
        )
    premium = ZERO
    if inputs.loan_type in program.premium_loan_types:
        premium = (
            inputs.subsidised_principal
            * program.premium_rate
            / HUNDRED
            * program.premium_share
            / HUNDRED
        )
    if inputs.interest_charged is not None:
        # The union never pays more interest than the bank charged.
        interest = min(interest, max(Decimal(inputs.interest_charged), ZERO))
    return SubsidyResult(
        days=days,
        applied_rate=applied_rate,
        interest_subsidy=interest,
        premium_subsidy=premium,
        total=round_fen(interest + premium),
    )
