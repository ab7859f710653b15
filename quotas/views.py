"""Portal pages of quotas: task, reallocations and completion per unit; city staff 调剂.

County staff see their own unit's row only; the rows are cut with ``restrict`` on Unit, so
the scope rule stays in ``accounts.scoping``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView, View

from accounts.choices import Role
from accounts.permissions import PortalView
from accounts.scoping import restrict
from gonghui.errors import DomainError
from gonghui.money import HUNDRED, ZERO
from loans.models import Program, Unit
from quotas.forms import ProgramSelectForm, ReallocationForm
from quotas.models import Reallocation
from quotas.selectors import QuotaRow, quota_table
from quotas.services import record_reallocation

QUOTA_ROLES = frozenset({Role.COUNTY_STAFF, Role.CITY_STAFF, Role.MANAGER})
REALLOCATION_ROLES = frozenset({Role.CITY_STAFF})


@dataclass(frozen=True)
class QuotaLine:
    """A quota row as the page draws it, with its progress bar."""

    row: QuotaRow
    rate: Decimal | None
    bar_class: str  # "low" below the program's floor, "high" at or above its cap
    bar_width: str  # percent of the bar filled, at most 100

    @classmethod
    def of(cls, row: QuotaRow, program: Program) -> QuotaLine:
        rate = row.completion_rate
        if rate is None:
            return cls(row, None, "low", "0")
        bar_class = ""
        if rate < program.floor_ratio:
            bar_class = "low"
        elif rate >= program.cap_ratio:
            bar_class = "high"
        width = min(rate, HUNDRED).quantize(Decimal("0.1"))
        return cls(row, rate, bar_class, f"{width:f}")


def _totals(rows: list[QuotaRow]) -> QuotaRow:
    return QuotaRow(
        unit=None,
        task=sum((r.task for r in rows), start=ZERO),
        given=sum((r.given for r in rows), start=ZERO),
        received=sum((r.received for r in rows), start=ZERO),
        completed=sum((r.completed for r in rows), start=ZERO),
        loans=sum(r.loans for r in rows),
    )


def quota_page_context(request, *, role: str, program: Program | None, form=None) -> dict:
    """Everything the quota page shows for one program, cut to the user's scope."""
    user = request.user
    may_reallocate = role in REALLOCATION_ROLES
    context = {
        "page_title": "任务完成情况",
        "program": program,
        "select_form": ProgramSelectForm(initial={"program": program}),
        "may_reallocate": may_reallocate,
    }
    if program is None:
        return context
    visible_units = restrict(Unit.objects.all(), user)
    visible_ids = set(visible_units.values_list("pk", flat=True))
    rows = [row for row in quota_table(program=program) if row.unit.pk in visible_ids]
    lines = [QuotaLine.of(row, program) for row in rows]
    reallocations = (
        restrict(Reallocation.objects.filter(program=program), user)
        .filter(Q(from_unit__in=visible_units) | Q(to_unit__in=visible_units))
        .select_related("from_unit", "to_unit", "created_by")
        .order_by("-reallocated_on", "-id")
    )
    if may_reallocate and form is None:
        form = ReallocationForm(
            program=program, initial={"reallocated_on": timezone.localdate().isoformat()}
        )
    context.update(
        lines=lines,
        total=QuotaLine.of(_totals(rows), program) if len(rows) > 1 else None,
        reallocations=list(reallocations),
        form=form,
    )
    return context


class QuotaListView(PortalView, TemplateView):
    """Per unit: task, 调出/调入, adjusted task, completion and its progress bar."""

    allowed_roles = QUOTA_ROLES
    template_name = "quotas/quota_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        select = ProgramSelectForm(self.request.GET if "program" in self.request.GET else None)
        program = select.selected(restrict(Unit.objects.all(), self.request.user))
        context.update(quota_page_context(self.request, role=self.role, program=program))
        return context


class ReallocationCreateView(PortalView, View):
    """City staff move task amount between two units; errors go back on the page's form."""

    allowed_roles = REALLOCATION_ROLES
    http_method_names = ["post"]

    def post(self, request):
        select = ProgramSelectForm(request.POST)
        program = select.cleaned_data["program"] if select.is_valid() else None
        if program is None:
            messages.error(request, "请选择贷款项目")
            return redirect("quotas:quota-list")
        form = ReallocationForm(request.POST, program=program)
        if form.is_valid():
            data = form.cleaned_data
            try:
                reallocation = record_reallocation(
                    program=program,
                    from_unit=data["from_unit"],
                    to_unit=data["to_unit"],
                    amount=data["amount"],
                    reallocated_on=data["reallocated_on"],
                    reason=data["reason"],
                    user=request.user,
                )
            except DomainError as error:
                form.add_service_errors(error.field_errors, error.message)
            else:
                messages.success(
                    request,
                    f"已调剂任务：{reallocation.from_unit} → {reallocation.to_unit} "
                    f"{reallocation.amount}元",
                )
                return redirect(f"{reverse('quotas:quota-list')}?program={program.pk}")
        context = quota_page_context(request, role=self.role, program=program, form=form)
        return render(request, "quotas/quota_list.html", context)
