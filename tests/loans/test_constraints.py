"""Database constraints: what must always hold is enforced below the services too."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from loans.choices import LoanStatus
from loans.models import Application, Loan
from quotas.models import Quota, Reallocation
from tests.factories import ApplicationFactory, LoanFactory, QuotaFactory, UserFactory

pytestmark = pytest.mark.django_db


def violates(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_one_quota_per_program_and_unit(program, unit):
    QuotaFactory(program=program, unit=unit)
    violates(lambda: Quota.objects.create(program=program, unit=unit, task_amount=1))


def test_quota_task_is_not_negative(program, unit):
    violates(lambda: Quota.objects.create(program=program, unit=unit, task_amount=Decimal("-1")))


def test_contract_number_unique_per_bank_but_not_across_banks(bank, other_bank):
    LoanFactory(application__bank=bank, contract_number="HT-1")
    violates(lambda: LoanFactory(application__bank=bank, contract_number="HT-1"))
    assert LoanFactory(application__bank=other_bank, contract_number="HT-1").pk


def test_one_active_loan_per_application():
    loan = LoanFactory()
    violates(lambda: LoanFactory(application=loan.application, contract_number="HT-other"))
    Loan.objects.filter(pk=loan.pk).update(status=LoanStatus.REPAID, settled_on=date(2021, 1, 1))
    assert LoanFactory(application=loan.application, contract_number="HT-other").pk


@pytest.mark.parametrize(
    "overrides",
    [
        {"principal": Decimal("0"), "subsidised_principal": Decimal("0")},
        {"principal": Decimal("100"), "subsidised_principal": Decimal("90")},  # split must add up
        {"subsidised_principal": Decimal("-1"), "leveraged_amount": Decimal("200001")},
        {"annual_rate": Decimal("0")},
        {"maturity_on": date(2020, 7, 1)},  # not after disbursement
        {"status": "lost"},
        {"loan_type": "payday"},
        {"review_channel": "phone"},
        {"status": LoanStatus.REPAID},  # closed without a settled date
    ],
)
def test_loan_row_constraints(overrides):
    violates(lambda: LoanFactory(**overrides))


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": Decimal("0")},
        {"status": "approved-ish"},
        {"channel": "fax"},
        {"term_months": 0},
        {"approved_rate": Decimal("-1")},
    ],
)
def test_application_row_constraints(overrides):
    violates(lambda: ApplicationFactory(**overrides))


def test_application_reference_is_unique():
    first = ApplicationFactory()
    violates(lambda: ApplicationFactory(reference=first.reference))
    assert Application.objects.count() == 1


def test_reallocation_moves_a_positive_amount_between_two_units(program, unit, other_unit):
    user = UserFactory()

    def reallocate(to_unit, amount):
        return Reallocation.objects.create(
            program=program,
            from_unit=unit,
            to_unit=to_unit,
            amount=amount,
            reallocated_on=date(2020, 8, 1),
            reason="未完成任务调剂",
            created_by=user,
        )

    violates(lambda: reallocate(unit, Decimal("100")))
    violates(lambda: reallocate(other_unit, Decimal("0")))
    assert reallocate(other_unit, Decimal("100")).pk


def test_follow_up_is_unique_per_loan_and_quarter():
    loan = LoanFactory()
    values = {
        "year": 2020,
        "quarter": 3,
        "visited_on": date(2020, 9, 1),
        "operating_status": "normal",
    }
    loan.follow_ups.create(jobs=5, insured_employees=2, **values)
    violates(lambda: loan.follow_ups.create(jobs=5, insured_employees=2, **values))
    violates(
        lambda: loan.follow_ups.create(**{**values, "quarter": 5}, jobs=1, insured_employees=0)
    )
    violates(
        lambda: loan.follow_ups.create(**{**values, "quarter": 4}, jobs=1, insured_employees=2)
    )
