"""The portal role of each user, bound to a unit or a bank where the role needs one."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.choices import Role
from gonghui.history import audited_history


class Profile(models.Model):
    """A user's role and scope.

    County staff are bound to one unit and bank officers to one bank; city staff and
    managers see every unit. The matching Django group carries the model permissions;
    ``accounts.scoping`` applies the unit and bank scope to every query.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name="用户",
        on_delete=models.CASCADE,
        related_name="profile",
    )
    role = models.CharField("角色", max_length=16, choices=Role.choices)
    unit = models.ForeignKey(
        "loans.Unit",
        verbose_name="所属单位",
        on_delete=models.PROTECT,
        related_name="staff",
        null=True,
        blank=True,
    )
    bank = models.ForeignKey(
        "loans.Bank",
        verbose_name="所属银行",
        on_delete=models.PROTECT,
        related_name="officers",
        null=True,
        blank=True,
    )
    phone = models.CharField("联系电话", max_length=20, blank=True)

    history = audited_history()

    class Meta:
        verbose_name = "用户角色"
        verbose_name_plural = "用户角色"
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=Role.values),
                name="profile_role_valid",
                violation_error_message="角色无效",
            ),
            models.CheckConstraint(
                condition=(
                    Q(role=Role.COUNTY_STAFF, unit__isnull=False, bank__isnull=True)
                    | Q(role=Role.BANK_OFFICER, bank__isnull=False, unit__isnull=True)
                    | Q(
                        role__in=[Role.CITY_STAFF, Role.MANAGER],
                        unit__isnull=True,
                        bank__isnull=True,
                    )
                ),
                name="profile_scope_matches_role",
                violation_error_message="县区经办人须绑定单位，银行信贷员须绑定银行，市总经办人和领导不绑定",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"
