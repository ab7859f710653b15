"""The Content Security Policy in a real browser: no page breaks under it.

Every violation the browser reports (``securitypolicyviolation`` events) is collected by a
script Playwright injects before the page's own; the tests then check that the pages that
used to have inline styles and handlers still work with them moved to static files.
"""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.choices import Role
from loans.models import Application
from tests.factories import (
    ApplicationFactory,
    BankFactory,
    LoanFactory,
    ProgramFactory,
    QuotaFactory,
    UnitFactory,
    make_user,
)

pytestmark = pytest.mark.django_db(transaction=True)

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


def _watched(page):
    page.add_init_script(COLLECT_VIOLATIONS)
    return page


def _violations(page) -> list[str]:
    return page.evaluate("() => window.__cspViolations")


@pytest.fixture
def world():
    program = ProgramFactory(code="jgd-2020", year=2020, city="九江市")
    unit = UnitFactory(code="xiushui", name="修水县", city="九江市")
    bank = BankFactory(code="jjbank", name="九江银行九江分行")
    QuotaFactory(program=program, unit=unit, task_amount=Decimal("3000000"))
    for n in range(3):
        LoanFactory(
            application__program=program,
            application__unit=unit,
            application__bank=bank,
            principal=Decimal(100000 + 50000 * n),
            disbursed_on=date(2020, 4 + n, 15),
            maturity_on=date(2021, 4 + n, 15),
        )
    drafts = [ApplicationFactory(program=program, unit=unit) for _ in range(2)]
    return {
        "program": program,
        "drafts": drafts,
        "county": make_user(Role.COUNTY_STAFF, unit=unit, username="county"),
        "manager": make_user(Role.MANAGER, username="manager"),
    }


def test_the_policy_header_is_sent(world, login):
    page = _watched(login(world["manager"]))

    response = page.goto("/dashboard/")

    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_the_dashboard_draws_its_charts_without_a_violation(world, login):
    page = _watched(login(world["manager"]))

    page.goto("/dashboard/")
    page.wait_for_function("window.dashboardCharts && window.dashboardCharts.length >= 3")

    assert _violations(page) == []
    # The style sheet moved out of the page applies: the header is a flex row.
    assert page.eval_on_selector(".dashboard-head", "e => getComputedStyle(e).display") == "flex"


def test_select_all_ticks_every_row_without_an_inline_handler(world, login):
    page = _watched(login(world["county"]))

    page.goto("/applications/")
    page.get_by_label("全选").check()

    boxes = page.locator('input[name="ids"]')
    assert boxes.count() == Application.objects.count()  # the drafts and the loans' ones
    for n in range(boxes.count()):
        expect(boxes.nth(n)).to_be_checked()
    assert _violations(page) == []


def test_the_print_page_is_styled_by_its_static_sheet(world, login):
    page = _watched(login(world["county"]))

    page.goto(f"/applications/{world['drafts'][0].pk}/print/")

    assert page.eval_on_selector("table", "e => getComputedStyle(e).borderCollapse") == "collapse"
    assert _violations(page) == []


def test_the_api_documentation_renders_without_a_violation(world, login):
    page = _watched(login(world["manager"]))

    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .information-container")).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()

    assert _violations(page) == []
    assert page.evaluate("() => getComputedStyle(document.body).margin") == "0px"


def test_the_annual_analysis_draws_its_charts_without_a_violation(world, login):
    page = _watched(login(world["manager"]))

    page.goto("/reports/annual/")
    page.wait_for_function("window.annualCharts && window.annualCharts.length >= 3")

    assert _violations(page) == []
    # Its style sheet is a static file now: the header is a flex row.
    assert page.eval_on_selector(".annual-head", "e => getComputedStyle(e).display") == "flex"


def test_a_loan_export_job_polls_to_done_without_a_violation(world, login, broker_down):
    from reports.models import ExportJob
    from reports.tasks import run_export_job

    page = _watched(login(world["county"]))

    page.goto("/loans/?status=active")
    with page.expect_navigation():
        page.locator("#loan-export").click()
    job = ExportJob.objects.get()
    assert (job.kind, job.params["status"]) == ("loans", "active")
    expect(page.locator("#export-status")).to_have_text("排队中")

    assert run_export_job(job.pk) == "done"

    expect(page.locator("#export-status")).to_have_text("已完成")
    expect(page.locator("#export-rows")).to_have_text("3 / 3 行")
    expect(page.locator("#export-download")).to_be_visible()
    assert _violations(page) == []
