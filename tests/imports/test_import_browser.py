"""批量导入 in a real browser: upload, read the preview's errors, fix, confirm."""

import pytest
from playwright.sync_api import expect

from loans.models import Loan
from tests.imports.conftest import LOAN_HEADERS, loan_row, xlsx

pytestmark = pytest.mark.django_db(transaction=True)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_city_clerk_previews_fixes_and_confirms_a_loan_import(
    make_approved,
    city_user,
    login,
    screenshot,
):
    apps = make_approved(3)
    rows = [loan_row(a, n) for n, a in enumerate(apps)]
    bad = [*rows[:2], loan_row(apps[2], 2, **{"年利率（%）": "6.5"})]
    page = login(city_user)
    page.get_by_role("link", name="批量导入").click()
    page.select_option("#id_resource", "loans")
    page.set_input_files(
        "#id_file", {"name": "bank.xlsx", "mimeType": XLSX_TYPE, "buffer": xlsx(LOAN_HEADERS, bad)}
    )
    page.get_by_role("button", name="上传并预览").click()
    expect(page.locator("#import-errors")).to_contain_text(
        "第4行 年利率（%）：年利率6.5%超过本项目线下审核最高年利率5.8%，不予受理"
    )
    expect(page.locator("#import-confirm")).to_have_count(0)
    screenshot(page, "import-preview-errors")
    page.select_option("#id_resource", "loans")
    page.set_input_files(
        "#id_file", {"name": "bank.xlsx", "mimeType": XLSX_TYPE, "buffer": xlsx(LOAN_HEADERS, rows)}
    )
    page.get_by_role("button", name="上传并预览").click()
    expect(page.locator("#import-preview")).to_contain_text("检查通过，共3行")
    screenshot(page, "import-preview")
    assert not Loan.objects.exists()
    page.get_by_role("button", name="确认导入").click()
    expect(page.locator("body")).to_contain_text("导入完成：新增3条")
    assert Loan.objects.count() == 3
