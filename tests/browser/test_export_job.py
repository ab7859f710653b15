"""An export job in a real browser: start it on the 公示名单 page, watch the progress bar
reach done (static/js/jobs.js polls the status), download the file and open it."""

from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from accounts.choices import Role
from reports.models import ExportJob
from reports.tasks import run_export_job
from tests.factories import ApplicantFactory, LoanFactory, ProgramFactory, UnitFactory, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_announcement_export_shows_progress_then_the_file(broker_down, login, screenshot, tmp_path):
    program = ProgramFactory(code="jgd-2020", year=2020)
    unit = UnitFactory(code="xiushui", name="修水县")
    for day, name in enumerate(("王小明", "李四", "欧阳娜娜"), start=1):
        LoanFactory(
            application__program=program,
            application__unit=unit,
            application__applicant=ApplicantFactory(name=name),
            principal=Decimal("100000.00"),
            disbursed_on=date(2020, 6, day),
            maturity_on=date(2021, 6, day),
        )
    page = login(make_user(Role.CITY_STAFF, username="city"))
    page.goto(f"/reports/announcement/?program={program.code}")
    with page.expect_navigation():
        page.get_by_role("button", name="导出公示名单（Excel）").click()

    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.PENDING
    expect(page.locator("#export-status")).to_have_text("排队中")
    expect(page.locator("#export-download")).to_be_hidden()

    assert run_export_job(job.pk) == "done"  # the worker's turn

    expect(page.locator("#export-status")).to_have_text("已完成")
    expect(page.locator("#export-progress")).to_have_attribute("value", "100")
    expect(page.locator("#export-rows")).to_have_text("3 / 3 行")
    screenshot(page, "export-job-done")
    with page.expect_download() as info:
        page.locator("#export-download").click()
    target = tmp_path / "download.xlsx"
    info.value.save_as(target)
    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert rows[0][0] == f"{program.name}贷款贴息公示名单"
    assert [row[2] for row in rows[2:]] == ["王*明", "李*", "欧**娜"]
