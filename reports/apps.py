from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_schedules(sender, using="default", **kwargs):
    from gonghui.celery import install_schedules

    install_schedules(using=using)


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"
    verbose_name = "统计报表"

    def ready(self):
        from reports import export_kinds  # noqa: F401  (registers the report exports)

        # Every beat schedule into django-celery-beat's tables, after each migrate.
        post_migrate.connect(_install_schedules, sender=self)
