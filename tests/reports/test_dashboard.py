"""The dashboard: who may open it, figures equal to hand-computed ones, scope, query count.

Expected values are computed in the test from the specs the loans were built from, never
from the database, so a wrong GROUP BY or CASE shows up as a mismatch.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gonghui.money import to_wan
from loans.choices import FounderClass, IndustryGroup, LoanStatus, OperatingStatus
from loans.models import FollowUp, Loan
from reports.selectors import dashboard
from tests.factories import LoanFactory, ProgramFactory, QuotaFactory

pytestmark = pytest.mark.django_db

URL = "/dashboard/"

# (unit key, disbursed on, principal, subsidised, founder class, section, emerging, jobs, members)
SPECS = [
    ("own", date(2020, 7, 3), "300000", "300000", FounderClass.LAID_OFF, "C", False, 8, 2),
    ("own", date(2020, 7, 20), "200000", "200000", FounderClass.GRADUATE, "F", False, 5, 1),
    ("own", date(2020, 8, 9), "500000", "300000", FounderClass.GRADUATE, "A", False, 12, 3),
    ("other", date(2020, 8, 15), "150000", "150000", FounderClass.FARMER, "I", True, 6, 0),
    ("other", date(2020, 9, 1), "250000", "250000", FounderClass.OTHER, "H", False, 7, 2),
    ("other", date(2021, 1, 12), "100000", "100000", FounderClass.LAID_OFF, "E", False, 5, 1),
]


def group_of(section: str, emerging: bool) -> str:
    if emerging:
        return IndustryGroup.EMERGING
    if section == "A":
        return IndustryGroup.PRIMARY
    if section in "BCDE":
        return IndustryGroup.SECONDARY
    return IndustryGroup.TERTIARY


def make_loan(program, unit, disbursed_on, principal, subsidised, founder, section, emerging,
              jobs, members, **extra):  # fmt: skip
    principal, subsidised = Decimal(principal), Decimal(subsidised)
    return LoanFactory(
        application__program=program,
        application__unit=unit,
        application__applicant__founder_class=founder,
        application__enterprise__industry_section=section,
        application__enterprise__is_emerging=emerging,
        principal=principal,
        subsidised_principal=subsidised,
        leveraged_amount=principal - subsidised,
        disbursed_on=disbursed_on,
        maturity_on=disbursed_on + timedelta(days=365),
        jobs_created=jobs,
        new_union_members=members,
        **extra,
    )


def follow_up(loan, year, quarter, status):
    return FollowUp.objects.create(
        loan=loan,
        year=year,
        quarter=quarter,
        visited_on=date(year, quarter * 3, 1),
        operating_status=status,
        jobs=5,
        insured_employees=2,
    )


@pytest.fixture
def book(program, unit, other_unit):
    """The loans of SPECS, quotas for both units and a few follow-ups."""
    units = {"own": unit, "other": other_unit}
    QuotaFactory(program=program, unit=unit, task_amount=Decimal("2000000.00"))
    QuotaFactory(program=program, unit=other_unit, task_amount=Decimal("1000000.00"))
    loans = [make_loan(program, units[s[0]], *s[1:]) for s in SPECS]
    # Latest follow-up wins: loan 0 normal→failed, loan 1 normal, loan 3 closed, others none.
    follow_up(loans[0], 2020, 3, OperatingStatus.NORMAL)
    follow_up(loans[0], 2020, 4, OperatingStatus.FAILED)
    follow_up(loans[1], 2020, 3, OperatingStatus.NORMAL)
    follow_up(loans[3], 2020, 4, OperatingStatus.CLOSED)
    return loans


def figures_of(client, user, **params):
    client.force_login(user)
    response = client.get(URL, params)
    assert response.status_code == 200
    return response


# --- access ------------------------------------------------------------------------------


def test_url_name_resolves():
    assert reverse("reports:dashboard") == URL


@pytest.mark.parametrize("who", ["manager_user", "city_user", "county_user"])
def test_dashboard_opens_for_managers_and_union_staff(client, request, who, book):
    response = figures_of(client, request.getfixturevalue(who))
    assert "统计看板" in response.content.decode()


def test_bank_officer_is_forbidden(client, bank_user):
    client.force_login(bank_user)
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- figures -----------------------------------------------------------------------------


def test_headline_equals_the_sums_of_the_loans(client, manager_user, book):
    original = book[5]
    Loan.objects.filter(pk=original.pk).update(
        status=LoanStatus.RENEWED, settled_on=date(2021, 6, 1)
    )
    renewal = make_loan(
        original.program, original.unit, date(2021, 6, 2), "80000", "80000",
        FounderClass.OTHER, "F", False, 0, 0, renewal_of=original,
    )  # fmt: skip
    specs = [*SPECS, ("other", renewal.disbursed_on, "80000", "80000", "", "F", False, 0, 0)]
    h = figures_of(client, manager_user).context["figures"].headline
    assert h.loans == len(specs)
    assert h.amount == sum(Decimal(s[2]) for s in specs)
    assert h.subsidised == sum(Decimal(s[3]) for s in specs)
    assert h.leveraged == sum(Decimal(s[2]) - Decimal(s[3]) for s in specs)
    assert h.jobs == sum(s[7] for s in specs)
    assert h.new_members == sum(s[8] for s in specs)
    assert (h.renewals, h.renewal_amount) == (1, Decimal("80000"))
    assert h.task == Decimal("3000000.00")
    assert h.completed == h.subsidised


def test_amount_by_month_equals_the_loans_grouped_by_month(client, manager_user, book):
    expected = defaultdict(Decimal)
    counts = Counter()
    for s in SPECS:
        key = f"{s[1].year}年{s[1].month}月"
        expected[key] += Decimal(s[2])
        counts[key] += 1
    months = figures_of(client, manager_user).context["figures"].months
    assert [r.label for r in months] == ["2020年7月", "2020年8月", "2020年9月", "2021年1月"]
    assert {r.label: r.amount for r in months} == dict(expected)
    assert {r.label: r.loans for r in months} == dict(counts)


def test_amount_by_year_has_the_growth_on_the_year_before(client, manager_user, book):
    years = {r.period: r for r in figures_of(client, manager_user).context["figures"].years}
    amount_2020 = sum(Decimal(s[2]) for s in SPECS if s[1].year == 2020)
    amount_2021 = sum(Decimal(s[2]) for s in SPECS if s[1].year == 2021)
    assert years[2020].amount == amount_2020 and years[2020].growth is None
    assert years[2021].amount == amount_2021
    expected = ((amount_2021 - amount_2020) / amount_2020 * 100).quantize(Decimal("0.1"))
    assert years[2021].growth == expected


def test_founder_classes_count_amount_and_jobs(client, manager_user, book):
    founders = {
        r.founder_class: r for r in figures_of(client, manager_user).context["figures"].founders
    }
    assert list(founders) == FounderClass.values
    for value in FounderClass.values:
        mine = [s for s in SPECS if s[4] == value]
        assert founders[value].loans == len(mine)
        assert founders[value].amount == sum((Decimal(s[2]) for s in mine), Decimal("0"))
        assert founders[value].jobs == sum(s[7] for s in mine)
    assert founders[FounderClass.GRADUATE].loan_share == Decimal("33.3")


def test_industry_groups_by_year_follow_sections_and_the_emerging_flag(client, manager_user, book):
    expected: dict[int, Counter] = defaultdict(Counter)
    for s in SPECS:
        expected[s[1].year][group_of(s[5], s[6])] += 1
    rows = figures_of(client, manager_user).context["figures"].industries
    assert {r.year: r.counts for r in rows} == {y: dict(c) for y, c in expected.items()}
    row_2020 = next(r for r in rows if r.year == 2020)
    # 第一 (A), 第二 (C), 第三 (F, H), 新兴 (I flagged emerging)
    assert row_2020.cells == [1, 1, 2, 1]


def test_operating_status_uses_each_loans_latest_follow_up(client, manager_user, book):
    statuses = {
        r.status: r.loans for r in figures_of(client, manager_user).context["figures"].statuses
    }
    assert statuses == {"normal": 1, "failed": 1, "closed": 1, "none": 3}


def test_completion_by_unit_uses_the_adjusted_tasks(client, manager_user, unit, other_unit, book):
    rows = {r.unit_id: r for r in figures_of(client, manager_user).context["figures"].units}
    own = sum(Decimal(s[3]) for s in SPECS if s[0] == "own")
    assert rows[unit.pk].task == Decimal("2000000.00")
    assert rows[unit.pk].completed == own
    assert rows[unit.pk].completion_rate == (own / 20000).quantize(Decimal("0.1"))
    assert rows[other_unit.pk].loans == 3


def test_county_sees_only_its_own_units_figures(client, county_user, unit, book):
    figures = figures_of(client, county_user).context["figures"]
    own = [s for s in SPECS if s[0] == "own"]
    assert figures.headline.loans == len(own)
    assert figures.headline.amount == sum(Decimal(s[2]) for s in own)
    assert [r.unit_id for r in figures.units] == [unit.pk]
    assert sum(r.loans for r in figures.months) == len(own)
    assert sum(r.loans for r in figures.founders) == len(own)
    assert sum(r.total for r in figures.industries) == len(own)
    assert sum(r.loans for r in figures.statuses) == len(own)
    assert figures.headline.task == Decimal("2000000.00")


def test_program_selector_defaults_to_the_latest_and_offers_all(
    client, manager_user, program, unit, book
):
    later = ProgramFactory(code="jgd-2021", year=2021)
    make_loan(later, unit, date(2021, 7, 1), "90000", "90000", FounderClass.OTHER, "F", False, 1, 0)
    default = figures_of(client, manager_user)
    assert default.context["program"] == later
    assert default.context["figures"].headline.loans == 1
    chosen = figures_of(client, manager_user, program=program.code).context["figures"]
    assert chosen.headline.loans == len(SPECS)
    every = figures_of(client, manager_user, program="all").context
    assert every["program"] is None
    assert every["figures"].headline.loans == len(SPECS) + 1
    assert {r.period for r in every["figures"].years} == {2020, 2021}
    # Across programs the unit's tasks add up: no quota for the later program here.
    rows = {r.unit_id: r for r in every["figures"].units}
    assert rows[unit.pk].task == Decimal("2000000.00")
    # An unknown code falls back to the latest program rather than failing.
    assert figures_of(client, manager_user, program="nope").context["program"] == later


def test_county_staff_start_on_their_own_citys_latest_program(
    client, county_user, manager_user, program, book
):
    elsewhere = ProgramFactory(code="ghd-2022", year=2022, city="徐州市")
    assert figures_of(client, county_user).context["program"] == program
    assert figures_of(client, manager_user).context["program"] == elsewhere


def test_selectors_take_a_user_and_no_program_for_all(manager_user, book):
    figures = dashboard(manager_user, None)
    assert figures.headline.loans == len(SPECS)


# --- page --------------------------------------------------------------------------------


def chart_json(response) -> dict:
    match = re.search(
        r'<script id="dashboard-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "chart data script missing"
    return json.loads(match.group(1))


def test_chart_data_is_on_the_page_in_wan(client, manager_user, book):
    data = chart_json(figures_of(client, manager_user))
    assert set(data) == {"months", "years", "units", "founders", "industries", "statuses"}
    july = sum(Decimal(s[2]) for s in SPECS if s[1].month == 7 and s[1].year == 2020)
    assert data["months"]["labels"][0] == "2020年7月"
    assert Decimal(data["months"]["amount"][0]) == to_wan(july)
    assert [g["label"] for g in data["industries"]["groups"]] == IndustryGroup.labels
    assert data["founders"]["labels"] == FounderClass.labels
    assert data["statuses"]["loans"] == [1, 1, 1, 3]


def test_every_chart_has_a_canvas_and_a_table(client, manager_user, book):
    html = figures_of(client, manager_user).content.decode()
    canvases = re.findall(r'<canvas id="(chart-[a-z-]+)"', html)
    assert len(canvases) == 8
    for table in ("months", "years", "status", "units", "founders", "industries"):
        assert f'id="table-{table}"' in html
    assert "第一产业" in html and "新兴产业" in html


def test_chart_js_is_vendored_and_nothing_loads_from_the_internet(client, manager_user, book):
    vendored = finders.find("vendor/chart.umd.min.js")
    assert vendored and Path(vendored).stat().st_size > 100_000
    assert "Chart.js v4" in Path(vendored).read_text(encoding="utf-8")[:200]
    assert finders.find("vendor/chart.js.LICENSE.md")
    assert finders.find("js/dashboard.js")
    html = figures_of(client, manager_user).content.decode()
    assert "vendor/chart.umd.min.js" in html and "js/dashboard.js" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    template = Path(settings.BASE_DIR, "reports/templates/reports/dashboard.html").read_text()
    assert not re.search(r"https?://", template)


def test_dashboard_renders_with_no_loans(client, manager_user, program):
    response = figures_of(client, manager_user)
    assert response.context["figures"].headline.loans == 0
    assert chart_json(response)["months"]["labels"] == []


# --- query count -------------------------------------------------------------------------


def build(program, units, n):
    sections = ["A", "C", "F", "I", "H"]
    for i in range(n):
        loan = make_loan(
            program,
            units[i % len(units)],
            date(2020, 1 + i % 12, 1 + i % 27),
            "100000",
            "100000",
            FounderClass.values[i % 4],
            sections[i % len(sections)],
            i % 7 == 0,
            i % 9,
            i % 3,
        )
        if i % 2:
            follow_up(loan, 2020, 1 + i % 4, OperatingStatus.values[i % 3])


def count_queries(client, user, **params) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, params).status_code == 200
    return len(queries)


@pytest.mark.parametrize("who", ["manager_user", "county_user"])
@pytest.mark.parametrize("params", [{}, {"program": "all"}])
def test_query_count_does_not_grow_with_the_loans(
    client, request, program, unit, other_unit, who, params
):
    user = request.getfixturevalue(who)
    QuotaFactory(program=program, unit=unit)
    QuotaFactory(program=program, unit=other_unit)
    build(program, [unit, other_unit], 5)
    few = count_queries(client, user, **params)
    build(program, [unit, other_unit], 35)
    assert Loan.objects.count() == 40
    assert count_queries(client, user, **params) == few
    assert few <= 20
