"""The staff portal's application pages: home, list, intake, detail, actions and batches."""

from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from loans.choices import ApplicationChannel as C
from loans.choices import ApplicationStatus as S
from loans.choices import CheckRule, OpinionKind
from loans.models import Applicant, Application, Enterprise
from loans.services.eligibility import store_pre_loan_checks
from loans.services.identity import make_credit_code, make_resident_id
from tests.factories import ApplicantFactory, ApplicationFactory, EnterpriseFactory, make_user

pytestmark = pytest.mark.django_db


def test_login_page_is_chinese(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "用户登录" in response.content.decode()


def test_anonymous_user_is_sent_to_login(client):
    response = client.get(reverse("loans:application-list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_county_home_shows_its_queue_and_reminders(client, county_user, program, unit, other_unit):
    mine = ApplicationFactory(program=program, unit=unit, status=S.SUBMITTED)
    theirs = ApplicationFactory(program=program, unit=other_unit, status=S.SUBMITTED)
    client.force_login(county_user)
    body = client.get(reverse("home")).content.decode()
    assert mine.reference in body
    assert theirs.reference not in body
    assert "待办申请（1件）" in body


def test_user_without_a_role_is_refused(client, django_user_model):
    user = django_user_model.objects.create_user("norole", password="x-pass-123")
    client.force_login(user)
    assert client.get(reverse("loans:application-list")).status_code == 403


@pytest.fixture
def many(program, unit, other_unit):
    for n in range(30):
        ApplicationFactory(program=program, unit=unit if n % 2 else other_unit)


def page_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("loans:application-list"), params)
    assert response.status_code == 200
    return len(queries)


def test_list_query_count_does_not_grow_with_page_size(client, city_user, many):
    client.force_login(city_user)
    assert page_queries(client, page_size=20) == page_queries(client, page_size=50)


def test_list_is_scoped_filtered_and_searchable(client, county_user, many, unit, program):
    special = ApplicationFactory(
        program=program, unit=unit, applicant=ApplicantFactory(name="欧阳娜娜"), status=S.SUBMITTED
    )
    client.force_login(county_user)
    response = client.get(reverse("loans:application-list"), {"page_size": 100})
    assert response.context["page"].paginator.count == 16
    assert all(a.unit == unit for a in response.context["page"])
    by_name = client.get(reverse("loans:application-list"), {"q": "欧阳"})
    assert [a.pk for a in by_name.context["page"]] == [special.pk]
    by_id = client.get(reverse("loans:application-list"), {"q": special.applicant.id_number[-6:]})
    assert [a.pk for a in by_id.context["page"]] == [special.pk]
    by_status = client.get(reverse("loans:application-list"), {"status": S.SUBMITTED})
    assert [a.pk for a in by_status.context["page"]] == [special.pk]
    body = by_name.content.decode()
    assert special.applicant.id_number not in body  # masked in lists
    assert special.applicant.masked_id_number in body


def test_other_units_application_is_404(client, county_user, other_unit, program):
    theirs = ApplicationFactory(program=program, unit=other_unit)
    client.force_login(county_user)
    assert client.get(reverse("loans:application-detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("loans:application-print", args=[theirs.pk])).status_code == 404
    url = reverse("loans:application-action", args=[theirs.pk, "submit"])
    assert client.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == S.DRAFT


def test_detail_shows_checks_opinions_and_timeline(client, county_user, program, unit):
    application = ApplicationFactory(
        program=program, unit=unit, enterprise=EnterpriseFactory(employees=2)
    )
    store_pre_loan_checks(application)
    client.force_login(county_user)
    body = client.get(reverse("loans:application-detail", args=[application.pk])).content.decode()
    assert "贷前资格审查" in body
    assert "企业职工2人，少于5人" in body
    assert "未通过" in body
    for label in OpinionKind.labels:
        assert label in body
    assert application.applicant.id_number in body  # the union reviewer sees it in full


@pytest.mark.parametrize("role", [Role.BANK_OFFICER, Role.MANAGER])
def test_detail_masks_identity_for_banks_and_managers(client, program, unit, bank, role):
    application = ApplicationFactory(program=program, unit=unit, bank=bank, status=S.RECOMMENDED)
    user = make_user(role, bank=bank if role == Role.BANK_OFFICER else None)
    client.force_login(user)
    body = client.get(reverse("loans:application-detail", args=[application.pk])).content.decode()
    assert application.applicant.id_number not in body
    assert application.applicant.masked_id_number in body


def intake_data(program, unit, **overrides):
    data = {
        "program": program.pk,
        "unit": unit.pk,
        "name": "王小明",
        "id_number": make_resident_id(region="360424", birth=date(1990, 3, 3), sequence=7),
        "mobile": "13907921234",
        "founder_class": "graduate",
        "is_union_member": "on",
        "union_name": "修水县义宁镇总工会",
        "enterprise_name": "修水县小明电子商务有限公司",
        "credit_code": make_credit_code(body="91360424MA3900001"),
        "legal_representative": "王小明",
        "employees": "8",
        "licence_date": "2019-04-01",
        "industry_section": "F",
        "industry_code": "5292",
        "annual_output": "1200000",
        "amount": "200000",
        "term_months": "12",
        "purpose": "production",
        "applied_on": "2020-06-01",
        "recommender_opinion": "情况属实，同意推荐",
        "submit_now": "on",
    }
    return {**data, **overrides}


def test_intake_with_a_wrong_field_saves_nothing_then_succeeds_when_fixed(
    client, county_user, program, unit
):
    client.force_login(county_user)
    url = reverse("loans:application-create")
    assert client.get(url).status_code == 200
    bad = intake_data(program, unit, id_number="360424199003030070")
    response = client.post(url, bad)
    assert response.status_code == 200
    assert response.context["form"].errors["id_number"] == ["身份证号校验位错误，请核对后重新输入"]
    assert (Applicant.objects.count(), Enterprise.objects.count(), Application.objects.count()) == (
        0,
        0,
        0,
    )
    response = client.post(url, intake_data(program, unit))
    assert response.status_code == 302
    application = Application.objects.get()
    assert application.status == S.SUBMITTED
    assert application.channel == C.UNION_REFERRAL
    assert application.opinions.get(kind=OpinionKind.RECOMMENDER).text == "情况属实，同意推荐"


def test_intake_error_from_a_later_step_rolls_back_the_applicant(
    client, county_user, program, unit
):
    client.force_login(county_user)
    response = client.post(
        reverse("loans:application-create"), intake_data(program, unit, amount="-1")
    )
    assert response.status_code == 200
    assert "amount" in response.context["form"].errors
    assert not Applicant.objects.exists()
    assert not Enterprise.objects.exists()


def test_recommend_return_and_override_from_the_detail_page(
    client, county_user, program, unit, bank
):
    application = ApplicationFactory(
        program=program, unit=unit, status=S.SUBMITTED, enterprise=EnterpriseFactory(employees=2)
    )
    store_pre_loan_checks(application)
    client.force_login(county_user)
    action = lambda name: reverse("loans:application-action", args=[application.pk, name])  # noqa: E731
    response = client.post(action("recommend"), {"bank": bank.pk}, follow=True)
    assert "贷前审查未通过" in response.content.decode()
    application.refresh_from_db()
    assert application.status == S.SUBMITTED
    client.post(action("override"), {"rule": CheckRule.JOBS, "reason": "季节性用工已核实"})
    client.post(action("recommend"), {"bank": bank.pk, "opinion": "同意推荐"})
    application.refresh_from_db()
    assert (application.status, application.bank) == (S.RECOMMENDED, bank)


def test_return_needs_a_reason(client, county_user, program, unit):
    application = ApplicationFactory(program=program, unit=unit, status=S.SUBMITTED)
    client.force_login(county_user)
    url = reverse("loans:application-action", args=[application.pk, "return"])
    response = client.post(url, {"reason": ""}, follow=True)
    assert "须填写原因" in response.content.decode()
    application.refresh_from_db()
    assert application.status == S.SUBMITTED


def test_bank_officer_cannot_take_union_actions(client, bank_user, program, unit, bank):
    application = ApplicationFactory(program=program, unit=unit, bank=bank, status=S.SUBMITTED)
    client.force_login(bank_user)
    url = reverse("loans:application-action", args=[application.pk, "return"])
    client.post(url, {"reason": "x"})
    application.refresh_from_db()
    assert application.status == S.SUBMITTED


def test_batch_actions_check_each_application(client, county_user, program, unit, bank):
    good = ApplicationFactory(program=program, unit=unit, status=S.SUBMITTED)
    bad = ApplicationFactory(
        program=program, unit=unit, status=S.SUBMITTED, enterprise=EnterpriseFactory(employees=1)
    )
    for application in (good, bad):
        store_pre_loan_checks(application)
    client.force_login(county_user)
    response = client.post(
        reverse("loans:application-batch"),
        {"action": "recommend", "ids": [good.pk, bad.pk], "bank": bank.pk},
        follow=True,
    )
    body = response.content.decode()
    assert "成功1件，失败1件" in body
    assert bad.reference in body
    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.status, bad.status) == (S.RECOMMENDED, S.SUBMITTED)


def test_batch_approve_submits_drafts(client, county_user, program, unit):
    drafts = [ApplicationFactory(program=program, unit=unit) for _ in range(3)]
    client.force_login(county_user)
    client.post(
        reverse("loans:application-batch"), {"action": "approve", "ids": [d.pk for d in drafts]}
    )
    assert set(Application.objects.values_list("status", flat=True)) == {S.SUBMITTED}


def test_print_page_is_laid_out_like_the_form(client, county_user, program, unit):
    application = ApplicationFactory(program=program, unit=unit)
    client.force_login(county_user)
    body = client.get(reverse("loans:application-print", args=[application.pk])).content.decode()
    for label in (
        "申 请 人",
        "身份证号",
        "户 籍 地",
        "本 人",
        "贷款用途",
        "银行<br>审核意见",
        "css/application_print.css",
    ):
        assert label in body
    # The A4 print layout is a static style sheet (the CSP allows no inline <style>).
    sheet = Path(settings.BASE_DIR, "static", "css", "application_print.css").read_text("utf-8")
    assert "@page" in sheet


def test_intake_lookup_offers_an_existing_applicant_in_scope(
    client, county_user, program, unit, other_unit
):
    mine = ApplicationFactory(program=program, unit=unit)
    theirs = ApplicationFactory(program=program, unit=other_unit)
    client.force_login(county_user)
    url = reverse("loans:intake-lookup")
    data = client.post(url, {"id_number": mine.applicant.id_number}).json()
    assert data["found"] and data["visible"]
    assert data["values"]["name"] == mine.applicant.name
    hidden = client.post(url, {"id_number": theirs.applicant.id_number}).json()
    assert hidden == {"found": True, "visible": False, "message": "该记录已由其他单位登记"}
    assert "values" not in hidden
    company = client.post(url, {"credit_code": mine.enterprise.credit_code}).json()
    assert company["values"]["enterprise_name"] == mine.enterprise.name
    assert client.post(url, {"id_number": "123"}).json()["found"] is False


def test_intake_lookup_is_for_union_staff_only(client, bank_user):
    client.force_login(bank_user)
    assert client.post(reverse("loans:intake-lookup"), {"id_number": "x"}).status_code == 403


@pytest.mark.parametrize(
    "data",
    [
        {"action": "recommend", "ids": ["abc", "1.5"]},
        {"action": "recommend", "ids": ["1"], "bank": "xyz"},
    ],
)
def test_garbage_batch_input_is_a_message_not_a_500(client, county_user, data):
    client.force_login(county_user)
    response = client.post(reverse("loans:application-batch"), data, follow=True)
    assert response.status_code == 200


def test_garbage_bank_on_recommend_is_a_message(client, county_user, program, unit):
    application = ApplicationFactory(program=program, unit=unit, status=S.SUBMITTED)
    client.force_login(county_user)
    url = reverse("loans:application-action", args=[application.pk, "recommend"])
    response = client.post(url, {"bank": "abc"}, follow=True)
    assert response.status_code == 200
    assert "请选择推荐的合作银行" in response.content.decode()


def test_batch_never_redirects_off_site(client, county_user, program, unit):
    draft = ApplicationFactory(program=program, unit=unit)
    client.force_login(county_user)
    for target in ("https://evil.example.com/", "//evil.example.com/"):
        response = client.post(
            reverse("loans:application-batch"),
            {"action": "approve", "ids": [draft.pk], "next": target},
        )
        assert response["Location"] == reverse("loans:application-list")
