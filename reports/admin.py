from django.contrib import admin

from accounts.admin_scoping import ReadOnlyAdminMixin, ScopedModelAdmin
from reports.models import MonthlySnapshot, MonthlySnapshotRow


class MonthlySnapshotRowInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = MonthlySnapshotRow
    fields = (
        "position",
        "unit",
        "task",
        "loans",
        "amount",
        "renewal_amount",
        "leveraged_amount",
        "new_union_members",
        "jobs_created",
        "completion_rate",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit")


@admin.register(MonthlySnapshot)
class MonthlySnapshotAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    list_display = ("program", "month", "as_of", "built_at", "built_by")
    list_select_related = ("program", "built_by")
    list_filter = ("program",)
    inlines = [MonthlySnapshotRowInline]
