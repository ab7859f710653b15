"""The Django admin: configuration is edited there, operational records are only inspected.

Every page opens; applications, opinions, checks, timelines, loans, repayments, follow-ups
and reallocations can be neither added nor changed by anyone (the services write them);
scoped users see only their unit's or bank's rows and choices; changelists do not grow
queries with rows; personal numbers are masked in lists.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.audit import AUDITED
from accounts.choices import Role
from accounts.models import Profile
from loans.choices import ApplicationStatus as S
from loans.choices import CheckRule, LoanType, OperatingStatus, OpinionKind, ReviewChannel
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
from loans.services.identity import make_resident_id
from quotas.models import Quota, Reallocation
from reports.models import MonthlySnapshot
from subsidies.models import AllocationResult, PaymentBatch, SubsidyClaim
from tests.factories import (
    BankFactory,
    LoanFactory,
    ProgramFactory,
    QuotaFactory,
    UnitFactory,
    make_user,
)

pytestmark = pytest.mark.django_db

User = get_user_model()

READ_ONLY = {
    Application,
    Opinion,
    EligibilityCheck,
    ApplicationEvent,
    Loan,
    Repayment,
    FollowUp,
    Reallocation,
    SubsidyClaim,
    PaymentBatch,
    AllocationResult,
    MonthlySnapshot,
    # django-axes' login records (gonghui.settings: lockout).
    AccessAttempt,
    AccessLog,
    AccessFailureLog,
    # The audit trail (issue 8): every historical table is read-only for everyone.
    *(model.history.model for model, _, _ in AUDITED.values()),
}


# --- data --------------------------------------------------------------------------------------


def add_loan_chain(*, program, unit, bank, author) -> Loan:
    """A disbursed loan with one row of every operational model hanging off it.

    The shared factories cover Application and Loan; the rows below have no factory yet.
    """
    loan = LoanFactory(application__program=program, application__unit=unit, application__bank=bank)
    application = loan.application
    Opinion.objects.create(
        application=application, kind=OpinionKind.RECOMMENDER, text="同意推荐", author=author
    )
    EligibilityCheck.objects.create(
        application=application,
        rule=CheckRule.JOBS,
        passed=False,
        reason="带动就业不足",
        checked_at=timezone.now(),
    )
    ApplicationEvent.objects.create(
        application=application,
        action="submit",
        from_status=S.DRAFT,
        to_status=S.SUBMITTED,
        actor=author,
    )
    Repayment.objects.create(
        loan=loan,
        repaid_on=date(2020, 10, 1),
        principal_amount=Decimal("0"),
        interest_amount=Decimal("2900.00"),
        created_by=author,
    )
    FollowUp.objects.create(
        loan=loan,
        year=2020,
        quarter=3,
        visited_on=date(2020, 9, 20),
        operating_status=OperatingStatus.NORMAL,
        jobs=6,
        insured_employees=5,
        recorded_by=author,
    )
    return loan


@pytest.fixture
def world(admin_user, program, unit, other_unit, bank, other_bank):
    """One loan chain of ``unit``/``bank`` (mine) and one of ``other_unit``/``other_bank``."""
    mine = add_loan_chain(program=program, unit=unit, bank=bank, author=admin_user)
    theirs = add_loan_chain(program=program, unit=other_unit, bank=other_bank, author=admin_user)
    QuotaFactory(program=program, unit=unit)
    QuotaFactory(program=program, unit=other_unit)
    Reallocation.objects.create(
        program=program,
        from_unit=unit,
        to_unit=other_unit,
        amount=Decimal("100000.00"),
        reallocated_on=date(2020, 8, 1),
        reason="调剂",
        created_by=admin_user,
    )
    return SimpleNamespace(program=program, mine=mine, theirs=theirs)


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _logged_in(client, user):
    client.force_login(user)
    return client


# --- every page opens; operational records are read-only ---------------------------------------


def test_every_changelist_opens_and_only_configuration_can_be_added(admin_client, world):
    assert set(admin.site._registry) >= READ_ONLY
    for model in admin.site._registry:
        assert admin_client.get(_url(model, "changelist")).status_code == 200, model
        expected = 403 if model in READ_ONLY else 200
        assert admin_client.get(_url(model, "add")).status_code == expected, model


def test_every_change_page_opens_and_operational_records_have_no_inputs(
    admin_client, world, county_user
):
    own_apps = {"loans", "quotas", "accounts"}
    for model in admin.site._registry:
        obj = model._default_manager.first()
        if model._meta.app_label in own_apps:
            assert obj is not None, f"the test data has no {model.__name__} row"
        if obj is None:
            continue
        response = admin_client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, model
        if model in READ_ONLY:
            assert response.context["adminform"].form.fields == {}, model
            for inline in response.context["inline_admin_formsets"]:
                assert not inline.has_add_permission, (model, inline.opts)
                assert not inline.has_change_permission, (model, inline.opts)
                assert not inline.has_delete_permission, (model, inline.opts)


def test_application_reference_is_shown_read_only(admin_client, world):
    application = world.mine.application
    html = admin_client.get(_url(Application, "change", application.pk)).content.decode()
    assert application.reference in html
    assert 'name="reference"' not in html


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (EligibilityCheck, "passed", True),
        (Application, "approved_rate", Decimal("9.9000")),
        (Loan, "annual_rate", Decimal("9.9000")),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_nobody_changes_operational_records(
    client, admin_user, county_user, world, model, field, value
):
    application = world.mine.application
    obj = {
        EligibilityCheck: EligibilityCheck.objects.filter(application=application).first(),
        Application: application,
        Loan: world.mine,
    }[model]
    before = getattr(obj, field)
    for user in (county_user, admin_user):
        response = _logged_in(client, user).post(
            _url(model, "change", obj.pk), {field: "on" if value is True else str(value)}
        )
        assert response.status_code == 403, user
    obj.refresh_from_db()
    assert getattr(obj, field) == before


# --- scope -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["county_user", "bank_user"])
def test_scoped_users_see_only_their_rows(client, request, world, who):
    client = _logged_in(client, request.getfixturevalue(who))
    for model, mine, theirs in (
        (Application, world.mine.application, world.theirs.application),
        (Loan, world.mine, world.theirs),
    ):
        response = client.get(_url(model, "changelist"))
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == [mine]
        # Raw-id pop-ups are this changelist too.
        response = client.get(_url(model, "changelist"), {"_to_field": "id", "_popup": "1"})
        assert list(response.context["cl"].result_list) == [mine]

        assert client.get(_url(model, "change", mine.pk)).status_code == 200
        response = client.get(_url(model, "change", theirs.pk))
        assert response.status_code in (302, 404)
        assert str(theirs) not in response.content.decode()


def _add_data(model, world) -> dict:
    """A filled-in add form of ``model`` aimed at the other unit's and bank's records."""
    theirs = world.theirs
    return {
        Loan: {
            "application": theirs.application.pk,
            "program": world.program.pk,
            "unit": theirs.unit_id,
            "bank": theirs.bank_id,
            "contract_number": "HT-NEW",
            "principal": "200000.00",
            "annual_rate": "4.5",
            "review_channel": ReviewChannel.OFFLINE,
            "loan_type": LoanType.GUARANTEED,
            "disbursed_on": "2021-08-01",
            "maturity_on": "2022-08-01",
            "jobs_created": "3",
            "new_union_members": "1",
        },
        Opinion: {"application": theirs.application.pk, "kind": OpinionKind.BANK, "text": "同意"},
        FollowUp: {
            "loan": theirs.pk,
            "year": "2020",
            "quarter": "4",
            "visited_on": "2020-12-20",
            "operating_status": OperatingStatus.NORMAL,
            "jobs": "6",
            "insured_employees": "5",
        },
        Repayment: {
            "loan": world.mine.pk,
            "repaid_on": "2020-12-01",
            "principal_amount": "999999999.00",
            "interest_amount": "0",
        },
    }[model]


@pytest.mark.parametrize("who", ["county_user", "bank_user", "city_user"])
@pytest.mark.parametrize("model", [Loan, Opinion, FollowUp, Repayment], ids=lambda m: m.__name__)
def test_operational_records_cannot_be_added(client, request, world, who, model):
    client = _logged_in(client, request.getfixturevalue(who))
    count = model.objects.count()
    response = client.post(_url(model, "add"), _add_data(model, world))
    assert response.status_code == 403
    assert model.objects.count() == count


def test_foreign_key_choices_and_lookups_are_scoped(client, county_user, world, unit, other_unit):
    # Even given the model permission, a county user picks only their own unit.
    county_user.user_permissions.add(Permission.objects.get(codename="change_quota"))
    client = _logged_in(client, county_user)
    quota = Quota.objects.get(unit=unit)
    url = _url(Quota, "change", quota.pk)
    form = client.get(url).context["adminform"].form
    assert list(form.fields["unit"].queryset) == [unit]

    response = client.post(
        url, {"program": quota.program_id, "unit": other_unit.pk, "task_amount": "1"}
    )
    assert response.status_code == 200
    assert "unit" in response.context["adminform"].form.errors
    quota.refresh_from_db()
    assert quota.unit == unit

    # The autocomplete behind the unit box searches the scoped unit admin.
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "quotas", "model_name": "quota", "field_name": "unit", "term": ""},
    )
    assert [r["id"] for r in response.json()["results"]] == [str(unit.pk)]


def test_save_model_refuses_a_row_outside_the_scope(county_user, world, other_unit):
    request = RequestFactory().post("/")
    request.user = county_user
    theirs = Quota.objects.get(unit=other_unit)
    with pytest.raises(PermissionDenied):
        admin.site._registry[Quota].save_model(request, theirs, form=None, change=True)


# --- configuration is edited by city staff -----------------------------------------------------


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


def test_city_staff_edit_a_program_with_check_boxes(client, city_user, program):
    client = _logged_in(client, city_user)
    url = _url(Program, "change", program.pk)
    response = client.get(url)
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
    response = client.post(url, data)
    assert response.status_code == 302, _errors(response)

    program.refresh_from_db()
    assert program.premium_loan_types == [LoanType.GUARANTEED]
    assert program.interest_loan_types == [LoanType.CREDIT, LoanType.GUARANTEED, LoanType.MORTGAGE]
    assert program.excluded_industries == ["E", "K"]


def test_city_staff_edit_a_quota(client, city_user, world, unit):
    quota = Quota.objects.get(unit=unit)
    response = _logged_in(client, city_user).post(
        _url(Quota, "change", quota.pk),
        {"program": quota.program_id, "unit": unit.pk, "task_amount": "3500000.00"},
    )
    assert response.status_code == 302, _errors(response)
    quota.refresh_from_db()
    assert quota.task_amount == Decimal("3500000.00")


@pytest.mark.parametrize("model", [Program, Unit, Bank, Quota, Applicant, Enterprise])
def test_only_city_staff_add_configuration(client, county_user, bank_user, city_user, model):
    for user, expected in ((county_user, 403), (bank_user, 403), (city_user, 200)):
        assert _logged_in(client, user).get(_url(model, "add")).status_code == expected, user


def test_applicant_form_validates_and_normalises_numbers(client, city_user):
    client = _logged_in(client, city_user)
    id_number = make_resident_id(region="360402", birth=date(1985, 5, 5), sequence=7)
    data = {
        "name": "张三",
        "id_number": id_number[:-1] + ("0" if id_number[-1] != "0" else "1"),
        "mobile": "12345",
        "founder_class": "other",
        "is_union_member": "on",
    }
    response = client.post(_url(Applicant, "add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "校验位" in errors["id_number"][0]
    assert "手机号" in errors["mobile"][0]

    # Full-width input from a Chinese keyboard is folded to ASCII before it is stored.
    full_width = id_number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    data.update({"id_number": full_width, "mobile": "+86 138-0000-1111"})
    response = client.post(_url(Applicant, "add"), data)
    assert response.status_code == 302, _errors(response)
    applicant = Applicant.objects.get(name="张三")
    assert applicant.id_number == id_number
    assert applicant.mobile == "13800001111"


def test_user_page_edits_profile_inline(admin_client, unit):
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
        "profile-0-unit": unit.pk,
        "profile-0-user": user.pk,
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, _errors(response)

    profile = Profile.objects.get(user=user)
    assert profile.role == Role.COUNTY_STAFF
    assert profile.unit == unit


# --- no N+1 in changelists ---------------------------------------------------------------------


def _add_rows(model, n: int, ns) -> None:
    """``n`` more rows of ``model``, alternating between the two units and banks."""
    if model in (Program, Unit, Bank, Quota):
        factory = {Program: ProgramFactory, Unit: UnitFactory, Bank: BankFactory}.get(model)
        for _ in range(n):
            (factory or QuotaFactory)()
    elif model is Profile:
        for _ in range(n):
            make_user(Role.MANAGER)
    elif model is Reallocation:
        for i in range(n):
            units = ns.units if i % 2 else ns.units[::-1]
            Reallocation.objects.create(
                program=ns.program,
                from_unit=units[0],
                to_unit=units[1],
                amount=Decimal("1000.00"),
                reallocated_on=date(2020, 8, 1),
                reason="调剂",
                created_by=ns.author,
            )
    else:
        for i in range(n):
            unit, bank = (ns.units[i % 2], ns.banks[i % 2])
            add_loan_chain(program=ns.program, unit=unit, bank=bank, author=ns.author)


def _changelist_queries(client, model) -> tuple[int, int]:
    """The number of queries of a changelist page and the number of rows it shows."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(_url(model, "changelist"))
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["cl"].result_list)


