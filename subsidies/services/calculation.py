"""The per-loan interest and premium subsidy (贴息、保费补贴) of SPEC.md.

interest = subsidised principal × min(contract rate, cap of the loan's channel)
           × days / 360 × interest share                  (for the program's interest types)
premium  = subsidised principal × premium rate × premium share  (for its premium types)

* Days run from disbursement to the end of the subsidised period (:func:`subsidy_period`):
  the repayment date, or the maturity date when the loan was repaid late or is still
  outstanding after maturity; a renewed loan ends on its renewal date or at maturity,
  whichever is earlier. 360 is the Chinese banks' day basis for annual rates.
* Each part applies only to the loan types the program lists for it (Xuzhou: credit loans
  get the premium subsidy only).
* The interest part never exceeds the interest the bank reports as charged, when it has
  reported any. The premium subsidy refunds the guarantee-insurance premium, not interest,
  so that cap does not apply to it.
* Every intermediate is exact (:mod:`subsidies.services.exact`); the total is rounded
  half-up to the fen once, at the end. The interest part is rounded the same way for the
  ledger and the premium part is the rest of the total, so the parts always add up to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from gonghui.errors import DomainError
from loans.choices import ReviewChannel
from loans.models import Program
from subsidies.services.exact import exact, fen_decimal, fens_half_up, is_fen_exact

DAY_BASIS = 360  # Chinese banks' day-count basis for annual rates
PERCENT = 100


@dataclass(frozen=True)
class SubsidyInputs:
    """The figures of one loan that the formula reads (the program supplies the rest)."""

    subsidised_principal: Decimal
    annual_rate: Decimal
    review_channel: str
    loan_type: str
    start: date
    end: date
    interest_charged: Decimal | None = None


@dataclass(frozen=True)
class SubsidyResult:
    """The subsidy of one loan with the intermediate figures a claim stores."""

    days: int
    rate_cap: Decimal
    applied_rate: Decimal
    interest_applies: bool
    premium_applies: bool
    interest_subsidy: Decimal  # the interest part, capped by the interest charged, to the fen
    premium_subsidy: Decimal  # total − interest part
    total: Decimal  # rounded half-up to the fen once


def subsidy_period(
    *, disbursed_on: date, maturity_on: date, settled_on: date | None
) -> tuple[date, date]:
    """The first and last day of a loan's subsidised period.

    It starts at disbursement. Repaid (or renewed) before maturity, it ends on the repayment
    (renewal) date; repaid late, or not repaid, on the maturity date, since the union
    subsidises the contract term only.
    """
    end = maturity_on if settled_on is None else min(settled_on, maturity_on)
    return disbursed_on, end


def compute_subsidy(*, program: Program, inputs: SubsidyInputs) -> SubsidyResult:
    """The subsidy of one loan period; see the module docstring for the formula."""
    if inputs.end < inputs.start:
        raise DomainError("subsidy_period_invalid", "贴息计算截止日期早于放款日期")
    if inputs.subsidised_principal < 0:
        raise DomainError("subsidy_principal_negative", "贴息本金不能为负数")
    if inputs.annual_rate < 0:
        raise DomainError("subsidy_rate_negative", "贷款年利率不能为负数")
    if inputs.review_channel not in ReviewChannel.values:
        raise DomainError("review_channel_invalid", "审核方式须为线上审核或线下审核")
    charged = inputs.interest_charged
    if charged is not None and (charged < 0 or not is_fen_exact(charged)):
        raise DomainError(
            "interest_charged_invalid", "银行实收利息须为不小于0的金额（元，两位小数）"
        )

    days = (inputs.end - inputs.start).days
    cap = program.rate_cap(inputs.review_channel)
    applied_rate = min(Decimal(inputs.annual_rate), cap)
    principal = exact(inputs.subsidised_principal)

    interest_applies = inputs.loan_type in program.interest_loan_types
    interest = Fraction(0)
    if interest_applies:
        interest = (
            principal
            * exact(applied_rate)
            * days
            * exact(program.interest_share)
            / (PERCENT * DAY_BASIS * PERCENT)
        )
        if charged is not None:
            # The union never pays more interest than the bank charged.
            interest = min(interest, exact(charged))

    premium_applies = inputs.loan_type in program.premium_loan_types
    premium = Fraction(0)
    if premium_applies:
        premium = (
            principal * exact(program.premium_rate) * exact(program.premium_share) / PERCENT**2
        )

    total_fens = fens_half_up(interest + premium)
    interest_fens = fens_half_up(interest)
    return SubsidyResult(
        days=days,
        rate_cap=cap,
        applied_rate=applied_rate,
        interest_applies=interest_applies,
        premium_applies=premium_applies,
        interest_subsidy=fen_decimal(interest_fens),
        premium_subsidy=fen_decimal(total_fens - interest_fens),
        total=fen_decimal(total_fens),
    )
