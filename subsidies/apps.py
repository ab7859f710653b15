from django.apps import AppConfig
from django.db.models.signals import post_migrate

# The daily scan runs at 01:30 Asia/Shanghai; the row is created once and stays editable in
# the admin (django-celery-beat keeps schedules in the database).
SCAN_TASK = "subsidies.scan_due_claims"
SCAN_SCHEDULE_NAME = "每日生成到期贴息申请"


def _register_daily_scan(sender, using="default", **kwargs):
    from django.conf import settings
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    if PeriodicTask.objects.using(using).filter(name=SCAN_SCHEDULE_NAME).exists():
        return
    schedule, _ = CrontabSchedule.objects.using(using).get_or_create(
        minute="30",
        hour="1",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.using(using).create(
        name=SCAN_SCHEDULE_NAME, task=SCAN_TASK, crontab=schedule
    )


class SubsidiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subsidies"
    verbose_name = "贴息补助"

    def ready(self):
        post_migrate.connect(_register_daily_scan, sender=self)
