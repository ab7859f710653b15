"""The bank API's lists read only what their rows show, and show what the full rows would.

The load test found the lists at a few percent of a bare endpoint's throughput: every row
joined the program, unit, bank, applicant and enterprise, decoded the program's JSON policy
columns and decrypted the applicant's mobile number, none of which the output shows.
"""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gonghui.api import ChoiceLabelField
from loans.api.serializers import ApplicationOutputSerializer, LoanOutputSerializer
from loans.choices import ApplicationStatus, LoanStatus
from loans.models import Application, Loan
from loans.selectors import application_list, loan_list
from subsidies.api.serializers import SubsidyClaimSerializer
from subsidies.selectors import claim_ledger
from subsidies.services.claims import create_claim_for_loan
from tests.api.conftest import API, token_client
from tests.factories import ApplicationFactory, LoanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(program, unit, bank):
    for n in range(4):
        ApplicationFactory(program=program, unit=unit, bank=bank)
        loan = LoanFactory(
            application__program=program,
            application__unit=unit,
            application__bank=bank,
            status=LoanStatus.REPAID if n % 2 else LoanStatus.ACTIVE,
            settled_on=date(2021, 1, 1) if n % 2 else None,
        )
        if n % 2:
            create_claim_for_loan(loan=loan, as_of=date(2021, 1, 1))


def _list_sql(client, path: str, table: str) -> tuple[dict, str]:
    """The response body and the SQL of the query reading the page's rows of ``table``."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(API + path)
    assert response.status_code == 200
    (sql,) = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"] and "LIMIT" in q["sql"]
    ]
    return response.json(), sql


def test_loan_list_reads_the_loan_table_alone(rows, bank_user):
    body, sql = _list_sql(token_client(bank_user), "/loans/", "loans_loan")
    assert "JOIN" not in sql
    assert body["results"] == LoanOutputSerializer(loan_list(bank_user), many=True).data


def test_application_list_joins_the_applicant_and_enterprise_only(rows, bank_user):
    body, sql = _list_sql(token_client(bank_user), "/applications/", "loans_application")
    for table in ("loans_program", "loans_unit", "loans_bank"):
        assert f'JOIN "{table}"' not in sql
    # The mobile number is neither read nor decrypted; the ID is, to be shown masked.
    assert '"loans_applicant"."mobile"' not in sql
    assert '"loans_applicant"."id_number"' in sql
    assert (
        body["results"] == ApplicationOutputSerializer(application_list(bank_user), many=True).data
    )
    assert body["results"][0]["applicant"]["id_number"].count("*") == 10


def test_claim_list_joins_the_loan_only(rows, bank_user):
    body, sql = _list_sql(token_client(bank_user), "/subsidy-claims/", "subsidies_subsidyclaim")
    assert sql.count("JOIN") == 1
    assert 'JOIN "loans_loan"' in sql
    assert len(body["results"]) == 2
    expected = SubsidyClaimSerializer(claim_ledger(user=bank_user), many=True).data
    assert body["results"] == expected


def test_a_record_reads_as_its_list_row(rows, bank_user):
    client = token_client(bank_user)
    for path in ("/loans/", "/applications/", "/subsidy-claims/"):
        first = client.get(API + path).json()["results"][0]
        assert client.get(f"{API}{path}{first['id']}/").json() == first


def test_status_labels_are_read_from_the_choices_not_the_display_method():
    # DRF inspects a bound get_status_display's signature on every row: the costliest field.
    for serializer, model, statuses in (
        (LoanOutputSerializer(), Loan, LoanStatus),
        (ApplicationOutputSerializer(), Application, ApplicationStatus),
    ):
        field = serializer.fields["status_label"]
        assert isinstance(field, ChoiceLabelField)
        for status in statuses:
            assert (
                field.to_representation(status.value) == model(status=status).get_status_display()
            )
        assert field.to_representation("unknown") == "unknown"
