"""The admin's share of the one scoping rule, and the read-only admin of operational records.

Every changelist, change page, foreign-key choice and saved row of a :class:`ScopedModelAdmin`
is limited to the user's unit or bank. Raw-id and autocomplete lookups need nothing more:
they open the related model's changelist or search its admin's ``get_queryset``, both
restricted, and a posted id outside the choices fails form validation.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied

from accounts.scoping import in_scope, restrict


class ScopedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose rows are limited to the user's unit or bank (404 outside it)."""

    def get_queryset(self, request):
        return restrict(super().get_queryset(request), request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            queryset = self.get_field_queryset(kwargs.get("using"), db_field, request)
            if queryset is None:
                queryset = db_field.remote_field.model._default_manager.using(kwargs.get("using"))
            kwargs["queryset"] = restrict(queryset, request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # Checked on the row as it will be saved, so nobody moves a row out of their scope.
        if not in_scope(request.user, obj):
            raise PermissionDenied
        super().save_model(request, obj, form, change)


class ReadOnlyAdminMixin:
    """View only, for everyone: operational records are written by the services alone.

    Applications, opinions, checks, loans, repayments, follow-ups and reallocations go
    through ``loans.services`` and ``quotas.services`` (via the review portal and the bank
    API), which check the workflow, the caps and the amounts that a raw form would skip.
    """

    def get_readonly_fields(self, request, obj=None):
        # Every declared field: an inline's formset builds its form before it knows it is
        # view-only, and non-editable fields (auto timestamps) cannot be form fields.
        return self.fields or super().get_readonly_fields(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
