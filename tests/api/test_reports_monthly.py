"""``GET /api/v1/reports/monthly/``: 附件3 as JSON or .xlsx, by role."""

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from reports.services import build_monthly_snapshot
from tests.api.conftest import API, session_client, token_client
from tests.factories import LoanFactory, QuotaFactory, make_user

pytestmark = pytest.mark.django_db
URL = f"{API}/reports/monthly/"


@pytest.fixture
def snapshot(program, unit, other_unit):
    QuotaFactory(program=program, unit=unit, task_amount=Decimal("2000000.00"))
    QuotaFactory(program=program, unit=other_unit, task_amount=Decimal("1000000.00"))
    LoanFactory(
        application__program=program,
        application__unit=unit,
        principal=Decimal("500000.00"),
        subsidised_principal=Decimal("300000.00"),
        leveraged_amount=Decimal("200000.00"),
        disbursed_on=date(2020, 7, 3),
        maturity_on=date(2021, 7, 3),
    )
    return build_monthly_snapshot(program=program, month=date(2020, 7, 1))


def test_city_staff_read_every_row_with_money_as_strings(snapshot, city_user, program):
    body = session_client(city_user).get(URL, {"program": program.code, "month": "2020-07"}).json()
    assert (body["program"], body["month"], body["as_of"]) == (
        program.code,
        "2020-07",
        "2020-07-31",
    )
    rows = {row["unit_name"]: row for row in body["rows"]}
    assert rows["修水县"]["amount"] == "500000.00"
    assert rows["修水县"]["leveraged_amount"] == "200000.00"
    assert rows["修水县"]["completion_rate"] == "15.00"
    assert rows["合计"]["task"] == "3000000.00"
    assert rows["合计"]["completion_rate"] == "10.00"


def test_county_staff_get_their_own_row_only(snapshot, county_user, program):
    body = (
        session_client(county_user).get(URL, {"program": program.code, "month": "2020-07"}).json()
    )
    assert [row["unit_name"] for row in body["rows"]] == ["修水县"]


def test_xlsx_download(snapshot, program):
    manager = make_user("manager")
    response = session_client(manager).get(
        URL, {"program": program.code, "month": "2020-07", "format": "xlsx"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(BytesIO(response.content)).active
    assert sheet["A1"].value.endswith("业务完成情况统计表")


def test_banks_anonymous_and_bad_input_get_the_error_shape(snapshot, bank_user, city_user, program):
    assert (
        token_client(bank_user).get(URL, {"program": program.code, "month": "2020-07"}).status_code
        == 403
    )
    assert APIClient().get(URL, {"program": program.code, "month": "2020-07"}).status_code == 401
    city = session_client(city_user)
    bad = city.get(URL, {"program": "nope", "month": "July"})
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"program", "month"}
    missing = city.get(URL, {"program": program.code, "month": "2020-06"})
    assert missing.status_code == 404
    assert missing.json()["message"] == "该月统计尚未生成"
