"""Builders of the spreadsheets and approved applications the import tests read."""

from datetime import date
from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest

from loans.choices import ApplicationStatus as S
from loans.choices import LoanType, ReviewChannel
from tests.browser.conftest import (  # noqa: F401
    broker_down,
    browser,
    login,
    new_context,
    screenshot,
)
from tests.factories import ApplicationFactory

LOAN_HEADERS = [
    "申请编号",
    "银行代码",
    "合同编号",
    "贷款金额（元）",
    "年利率（%）",
    "放款日期",
    "到期日期",
    "带动就业人数",
    "新增入会职工人数",
]


def xlsx(headers, rows) -> bytes:
    """An .xlsx file with a header row and the given rows."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def read_xlsx(content: bytes) -> list[list]:
    sheet = openpyxl.load_workbook(BytesIO(content), read_only=True).active
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def loan_row(application, n, **overrides):
    row = {
        "申请编号": application.reference,
        "银行代码": application.bank.code,
        "合同编号": f"JJ-IMP-{n:05d}",
        "贷款金额（元）": "200000.00",
        "年利率（%）": "5.8",
        "放款日期": date(2020, 7, 10),
        "到期日期": date(2021, 7, 10),
        "带动就业人数": 6,
        "新增入会职工人数": 2,
    }
    row.update(overrides)
    return [row[h] for h in LOAN_HEADERS]


@pytest.fixture
def make_approved(program, unit, bank):
    """Approved (offline-reviewed) applications ready for disbursement."""

    def make(count=1, **kwargs):
        values = {
            "program": program,
            "unit": unit,
            "bank": bank,
            "status": S.BANK_APPROVED,
            "review_channel": ReviewChannel.OFFLINE,
            "loan_type": LoanType.GUARANTEED,
            "approved_amount": Decimal("300000.00"),
            "approved_rate": Decimal("5.80"),
        }
        values.update(kwargs)
        return [ApplicationFactory(**values) for _ in range(count)]

    return make
