"""Every beat schedule is in django-celery-beat's tables after migrate, in Asia/Shanghai."""

import pytest
from django.conf import settings
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from gonghui.celery import app, install_schedules

pytestmark = pytest.mark.django_db

EXPECTED = {
    # name: (task, minute, hour, day_of_month)
    "build-monthly-snapshots": ("reports.tasks.build_monthly_snapshots", "0", "1", "2"),
    "每日生成到期贴息申请": ("subsidies.scan_due_claims", "30", "1", "*"),
    "send-daily-digest": ("reports.tasks.send_daily_digest", "30", "7", "*"),
    "redeliver-pending-webhooks": ("loans.tasks.redeliver_pending", "*/5", "*", "*"),
    "sweep-outbox": ("reports.tasks.sweep_outbox", "*", "*", "*"),
    "delete-old-exports": ("reports.tasks.delete_old_exports", "15", "3", "*"),
    "delete-old-imports": ("loans.tasks.delete_old_imports", "20", "3", "*"),
    "record-worker-heartbeat": ("gonghui.health.record_heartbeat", "*", "*", "*"),
}


def _rows():
    return {
        task.name: (
            task.task,
            task.crontab.minute,
            task.crontab.hour,
            task.crontab.day_of_month,
            task.crontab.month_of_year,
            task.crontab.day_of_week,
            str(task.crontab.timezone),
            task.enabled,
        )
        for task in PeriodicTask.objects.select_related("crontab").exclude(
            name="celery.backend_cleanup"
        )
    }


def test_after_migrate_every_schedule_is_a_periodic_task_in_shanghai_time():
    rows = _rows()
    assert set(rows) == set(EXPECTED) == set(settings.CELERY_BEAT_SCHEDULE)
    for name, (task, minute, hour, day) in EXPECTED.items():
        assert rows[name] == (task, minute, hour, day, "*", "*", "Asia/Shanghai", True), name
        app.loader.import_default_modules()
        assert task in app.tasks


def test_reinstalling_changes_nothing_and_keeps_the_admins_switch():
    PeriodicTask.objects.filter(name="send-daily-digest").update(enabled=False)
    before = _rows()
    crontabs = CrontabSchedule.objects.count()

    install_schedules()
    install_schedules()

    assert _rows() == before
    assert CrontabSchedule.objects.count() == crontabs
    assert PeriodicTask.objects.filter(name="每日生成到期贴息申请").count() == 1


def test_a_schedule_changed_in_code_is_applied_on_the_next_migrate(settings):
    schedule = dict(settings.CELERY_BEAT_SCHEDULE)
    from celery.schedules import crontab

    schedule["build-monthly-snapshots"] = {
        "task": "reports.tasks.build_monthly_snapshots",
        "schedule": crontab(hour=2, minute=0, day_of_month=3),
    }
    settings.CELERY_BEAT_SCHEDULE = schedule
    install_schedules()
    task = PeriodicTask.objects.get(name="build-monthly-snapshots")
    assert (task.crontab.hour, task.crontab.day_of_month) == ("2", "3")
