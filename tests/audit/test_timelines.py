"""The "修改记录" section of the application and loan pages (issue 8): who, when, which
fields from → to with Chinese names; personal data masked; queries constant."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.audit import mask, record_timeline
from accounts.models import Profile
from gonghui.history import audit_actor
from loans.choices import ApplicationStatus as S
from loans.models import Applicant, Application
from tests.factories import ApplicationFactory, LoanFactory

pytestmark = pytest.mark.django_db


def _edit(application, user, **changes):
    for name, value in changes.items():
        setattr(application, name, value)
    with audit_actor(user=user, reason="测试修改"):
        application.save()


def test_the_application_page_shows_each_change_with_user_and_chinese_names(
    client, county_user, city_user, program, unit
):
    application = ApplicationFactory(program=program, unit=unit, status=S.DRAFT)
    _edit(application, county_user, amount=Decimal("250000.00"), status=S.SUBMITTED)
    client.force_login(county_user)
    response = client.get(reverse("loans:application-detail", args=[application.pk]))
    assert response.status_code == 200
    entries = response.context["history"]
    assert [e.action for e in entries] == ["修改", "新建"]
    change = {c.field: (c.old, c.new) for c in entries[0].changes}
    assert change == {
        "申请贷款金额（元）": ("200000.00", "250000.00"),
        "状态": (S.DRAFT.label, S.SUBMITTED.label),
    }
    assert entries[0].user == county_user.username
    assert entries[0].reason == "测试修改"
    html = response.content.decode()
    assert 'id="history"' in html
    assert f"{S.DRAFT.label} → {S.SUBMITTED.label}" in html


def test_a_save_that_changes_nothing_is_not_shown(client, county_user, program, unit):
    application = ApplicationFactory(program=program, unit=unit)
    application.save()  # only updated_at moves
    client.force_login(county_user)
    response = client.get(reverse("loans:application-detail", args=[application.pk]))
    assert [e.action for e in response.context["history"]] == ["新建"]


def test_the_timeline_costs_the_same_queries_for_many_changes(client, county_user, program, unit):
    application = ApplicationFactory(program=program, unit=unit)
    url = reverse("loans:application-detail", args=[application.pk])
    client.force_login(county_user)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(6):
        _edit(application, county_user, amount=Decimal(200000 + n), purpose_other=f"第{n}次")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(response.context["history"]) == 7
    assert len(many) == len(few)


def test_the_loan_page_shows_the_loan_and_its_claim_history(client, county_user, program, unit):
    loan = LoanFactory(application__program=program, application__unit=unit)
    with audit_actor(user=county_user, reason="更正"):
        loan.jobs_created = 8
        loan.save()
    client.force_login(county_user)
    response = client.get(reverse("loans:loan-detail", args=[loan.pk]))
    assert response.status_code == 200
    entries = response.context["history"]
    assert entries[0].changes[0].field == "带动就业人数"
    assert (entries[0].changes[0].old, entries[0].changes[0].new) == ("0", "8")
    assert "修改记录" in response.content.decode()


def test_the_timeline_is_scoped_like_its_page(client, other_county_user, program, unit):
    application = ApplicationFactory(program=program, unit=unit)
    client.force_login(other_county_user)
    response = client.get(reverse("loans:application-detail", args=[application.pk]))
    assert response.status_code == 404


def test_foreign_keys_are_named_and_personal_numbers_masked(city_user, county_user, unit):
    profile = Profile.objects.get(user=county_user)
    with audit_actor(user=city_user, reason="更新电话"):
        profile.phone = "13812345678"
        profile.save()
    entries = record_timeline([(Profile, {"id": profile.pk})])
    change = {c.field: (c.old, c.new) for c in entries[0].changes}
    assert change == {"联系电话": ("—", "138****5678")}
    assert entries[0].user == city_user.username
    assert mask("360402198501010012") == "360***********0012"


def test_foreign_key_changes_show_the_related_name(county_user, program, unit, other_unit):
    application = ApplicationFactory(program=program, unit=unit)
    _edit(application, county_user, unit=other_unit)
    entries = record_timeline([(Application, {"id": application.pk})])
    change = {c.field: (c.old, c.new) for c in entries[0].changes}
    assert change == {"所属单位": (unit.name, other_unit.name)}


def test_the_applicant_history_holds_no_id_number_or_mobile(program, unit):
    application = ApplicationFactory(program=program, unit=unit)
    applicant = application.applicant
    applicant.mobile = "13900001111"
    applicant.save()
    table = Applicant.history.model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        cells = [str(cell) for row in cursor.fetchall() for cell in row]
    assert len(cells) > 0
    assert not any(applicant.id_number in cell for cell in cells)
    assert not any("13900001111" in cell for cell in cells)
    stored = {f.name for f in Applicant.history.model._meta.fields}
    assert "id_number" not in stored and "mobile" not in stored and "name" in stored
