"""Portal pages of loans: list, detail, the quarterly follow-up form and follow-ups due.

Every role sees the loans of its own scope (bank officers read only); the follow-up pages
are for union staff. Reads start from ``loans.selectors`` so each page costs the same
number of queries whatever its length.
"""

from __future__ import annotations

from functools import cached_property

from django import forms
from django.contrib import messages
from django.db.models import Count, OuterRef, Prefetch, Subquery, Sum
from django.shortcuts import redirect
from django.utils import timezone
from django.views.generic import FormView, TemplateView

from accounts.audit import loan_timeline
from accounts.permissions import UNION_STAFF, PortalView, scoped_get_or_404
from accounts.scoping import restrict
from gonghui.errors import DomainError
from gonghui.money import ZERO
from loans.choices import OperatingStatus
from loans.exports import LOAN_SORTS
from loans.filters import LoanFilter
from loans.models import FollowUp, Loan, Repayment, Unit
from loans.selectors import follow_ups_due, loan_list, loan_table_rows, quarter_of
from loans.services.loans import record_follow_up
from loans.views.applications import PAGE_SIZES, paginate
from loans.views.search import ResidentIdSearchMixin


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


class LoanListView(PortalView, ResidentIdSearchMixin, TemplateView):
    """Every role's loans within its scope, filtered, searched, sorted and paginated."""

    template_name = "loans/loan_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        filterset = LoanFilter(self.request.GET, queryset=loan_table_rows(user))
        # Offer only the units the user may see (one unit for county staff).
        filterset.form.fields["unit"].queryset = restrict(Unit.objects.all(), user)
        sort = self.request.GET.get("sort", "-disbursed_on")
        if sort not in LOAN_SORTS:
            sort = "-disbursed_on"
        queryset = filterset.qs.order_by(*LOAN_SORTS[sort])
        page, size = paginate(self.request, queryset)
        totals = filterset.qs.order_by().aggregate(
            principal=Sum("principal"), subsidised=Sum("subsidised_principal")
        )
        context.update(
            page_title="贷款管理",
            filter=filterset,
            page=page,
            page_size=size,
            page_sizes=PAGE_SIZES,
            sort=sort,
            query=_query_without_page(self.request),
            totals=totals,
            is_union_staff=self.role in UNION_STAFF,
        )
        return context


def _loan_detail_queryset(user):
    return (
        loan_list(user)
        .select_related("renewal_of", "renewed_by", "created_by")
        .prefetch_related(
            Prefetch("repayments", queryset=Repayment.objects.order_by("repaid_on", "id")),
            Prefetch(
                "follow_ups",
                queryset=FollowUp.objects.select_related("recorded_by").order_by(
                    "-year", "-quarter"
                ),
            ),
        )
    )


def _renewed_by(loan: Loan) -> Loan | None:
    try:
        return loan.renewed_by
    except Loan.DoesNotExist:
        return None


class LoanDetailView(PortalView, TemplateView):
    """A loan's facts, repayments, quarterly follow-ups and renewal links."""

    template_name = "loans/loan_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        loan = scoped_get_or_404(_loan_detail_queryset(user), user, pk=self.kwargs["pk"])
        repayments = list(loan.repayments.all())
        follow_ups = list(loan.follow_ups.all())
        repaid = sum((r.principal_amount for r in repayments), start=ZERO)
        year, quarter = quarter_of(timezone.localdate())
        context.update(
            page_title=f"贷款 {loan.contract_number}",
            loan=loan,
            application=loan.application,
            repayments=repayments,
            repaid_principal=repaid,
            repaid_interest=sum((r.interest_amount for r in repayments), start=ZERO),
            outstanding=loan.principal - repaid,
            follow_ups=follow_ups,
            current_year=year,
            current_quarter=quarter,
            followed_this_quarter=any(f.year == year and f.quarter == quarter for f in follow_ups),
            renewed_by=_renewed_by(loan),
            can_follow_up=self.role in UNION_STAFF,
            history=loan_timeline(loan),
        )
        return context


# --- quarterly follow-up ---------------------------------------------------------------

QUARTER_CHOICES = [(1, "第一季度"), (2, "第二季度"), (3, "第三季度"), (4, "第四季度")]


