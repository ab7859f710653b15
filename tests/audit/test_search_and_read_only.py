"""The city staff's audit search page, and the history being read-only for everyone."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.audit import AUDITED
from gonghui.history import audit_actor
from loans.models import Application, Program
from tests.factories import ApplicationFactory, LoanFactory

pytestmark = pytest.mark.django_db

URL = "/audit/"


@pytest.fixture
def changes(county_user, city_user, program, unit):
    """An application created then edited by the county clerk, a loan, and a program edit."""
    application = ApplicationFactory(program=program, unit=unit)
    with audit_actor(user=county_user, reason="补充材料"):
        application.amount = Decimal("210000.00")
        application.save()
    loan = LoanFactory(application__program=program, application__unit=unit)
    with audit_actor(user=city_user, reason="调整任务"):
        program.min_jobs = 6
        program.save()
    return application, loan


def test_only_city_staff_open_the_page(
    client, changes, city_user, county_user, bank_user, manager_user
):
    assert client.get(URL).status_code == 302  # to the login page
    for user in (county_user, bank_user, manager_user):
        client.force_login(user)
        assert client.get(URL).status_code == 403, user
    client.force_login(city_user)
    assert client.get(URL).status_code == 200
    assert client.post(URL, {}).status_code == 405


def test_all_types_are_listed_newest_first_with_links(client, changes, city_user):
    application, _loan = changes
    client.force_login(city_user)
    response = client.get(URL)
    rows = list(response.context["page"])
    dates = [row["history_date"] for row in rows]
    assert dates == sorted(dates, reverse=True)
    assert rows[0]["audit_kind"] == "program"
    assert rows[0]["user"] == city_user.username
    assert rows[0]["history_change_reason"] == "调整任务"
    edit = next(
        row for row in rows if row["audit_kind"] == "application" and row["action"] == "修改"
    )
    assert edit["url"] == reverse("loans:application-detail", args=[application.pk])
    assert f'href="{edit["url"]}#history"' in response.content.decode()


def test_filters_narrow_the_rows(client, changes, city_user, county_user):
    application, loan = changes
    client.force_login(city_user)

    def rows(**params):
        response = client.get(URL, params)
        assert response.status_code == 200
        assert not response.context["errors"], response.context["errors"]
        return [(r["audit_kind"], r["id"], r["history_type"]) for r in response.context["page"]]

    assert rows(kind="application", record_id=application.pk) == [
        ("application", application.pk, "~"),
        ("application", application.pk, "+"),
    ]
    assert rows(user=county_user.username) == [("application", application.pk, "~")]
    assert rows(kind="loan", type="+") == [("loan", loan.pk, "+")]
    today = timezone.localdate()
    assert rows(kind="program", type="~", date_from=today.isoformat(), date_to=today.isoformat())
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert rows(date_from=tomorrow) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"record_id": "abc"}, "record_id"),
        ({"date_from": "2020-13-01"}, "date_from"),
        ({"date_from": "2021-01-02", "date_to": "2021-01-01"}, "date_to"),
        ({"kind": "nope"}, "kind"),
        ({"type": "x"}, "type"),
        ({"user": "nobody-here"}, "user"),
    ],
)
def test_bad_filters_are_form_errors_not_500s(client, city_user, params, field):
    client.force_login(city_user)
    response = client.get(URL, params)
    assert response.status_code == 200
    assert field in response.context["errors"]
    assert response.context["page"] is None


def test_the_page_is_paginated(client, city_user, program):
    for n in range(55):
        program.min_jobs = n
        program.save()
    client.force_login(city_user)
    response = client.get(URL, {"kind": "program"})
    page = response.context["page"]
    assert (page.paginator.count, len(page.object_list), page.paginator.num_pages) == (56, 50, 2)
    second = client.get(URL, {"kind": "program", "page": 2}).context["page"]
    assert len(second.object_list) == 6


# --- read-only --------------------------------------------------------------------------------


def test_historical_models_have_only_the_view_permission():
    for model, _, _ in AUDITED.values():
        history = model.history.model
        codenames = set(
            Permission.objects.filter(content_type__model=history._meta.model_name).values_list(
                "codename", flat=True
            )
        )
        assert codenames == {f"view_{history._meta.model_name}"}, model


def test_no_one_can_add_change_or_delete_history_in_the_admin(admin_client, admin_user, changes):
    application, _ = changes
    history = Application.history.model
    record = application.history.latest()
    change_url = reverse("admin:loans_historicalapplication_change", args=[record.pk])
    assert admin_client.get(change_url).status_code == 200  # readable
    before = (record.amount, history.objects.count())
    response = admin_client.post(change_url, {"amount": "1.00", "history_type": "+"})
    assert response.status_code == 403
    assert admin_client.get(reverse("admin:loans_historicalapplication_add")).status_code == 403
    delete_url = reverse("admin:loans_historicalapplication_delete", args=[record.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    record.refresh_from_db()
    assert (record.amount, history.objects.count()) == before

    request = RequestFactory().get("/")
    request.user = admin_user  # a superuser
    for model, _, _ in AUDITED.values():
        model_admin = admin.site._registry[model.history.model]
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
        assert "delete_selected" not in model_admin.get_actions(request)


def test_history_admin_is_for_city_staff_only(client, changes, county_user, city_user):
    url = reverse("admin:loans_historicalprogram_changelist")
    client.force_login(county_user)
    assert client.get(url).status_code == 403
    client.force_login(city_user)
    assert client.get(url).status_code == 200


def test_history_has_no_portal_or_api_write_url():
    for name in ("audit-edit", "audit-delete", "loans:history-edit"):
        with pytest.raises(NoReverseMatch):
            reverse(name)
    from gonghui.api_urls import urlpatterns

    routes = " ".join(str(p.pattern) for p in urlpatterns)
    assert "histor" not in routes


def test_a_program_change_is_searchable_by_record(client, city_user):
    program = Program.objects.create(code="p-audit", name="审计项目", city="九江市", year=2021)
    client.force_login(city_user)
    response = client.get(URL, {"kind": "program", "record_id": program.pk})
    assert [r["action"] for r in response.context["page"]] == ["新建"]
