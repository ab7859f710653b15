from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


def _create_role_groups(sender, **kwargs):
    from accounts.services import ensure_role_groups

    ensure_role_groups()


def _sync_role_group(sender, instance, **kwargs):
    from accounts.services import sync_role_group

    sync_role_group(instance)


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "用户与角色"

    def ready(self):
        from accounts.models import Profile
        from gonghui import spreadsheets  # noqa: F401  (registers the defusedxml system check)

        post_migrate.connect(_create_role_groups, sender=self)
        post_save.connect(_sync_role_group, sender=Profile, dispatch_uid="accounts.sync_role_group")
