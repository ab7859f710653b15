"""The Django admin: every page opens, changelists do not grow queries with rows, personal
numbers are masked in lists, and computed or workflow-owned values stay read-only."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from accounts.models import Profile
from loans.choices import (
    ApplicationChannel,
    ApplicationStatus,
    CheckRule,
    LoanStatus,
    LoanType,
    OperatingStatus,
    OpinionKind,
    ReviewChannel,
    UnitKind,
)
from loans.models import (
    Applicant,
    Application,
    ApplicationEvent,
    Bank,
    EligibilityCheck,
    Enterprise,
    FollowUp,
    Loan,
    Opinion,
    Program,
    Repayment,
    Unit,
)
from loans.services.identity import CREDIT_CODE_ALPHABET, make_credit_code, make_resident_id
from quotas.models import Quota, Reallocation

pytestmark = pytest.mark.django_db

User = get_user_model()


# --- data helper (a shared factories module will replace this) -------------------------------


def _credit_body(n: int) -> str:
    """A 17-character credit-code body unique for *n* (91 3604 00 MA + 7 alphabet chars)."""
    suffix = ""
    for _ in range(7):
        n, index = divmod(n, len(CREDIT_CODE_ALPHABET))
        suffix = CREDIT_CODE_ALPHABET[index] + suffix
    return "91360400MA" + suffix


class World:
    """Minimal rows for every admin model; :meth:`add_loans` adds applicant-to-loan chains."""

    def __init__(self, user) -> None:
        self.user = user
        self.program = Program.objects.create(
            code="jgd-2020", name="2020年九工贷", city="九江市", year=2020
        )
        self.units = [
            Unit.objects.create(
                code="xunyang", name="浔阳区", city="九江市", kind=UnitKind.DISTRICT, sort_order=1
            ),
            Unit.objects.create(
                code="ruichang",
                name="瑞昌市",
                city="九江市",
                kind=UnitKind.COUNTY_CITY,
                sort_order=2,
            ),
        ]
        self.bank = Bank.objects.create(code="jjbank", name="九江银行", short_name="九江银行")
        self.count = 0
        for unit, amount in zip(self.units, ("1000000.00", "2000000.00"), strict=True):
            Quota.objects.create(program=self.program, unit=unit, task_amount=Decimal(amount))
        self.reallocation = Reallocation.objects.create(
            program=self.program,
            from_unit=self.units[0],
            to_unit=self.units[1],
            amount=Decimal("100000.00"),
            reallocated_on=date(2020, 8, 1),
            reason="调剂",
            created_by=user,
        )
        staff = User.objects.create_user(username="county1", password="x")
        Profile.objects.create(user=staff, role=Role.COUNTY_STAFF, unit=self.units[0])
        officer = User.objects.create_user(username="bank1", password="x")
        Profile.objects.create(user=officer, role=Role.BANK_OFFICER, bank=self.bank)

    def add_loans(self, n: int) -> list[Loan]:
        loans = []
        for _ in range(n):
            self.count += 1
            i = self.count
            unit = self.units[i % 2]
            applicant = Applicant.objects.create(
                name=f"申请人{i}",
                id_number=make_resident_id(region="360402", birth=date(1990, 1, 1), sequence=i),
                mobile=f"1381234{i:04d}",
            )
            enterprise = Enterprise.objects.create(
                name=f"企业{i}",
                credit_code=make_credit_code(body=_credit_body(i)),
                legal_representative=applicant.name,
                employees=6,
                licence_date=date(2018, 1, 1),
                industry_section="C",
            )
            application = Application.objects.create(
                reference=f"JGD2020-{i:04d}",
                program=self.program,
                unit=unit,
                applicant=applicant,
                enterprise=enterprise,
                bank=self.bank,
                channel=ApplicationChannel.UNION_REFERRAL,
                status=ApplicationStatus.DISBURSED,
                amount=Decimal("400000.00"),
                applied_on=date(2020, 6, 1),
            )
            Opinion.objects.create(
                application=application,
                kind=OpinionKind.RECOMMENDER,
                text="同意推荐",
                author=self.user,
            )
            EligibilityCheck.objects.create(
                application=application,
                rule=CheckRule.JOBS,
                passed=True,
                reason="带动就业6人",
                checked_at="2020-06-02T10:00:00+08:00",
            )
            ApplicationEvent.objects.create(
                application=application,
                action="submit",
                from_status=ApplicationStatus.DRAFT,
                to_status=ApplicationStatus.SUBMITTED,
                actor=self.user,
            )
            # Every third loan is settled, to cover the settled_on constraint.
            settled = i % 3 == 0
            loan = Loan.objects.create(
                application=application,
                program=self.program,
                unit=unit,
                bank=self.bank,
                contract_number=f"HT-{i:04d}",
                principal=Decimal("400000.00"),
                subsidised_principal=Decimal("300000.00"),
                leveraged_amount=Decimal("100000.00"),
                annual_rate=Decimal("4.7500"),
                review_channel=ReviewChannel.ONLINE,
                loan_type=LoanType.CREDIT,
                disbursed_on=date(2020, 7, 1),
                maturity_on=date(2021, 7, 1),
                status=LoanStatus.REPAID if settled else LoanStatus.ACTIVE,
                settled_on=date(2021, 7, 1) if settled else None,
            )
            Repayment.objects.create(
                loan=loan,
                repaid_on=date(2020, 10, 1),
                principal_amount=Decimal("0"),
                interest_amount=Decimal("4750.00"),
                created_by=self.user,
            )
            FollowUp.objects.create(
                loan=loan,
                year=2020,
                quarter=3,
                visited_on=date(2020, 9, 20),
                operating_status=OperatingStatus.NORMAL,
                jobs=6,
                insured_employees=5,
                recorded_by=self.user,
            )
            loans.append(loan)
        return loans


@pytest.fixture
def world(admin_user) -> World:
    return World(admin_user)


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# --- every page opens ------------------------------------------------------------------------


def test_every_changelist_and_add_page_opens(admin_client, admin_user, world):
    world.add_loans(2)
    request = type("Request", (), {"user": admin_user})()
    for model, model_admin in admin.site._registry.items():
        response = admin_client.get(_url(model, "changelist"))
        assert response.status_code == 200, model

        expected = 200 if model_admin.has_add_permission(request) else 403
        response = admin_client.get(_url(model, "add"))
        assert response.status_code == expected, model


def test_application_events_cannot_be_added(admin_client, world):
    assert admin_client.get(_url(ApplicationEvent, "add")).status_code == 403


def test_change_page_of_every_model_opens(admin_client, world):
    world.add_loans(2)
    own_apps = {"loans", "quotas", "accounts"}
    for model in admin.site._registry:
        obj = model._default_manager.first()
        if model._meta.app_label in own_apps:
            assert obj is not None, f"the test data has no {model.__name__} row"
        if obj is None:
            continue
        response = admin_client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, model


# --- no N+1 in changelists -------------------------------------------------------------------


def _changelist_queries(client, model) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(_url(model, "changelist"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "model",
    [Application, Loan, Applicant, Quota, Enterprise, Repayment, FollowUp, Opinion, Profile],
    ids=lambda m: m.__name__,
)
def test_changelist_query_count_does_not_grow_with_rows(admin_client, world, model):
    world.add_loans(2)
    if model is Quota:
        extra_program = Program.objects.create(
            code="jgd-2021", name="2021年九工贷", city="九江市", year=2021
        )
        Quota.objects.create(program=extra_program, unit=world.units[0], task_amount=1)
    if model is Profile:
        user = User.objects.create_user(username="city1", password="x")
        Profile.objects.create(user=user, role=Role.CITY_STAFF)
    _changelist_queries(admin_client, model)  # warm-up: per-process caches
    few = _changelist_queries(admin_client, model)

    world.add_loans(10)
    if model is Quota:
        for n in range(10):
            program = Program.objects.create(
                code=f"extra-{n}", name=f"项目{n}", city="九江市", year=2010 + n
            )
            for unit in world.units:
                Quota.objects.create(program=program, unit=unit, task_amount=1)
    if model is Profile:
        for n in range(10):
            user = User.objects.create_user(username=f"mgr{n}", password="x")
            Profile.objects.create(user=user, role=Role.MANAGER)
    assert model._default_manager.count() >= 12
    many = _changelist_queries(admin_client, model)

    assert many == few


# --- personal numbers are masked -------------------------------------------------------------


def test_applicant_changelist_masks_id_numbers_and_mobiles(admin_client, world):
    world.add_loans(3)
    html = admin_client.get(_url(Applicant, "changelist")).content.decode()

    for applicant in Applicant.objects.all():
        assert applicant.id_number not in html
        assert applicant.masked_id_number in html
        assert applicant.mobile not in html
        assert f"{applicant.mobile[:3]}****{applicant.mobile[-4:]}" in html
    assert "3604**********" in html


def test_applicant_search_by_exact_id_number(admin_client, world):
    world.add_loans(3)
    target = Applicant.objects.order_by("id").first()
    response = admin_client.get(_url(Applicant, "changelist"), {"q": target.id_number})
    results = list(response.context["cl"].result_list)
    assert results == [target]

    fragment = target.id_number[:10]
    response = admin_client.get(_url(Applicant, "changelist"), {"q": fragment})
    assert list(response.context["cl"].result_list) == []


# --- Chinese ---------------------------------------------------------------------------------


def test_login_page_is_chinese(client):
    html = client.get("/admin/login/").content.decode()
    assert "登录" in html or "用户名" in html


def test_changelist_column_labels_are_chinese(admin_client, world):
    world.add_loans(1)
    html = admin_client.get(_url(Loan, "changelist")).content.decode()
    assert "申请人" in html
    assert "续贷" in html


# --- read-only values ------------------------------------------------------------------------


def _form_data(response) -> dict:
    """The POST data an admin change page would submit unchanged, inline forms included."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        forms += formset.initial_forms
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is not None:
                data[form.add_prefix(name)] = value
    return data


