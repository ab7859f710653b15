"""Every scheduled task run twice leaves the same stored result (and mails nobody twice)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.choices import Role
from loans.choices import ApplicationStatus
from reports.models import DigestDelivery, MonthlySnapshot
from reports.tasks import (
    build_monthly_snapshots,
    delete_old_exports,
    send_daily_digest,
    sweep_outbox,
)
from tests.factories import ApplicationFactory, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(unit):
    return make_user(Role.COUNTY_STAFF, unit=unit, username="clerk", email="clerk@example.org")


@pytest.fixture
def overdue_application(program, unit):
    return ApplicationFactory(
        program=program,
        unit=unit,
        status=ApplicationStatus.SUBMITTED,
        status_changed_at=timezone.now() - timedelta(days=program.max_days_per_stage + 5),
    )


def test_the_scheduled_digest_mails_each_user_once_a_day(mailoutbox, clerk, overdue_application):
    first = send_daily_digest.apply(args=["2020-07-15"]).get()
    second = send_daily_digest.apply(args=["2020-07-15"]).get()

    assert first["sent"] == 1 and second["sent"] == 0
    assert len(mailoutbox) == 1
    assert list(DigestDelivery.objects.values_list("user__username", "day")) == [
        ("clerk", date(2020, 7, 15))
    ]
    assert send_daily_digest.apply(args=["2020-07-16"]).get()["sent"] == 1  # the next day


def test_snapshots_sweep_and_clean_up_twice_change_nothing_more(program):
    program.is_active = True
    program.save()
    build_monthly_snapshots.apply(args=["2020-08-02"]).get()
    first = list(MonthlySnapshot.objects.values_list("program", "month", "rows__position"))
    build_monthly_snapshots.apply(args=["2020-08-02"]).get()
    assert list(MonthlySnapshot.objects.values_list("program", "month", "rows__position")) == (
        first
    )
    assert [sweep_outbox.apply().get(), sweep_outbox.apply().get()] == [0, 0]
    assert [delete_old_exports.apply().get(), delete_old_exports.apply().get()] == [0, 0]


def test_every_scheduled_task_retries_database_errors_with_back_off():
    from django.db import OperationalError

    from subsidies.tasks import scan_due_claims

    for task in (build_monthly_snapshots, send_daily_digest, sweep_outbox, scan_due_claims):
        assert OperationalError in task.autoretry_for, task.name
        assert task.retry_backoff and task.max_retries == 5, task.name
