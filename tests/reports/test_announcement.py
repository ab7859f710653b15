"""公示名单: approved borrowers of a program and period, names and resident IDs masked."""

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from reports.exports import mask_name
from tests.factories import ApplicantFactory, LoanFactory

pytestmark = pytest.mark.django_db
URL = reverse("reports:announcement")


@pytest.mark.parametrize(
    ("name", "masked"), [("张三", "张*"), ("张小三", "张*三"), ("欧阳娜娜", "欧**娜"), ("李", "李")]
)
def test_names_are_masked_keeping_the_first_and_last_character(name, masked):
    assert mask_name(name) == masked


@pytest.fixture
def loans(program, unit):
    def loan(name, on, principal):
        return LoanFactory(
            application__program=program,
            application__unit=unit,
            application__applicant=ApplicantFactory(name=name),
            principal=Decimal(principal),
            subsidised_principal=Decimal(principal),
            disbursed_on=on,
            maturity_on=on.replace(year=on.year + 1),
        )

    return [
        loan("王小明", date(2020, 6, 10), "300000.00"),
        loan("李四", date(2020, 7, 5), "150000.00"),
        loan("赵六", date(2020, 9, 1), "80000.00"),
    ]


def test_xlsx_lists_the_period_with_masked_names_and_ids(client, city_user, program, loans):
    client.force_login(city_user)
    response = client.get(
        URL, {"program": program.code, "from": "2020-06-01", "to": "2020-07-31", "format": "xlsx"}
    )
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == f"{program.name}贷款贴息公示名单"
    body = rows[2:]
    assert [row[2] for row in body] == ["王*明", "李*"]
    first = loans[0].application.applicant.id_number
    assert body[0][3] == first[:4] + "*" * 10 + first[-4:]
    assert Decimal(str(body[0][5])) == Decimal("30")
    cells = {str(value) for row in rows for value in row}
    assert not any(loan.application.applicant.id_number in cells for loan in loans)
    assert not any(loan.application.applicant.name in cells for loan in loans)


def test_page_previews_masked_rows_and_refuses_other_roles(
    client, city_user, county_user, program, loans
):
    client.force_login(city_user)
    page = client.get(URL, {"program": program.code})
    assert page.context["count"] == 3
    body = page.content.decode()
    assert "王*明" in body and "王小明" not in body
    bad = client.get(URL, {"program": program.code, "from": "2020-13-01"})
    assert bad.context["errors"]["from"]
    client.force_login(county_user)
    assert client.get(URL).status_code == 403
