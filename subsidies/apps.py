from django.apps import AppConfig


class SubsidiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subsidies"
    verbose_name = "贴息补助"

    def ready(self):
        from subsidies import export_jobs  # noqa: F401  (registers the ledger export)


# The daily claim scan's entry in settings.CELERY_BEAT_SCHEDULE (the PeriodicTask's name).
SCAN_SCHEDULE_NAME = "每日生成到期贴息申请"
