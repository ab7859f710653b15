"""Reads of the subsidy domain that the portal pages, the API and the Excel downloads share.

Each selector owns its joins, so a page or a download costs the same number of queries
whatever the number of rows, and each applies the user's scope through
``accounts.scoping.restrict``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from accounts.scoping import restrict
from gonghui.inputs import FieldErrors, clean_text, parse_count, parse_date
from gonghui.money import ZERO
from loans.choices import LoanType
from loans.models import Loan, Program
from loans.selectors import only_related
from subsidies.choices import ClaimStatus
from subsidies.models import AllocationResult, PaymentBatch, SubsidyClaim
from subsidies.services.allocation import (
    AllocationTable,
    allocate_county_subsidy,
    table_from_result,
)

# Ledger filters naming a row (or its id): filter name → foreign key.
_ID_FILTERS = {"program": "program", "unit": "unit", "bank": "bank", "batch": "batch"}


def _id_of(value, *, field: str) -> int:
    pk = getattr(value, "pk", None)
    if pk is not None:
        return pk
    return parse_count(value, field=field, label="编号")


def claim_ledger(*, user, filters: Mapping | None = None) -> QuerySet[SubsidyClaim]:
    """The ledger (台账): every claim the user may see, with its loan, borrower, bank and
    batch joined, filtered by ``filters``.

    Filters (all optional; blank values are ignored): ``program``, ``unit``, ``bank``,
    ``batch`` (a row or an id), ``status``, ``loan_type``, ``end_from`` / ``end_to`` (the
    subsidised period's last day, ISO dates) and ``q`` (contract number or borrower name).
    Bad filter values raise a DomainError with a message per field.
    """
    queryset = restrict(
        SubsidyClaim.objects.select_related(
            "loan__application__applicant",
            "loan__application__enterprise",
            "program",
            "unit",
            "bank",
            "batch",
        ),
        user,
    )
    filters = {key: value for key, value in (filters or {}).items() if value not in (None, "")}
    errors = FieldErrors()
    lookups = Q()
    for name, path in _ID_FILTERS.items():
        if name in filters:
            pk = errors.attempt(name, lambda n=name: _id_of(filters[n], field=n))
            lookups &= Q(**{f"{path}_id": pk})
    if "status" in filters:
        if filters["status"] not in ClaimStatus.values:
            errors.add("status", "贴息申请状态无效")
        lookups &= Q(status=filters["status"])
    if "loan_type" in filters:
        if filters["loan_type"] not in LoanType.values:
            errors.add("loan_type", "贷款类型无效")
        lookups &= Q(loan_type=filters["loan_type"])
    for name, lookup in (("end_from", "end_on__gte"), ("end_to", "end_on__lte")):
        if name in filters:
            day = errors.attempt(name, lambda n=name: parse_date(filters[n], field=n))
            lookups &= Q(**{lookup: day})
    if "q" in filters:
        text = errors.attempt("q", lambda: clean_text(filters["q"], max_length=100, field="q"))
        if text:
            lookups &= Q(loan__contract_number__icontains=text) | Q(
                loan__application__applicant__name__icontains=text
            )
    errors.raise_if_any("筛选条件有误")
    return queryset.filter(lookups).order_by("-end_on", "-id")


def claim_rows(*, user, filters: Mapping | None = None) -> QuerySet[SubsidyClaim]:
    """The ledger as the bank API lists it: each claim with its loan's contract number and
    no other join (the output shows program, unit, bank and batch by id)."""
    return (
        claim_ledger(user=user, filters=filters)
        .select_related(None)
        .select_related("loan")
        .defer(*only_related("loan", Loan, ("contract_number",)))
    )


@dataclass(frozen=True)
class LedgerTotals:
    """The footer of the ledger: claims and amounts, and what has been paid."""

    count: int
    interest_subsidy: Decimal
    premium_subsidy: Decimal
    amount: Decimal
    paid_amount: Decimal


def ledger_totals(claims: QuerySet[SubsidyClaim]) -> LedgerTotals:
    """Totals of a (filtered) ledger queryset, in one query."""
    totals = claims.order_by().aggregate(
        total_count=Count("id"),
        total_interest=Sum("interest_subsidy"),
        total_premium=Sum("premium_subsidy"),
        total_amount=Sum("amount"),
        total_paid=Sum("amount", filter=Q(status=ClaimStatus.PAID)),
    )
    return LedgerTotals(
        count=totals["total_count"],
        interest_subsidy=totals["total_interest"] or ZERO,
        premium_subsidy=totals["total_premium"] or ZERO,
        amount=totals["total_amount"] or ZERO,
        paid_amount=totals["total_paid"] or ZERO,
    )


def payment_batches(*, user, program: Program | None = None) -> QuerySet[PaymentBatch]:
    """The payment batches the user may see (city staff and managers), newest first."""
    queryset = restrict(
        PaymentBatch.objects.select_related("program", "created_by", "approved_by", "paid_by"),
        user,
    )
    if program is not None:
        queryset = queryset.filter(program=program)
    return queryset


def batch_claims(*, batch: PaymentBatch, user) -> QuerySet[SubsidyClaim]:
    """The claims of one batch, joined as in the ledger."""
    return claim_ledger(user=user, filters={"batch": batch}).order_by("unit__sort_order", "id")


def allocation_table(*, program: Program) -> AllocationTable:
    """The program's county allocation table for the page and the ``.xlsx``.

    The frozen result when city staff have confirmed one (``table.frozen`` is that result),
    otherwise the live computation from the current quotas, reallocations and loans. Either
    way the same figures reach the screen and the download.
    """
    result = AllocationResult.objects.filter(program=program).select_related("confirmed_by").first()
    if result is None:
        return allocate_county_subsidy(program=program)
    rows = list(result.rows.select_related("unit").order_by("position"))
    return table_from_result(result, rows)


__all__ = [
    "LedgerTotals",
    "allocation_table",
    "batch_claims",
    "claim_ledger",
    "claim_rows",
    "ledger_totals",
    "payment_batches",
]
