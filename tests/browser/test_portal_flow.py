"""The portal in a real browser: intake → recommendation → county approval → the bank's list,
another unit's 404, the manager's dashboard charts, and screenshots of the main pages.

Screenshots (full page PNG) go to build/screenshots/ (see the README).
"""

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.choices import Role
from loans.choices import ApplicationStatus as S
from loans.models import Applicant, Application, Enterprise
from tests.factories import (
    ApplicantFactory,
    ApplicationFactory,
    BankFactory,
    LoanFactory,
    ProgramFactory,
    QuotaFactory,
    UnitFactory,
    make_user,
)
from tests.loans.test_application_pages import intake_data

pytestmark = pytest.mark.django_db(transaction=True)

BAD_ID = "360424199003030070"  # right shape, wrong check digit
ID_ERROR = "身份证号校验位错误，请核对后重新输入"


@pytest.fixture
def portal():
    """The program, two units of its city, a bank and one user of each role."""
    program = ProgramFactory(code="jgd-2020", year=2020, city="九江市")
    unit = UnitFactory(code="xiushui", name="修水县", city="九江市")
    other_unit = UnitFactory(code="wuning", name="武宁县", city="九江市")
    bank = BankFactory(code="jjbank", name="九江银行九江分行")
    return {
        "program": program,
        "unit": unit,
        "other_unit": other_unit,
        "bank": bank,
        "county": make_user(Role.COUNTY_STAFF, unit=unit, username="county"),
        "other_county": make_user(Role.COUNTY_STAFF, unit=other_unit, username="county2"),
        "banker": make_user(Role.BANK_OFFICER, bank=bank, username="banker"),
        "manager": make_user(Role.MANAGER, username="manager"),
    }


def fill_intake(page, data):
    """Fill the 附件2 form from ``intake_data``-style values, saving as a draft."""
    for name in ("program", "unit", "founder_class", "industry_section", "purpose"):
        page.select_option(f"#id_{name}", str(data[name]))
    for name in (
        "name",
        "id_number",
        "mobile",
        "union_name",
        "enterprise_name",
        "credit_code",
        "legal_representative",
        "employees",
        "licence_date",
        "industry_code",
        "annual_output",
        "amount",
        "term_months",
        "applied_on",
    ):
        page.fill(f"#id_{name}", str(data[name]))
    page.check("#id_is_union_member")
    page.uncheck("#id_submit_now")  # save a draft; it is submitted from the detail page


