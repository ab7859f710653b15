"""Roles: the Django groups that carry each role's model permissions, and role assignment."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from accounts.choices import Role
from accounts.models import Profile
from gonghui.errors import DomainError

_ALL_APPS = ("loans", "quotas", "subsidies", "reports")
_READ_ONLY = ("view",)
_EDIT = ("view", "add", "change")

# Model permissions per role: {app_label: {model_name or "*": actions}}. They open the admin
# pages only: county staff, bank officers and managers read there, and their operational
# writes go through the services (portal, bank API), which check the role themselves. City
# staff configure programs, units, banks, quotas and correct applicants and enterprises
# (the admin keeps operational records read-only for them too). Deletion is granted to
# nobody: financial rows are protected and corrections go through the services.
ROLE_PERMISSIONS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    Role.COUNTY_STAFF: {
        **{app: {"*": _READ_ONLY} for app in ("loans", "quotas", "reports")},
        "subsidies": {"subsidyclaim": _READ_ONLY},
    },
    Role.CITY_STAFF: {app: {"*": _EDIT} for app in _ALL_APPS},
    Role.BANK_OFFICER: {
        "loans": {"*": _READ_ONLY},
        "quotas": {"quota": _READ_ONLY},
        "subsidies": {"subsidyclaim": _READ_ONLY},
    },
    Role.MANAGER: {app: {"*": _READ_ONLY} for app in _ALL_APPS},
}


def _permissions_for(role: str) -> list[Permission]:
    wanted = ROLE_PERMISSIONS[role]
    permissions = Permission.objects.filter(content_type__app_label__in=wanted).select_related(
        "content_type"
    )
    chosen = []
    for permission in permissions:
        by_model = wanted[permission.content_type.app_label]
        actions = by_model.get(permission.content_type.model, by_model.get("*", ()))
        if permission.codename.split("_", 1)[0] in actions:
            chosen.append(permission)
    return chosen


@transaction.atomic
def ensure_role_groups() -> dict[str, Group]:
    """Create or refresh one group per role with exactly its permissions (safe to rerun)."""
    groups = {}
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.label)
        group.permissions.set(_permissions_for(role))
        groups[role.value] = group
    return groups


def sync_role_group(profile: Profile) -> None:
    """Put the profile's user in its role's group and in no other role group.

    Runs whenever a profile is saved (admin, service or import), so the group that carries
    the permissions never disagrees with the role that carries the scope.
    """
    role_groups = {g.name: g for g in Group.objects.filter(name__in=Role.labels)}
    wanted = Role(profile.role).label
    if wanted not in role_groups:
        role_groups = {g.name: g for g in ensure_role_groups().values()}
    user = profile.user
    user.groups.remove(*[g for name, g in role_groups.items() if name != wanted])
    user.groups.add(role_groups[wanted])


@transaction.atomic
def assign_role(*, user, role: str, unit=None, bank=None) -> Profile:
    """Give a user a role (and its unit or bank), and put them in the role's group only."""
    if role not in Role.values:
        raise DomainError.for_field("role", "role_invalid", "角色无效")
    if role == Role.COUNTY_STAFF and (unit is None or bank is not None):
        raise DomainError.for_field("unit", "unit_required", "县区总工会经办人须绑定一个单位")
    if role == Role.BANK_OFFICER and (bank is None or unit is not None):
        raise DomainError.for_field("bank", "bank_required", "银行信贷员须绑定一家合作银行")
    if role in (Role.CITY_STAFF, Role.MANAGER) and (unit is not None or bank is not None):
        raise DomainError.for_field("role", "role_unscoped", "市总工会经办人和领导不绑定单位或银行")
    wanted = (role, unit.pk if unit else None, bank.pk if bank else None)
    profile = Profile.objects.select_for_update().filter(user=user).first()
    if profile is not None and (profile.role, profile.unit_id, profile.bank_id) == wanted:
        # Nothing changes: no save, so the audit trail gets no empty entry (a seed_demo rerun).
        sync_role_group(profile)
    else:
        profile, _ = Profile.objects.update_or_create(
            user=user, defaults={"role": role, "unit": unit, "bank": bank}
        )
    if not user.is_staff:
        user.is_staff = True  # roles use the Chinese admin until the portal pages land
        user.save(update_fields=["is_staff"])
    return profile
