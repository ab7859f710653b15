"""批量导入 in a real browser: upload, watch the job check the file, read the errors, fix,
confirm, watch the import finish (static/js/jobs.js polls and reloads the page)."""

import pytest
from playwright.sync_api import expect

from loans.models import ImportJob, Loan
from loans.services.import_jobs import run_import_job
from tests.browser.test_csp import _violations, _watched
from tests.imports.conftest import LOAN_HEADERS, loan_row, xlsx

pytestmark = pytest.mark.django_db(transaction=True)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload(page, content):
    page.goto("/imports/")
    page.select_option("#id_resource", "loans")
    page.set_input_files(
        "#id_file", {"name": "bank.xlsx", "mimeType": XLSX_TYPE, "buffer": content}
    )
    with page.expect_navigation():
        page.get_by_role("button", name="上传并检查").click()
    return ImportJob.objects.order_by("-pk").first()


def test_city_clerk_checks_fixes_and_confirms_a_loan_import(
    make_approved, city_user, login, screenshot, broker_down
):
    apps = make_approved(3)
    rows = [loan_row(a, n) for n, a in enumerate(apps)]
    bad = [*rows[:2], loan_row(apps[2], 2, **{"年利率（%）": "6.5"})]
    page = _watched(login(city_user))  # collects Content-Security-Policy violations
    page.get_by_role("link", name="批量导入").click()

    job = _upload(page, xlsx(LOAN_HEADERS, bad))
    expect(page.locator("#import-status")).to_have_text("排队中")  # no worker yet
    assert run_import_job(job.pk) == "invalid"  # the worker's turn; the page reloads itself
    expect(page.locator("#import-errors")).to_contain_text(
        "第4行 年利率（%）：年利率6.5%超过本项目线下审核最高年利率5.8%，不予受理"
    )
    expect(page.locator("#import-confirm")).to_have_count(0)
    screenshot(page, "import-check-errors")

    job = _upload(page, xlsx(LOAN_HEADERS, rows))
    assert run_import_job(job.pk) == "checked"
    expect(page.locator("#import-preview")).to_contain_text("检查通过，共3行")
    screenshot(page, "import-preview")
    assert not Loan.objects.exists()
    with page.expect_navigation():
        page.get_by_role("button", name="确认导入").click()
    expect(page.locator("#import-status")).to_have_text("排队中")
    assert run_import_job(job.pk, "import") == "done"
    expect(page.locator("#import-done")).to_contain_text("导入完成：新增3条")
    assert Loan.objects.count() == 3
    page.goto("/imports/")
    expect(page.locator("#import-jobs")).to_contain_text("导入完成")
    assert _violations(page) == []
