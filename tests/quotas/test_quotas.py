"""Quotas, reallocations (调剂) with their marks, and the completion table."""

from datetime import date
from decimal import Decimal

import pytest

from gonghui.errors import DomainError
from quotas.models import Reallocation
from quotas.selectors import adjusted_task, quota_table
from quotas.services import record_reallocation, set_quota
from tests.factories import LoanFactory, QuotaFactory, UnitFactory

pytestmark = pytest.mark.django_db

AFTER_DEADLINE = date(2020, 8, 1)


@pytest.fixture
def quotas(program, unit, other_unit):
    return (
        QuotaFactory(program=program, unit=unit, task_amount=Decimal("2900000.00")),
        QuotaFactory(program=program, unit=other_unit, task_amount=Decimal("1800000.00")),
    )


def reallocate(program, giver, receiver, user, amount="200000", **kw):
    values = {"reallocated_on": AFTER_DEADLINE, "reason": "未完成部分调剂"}
    return record_reallocation(
        program=program,
        from_unit=giver,
        to_unit=receiver,
        amount=amount,
        user=user,
        **{**values, **kw},
    )


def test_reallocation_adjusts_both_tasks(program, unit, other_unit, quotas, city_user):
    reallocate(program, unit, other_unit, city_user)
    assert adjusted_task(program=program, unit=unit) == Decimal("2700000.00")
    assert adjusted_task(program=program, unit=other_unit) == Decimal("2000000.00")
    rows = {r.unit: r for r in quota_table(program=program)}
    assert (rows[unit].given, rows[unit].received) == (Decimal("200000"), Decimal("0"))
    assert (rows[other_unit].given, rows[other_unit].received) == (Decimal("0"), Decimal("200000"))


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("amount", {"amount": "2900000.01"}),  # more than the giver's adjusted task
        ("amount", {"amount": "0"}),
        ("reason", {"reason": " "}),
        ("reallocated_on", {"reallocated_on": date(2020, 7, 30)}),  # not after the deadline
    ],
)
def test_bad_reallocation_is_refused(program, unit, other_unit, quotas, city_user, field, kwargs):
    with pytest.raises(DomainError) as error:
        reallocate(program, unit, other_unit, city_user, **kwargs)
    assert field in error.value.field_errors
    assert not Reallocation.objects.exists()


def test_reallocation_to_a_unit_without_quota_or_to_itself_is_refused(
    program, unit, quotas, city_user
):
    with pytest.raises(DomainError) as error:
        reallocate(program, unit, UnitFactory(), city_user)
    assert "to_unit" in error.value.field_errors
    with pytest.raises(DomainError) as error:
        reallocate(program, unit, unit, city_user)
    assert "to_unit" in error.value.field_errors


def test_only_city_staff_reallocate_or_set_quotas(program, unit, other_unit, quotas, county_user):
    with pytest.raises(DomainError) as error:
        reallocate(program, unit, other_unit, county_user)
    assert error.value.code == "permission_denied"
    with pytest.raises(DomainError):
        set_quota(program=program, unit=unit, task_amount="1", user=county_user)


def test_set_quota_creates_or_updates_one_row(program, unit, city_user):
    set_quota(program=program, unit=unit, task_amount="1000000", user=city_user)
    quota = set_quota(program=program, unit=unit, task_amount="1200000.50", user=city_user)
    assert quota.task_amount == Decimal("1200000.50")
    assert program.quotas.count() == 1


def test_completed_amount_counts_subsidised_principal_by_disbursing_unit(
    program, unit, other_unit, quotas
):
    LoanFactory(
        application__program=program,
        application__unit=unit,
        principal=Decimal("400000.00"),
        subsidised_principal=Decimal("300000.00"),
        leveraged_amount=Decimal("100000.00"),
    )
    LoanFactory(
        application__program=program,
        application__unit=unit,
        principal=Decimal("100000.00"),
        disbursed_on=date(2020, 9, 1),
        maturity_on=date(2021, 9, 1),
    )
    rows = {r.unit: r for r in quota_table(program=program)}
    assert rows[unit].completed == Decimal("400000.00")
    assert rows[unit].loans == 2
    assert rows[other_unit].completed == Decimal("0")
    assert rows[unit].completion_rate == Decimal("400000") / Decimal("2900000") * 100
    as_of = {r.unit: r for r in quota_table(program=program, as_of=date(2020, 8, 31))}
    assert as_of[unit].completed == Decimal("300000.00")


def test_quota_table_query_count_does_not_grow_with_units(
    program, django_assert_num_queries, quotas
):
    with django_assert_num_queries(4):
        quota_table(program=program)
    for _ in range(5):
        QuotaFactory(program=program)
    with django_assert_num_queries(4):
        assert len(quota_table(program=program)) == 7
