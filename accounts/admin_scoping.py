"""The admin's share of the one scoping rule: every changelist and change page is restricted."""

from django.contrib import admin

from accounts.scoping import restrict


class ScopedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose rows are limited to the user's unit or bank (404 outside it)."""

    def get_queryset(self, request):
        return restrict(super().get_queryset(request), request.user)
