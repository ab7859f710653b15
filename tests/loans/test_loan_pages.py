"""The staff portal's loan pages: list, detail, the quarterly follow-up form, follow-ups due."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from loans.choices import LoanStatus, OperatingStatus
from loans.models import FollowUp, Repayment
from loans.selectors import quarter_of
from tests.factories import ApplicantFactory, LoanFactory, make_user

pytestmark = pytest.mark.django_db


def make_loan(program, unit, bank, **kwargs):
    return LoanFactory(
        application__program=program, application__unit=unit, application__bank=bank, **kwargs
    )


@pytest.fixture
def loan(program, unit, bank):
    return make_loan(program, unit, bank, jobs_created=8)


@pytest.fixture
def their_loan(program, other_unit, other_bank):
    return make_loan(program, other_unit, other_bank)


def user_of(role, unit, bank):
    return make_user(
        role,
        unit=unit if role == Role.COUNTY_STAFF else None,
        bank=bank if role == Role.BANK_OFFICER else None,
    )


# --- who may open which page ------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_every_role_opens_list_and_detail_of_its_loans(client, loan, unit, bank, role):
    client.force_login(user_of(role, unit, bank))
    body = client.get(reverse("loans:loan-list")).content.decode()
    assert loan.contract_number in body
    response = client.get(reverse("loans:loan-detail", args=[loan.pk]))
    assert response.status_code == 200
    has_button = reverse("loans:follow-up-create", args=[loan.pk]) in response.content.decode()
    assert has_button == (role in (Role.COUNTY_STAFF, Role.CITY_STAFF))


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.COUNTY_STAFF, 200),
        (Role.CITY_STAFF, 200),
        (Role.BANK_OFFICER, 403),
        (Role.MANAGER, 403),
    ],
)
def test_follow_up_pages_are_for_union_staff(client, loan, unit, bank, role, status):
    client.force_login(user_of(role, unit, bank))
    assert client.get(reverse("loans:follow-ups-due")).status_code == status
    assert client.get(reverse("loans:follow-up-create", args=[loan.pk])).status_code == status
    response = client.post(reverse("loans:follow-up-create", args=[loan.pk]), {})
    assert response.status_code == status


def test_anonymous_user_is_sent_to_login(client, loan):
    for url in (
        reverse("loans:loan-list"),
        reverse("loans:loan-detail", args=[loan.pk]),
        reverse("loans:follow-up-create", args=[loan.pk]),
        reverse("loans:follow-ups-due"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("login") in response["Location"]


def test_other_units_loan_is_404_for_county_staff(client, county_user, loan, their_loan):
    client.force_login(county_user)
    assert client.get(reverse("loans:loan-detail", args=[their_loan.pk])).status_code == 404
    url = reverse("loans:follow-up-create", args=[their_loan.pk])
    assert client.get(url).status_code == 404
    response = client.post(url, valid_follow_up(timezone.localdate()))
    assert response.status_code == 404
    assert not FollowUp.objects.exists()


def test_other_banks_loan_is_404_for_bank_officer(client, bank_user, loan, their_loan):
    client.force_login(bank_user)
    assert client.get(reverse("loans:loan-detail", args=[loan.pk])).status_code == 200
    assert client.get(reverse("loans:loan-detail", args=[their_loan.pk])).status_code == 404
    body = client.get(reverse("loans:loan-list")).content.decode()
    assert loan.contract_number in body
    assert their_loan.contract_number not in body


# --- list ---------------------------------------------------------------------------------


def test_list_is_scoped_filtered_and_searchable(
    client, county_user, program, unit, bank, loan, their_loan
):
    special = make_loan(
        program,
        unit,
        bank,
        application__applicant=ApplicantFactory(name="欧阳娜娜"),
        contract_number="JJ-XS-0099",
        status=LoanStatus.REPAID,
        settled_on=date(2020, 12, 1),
    )
    client.force_login(county_user)
    url = reverse("loans:loan-list")
    page = client.get(url).context["page"]
    assert {item.pk for item in page} == {loan.pk, special.pk}
    assert [x.pk for x in client.get(url, {"q": "欧阳"}).context["page"]] == [special.pk]
    assert [x.pk for x in client.get(url, {"q": "XS-0099"}).context["page"]] == [special.pk]
    by_status = client.get(url, {"status": LoanStatus.REPAID}).context["page"]
    assert [x.pk for x in by_status] == [special.pk]
    # Asking for another unit's loans shows nothing of it.
    other = client.get(url, {"unit": their_loan.unit_id}).context["page"]
    assert their_loan.pk not in {x.pk for x in other}


def test_list_shows_columns_and_renewal_mark(client, city_user, program, unit, bank, loan):
    renewal = make_loan(
        program,
        unit,
        bank,
        renewal_of=loan,
        principal=Decimal("600000.00"),
        subsidised_principal=Decimal("300000.00"),
        leveraged_amount=Decimal("300000.00"),
    )
    client.force_login(city_user)
    body = client.get(reverse("loans:loan-list")).content.decode()
    for text in ("贴息本金", "拉动贷款", "线下审核", "担保贷款", "5.80%", "300000.00", "续贷"):
        assert text in body
    assert renewal.contract_number in body


@pytest.fixture
def sixty_loans(program, unit, other_unit, bank):
    for n in range(60):
        make_loan(program, unit if n % 2 else other_unit, bank)


def count_queries(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", ["loans:loan-list", "loans:follow-ups-due"])
def test_query_count_does_not_grow_with_page_size(client, city_user, sixty_loans, name):
    client.force_login(city_user)
    url = reverse(name)
    assert count_queries(client, url, page_size=20) == count_queries(client, url, page_size=50)
    response = client.get(url, {"page_size": 50})
    assert len(response.context["page"].object_list) == 50


# --- detail -------------------------------------------------------------------------------


def test_detail_shows_repayments_follow_ups_and_renewals(
    client, county_user, program, unit, bank, loan, city_user
):
    Repayment.objects.create(
        loan=loan,
        repaid_on=date(2020, 10, 20),
        principal_amount=Decimal("50000.00"),
        interest_amount=Decimal("2900.00"),
        note="提前部分还款",
    )
    FollowUp.objects.create(
        loan=loan,
        year=2020,
        quarter=4,
        visited_on=date(2020, 11, 5),
        operating_status=OperatingStatus.NORMAL,
        jobs=9,
        insured_employees=6,
        note="经营正常",
        recorded_by=city_user,
    )
    renewal = make_loan(
        program,
        unit,
        bank,
        renewal_of=loan,
        disbursed_on=date(2021, 7, 1),
        maturity_on=date(2022, 7, 1),
    )
    client.force_login(county_user)
    body = client.get(reverse("loans:loan-detail", args=[loan.pk])).content.decode()
    assert reverse("loans:application-detail", args=[loan.application_id]) in body
    for text in ("2020-10-20", "50000.00", "2900.00", "提前部分还款", "150000.00"):
        assert text in body
    for text in ("2020年第4季度", "正常经营", "经营正常"):
        assert text in body
    assert reverse("loans:loan-detail", args=[renewal.pk]) in body
    back = client.get(reverse("loans:loan-detail", args=[renewal.pk])).content.decode()
    assert reverse("loans:loan-detail", args=[loan.pk]) in back


# --- follow-up form -----------------------------------------------------------------------


def valid_follow_up(today: date, **overrides) -> dict:
    year, quarter = quarter_of(today)
    data = {
        "year": str(year),
        "quarter": str(quarter),
        "visited_on": today.isoformat(),
        "operating_status": OperatingStatus.NORMAL,
        "jobs": "8",
        "insured_employees": "5",
        "note": "企业经营正常",
    }
    return {**data, **overrides}


def test_form_is_prefilled_with_the_current_quarter(client, county_user, loan):
    client.force_login(county_user)
    response = client.get(reverse("loans:follow-up-create", args=[loan.pk]))
    today = timezone.localdate()
    year, quarter = quarter_of(today)
    form = response.context["form"]
    assert form.initial["year"] == year
    assert form.initial["quarter"] == quarter
    assert form.initial["visited_on"] == today.isoformat()
    assert form.initial["jobs"] == 8
    body = response.content.decode()
    assert 'type="date"' in body
    assert "经营状况" in body


@pytest.mark.parametrize(
    ("field", "overrides", "message"),
    [
        ("insured_employees", {"insured_employees": "9"}, "缴纳社保职工人数不能超过带动就业人数"),
        ("visited_on", "outside", "季度内"),
        ("jobs", {"jobs": "八"}, "带动就业人数须为整数"),
    ],
)
def test_bad_follow_up_shows_chinese_error_and_saves_nothing(
    client, county_user, loan, field, overrides, message
):
    today = timezone.localdate()
    if overrides == "outside":
        overrides = {"visited_on": (today - timedelta(days=120)).isoformat()}
    client.force_login(county_user)
    response = client.post(
        reverse("loans:follow-up-create", args=[loan.pk]), valid_follow_up(today, **overrides)
    )
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(message in text for text in errors)
    assert message in response.content.decode()
    assert not FollowUp.objects.exists()


def test_valid_follow_up_is_saved_and_redirects(client, county_user, loan):
    today = timezone.localdate()
    client.force_login(county_user)
    response = client.post(
        reverse("loans:follow-up-create", args=[loan.pk]), valid_follow_up(today), follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("loans:loan-detail", args=[loan.pk])
    follow_up = FollowUp.objects.get()
    year, quarter = quarter_of(today)
    assert (follow_up.loan, follow_up.year, follow_up.quarter) == (loan, year, quarter)
    assert (follow_up.jobs, follow_up.insured_employees) == (8, 5)
    assert follow_up.recorded_by == county_user
    body = response.content.decode()
    assert f"已保存{year}年第{quarter}季度贷后跟踪记录" in body
    assert "已跟踪" in body


# --- follow-ups due -----------------------------------------------------------------------


def test_follow_ups_due_lists_unfollowed_loans_by_unit(
    client, city_user, county_user, program, unit, other_unit, bank, loan, their_loan
):
    today = timezone.localdate()
    year, quarter = quarter_of(today)
    done = make_loan(program, unit, bank)
    FollowUp.objects.create(
        loan=done,
        year=year,
        quarter=quarter,
        visited_on=today,
        operating_status=OperatingStatus.NORMAL,
        jobs=5,
        insured_employees=5,
    )
    make_loan(program, unit, bank, status=LoanStatus.REPAID, settled_on=date(2020, 12, 1))
    client.force_login(city_user)
    response = client.get(reverse("loans:follow-ups-due"))
    assert {x.pk for x in response.context["page"]} == {loan.pk, their_loan.pk}
    counts = {row["unit__name"]: row["count"] for row in response.context["unit_counts"]}
    assert counts == {unit.name: 1, other_unit.name: 1}
    body = response.content.decode()
    assert reverse("loans:follow-up-create", args=[loan.pk]) in body
    assert f"{year}年第{quarter}季度" in body
    one_unit = client.get(reverse("loans:follow-ups-due"), {"unit": other_unit.pk})
    assert [x.pk for x in one_unit.context["page"]] == [their_loan.pk]

    client.force_login(county_user)
    response = client.get(reverse("loans:follow-ups-due"))
    assert [x.pk for x in response.context["page"]] == [loan.pk]
    assert [row["unit"] for row in response.context["unit_counts"]] == [unit.pk]
