"""Django admin of the county quotas (任务分配) and their reallocations (任务调剂).

Quotas are configuration, edited by city staff; reallocations are read-only here because
only ``quotas.services`` checks their deadline and the amount a unit can give.
"""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_scoping import ReadOnlyAdminMixin, ScopedModelAdmin
from loans.admin import ValidatedImportExportMixin
from quotas.models import Quota, Reallocation
from quotas.resources import QuotaResource


@admin.register(Quota)
class QuotaAdmin(ValidatedImportExportMixin, ScopedModelAdmin):
    resource_classes = [QuotaResource]
    portal_import = "quotas"

    list_display = ("program", "unit", "task_amount")
    list_select_related = ("program", "unit")
    list_filter = ("program", "unit__city")
    search_fields = ("unit__name", "unit__code", "program__name")
    autocomplete_fields = ("program", "unit")


@admin.register(Reallocation)
class ReallocationAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    list_display = ("program", "from_unit", "to_unit", "amount", "reallocated_on", "created_by")
    list_select_related = ("program", "from_unit", "to_unit", "created_by")
    list_filter = ("program",)
    search_fields = ("from_unit__name", "to_unit__name", "reason")
    date_hierarchy = "reallocated_on"
