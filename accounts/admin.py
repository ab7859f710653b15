"""Django admin of user roles (用户角色), also editable inline on the user page."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.audit import AUDITED
from accounts.choices import Role
from accounts.models import Profile
from accounts.scoping import role_of

User = get_user_model()


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "unit", "bank", "phone")
    list_select_related = ("user", "unit", "bank")
    list_filter = ("role", "unit", "bank")
    search_fields = ("user__username", "user__first_name", "user__last_name", "phone")
    autocomplete_fields = ("user",)


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    max_num = 1
    fields = ("role", "unit", "bank", "phone")
    verbose_name = "用户角色"
    verbose_name_plural = "用户角色"


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin with the portal role, unit and bank on the same page."""

    inlines = (ProfileInline,)
    list_display = (*DjangoUserAdmin.list_display, "role", "scope")
    list_select_related = ("profile__unit", "profile__bank")
    list_filter = (*DjangoUserAdmin.list_filter, "profile__role")

    def get_inlines(self, request, obj):
        # The role is set on the second step, once the user exists.
        return self.inlines if obj is not None else ()

    @admin.display(description="角色", ordering="profile__role")
    def role(self, obj) -> str:
        profile = _profile_or_none(obj)
        return profile.get_role_display() if profile else "—"

    @admin.display(description="所属单位/银行")
    def scope(self, obj) -> str:
        profile = _profile_or_none(obj)
        scope = (profile.unit or profile.bank) if profile else None
        return str(scope) if scope else "—"


def _profile_or_none(user) -> Profile | None:
    """The user's profile, or ``None``; with ``select_related`` this never queries."""
    try:
        return user.profile
    except Profile.DoesNotExist:
        return None


class HistoricalRecordAdmin(admin.ModelAdmin):
    """A historical table in the admin: readable by city staff and superusers, never
    writable by anyone (the audit trail is not editable through the application)."""

    list_display = ("history_date", "history_type", "history_user", "id", "history_change_reason")
    list_filter = ("history_type",)
    list_select_related = ("history_user",)
    search_fields = ("=id", "history_user__username", "history_change_reason")
    date_hierarchy = "history_date"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        user = request.user
        return user.is_active and (user.is_superuser or role_of(user) == Role.CITY_STAFF)

    def has_module_permission(self, request):
        return self.has_view_permission(request)


for _model, _url, _link in AUDITED.values():
    admin.site.register(_model.history.model, HistoricalRecordAdmin)