QUERY_COUNT_CASES = [
    *[
        ("admin_user", model)
        for model in (
            Application,
            Loan,
            Applicant,
            Enterprise,
            Quota,
            Repayment,
            FollowUp,
            Opinion,
            EligibilityCheck,
            ApplicationEvent,
            Reallocation,
            Program,
            Unit,
            Bank,
            Profile,
        )
    ],
    ("county_user", Application),
    ("county_user", Loan),
    ("bank_user", Loan),
]


@pytest.mark.parametrize(
    ("who", "model"), QUERY_COUNT_CASES, ids=[f"{w}-{m.__name__}" for w, m in QUERY_COUNT_CASES]
)
def test_changelist_query_count_does_not_grow_with_rows(
    client, request, admin_user, program, unit, other_unit, bank, other_bank, who, model
):
    client = _logged_in(client, request.getfixturevalue(who))
    ns = SimpleNamespace(
        program=program, units=[unit, other_unit], banks=[bank, other_bank], author=admin_user
    )
    _add_rows(model, 2, ns)
    _changelist_queries(client, model)  # warm-up: per-process caches
    few, few_rows = _changelist_queries(client, model)

    _add_rows(model, 10, ns)
    many, many_rows = _changelist_queries(client, model)

    assert many_rows >= few_rows + 5
    assert many == few


