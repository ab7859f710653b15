"""The daily digest e-mail: one mail per user with reminders and an address, none otherwise."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.choices import Role
from loans.choices import ApplicationStatus
from reports.digest import send_daily_digest
from reports.tasks import send_daily_digest as send_daily_digest_task
from tests.factories import ApplicationFactory, make_user

pytestmark = pytest.mark.django_db

# Mid-month, so the 附件3 monthly-report reminder (due on the 2nd) stays out of the way.
TODAY = date(2020, 7, 15)


@pytest.fixture
def overdue_application(program, unit):
    return ApplicationFactory(
        program=program,
        unit=unit,
        status=ApplicationStatus.SUBMITTED,
        status_changed_at=timezone.now() - timedelta(days=program.max_days_per_stage + 5),
    )


@pytest.fixture
def clerk(unit):
    return make_user(
        Role.COUNTY_STAFF, unit=unit, username="clerk", email="clerk@example.org", first_name="李"
    )


def test_county_clerk_with_an_overdue_application_gets_one_mail(
    mailoutbox, clerk, overdue_application
):
    result = send_daily_digest(today=TODAY)
    assert result.sent == 1
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["clerk@example.org"]
    assert "每日待办提醒" in mail.subject and "2020-07-15" in mail.subject
    assert "1件申请在当前环节停留超过项目规定天数" in mail.body
    assert "/applications/?overdue=1" in mail.body
    assert "修水县" in mail.body


def test_users_without_reminders_or_without_address_get_nothing(
    mailoutbox, other_unit, overdue_application, unit
):
    make_user(Role.COUNTY_STAFF, unit=other_unit, username="quiet", email="quiet@example.org")
    make_user(Role.MANAGER, username="boss", email="boss@example.org")
    make_user(Role.COUNTY_STAFF, unit=unit, username="noaddress", email="")
    result = send_daily_digest(today=TODAY)
    assert mailoutbox == []
    assert result.sent == 0 and result.without_reminders == 2


def test_inactive_users_get_nothing(mailoutbox, clerk, overdue_application):
    clerk.is_active = False
    clerk.save()
    send_daily_digest(today=TODAY)
    assert mailoutbox == []


def test_the_monthly_report_reminder_is_mailed_on_the_first(mailoutbox, clerk):
    send_daily_digest(today=date(2020, 8, 1))
    assert len(mailoutbox) == 1
    assert "附件3" in mailoutbox[0].body


def test_celery_task_and_command_send_the_same_digest(mailoutbox, clerk, overdue_application):
    assert send_daily_digest_task("2020-07-15") == {
        "sent": 1,
        "without_reminders": 0,
        "failed": 0,
    }
    call_command("send_daily_digest", "--date", "2020-07-15")
    assert len(mailoutbox) == 2
    assert mailoutbox[0].body == mailoutbox[1].body
