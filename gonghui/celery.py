"""The Celery application: configuration comes from Django settings (``CELERY_*``).

Production runs a worker (``celery -A gonghui worker``) and one beat (``celery -A gonghui
beat``) on Redis. Schedules live in one place, ``settings.CELERY_BEAT_SCHEDULE``;
:func:`install_schedules` writes them into django-celery-beat's tables after every
``migrate`` (visible in the admin before beat first runs), with crontabs in Asia/Shanghai.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gonghui.settings")

app = Celery("gonghui")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The worker heartbeat that /healthz reads (gonghui is a package, not an installed app).
app.autodiscover_tasks(["gonghui"], related_name="health")


def install_schedules(using: str = "default") -> list[str]:
    """Create or update a PeriodicTask (and its crontab) for every scheduled entry.

    Idempotent: a second run changes nothing. Task, crontab and arguments follow the code;
    ``enabled`` and the run history stay as the admin left them. Returns the entry names.
    """
    from django.conf import settings
    from django.db import transaction
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    zone = settings.CELERY_TIMEZONE
    names = []
    with transaction.atomic(using=using):
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            cron = entry["schedule"]
            crontab, _ = CrontabSchedule.objects.using(using).get_or_create(
                minute=cron._orig_minute,
                hour=cron._orig_hour,
                day_of_week=cron._orig_day_of_week,
                day_of_month=cron._orig_day_of_month,
                month_of_year=cron._orig_month_of_year,
                timezone=zone,
            )
            task, created = PeriodicTask.objects.using(using).get_or_create(
                name=name, defaults={"task": entry["task"], "crontab": crontab}
            )
            if not created and (task.task != entry["task"] or task.crontab_id != crontab.pk):
                task.task = entry["task"]
                task.crontab = crontab
                task.interval = task.solar = task.clocked = None
                task.save()
            names.append(name)
    return names
