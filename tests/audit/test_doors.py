"""Every door leaves history: who, when and what changed (issue 8).

Portal (a county clerk recommends), admin (city staff edit a program), bank API (a knox
token's decision), a Celery task (the daily claim scan) and a management command (seed_demo).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.audit import AUDITED
from gonghui.history import audit_actor, current_reason
from loans.choices import ApplicationStatus as S
from loans.choices import LoanStatus
from loans.models import Applicant, Application, Loan, Program
from loans.services.eligibility import store_pre_loan_checks
from quotas.models import Quota
from subsidies.models import SubsidyClaim
from subsidies.tasks import scan_due_claims
from tests.api.conftest import API, APPROVAL, application_payload, post, token_client
from tests.factories import ApplicationFactory, LoanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.clear()
    yield
    cache.clear()


def _changed_fields(record) -> set[str]:
    previous = record.prev_record
    assert previous is not None, "a change must follow an earlier version"
    return set(record.diff_against(previous).changed_fields)


def _recent(record) -> bool:
    return timezone.now() - timedelta(minutes=5) < record.history_date <= timezone.now()


def test_a_portal_recommendation_is_recorded_with_the_clerk(
    client, county_user, program, unit, bank
):
    application = ApplicationFactory(program=program, unit=unit, status=S.SUBMITTED)
    store_pre_loan_checks(application)
    client.force_login(county_user)
    url = reverse("loans:application-action", args=[application.pk, "recommend"])
    client.post(url, {"bank": bank.pk, "opinion": "同意推荐"})
    application.refresh_from_db()
    assert application.status == S.RECOMMENDED

    record = application.history.latest()
    assert (record.history_type, record.history_user) == ("~", county_user)
    assert _recent(record)
    assert {"status", "bank"} <= _changed_fields(record)
    assert (record.prev_record.status, record.status) == (S.SUBMITTED, S.RECOMMENDED)
    # The opinion written with it is recorded as created by the same clerk.
    opinion = application.opinions.get().history.get()
    assert (opinion.history_type, opinion.history_user) == ("+", county_user)


def _admin_form_data(response) -> dict:
    """The admin change form's current values, as the browser would post them back."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    return data


def test_an_admin_edit_by_city_staff_is_recorded(client, city_user, program):
    client.force_login(city_user)
    url = reverse("admin:loans_program_change", args=[program.pk])
    response = client.get(url)
    assert response.status_code == 200
    data = _admin_form_data(response)
    data["min_jobs"] = "7"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    program.refresh_from_db()
    assert program.min_jobs == 7

    record = program.history.latest()
    assert (record.history_type, record.history_user) == ("~", city_user)
    assert _recent(record)
    assert _changed_fields(record) == {"min_jobs"}
    assert (record.prev_record.min_jobs, record.min_jobs) == (5, 7)


def test_api_writes_are_recorded_with_the_token_s_bank_officer(
    program, unit, bank_user, county_user
):
    client = token_client(bank_user)
    response = post(client, f"{API}/applications/", application_payload(program, unit))
    assert response.status_code == 201, response.json()
    application = Application.objects.get(pk=response.json()["id"])
    created = application.history.earliest()
    assert (created.history_type, created.history_user) == ("+", bank_user)

    from loans.services.applications import recommend_application

    recommend_application(application=application, user=county_user, opinion="同意推荐")
    response = post(client, f"{API}/applications/{application.pk}/decision/", APPROVAL)
    assert response.status_code == 200, response.json()

    record = application.history.latest()
    assert record.history_user == bank_user
    assert _recent(record)
    assert {"status", "approved_amount", "approved_rate", "loan_type"} <= _changed_fields(record)
    assert record.approved_amount == Decimal("300000.00")
    assert record.prev_record.history_user == county_user


def test_the_daily_scan_task_is_recorded_with_its_name(program, unit, bank):
    loan = LoanFactory(
        application__program=program,
        application__unit=unit,
        application__bank=bank,
        status=LoanStatus.REPAID,
        settled_on=date(2021, 1, 5),
    )
    assert scan_due_claims.apply(args=["2021-08-01"]).get() == 1
    claim = SubsidyClaim.objects.get(loan=loan)
    record = claim.history.get()
    assert record.history_type == "+"
    assert record.history_user is None
    assert record.history_change_reason == "subsidies.scan_due_claims"
    assert _recent(record)
    assert record.amount == claim.amount
    # The task's context ends with the task: later writes are not attributed to it.
    assert current_reason() is None


def test_an_audit_actor_names_the_user_and_reason_of_a_bulk_write(program, unit, city_user):
    """The context a task or command opens: bulk writes (QuerySet.update replacements) too."""
    from gonghui.history import bulk_update_audited

    loans = [LoanFactory(application__program=program, application__unit=unit) for _ in range(3)]
    for loan in loans:
        loan.jobs_created = 9
    with audit_actor(user=city_user, reason="更正带动就业人数"):
        assert bulk_update_audited(Loan, loans, ["jobs_created"]) == 3
    for loan in loans:
        record = loan.history.latest()
        assert (record.history_user, record.history_change_reason) == (
            city_user,
            "更正带动就业人数",
        )
        assert (record.prev_record.jobs_created, record.jobs_created) == (0, 9)


def test_seed_demo_is_recorded_as_the_command_and_a_rerun_records_nothing():
    call_command("seed_demo", stdout=StringIO())
    programs = Program.history.filter(history_type="+")
    assert programs.count() == Program.objects.count() > 0
    assert set(programs.values_list("history_change_reason", flat=True)) == {"manage.py seed_demo"}
    assert set(programs.values_list("history_user", flat=True)) == {None}
    # Bulk-written rows have their history too, one '+' record each.
    assert Application.history.filter(history_type="+").count() == Application.objects.count()
    assert Quota.history.count() == Quota.objects.count()
    assert Applicant.history.count() == Applicant.objects.count()
    counts = {key: model.history.count() for key, (model, _, _) in AUDITED.items()}

    call_command("seed_demo", stdout=StringIO())
    assert {key: model.history.count() for key, (model, _, _) in AUDITED.items()} == counts