def test_intake_recommend_approve_and_the_banks_list(portal, login, screenshot):
    program, unit, bank = portal["program"], portal["unit"], portal["bank"]
    data = intake_data(program, unit, recommender_opinion="")

    page = login(portal["county"])
    page.goto("/applications/new/")
    expect(page.locator("h1")).to_contain_text("录入申请")
    fill_intake(page, {**data, "id_number": BAD_ID})
    page.get_by_role("button", name="保存", exact=True).click()

    id_field = page.locator(".field", has=page.locator("#id_id_number"))
    expect(id_field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(id_field.locator(".errorlist")).to_have_text(ID_ERROR)
    expect(page.locator(".form-errors")).to_contain_text("未保存任何信息")
    assert re.search(r"/applications/new/$", page.url)
    assert (Applicant.objects.count(), Enterprise.objects.count(), Application.objects.count()) == (
        0,
        0,
        0,
    )

    # The other values are still there; only the ID needs fixing.
    expect(page.locator("#id_name")).to_have_value(data["name"])
    page.fill("#id_id_number", data["id_number"])
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_url(re.compile(r"/applications/\d+/$"))
    application = Application.objects.get()
    badge = page.locator("h1 .status")
    expect(page.locator("h1")).to_contain_text(application.reference)
    expect(badge).to_have_text(S.DRAFT.label)

    # 推荐单位 recommends it (提交审核) ...
    submit = page.locator("form[action$='/submit/']")
    submit.locator("input[name=opinion]").fill("情况属实，同意推荐")
    submit.get_by_role("button", name="提交审核", exact=True).click()
    expect(badge).to_have_text(S.SUBMITTED.label)

    # ... and the county union approves it, choosing the bank.
    recommend = page.locator("form[action$='/recommend/']")
    recommend.locator("select[name=bank]").select_option(str(bank.pk))
    recommend.locator("input[name=opinion]").fill("经审核符合条件，同意推荐")
    recommend.get_by_role("button", name="推荐至银行", exact=True).click()
    expect(badge).to_have_text("已推荐至银行")
    expect(page.locator("#opinions")).to_contain_text("情况属实，同意推荐")
    expect(page.locator("#opinions")).to_contain_text("经审核符合条件，同意推荐")
    application.refresh_from_db()
    assert (application.status, application.bank) == (S.RECOMMENDED, bank)
    screenshot(page, "application-detail")

    # A few more of the unit's applications, so that the list looks like a working day.
    for n, status in enumerate((S.DRAFT, S.SUBMITTED, S.RETURNED, S.SUBMITTED, S.REJECTED)):
        ApplicationFactory(
            program=program,
            unit=unit,
            status=status,
            applicant=ApplicantFactory(name=("李娟", "张伟", "刘洋", "陈静", "黄磊")[n]),
            applied_on=date(2020, 5, 10 + n),
        )
    page.goto("/applications/")
    expect(page.get_by_role("link", name=application.reference)).to_be_visible()
    screenshot(page, "application-list")

    # The bank officer sees it on the home page list of their bank.
    bank_page = login(portal["banker"])
    expect(bank_page.get_by_text("待本行办理的申请")).to_be_visible()
    expect(bank_page.get_by_role("link", name=application.reference)).to_be_visible()


def test_another_units_clerk_gets_404(portal, login):
    application = ApplicationFactory(
        program=portal["program"],
        unit=portal["unit"],
        bank=portal["bank"],
        status=S.RECOMMENDED,
        applicant=ApplicantFactory(name="王小明"),
    )
    page = login(portal["other_county"])
    response = page.goto(f"/applications/{application.pk}/")
    assert response is not None
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("王小明")


def test_dashboard_draws_its_charts(portal, login, screenshot):
    program, bank = portal["program"], portal["bank"]
    for unit, task in ((portal["unit"], "3000000"), (portal["other_unit"], "2000000")):
        QuotaFactory(program=program, unit=unit, task_amount=Decimal(task))
    classes = ("graduate", "laid_off", "farmer", "other", "graduate", "farmer")
    for n, founder_class in enumerate(classes):
        unit = portal["unit"] if n % 3 else portal["other_unit"]
        LoanFactory(
            application__program=program,
            application__unit=unit,
            application__bank=bank,
            application__applicant__founder_class=founder_class,
            jobs_created=3 + n,
            principal=Decimal(100000 + 50000 * n),
            disbursed_on=date(2020, 4 + n, 15),
            maturity_on=date(2021, 4 + n, 15),
        )

    page = login(portal["manager"])
    response = page.goto("/dashboard/")
    assert response is not None
    assert response.status == 200
    page.wait_for_function("window.dashboardCharts && window.dashboardCharts.length >= 3")
    sizes = page.evaluate(
        """() => window.dashboardCharts.map((chart) => {
             const box = chart.canvas.getBoundingClientRect();
             return [box.width, box.height];
           })"""
    )
    assert len(sizes) >= 3
    assert all(width > 0 and height > 0 for width, height in sizes), sizes
    canvases = page.locator("canvas")
    assert canvases.count() >= 3
    for n in range(canvases.count()):
        box = canvases.nth(n).bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0, (n, box)
    # Finish the drawing animations so the screenshot shows the final charts.
    page.evaluate("() => window.dashboardCharts.forEach((chart) => chart.stop().update('none'))")
    screenshot(page, "dashboard")


def test_intake_prefills_a_known_applicant_through_a_post_lookup(portal, login):
    known = ApplicantFactory(name="周八", mobile="13698765432", union_name="修水县总工会")
    ApplicationFactory(program=portal["program"], unit=portal["unit"], applicant=known)
    page = login(portal["county"])
    page.goto("/applications/new/")
    lookups = []
    page.on("request", lambda r: lookups.append((r.method, r.url)) if "lookup" in r.url else None)

    page.fill("#id_id_number", known.id_number)
    page.locator("#id_id_number").dispatch_event("change")

    expect(page.locator("#applicant-lookup-note")).to_contain_text("已找到登记信息")
    expect(page.locator("#id_name")).to_have_value("周八")
    expect(page.locator("#id_mobile")).to_have_value("13698765432")
    assert lookups and all(m == "POST" and known.id_number not in u for m, u in lookups)
