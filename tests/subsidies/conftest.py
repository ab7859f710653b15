"""Fixtures of the subsidy tests: loans of the shared ``program`` / ``unit`` / ``bank`` with
their principal split at the borrower's limit as disbursement does, and claims of them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from accounts.choices import Role
from loans.choices import BorrowerClass, LoanStatus, LoanType, ReviewChannel
from loans.models import Repayment
from loans.services.rules import split_principal
from subsidies.services.claims import create_claim_for_loan
from tests.factories import LoanFactory, make_user

BORROWER_FLAGS = {
    BorrowerClass.GENERAL: {},
    BorrowerClass.MODEL_WORKER: {"is_model_worker": True},
    BorrowerClass.EPIDEMIC_RELATIVE: {"is_epidemic_relative": True},
}


@pytest.fixture
def make_loan(program, unit, bank):
    """A disbursed loan (2020-07-10 to 2021-07-10, offline, guaranteed, 5.80%) whose
    subsidised principal is the part within the borrower's limit."""

    def build(
        *,
        principal: str = "300000.00",
        borrower_class: str = BorrowerClass.GENERAL,
        program=program,
        unit=unit,
        bank=bank,
        annual_rate: str = "5.80",
        review_channel: str = ReviewChannel.OFFLINE,
        loan_type: str = LoanType.GUARANTEED,
        disbursed_on: date = date(2020, 7, 10),
        maturity_on: date = date(2021, 7, 10),
        status: str = LoanStatus.ACTIVE,
        settled_on: date | None = None,
        **extra,
    ):
        split = split_principal(
            program=program, borrower_class=borrower_class, principal=Decimal(principal)
        )
        flags = {
            f"application__applicant__{k}": v for k, v in BORROWER_FLAGS[borrower_class].items()
        }
        return LoanFactory(
            application__program=program,
            application__unit=unit,
            application__bank=bank,
            application__review_channel=review_channel,
            application__loan_type=loan_type,
            application__amount=Decimal(principal),
            application__approved_amount=Decimal(principal),
            application__approved_rate=Decimal(annual_rate),
            **flags,
            principal=Decimal(principal),
            subsidised_principal=split.subsidised,
            leveraged_amount=split.leveraged,
            annual_rate=Decimal(annual_rate),
            review_channel=review_channel,
            loan_type=loan_type,
            disbursed_on=disbursed_on,
            maturity_on=maturity_on,
            status=status,
            settled_on=settled_on,
            **extra,
        )

    return build


@pytest.fixture
def repaid_loan(make_loan):
    """Repaid on 2021-01-10 (184 days), with 8,893.33 of interest reported over two
    repayments; its claim is 300,000 × 5.80% × 184 / 360 = 8,893.33."""

    def build(**kwargs):
        loan = make_loan(status=LoanStatus.REPAID, settled_on=date(2021, 1, 10), **kwargs)
        Repayment.objects.create(
            loan=loan,
            repaid_on=date(2020, 10, 10),
            principal_amount=Decimal("0"),
            interest_amount=Decimal("4400.00"),
        )
        Repayment.objects.create(
            loan=loan,
            repaid_on=date(2021, 1, 10),
            principal_amount=loan.principal,
            interest_amount=Decimal("4493.33"),
        )
        return loan

    return build


@pytest.fixture
def pending_claims(make_loan):
    """Three claims of loans past maturity (full year, 17,641.67 each unless told)."""

    def build(count: int = 3, **kwargs):
        return [
            create_claim_for_loan(loan=make_loan(**kwargs), as_of=date(2021, 8, 1))
            for _ in range(count)
        ]

    return build


@pytest.fixture
def other_city_user(db):
    return make_user(Role.CITY_STAFF, username="city2")
