"""The application and loan list pages read only what they show.

Their rows join neither the program nor read the applicant's mobile number; the filter bar
reads its programs, units and banks with plain queries (no server-side cursor) and the
application page's batch form reuses the bank filter's rows.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import ApplicationFactory, LoanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(program, unit, other_unit, bank):
    for n in range(6):
        LoanFactory(
            application__program=program,
            application__unit=unit if n % 2 else other_unit,
            application__bank=bank,
        )
        ApplicationFactory(program=program, unit=unit, bank=bank)


def _page(client, name, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(name), params)
    assert response.status_code == 200
    return response, [q["sql"] for q in queries.captured_queries]


def _rows_sql(queries, table):
    (sql,) = [q for q in queries if q.startswith(f'SELECT "{table}"."id"') and "LIMIT" in q]
    return sql


@pytest.mark.parametrize(
    ("name", "table"),
    [("loans:application-list", "loans_application"), ("loans:loan-list", "loans_loan")],
)
def test_rows_leave_the_program_and_the_mobile_number_alone(client, city_user, rows, name, table):
    client.force_login(city_user)
    _response, queries = _page(client, name)
    sql = _rows_sql(queries, table)
    assert 'JOIN "loans_program"' not in sql
    assert '"loans_applicant"."mobile"' not in sql
    assert '"loans_applicant"."resume"' not in sql
    assert '"loans_enterprise"."situation"' not in sql


def test_loan_rows_read_only_the_names_of_the_application_parties(client, city_user, rows):
    client.force_login(city_user)
    response, queries = _page(client, "loans:loan-list")
    sql = _rows_sql(queries, "loans_loan")
    assert '"loans_applicant"."id_number"' not in sql
    assert '"loans_application"."amount"' not in sql
    body = response.content.decode()
    loan = response.context["page"].object_list[0]
    assert loan.application.applicant.name in body
    assert loan.application.enterprise.name in body


@pytest.mark.parametrize("name", ["loans:application-list", "loans:loan-list"])
def test_filter_choices_are_read_without_a_server_side_cursor(client, city_user, rows, name):
    client.force_login(city_user)
    response, queries = _page(client, name)
    assert not [q for q in queries if q.startswith("DECLARE")]
    assert len([q for q in queries if 'FROM "loans_bank"' in q and "JOIN" not in q]) == 1
    body = response.content.decode()
    assert '<select name="bank" id="id_bank">\n  <option value="" selected>全部</option>' in body


def test_batch_form_offers_the_banks_of_the_filter(client, city_user, rows, bank, other_bank):
    client.force_login(city_user)
    response, _queries = _page(client, "loans:application-list")
    body = response.content.decode()
    batch = body[body.index('name="bank" aria-label="推荐银行"') :]
    assert f'<option value="{bank.pk}">{bank}</option>' in batch
    assert f'<option value="{other_bank.pk}">{other_bank}</option>' in batch


def test_export_forms_carry_the_list_filters_but_not_the_page(client, city_user, rows, unit):
    client.force_login(city_user)
    params = {"unit": unit.pk, "status": "active", "sort": "unit", "page": 2, "q": "<张>"}
    body = client.get(reverse("loans:loan-list"), params).content.decode()
    form = body[body.index('id="loan-export-form"') : body.index('id="loan-export"')]
    assert f'<input type="hidden" name="unit" value="{unit.pk}">' in form
    assert '<input type="hidden" name="sort" value="unit">' in form
    assert '<input type="hidden" name="q" value="&lt;张&gt;">' in form
    assert 'name="page"' not in form
    body = client.get(reverse("loans:application-list"), params).content.decode()
    form = body[
        body.index('id="roster-export"') : body.index("</form>", body.index('id="roster-export"'))
    ]
    assert f'<input type="hidden" name="unit" value="{unit.pk}">' in form
    assert 'name="sort"' not in form
    assert 'name="page"' not in form