def _errors(response) -> list:
    """Every form error on a re-rendered admin page, for assertion messages."""
    errors = [response.context["adminform"].form.errors]
    for inline in response.context["inline_admin_formsets"]:
        errors += [inline.formset.non_form_errors(), *inline.formset.errors]
    return [e for e in errors if e]


def test_application_status_is_read_only(admin_client, world):
    application = world.add_loans(1)[0].application
    url = _url(Application, "change", application.pk)
    response = admin_client.get(url)
    form = response.context["adminform"].form
    assert "status" not in form.fields

    data = _form_data(response)
    data["status"] = ApplicationStatus.DRAFT
    data["amount"] = "350000.00"
    response = admin_client.post(url, data)
    assert response.status_code == 302, _errors(response)

    application.refresh_from_db()
    assert application.amount == Decimal("350000.00")
    assert application.status == ApplicationStatus.DISBURSED


def test_loan_principal_split_is_computed(admin_client, world):
    loan = world.add_loans(1)[0]
    url = _url(Loan, "change", loan.pk)
    response = admin_client.get(url)
    form = response.context["adminform"].form
    assert "subsidised_principal" not in form.fields
    assert "leveraged_amount" not in form.fields

    data = _form_data(response)
    data["principal"] = "450000.00"
    data["subsidised_principal"] = "1.00"  # ignored: not a form field
    response = admin_client.post(url, data)
    assert response.status_code == 302, _errors(response)

    loan.refresh_from_db()
    limit = world.program.limit_general
    assert loan.principal == Decimal("450000.00")
    assert loan.subsidised_principal == limit
    assert loan.leveraged_amount == Decimal("450000.00") - limit


