"""The annual analysis: figures equal to ones computed from the test's own inputs, the year
range, the scope by role, bad filters, and the page (figures shown, query count flat).

``build_book`` creates loans from SPECS; the expectations are computed in plain Python from
SPECS (never from the database or the selectors), so a wrong GROUP BY, CASE or running
total shows up as a mismatch. test_annual_xlsx.py reuses the same book.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gonghui.errors import DomainError
from gonghui.money import to_wan
from loans.choices import FounderClass, IndustryGroup, OperatingStatus
from loans.models import FollowUp
from reports.annual import annual_analysis, annual_params
from subsidies.choices import BatchStatus, ClaimStatus
from subsidies.models import PaymentBatch, SubsidyClaim
from tests.factories import EnterpriseFactory, LoanFactory, ProgramFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/reports/annual/"

# (unit, disbursed on, principal, subsidised, founder class, section, emerging, jobs, enterprise)
# Enterprise "e1" borrows in 2019 and again in 2021: counted once in the cumulative total.
# No loans in 2022, so 2023's growth is None (the year before is 0).
SPECS = [
    ("own", date(2019, 5, 6), "300000", "300000", FounderClass.LAID_OFF, "C", False, 8, "e1"),
    ("other", date(2019, 9, 1), "200000", "200000", FounderClass.GRADUATE, "F", False, 5, "e2"),
    ("own", date(2020, 3, 2), "400000", "300000", FounderClass.GRADUATE, "A", False, 12, "e3"),
    ("own", date(2020, 7, 9), "300000", "300000", FounderClass.FARMER, "I", True, 6, "e4"),
    ("other", date(2020, 11, 30), "100000", "100000", FounderClass.OTHER, "H", False, 7, "e5"),
    ("own", date(2021, 1, 4), "200000", "200000", FounderClass.LAID_OFF, "C", False, 9, "e1"),
    ("other", date(2021, 8, 8), "150000", "150000", FounderClass.LAID_OFF, "E", False, 5, "e6"),
    ("own", date(2023, 2, 2), "250000", "250000", FounderClass.OTHER, "F", False, 4, "e7"),
]
# Latest follow-up per loan index (an earlier one is recorded too where noted in build_book).
LATEST_STATUS = {0: OperatingStatus.FAILED, 2: OperatingStatus.NORMAL, 6: OperatingStatus.CLOSED}
# Paid claims: (loan index, batch paid on, interest, premium); loan 4's claim is only pending.
PAID = [
    (0, date(2020, 6, 1), "12000.50", "0.00"),
    (1, date(2020, 9, 1), "8000.25", "1000.00"),
    (2, date(2021, 4, 1), "15500.00", "0.00"),
]
PENDING = [(4, "3000.00")]


def group_of(section: str, emerging: bool) -> str:
    if emerging:
        return IndustryGroup.EMERGING
    if section == "A":
        return IndustryGroup.PRIMARY
    if section in "BCDE":
        return IndustryGroup.SECONDARY
    return IndustryGroup.TERTIARY


def pct(part, whole):
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _claim(loan, *, batch, status, interest, premium):
    interest, premium = Decimal(interest), Decimal(premium)
    return SubsidyClaim.objects.create(
        loan=loan,
        program=loan.program,
        unit=loan.unit,
        bank=loan.bank,
        loan_type=loan.loan_type,
        review_channel=loan.review_channel,
        subsidised_principal=loan.subsidised_principal,
        contract_rate=loan.annual_rate,
        rate_cap=loan.annual_rate,
        applied_rate=loan.annual_rate,
        start_on=loan.disbursed_on,
        end_on=loan.maturity_on,
        days=(loan.maturity_on - loan.disbursed_on).days,
        interest_share=Decimal("100"),
        premium_rate=Decimal("0"),
        premium_share=Decimal("0"),
        interest_subsidy=interest,
        premium_subsidy=premium,
        amount=interest + premium,
        status=status,
        batch=batch,
    )


def follow_up(loan, visited_on: date, status: str) -> FollowUp:
    return FollowUp.objects.create(
        loan=loan,
        year=visited_on.year,
        quarter=(visited_on.month - 1) // 3 + 1,
        visited_on=visited_on,
        operating_status=status,
        jobs=5,
        insured_employees=2,
    )


def build_book(program, units: dict, specs=SPECS, *, with_claims: bool = True) -> list:
    """The loans of ``specs`` (plus follow-ups and claims when ``with_claims``)."""
    enterprises: dict[str, object] = {}
    loans = []
    for unit_key, day, principal, subsidised, founder, section, emerging, jobs, ent in specs:
        if ent not in enterprises:
            enterprises[ent] = EnterpriseFactory(industry_section=section, is_emerging=emerging)
        principal, subsidised = Decimal(principal), Decimal(subsidised)
        loans.append(
            LoanFactory(
                application__program=program,
                application__unit=units[unit_key],
                application__applicant__founder_class=founder,
                application__enterprise=enterprises[ent],
                principal=principal,
                subsidised_principal=subsidised,
                leveraged_amount=principal - subsidised,
                disbursed_on=day,
                maturity_on=day + timedelta(days=365),
                jobs_created=jobs,
            )
        )
    if not with_claims:
        return loans
    # An earlier "normal" follow-up under loan 0's failure: the latest one must win.
    follow_up(loans[0], date(2019, 9, 1), OperatingStatus.NORMAL)
    for index, status in LATEST_STATUS.items():
        follow_up(loans[index], date(2021, 12, 1), status)
    maker, approver = UserFactory(), UserFactory()
    for number, (index, paid_on, interest, premium) in enumerate(PAID):
        batch = PaymentBatch.objects.create(
            number=f"PB-{number}",
            program=program,
            status=BatchStatus.PAID,
            claim_count=1,
            total=Decimal(interest) + Decimal(premium),
            created_by=maker,
            approved_by=approver,
            approved_at=timezone.now(),
            paid_by=approver,
            paid_on=paid_on,
            payment_reference=f"PAY-{number}",
        )
        _claim(loans[index], batch=batch, status=ClaimStatus.PAID, interest=interest,
               premium=premium)  # fmt: skip
    for index, amount in PENDING:
        _claim(loans[index], batch=None, status=ClaimStatus.PENDING, interest=amount,
               premium="0")  # fmt: skip
    return loans


def expected(specs=SPECS, *, units=None, year_from=None, year_to=None) -> dict:
    """Every table computed in plain Python from ``specs``."""
    specs = [s for s in specs if units is None or s[0] in units]
    index_of = {id(s): i for i, s in enumerate(SPECS)}
    years = sorted({s[1].year for s in specs})
    year_from = year_from or years[0]
    year_to = year_to or years[-1]
    yearly = defaultdict(lambda: {"loans": 0, "amount": Decimal(0), "ents": set(), "jobs": 0})
    for s in specs:
        row = yearly[s[1].year]
        row["loans"] += 1
        row["amount"] += Decimal(s[2])
        row["ents"].add(s[8])
        row["jobs"] += s[7]
    in_range = [s for s in specs if year_from <= s[1].year <= year_to]
    result = {"years": [], "cumulative": []}
    for year in range(year_from, year_to + 1):
        if year not in yearly:
            continue
        row, before = yearly[year], yearly.get(year - 1, {}).get("amount", Decimal(0))
        growth = pct(row["amount"] - before, before) if before else None
        result["years"].append(
            (year, row["loans"], row["amount"], len(row["ents"]), row["jobs"], growth)
        )
        upto = [s for s in specs if s[1].year <= year]
        paid_upto = sum(
            (Decimal(p[2]) + Decimal(p[3]) for p in PAID if p[1].year <= year
             and any(index_of[id(s)] == p[0] for s in specs)),
            Decimal(0),
        )  # fmt: skip
        result["cumulative"].append(
            (year, len(upto), sum((Decimal(s[2]) for s in upto), Decimal(0)),
             len({s[8] for s in upto}), sum(s[7] for s in upto), paid_upto)
        )  # fmt: skip
    total = sum((Decimal(s[2]) for s in in_range), Decimal(0))
    by_unit = defaultdict(lambda: [0, Decimal(0), Decimal(0), 0])
    for s in in_range:
        by_unit[s[0]][0] += 1
        by_unit[s[0]][1] += Decimal(s[2])
        by_unit[s[0]][2] += Decimal(s[3])
        by_unit[s[0]][3] += s[7]
    result["units"] = {k: (*v, pct(v[1], total)) for k, v in by_unit.items()}
    founders = {}
    for key in FounderClass.values:
        mine = [s for s in in_range if s[4] == key]
        founders[key] = (len(mine), sum((Decimal(s[2]) for s in mine), Decimal(0)),
                         sum(s[7] for s in mine))  # fmt: skip
    total_jobs = sum(s[7] for s in in_range)
    result["founders"] = {
        k: (*v, pct(v[0], len(in_range)), pct(v[2], total_jobs)) for k, v in founders.items()
    }
    industries = defaultdict(lambda: defaultdict(set))
    for s in in_range:
        industries[s[1].year][group_of(s[5], s[6])].add(s[8])
    result["industries"] = {
        year: tuple(len(groups[g]) for g in IndustryGroup.values)
        for year, groups in industries.items()
    }
    statuses = defaultdict(int)
    for s in in_range:
        statuses[LATEST_STATUS.get(index_of[id(s)], "none")] += 1
    result["statuses"] = dict(statuses)
    subsidies = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    visible = {index_of[id(s)] for s in specs}
    for index, paid_on, interest, premium in PAID:
        if index in visible and year_from <= paid_on.year <= year_to:
            subsidies[paid_on.year][0] += 1
            subsidies[paid_on.year][1] += Decimal(interest)
            subsidies[paid_on.year][2] += Decimal(premium)
    result["subsidies"] = dict(subsidies)
    return result


@pytest.fixture
def book(program, unit, other_unit):
    return build_book(program, {"own": unit, "other": other_unit})


def analysis_for(user, **data):
    return annual_analysis(user, annual_params(data, user))


# --- the figures -------------------------------------------------------------------------


def test_years_table_has_counts_amounts_and_growth_on_the_year_before(city_user, book):
    analysis = analysis_for(city_user)
    want = expected()
    got = [(r.year, r.loans, r.amount, r.enterprises, r.jobs, r.growth) for r in analysis.years]
    assert got == want["years"]
    # By hand: 2019 50万, 2020 80万 (+60%), 2021 35万 (−56.25%), 2022 none, 2023 25万.
    assert [r.growth for r in analysis.years] == [None, Decimal("60.00"), Decimal("-56.25"), None]
    assert analysis.total_amount == Decimal("1900000")
    assert isinstance(analysis.years[0].amount, Decimal)


def test_units_founders_industries_statuses_match_the_inputs(city_user, unit, other_unit, book):
    analysis = analysis_for(city_user)
    want = expected()
    names = {"own": unit.name, "other": other_unit.name}
    assert {r.name: (r.loans, r.amount, r.subsidised, r.jobs, r.share) for r in analysis.units} == {
        names[k]: v for k, v in want["units"].items()
    }
    assert {
        r.key: (r.loans, r.amount, r.jobs, r.loan_share, r.jobs_share) for r in analysis.founders
    } == want["founders"]
    assert {r.year: r.counts for r in analysis.industries} == want["industries"]
    assert {r.key: r.loans for r in analysis.statuses if r.loans} == want["statuses"]
    assert sum(r.loans for r in analysis.statuses) == len(SPECS)


def test_subsidies_paid_count_paid_claims_by_payment_year(city_user, book):
    analysis = analysis_for(city_user)
    want = expected()["subsidies"]
    assert {r.year: [r.claims, r.interest, r.premium] for r in analysis.subsidies} == {
        year: list(v) for year, v in want.items()
    }
    assert analysis.subsidy_totals.amount == Decimal("36500.75")  # pending claim left out


def test_cumulative_counts_an_enterprise_that_borrowed_twice_once(city_user, book):
    analysis = analysis_for(city_user)
    got = [
        (r.year, r.loans, r.amount, r.enterprises, r.jobs, r.subsidies) for r in analysis.cumulative
    ]
    assert got == expected()["cumulative"]
    assert analysis.cumulative[-1].enterprises == 7  # 8 loans, e1 twice


def test_year_range_keeps_growth_and_cumulative_counted_from_the_first_year(city_user, book):
    analysis = analysis_for(city_user, year_from="2020", year_to="2021")
    want = expected(year_from=2020, year_to=2021)
    assert [r.year for r in analysis.years] == [2020, 2021]
    assert analysis.years[0].growth == Decimal("60.00")  # 2019 lies outside the range
    assert sum(r.loans for r in analysis.founders) == 5
    assert [(r.year, r.loans) for r in analysis.cumulative] == [(2020, 5), (2021, 7)]
    assert [r[1] for r in want["cumulative"]] == [5, 7]
    assert {r.year for r in analysis.subsidies} == {2020, 2021}


def test_program_filter_leaves_out_other_programs(city_user, program, unit, book):
    other = ProgramFactory(code="jgd-2021", year=2021)
    build_book(other, {"own": unit}, [("own", date(2021, 6, 1), "990000", "300000",
               FounderClass.OTHER, "F", False, 3, "x")], with_claims=False)  # fmt: skip
    only = analysis_for(city_user, program=program.code)
    every = analysis_for(city_user, program="all")
    assert only.total_amount == Decimal("1900000")
    assert every.total_amount == Decimal("2890000")


def test_county_staff_see_only_their_own_unit(county_user, unit, book):
    analysis = analysis_for(county_user)
    want = expected(units={"own"})
    assert [r.name for r in analysis.units] == [unit.name]
    assert [(r.year, r.loans, r.amount) for r in analysis.years] == [
        (y[0], y[1], y[2]) for y in want["years"]
    ]
    assert analysis.subsidy_totals.amount == Decimal("27500.50")  # loans 0 and 2 are own-unit


def test_bank_officers_are_refused(bank_user, book):
    with pytest.raises(DomainError) as caught:
        annual_params({}, bank_user)
    assert caught.value.code == "forbidden"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"year_from": "abc"}, "year_from"),
        ({"year_to": "1999"}, "year_to"),
        ({"year_from": "2022", "year_to": "2020"}, "year_to"),
        ({"year_from": "2000", "year_to": "2100"}, "year_to"),
        ({"program": "no-such-program"}, "program"),
        ({"year_from": "２０２０x"}, "year_from"),
    ],
)
def test_bad_filters_are_field_errors(city_user, data, field):
    with pytest.raises(DomainError) as caught:
        annual_params(data, city_user)
    assert field in caught.value.field_errors
    assert caught.value.field_errors[field][0]


def test_no_loans_gives_an_empty_analysis(city_user, program):
    analysis = analysis_for(city_user, program=program.code)
    assert analysis.is_empty and analysis.units == [] and analysis.cumulative == []


# --- the page ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager_user", "city_user", "county_user"])
def test_page_opens_for_managers_and_union_staff(client, request, who, book):
    client.force_login(request.getfixturevalue(who))
    response = client.get(URL)
    assert response.status_code == 200
    assert "年度分析" in response.content.decode()
    assert 'id="annual-data"' in response.content.decode()


def test_page_shows_the_figures(client, city_user, book):
    client.force_login(city_user)
    html = client.get(URL).content.decode()
    for year, loans, amount, _, jobs, _ in expected()["years"]:
        cells = (
            f'<td>{year}年</td><td class="num">{loans}</td><td class="num">{to_wan(amount)}</td>'
        )
        assert cells in html
        assert f'<td class="num">{jobs}</td></tr>' in html
    assert "60.00%" in html and "-56.25%" in html
    assert "static/js/annual.js" in html or "js/annual" in html


def test_page_for_county_staff_leaves_other_units_out(client, county_user, other_unit, book):
    client.force_login(county_user)
    html = client.get(URL).content.decode()
    assert other_unit.name not in html
    assert "仅统计本单位数据" in html


def test_bank_officer_gets_403(client, bank_user, book):
    client.force_login(bank_user)
    assert client.get(URL).status_code == 403
    assert client.get("/reports/annual.xlsx").status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize(
    "query",
    [
        {"year_from": "abc", "year_to": "2020"},
        {"year_from": "2023", "year_to": "2019"},
        {"program": "<script>"},
        {"year_from": "99999999999999999999"},
    ],
)
def test_garbage_filters_show_a_form_error_not_a_500(client, city_user, book, query):
    client.force_login(city_user)
    response = client.get(URL, query)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="annual-errors"' in html
    assert 'id="annual-data"' not in html


def test_download_with_bad_filters_returns_to_the_page_with_the_message(client, city_user):
    client.force_login(city_user)
    response = client.get("/reports/annual.xlsx", {"year_from": "abc"}, follow=True)
    assert response.status_code == 200
    assert "起始年度" in response.content.decode()


def test_page_query_count_does_not_grow_with_loans(client, city_user, program, unit, other_unit):
    units = {"own": unit, "other": other_unit}
    build_book(program, units, SPECS[:2], with_claims=False)
    client.force_login(city_user)
    client.get(URL)  # warm the session and the content types
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    more = [
        (key, date(y, m, 3), "100000", "100000", FounderClass.OTHER, sec, False, 5, f"n{y}{m}{key}")
        for y in (2019, 2020, 2021)
        for m in (2, 5, 10)
        for key, sec in (("own", "C"), ("other", "F"))
    ]
    build_book(program, units, more, with_claims=False)
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_page_links_the_workbook_with_the_same_filters(client, city_user, program, book):
    client.force_login(city_user)
    html = client.get(URL, {"program": program.code, "year_from": "2020"}).content.decode()
    assert f'href="/reports/annual.xlsx?program={program.code}&amp;year_from=2020"' in html
