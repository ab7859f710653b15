from django.apps import AppConfig


class LoansConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "loans"
    verbose_name = "贷款业务"

    def ready(self):
        from loans import export_jobs  # noqa: F401  (registers the loan export job)
