"""The quota page: completion per unit with its marks and bars, and city staff's 调剂."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.choices import Role
from quotas.models import Reallocation
from quotas.services import record_reallocation
from tests.factories import LoanFactory, ProgramFactory, QuotaFactory, make_user

pytestmark = pytest.mark.django_db

AFTER_DEADLINE = date(2020, 8, 15)


@pytest.fixture
def quotas(program, unit, other_unit):
    return (
        QuotaFactory(program=program, unit=unit, task_amount=Decimal("2000000.00")),
        QuotaFactory(program=program, unit=other_unit, task_amount=Decimal("2000000.00")),
    )


@pytest.fixture
def moved(program, unit, other_unit, quotas, city_user):
    """修水县 gives 300,000 to 武宁县, which has lent 2,800,000 (121.7 %, above the cap)."""
    LoanFactory(application__program=program, application__unit=unit)
    for _ in range(14):
        LoanFactory(application__program=program, application__unit=other_unit)
    return record_reallocation(
        program=program,
        from_unit=unit,
        to_unit=other_unit,
        amount="300000",
        reallocated_on=AFTER_DEADLINE,
        reason="修水县未完成部分调剂给武宁县",
        user=city_user,
    )


def user_of(role, unit, bank):
    return make_user(
        role,
        unit=unit if role == Role.COUNTY_STAFF else None,
        bank=bank if role == Role.BANK_OFFICER else None,
    )


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.COUNTY_STAFF, 200),
        (Role.CITY_STAFF, 200),
        (Role.MANAGER, 200),
        (Role.BANK_OFFICER, 403),
    ],
)
def test_quota_page_roles(client, quotas, unit, bank, role, status):
    client.force_login(user_of(role, unit, bank))
    assert client.get(reverse("quotas:quota-list")).status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.COUNTY_STAFF, 403), (Role.MANAGER, 403), (Role.BANK_OFFICER, 403)],
)
def test_only_city_staff_may_reallocate(
    client, program, quotas, unit, other_unit, bank, role, status
):
    client.force_login(user_of(role, unit, bank))
    response = client.post(
        reverse("quotas:reallocation-create"), reallocation(program, unit, other_unit)
    )
    assert response.status_code == status
    assert not Reallocation.objects.exists()


def test_anonymous_user_is_sent_to_login(client):
    response = client.get(reverse("quotas:quota-list"))
    assert response.status_code == 302


def test_page_shows_marks_progress_bars_totals_and_reallocations(
    client, city_user, program, unit, other_unit, moved
):
    client.force_login(city_user)
    response = client.get(reverse("quotas:quota-list"))
    assert response.context["program"] == program
    lines = {line.row.unit: line for line in response.context["lines"]}
    assert lines[unit].row.adjusted_task == Decimal("1700000.00")
    assert lines[other_unit].row.adjusted_task == Decimal("2300000.00")
    assert (lines[unit].bar_class, lines[other_unit].bar_class) == ("low", "high")
    assert lines[other_unit].bar_width == "100.0"
    total = response.context["total"].row
    assert (total.adjusted_task, total.completed, total.loans) == (
        Decimal("4000000.00"),
        Decimal("3000000.00"),
        15,
    )
    body = response.content.decode()
    assert '<span class="mark-minus" title="调出（减分项）">−300,000.00</span>' in body
    assert '<span class="mark-plus" title="调入（加分项）">+300,000.00</span>' in body
    assert 'class="progress low"' in body
    assert 'class="progress high"' in body
    assert 'style="width: 11.8%"' in body
    assert "合计" in body
    assert "修水县未完成部分调剂给武宁县" in body
    assert "2020-08-15" in body
    assert 'id="reallocation-form"' in body


def test_county_staff_see_only_their_unit(client, county_user, program, unit, other_unit, moved):
    client.force_login(county_user)
    response = client.get(reverse("quotas:quota-list"))
    assert [line.row.unit for line in response.context["lines"]] == [unit]
    assert response.context["total"] is None
    body = response.content.decode()
    assert other_unit.name in body  # named as the receiver of its own reallocation only
    assert "2800000.00" not in body  # the other unit's completed amount
    assert 'id="reallocation-form"' not in body


def test_program_selector_defaults_to_latest_active_program_of_the_users_units(
    client, city_user, county_user, program, quotas, other_unit
):
    newer = ProgramFactory(code="jgd-2021", year=2021)
    QuotaFactory(program=newer, unit=other_unit)
    ProgramFactory(code="jgd-2022", year=2022)  # no quotas yet
    old_inactive = ProgramFactory(code="jgd-2023", year=2023, is_active=False)
    client.force_login(city_user)
    assert client.get(reverse("quotas:quota-list")).context["program"] == newer
    chosen = client.get(reverse("quotas:quota-list"), {"program": program.pk})
    assert chosen.context["program"] == program
    assert len(chosen.context["lines"]) == 2
    other = client.get(reverse("quotas:quota-list"), {"program": old_inactive.pk})
    assert other.context["program"] == old_inactive
    assert client.get(reverse("quotas:quota-list"), {"program": "x"}).status_code == 200
    client.force_login(county_user)  # 修水县 has no task under the newer program
    assert client.get(reverse("quotas:quota-list")).context["program"] == program


def reallocation(program, giver, receiver, **overrides):
    data = {
        "program": program.pk,
        "from_unit": giver.pk,
        "to_unit": receiver.pk,
        "amount": "250000",
        "reallocated_on": AFTER_DEADLINE.isoformat(),
        "reason": "任务调剂",
    }
    return {**data, **overrides}


def test_city_staff_reallocate_from_the_page(client, city_user, program, quotas, unit, other_unit):
    client.force_login(city_user)
    response = client.post(
        reverse("quotas:reallocation-create"), reallocation(program, unit, other_unit), follow=True
    )
    assert response.redirect_chain[-1][0] == f"{reverse('quotas:quota-list')}?program={program.pk}"
    moved = Reallocation.objects.get()
    assert (moved.from_unit, moved.to_unit, moved.amount) == (unit, other_unit, Decimal("250000"))
    assert moved.created_by == city_user
    assert "已调剂任务" in response.content.decode()


@pytest.mark.parametrize(
    ("field", "overrides", "message"),
    [
        ("amount", {"amount": "2000000.01"}, "调剂金额超过"),
        ("reallocated_on", {"reallocated_on": "2020-07-30"}, "审核发放截止日"),
        ("reason", {"reason": "  "}, "必填"),
    ],
)
def test_bad_reallocation_shows_field_errors(
    client, city_user, program, quotas, unit, other_unit, field, overrides, message
):
    client.force_login(city_user)
    response = client.post(
        reverse("quotas:reallocation-create"), reallocation(program, unit, other_unit, **overrides)
    )
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(message in text for text in errors)
    assert "未保存任何信息" in response.content.decode()
    assert not Reallocation.objects.exists()