def _loan_form(application, **overrides) -> dict:
    """The admin's add-loan form for a second loan of ``application``, with empty inlines.

    The application's first loan is still active, so this one is recorded as closed.
    """
    data = {
        "application": application.pk,
        "program": application.program_id,
        "unit": application.unit_id,
        "bank": application.bank_id,
        "contract_number": "HT-NEW",
        "principal": "200000.00",
        "annual_rate": "4.5",
        "review_channel": ReviewChannel.OFFLINE,
        "loan_type": LoanType.GUARANTEED,
        "disbursed_on": "2021-08-01",
        "maturity_on": str(date(2021, 8, 1) + timedelta(days=365)),
        "jobs_created": "3",
        "new_union_members": "1",
        "status": LoanStatus.RENEWED,
        "settled_on": "2021-08-01",
        **overrides,
    }
    for prefix in ("repayments", "follow_ups"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    return data


def test_loan_add_computes_split_and_records_creator(admin_client, admin_user, world):
    application = world.add_loans(1)[0].application
    response = admin_client.post(_url(Loan, "add"), _loan_form(application))
    assert response.status_code == 302, _errors(response)

    loan = Loan.objects.get(contract_number="HT-NEW")
    assert loan.subsidised_principal == Decimal("200000.00")
    assert loan.leveraged_amount == Decimal("0")
    assert loan.created_by == admin_user


def test_loan_admin_applies_the_rate_cap_and_the_application(admin_client, world):
    application = world.add_loans(1)[0].application
    other_unit = next(u for u in world.units if u.pk != application.unit_id)
    data = _loan_form(application, unit=other_unit.pk, annual_rate="5.81")
    response = admin_client.post(_url(Loan, "add"), data)
    assert response.status_code == 200
    form_errors = response.context["adminform"].form.errors
    assert "unit" in form_errors
    assert "annual_rate" in form_errors
    assert not Loan.objects.filter(contract_number="HT-NEW").exists()


def test_user_page_edits_profile_inline(admin_client, world):
    user = User.objects.create_user(username="newstaff", password="x")
    url = _url(User, "change", user.pk)
    response = admin_client.get(url)
    assert response.status_code == 200
    assert "用户角色" in response.content.decode()

    data = {
        "username": user.username,
        "is_active": "on",
        "date_joined_0": "2020-01-01",
        "date_joined_1": "08:00:00",
        "profile-TOTAL_FORMS": "1",
        "profile-INITIAL_FORMS": "0",
        "profile-MIN_NUM_FORMS": "0",
        "profile-MAX_NUM_FORMS": "1",
        "profile-0-role": Role.COUNTY_STAFF,
        "profile-0-unit": world.units[1].pk,
        "profile-0-user": user.pk,
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, _errors(response)

    profile = Profile.objects.get(user=user)
    assert profile.role == Role.COUNTY_STAFF
    assert profile.unit == world.units[1]


def test_applicant_form_validates_and_normalises_numbers(admin_client, world):
    id_number = make_resident_id(region="360402", birth=date(1985, 5, 5), sequence=7)
    data = {
        "name": "张三",
        "id_number": id_number[:-1] + ("0" if id_number[-1] != "0" else "1"),
        "mobile": "12345",
        "founder_class": "other",
        "is_union_member": "on",
    }
    response = admin_client.post(_url(Applicant, "add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "校验位" in errors["id_number"][0]
    assert "手机号" in errors["mobile"][0]

    # Full-width input from a Chinese keyboard is folded to ASCII before it is stored.
    full_width = id_number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    data.update({"id_number": full_width, "mobile": "+86 138-0000-1111"})
    response = admin_client.post(_url(Applicant, "add"), data)
    assert response.status_code == 302, _errors(response)
    applicant = Applicant.objects.get(name="张三")
    assert applicant.id_number == id_number
    assert applicant.mobile == "13800001111"


def test_program_loan_types_are_check_boxes(admin_client, world):
    url = _url(Program, "change", world.program.pk)
    response = admin_client.get(url)
    html = response.content.decode()
    for legend in (
        "基本信息",
        "利率上限",
        "贷款限额",
        "资格条件",
        "贴息与保费",
        "补助分配",
        "阶段期限",
    ):
        assert legend in html
    data = _form_data(response)
    data["premium_loan_types"] = [LoanType.GUARANTEED]
    data["excluded_industries"] = '["E", "K"]'
    response = admin_client.post(url, data)
    assert response.status_code == 302, _errors(response)

    world.program.refresh_from_db()
    assert world.program.premium_loan_types == [LoanType.GUARANTEED]
    assert world.program.interest_loan_types == [
        LoanType.CREDIT,
        LoanType.GUARANTEED,
        LoanType.MORTGAGE,
    ]
    assert world.program.excluded_industries == ["E", "K"]
