"""The ledger (台账) and batch selectors: joins owned by the selector (constant queries),
filters with field errors, and the user's scope."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gonghui.errors import DomainError
from loans.choices import LoanType
from subsidies.choices import ClaimStatus
from subsidies.selectors import batch_claims, claim_ledger, ledger_totals, payment_batches
from subsidies.services.batches import approve_batch, create_batch
from subsidies.services.claims import create_claim_for_loan

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = date(2021, 8, 1)


@pytest.fixture
def ledger(make_loan, unit, other_unit, bank, other_bank, program, city_user, other_city_user):
    """Mine (unit/bank): two guaranteed, one credit; theirs (other unit/bank): one. Two of
    mine are in an approved batch."""
    mine = [
        create_claim_for_loan(loan=make_loan(), as_of=AS_OF),
        create_claim_for_loan(loan=make_loan(), as_of=AS_OF),
        create_claim_for_loan(loan=make_loan(loan_type=LoanType.CREDIT), as_of=AS_OF),
    ]
    theirs = create_claim_for_loan(loan=make_loan(unit=other_unit, bank=other_bank), as_of=AS_OF)
    batch = create_batch(program=program, claim_ids=[mine[0].pk, mine[1].pk], user=city_user)
    batch = approve_batch(batch=batch, user=other_city_user)
    return mine, theirs, batch


def _render(claims):
    """Every column the ledger shows."""
    return [
        (
            claim.loan.contract_number,
            claim.loan.application.applicant.name,
            claim.loan.application.enterprise.name,
            claim.program.name,
            claim.unit.name,
            claim.bank.name,
            claim.amount,
            claim.batch.number if claim.batch else "",
            claim.get_status_display(),
        )
        for claim in claims
    ]


def test_the_ledger_costs_one_query_whatever_the_rows(ledger, make_loan, city_user):
    with CaptureQueriesContext(connection) as few:
        assert len(_render(claim_ledger(user=city_user))) == 4
    for _ in range(4):
        create_claim_for_loan(loan=make_loan(), as_of=AS_OF)
    with CaptureQueriesContext(connection) as many:
        assert len(_render(claim_ledger(user=city_user))) == 8
    assert len(many) == len(few) == 1


def test_ledger_filters(ledger, unit, other_unit, bank, program, city_user):
    mine, theirs, batch = ledger
    everything = {c.pk for c in [*mine, theirs]}

    def ids(user, **filters):
        return {claim.pk for claim in claim_ledger(user=user, filters=filters)}

    city = city_user
    assert ids(city) == everything
    assert ids(city, program=program.pk, unit="", bank=None) == everything
    assert ids(city, unit=unit) == {c.pk for c in mine}
    assert ids(city, bank=str(bank.pk)) == {c.pk for c in mine}
    assert ids(city, unit=other_unit.pk) == {theirs.pk}
    assert ids(city, status=ClaimStatus.APPROVED) == {mine[0].pk, mine[1].pk}
    assert ids(city, batch=batch.pk) == {mine[0].pk, mine[1].pk}
    assert ids(city, loan_type=LoanType.CREDIT) == {mine[2].pk}
    assert ids(city, end_from="2021-07-10", end_to="2021-07-10") == everything
    assert ids(city, end_from="2021-07-11") == set()
    assert ids(city, q=mine[2].loan.contract_number) == {mine[2].pk}
    assert ids(city, q=theirs.loan.application.applicant.name) == {theirs.pk}


def test_bad_ledger_filters_are_field_errors(ledger, city_user):
    with pytest.raises(DomainError) as error:
        claim_ledger(
            user=city_user,
            filters={"unit": "x", "status": "lost", "end_from": "2021-02-30", "loan_type": "?"},
        )
    assert set(error.value.field_errors) == {"unit", "status", "end_from", "loan_type"}


def test_ledger_totals(ledger, city_user):
    totals = ledger_totals(claim_ledger(user=city_user))
    # four claims of a full year at 5.80% on 300,000: 4 × 17,641.67
    assert (totals.count, totals.amount, totals.interest_subsidy) == (
        4,
        D("70566.68"),
        D("70566.68"),
    )
    assert (totals.premium_subsidy, totals.paid_amount) == (D("0"), D("0"))


def test_managers_see_every_claim(ledger, manager_user):
    assert claim_ledger(user=manager_user).count() == 4


def test_county_and_bank_users_see_their_own_claims(
    ledger, county_user, bank_user, other_county_user
):
    mine, theirs, _ = ledger
    assert {c.pk for c in claim_ledger(user=county_user)} == {c.pk for c in mine}
    assert {c.pk for c in claim_ledger(user=bank_user)} == {c.pk for c in mine}
    assert {c.pk for c in claim_ledger(user=other_county_user)} == {theirs.pk}


def test_batches_are_for_city_staff_and_managers(ledger, city_user, manager_user, county_user):
    _, _, batch = ledger
    assert list(payment_batches(user=city_user)) == [batch]
    assert list(payment_batches(user=manager_user, program=batch.program)) == [batch]
    assert list(payment_batches(user=county_user)) == []


def test_batch_claims_lists_the_claims_of_one_batch(ledger, city_user):
    mine, _, batch = ledger
    assert [c.pk for c in batch_claims(batch=batch, user=city_user)] == sorted(
        [mine[0].pk, mine[1].pk]
    )