class FollowUpForm(forms.Form):
    """Browser fields of the follow-up (贷后跟踪); ``record_follow_up`` applies every rule
    and its field messages are attached back to these fields."""

    year = forms.CharField(label="年度", max_length=4, widget=forms.NumberInput())
    quarter = forms.TypedChoiceField(label="季度", choices=QUARTER_CHOICES, coerce=int)
    visited_on = forms.CharField(label="跟踪日期", widget=forms.DateInput(attrs={"type": "date"}))
    operating_status = forms.ChoiceField(label="经营状况", choices=OperatingStatus.choices)
    jobs = forms.CharField(label="带动就业人数", max_length=9, widget=forms.NumberInput())
    insured_employees = forms.CharField(
        label="缴纳社保职工人数",
        max_length=9,
        widget=forms.NumberInput(),
        help_text="不能超过带动就业人数",
    )
    note = forms.CharField(
        label="跟踪情况", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def add_service_errors(self, error: DomainError) -> None:
        """Put a DomainError's messages on the fields they are about."""
        if not error.field_errors:
            self.add_error(None, error.message)
            return
        for field, texts in error.field_errors.items():
            for text in texts:
                self.add_error(field if field in self.fields else None, text)


class FollowUpCreateView(PortalView, FormView):
    """Record (or correct) one quarter's follow-up of a loan; union staff only."""

    allowed_roles = UNION_STAFF
    template_name = "loans/follow_up_form.html"
    form_class = FollowUpForm

    @cached_property
    def loan(self) -> Loan:
        # Looked up after PortalView's role check, so a bank officer gets 403, not 404.
        user = self.request.user
        return scoped_get_or_404(_loan_detail_queryset(user), user, pk=self.kwargs["pk"])

    def get_initial(self):
        today = timezone.localdate()
        year, quarter = quarter_of(today)
        follow_ups = list(self.loan.follow_ups.all())  # newest first
        current = next((f for f in follow_ups if (f.year, f.quarter) == (year, quarter)), None)
        if current is not None:  # correcting this quarter's record
            return {
                "year": year,
                "quarter": quarter,
                "visited_on": current.visited_on.isoformat(),
                "operating_status": current.operating_status,
                "jobs": current.jobs,
                "insured_employees": current.insured_employees,
                "note": current.note,
            }
        last = follow_ups[0] if follow_ups else None
        return {
            "year": year,
            "quarter": quarter,
            "visited_on": today.isoformat(),
            "operating_status": last.operating_status if last else OperatingStatus.NORMAL,
            "jobs": last.jobs if last else self.loan.jobs_created,
            "insured_employees": last.insured_employees if last else "",
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(page_title=f"贷后跟踪 · {self.loan.contract_number}", loan=self.loan)
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            follow_up = record_follow_up(
                loan=self.loan,
                user=self.request.user,
                year=data["year"],
                quarter=data["quarter"],
                visited_on=data["visited_on"],
                operating_status=data["operating_status"],
                jobs=data["jobs"],
                insured_employees=data["insured_employees"],
                note=data["note"],
            )
        except DomainError as error:
            form.add_service_errors(error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            f"已保存{follow_up.year}年第{follow_up.quarter}季度贷后跟踪记录",
        )
        return redirect("loans:loan-detail", pk=self.loan.pk)


# --- follow-ups due this quarter --------------------------------------------------------

DUE_SORTS = {
    "unit": ("unit__sort_order", "unit__code", "disbursed_on", "id"),
    "disbursed_on": ("disbursed_on", "id"),
    "-disbursed_on": ("-disbursed_on", "-id"),
    "maturity_on": ("maturity_on", "id"),
}


class FollowUpsDueView(PortalView, TemplateView):
    """Active loans in scope with no follow-up recorded this quarter, by unit."""

    allowed_roles = UNION_STAFF
    template_name = "loans/follow_ups_due.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        today = timezone.localdate()
        year, quarter = quarter_of(today)
        due = follow_ups_due(self.request.user, today=today)
        unit_counts = list(
            due.order_by()
            .values("unit", "unit__name", "unit__sort_order", "unit__code")
            .annotate(count=Count("id"))
            .order_by("unit__sort_order", "unit__code")
        )
        unit_id = self.request.GET.get("unit", "")
        if unit_id.isdigit():
            due = due.filter(unit_id=int(unit_id))
        else:
            unit_id = ""
        sort = self.request.GET.get("sort", "unit")
        if sort not in DUE_SORTS:
            sort = "unit"
        last_visit = (
            FollowUp.objects.filter(loan=OuterRef("pk"))
            .order_by("-year", "-quarter")
            .values("visited_on")[:1]
        )
        queryset = due.annotate(last_visited_on=Subquery(last_visit)).order_by(*DUE_SORTS[sort])
        page, size = paginate(self.request, queryset)
        context.update(
            page_title="贷后跟踪",
            year=year,
            quarter=quarter,
            unit_counts=unit_counts,
            total_due=sum(row["count"] for row in unit_counts),
            selected_unit=int(unit_id) if unit_id else None,
            sort=sort,
            page=page,
            page_size=size,
            page_sizes=PAGE_SIZES,
            query=_query_without_page(self.request),
            group_by_unit=sort == "unit",
        )
        return context
