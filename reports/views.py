"""The managers' dashboard: charts and tables of the lending figures (统计看板)."""

from __future__ import annotations

from django.views.generic import TemplateView

from accounts.choices import Role
from accounts.permissions import PortalView
from reports.selectors import dashboard, default_program, program_choices

ALL_PROGRAMS = "all"


class DashboardView(PortalView, TemplateView):
    """One program's figures (the latest by default) or all programs' by year.

    County staff see their own unit's figures (the selectors scope every query) and start
    on the latest program of their own city.
    """

    template_name = "reports/dashboard.html"
    allowed_roles = frozenset({Role.MANAGER, Role.CITY_STAFF, Role.COUNTY_STAFF})

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        programs = program_choices(user)
        wanted = self.request.GET.get("program", "")
        if wanted == ALL_PROGRAMS:
            program = None
        else:
            # No choice, or an unknown code, shows the default: the latest program.
            program = next(
                (p for p in programs if p.code == wanted), default_program(user, programs)
            )
        figures = dashboard(user, program)
        context.update(
            page_title="统计看板",
            programs=programs,
            program=program,
            all_programs=ALL_PROGRAMS,
            figures=figures,
            chart_data=figures.chart_data(),
            is_county=self.role == Role.COUNTY_STAFF,
        )
        return context
