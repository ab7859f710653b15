"""List endpoints cost the same number of queries whatever the number of rows."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loans.choices import ApplicationStatus as S
from subsidies.services.claims import create_claim_for_loan
from tests.api.conftest import API, token_client
from tests.factories import ApplicationFactory, LoanFactory, QuotaFactory, UnitFactory

pytestmark = pytest.mark.django_db


def _rows(program, unit, bank, n):
    for _ in range(n):
        ApplicationFactory(program=program, unit=unit, bank=bank, status=S.RECOMMENDED)
        loan = LoanFactory(
            application__program=program,
            application__unit=unit,
            application__bank=bank,
            status="repaid",
            settled_on=date(2021, 1, 1),
        )
        create_claim_for_loan(loan=loan, as_of=date(2021, 1, 1))
        QuotaFactory(program=program, unit=UnitFactory())


def _count(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(API + path).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "path", ["/applications/", "/loans/", "/subsidy-claims/", "/quotas/", "/units/", "/programs/"]
)
def test_list_query_count_does_not_grow_with_rows(path, program, unit, bank, bank_user):
    client = token_client(bank_user)
    _rows(program, unit, bank, 2)
    few = _count(client, path)
    _rows(program, unit, bank, 5)
    many = _count(client, path)
    assert many == few
    assert few <= 8