# --- personal numbers are masked ---------------------------------------------------------------


def test_applicant_changelist_masks_id_numbers_and_mobiles(admin_client, world):
    html = admin_client.get(_url(Applicant, "changelist")).content.decode()

    applicants = Applicant.objects.all()
    assert len(applicants) == 2
    for applicant in applicants:
        assert applicant.id_number not in html
        assert applicant.masked_id_number in html
        assert applicant.mobile not in html
        assert f"{applicant.mobile[:3]}****{applicant.mobile[-4:]}" in html
    assert "3604**********" in html


def test_applicant_search_by_exact_id_number(admin_client, world):
    target = world.mine.application.applicant
    response = admin_client.get(_url(Applicant, "changelist"), {"q": target.id_number}, follow=True)
    assert list(response.context["cl"].result_list) == [target]
    assert target.id_number not in response.redirect_chain[0][0]

    fragment = target.id_number[:10]
    response = admin_client.get(_url(Applicant, "changelist"), {"q": fragment})
    assert list(response.context["cl"].result_list) == []


# --- Chinese -----------------------------------------------------------------------------------


def test_login_page_is_chinese(client):
    html = client.get("/admin/login/").content.decode()
    assert "登录" in html or "用户名" in html


def test_changelist_column_labels_are_chinese(admin_client, world):
    html = admin_client.get(_url(Loan, "changelist")).content.decode()
    assert "申请人" in html
    assert "续贷" in html
