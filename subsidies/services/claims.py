"""Subsidy claims (贴息申请): one per loan, created when the loan is repaid, renewed or past
its maturity date, with the figures and the formula's inputs stored.

Two doors create them: recording the repayment that settles a loan (at once) and the daily
scan (:func:`create_due_claims`, run by ``subsidies.tasks.scan_due_claims``), which also
catches loans that were renewed or ran past maturity. Both are safe to run twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from gonghui.errors import DomainError
from gonghui.history import bulk_create_audited
from gonghui.money import ZERO
from loans.choices import LoanStatus
from loans.models import Loan, Repayment
from subsidies.choices import ClaimStatus
from subsidies.models import SubsidyClaim
from subsidies.services.calculation import SubsidyInputs, compute_subsidy, subsidy_period

logger = logging.getLogger(__name__)

SETTLED = (LoanStatus.REPAID, LoanStatus.RENEWED)
CHUNK = 500
# The stored figures a refresh of a pending claim may change.
FIGURES = (
    "loan_type",
    "review_channel",
    "subsidised_principal",
    "contract_rate",
    "rate_cap",
    "applied_rate",
    "start_on",
    "end_on",
    "days",
    "interest_share",
    "premium_rate",
    "premium_share",
    "interest_charged",
    "interest_subsidy",
    "premium_subsidy",
    "amount",
)


def is_due(loan: Loan, *, as_of: date) -> bool:
    """Whether a loan's subsidy can be claimed on ``as_of``: repaid or renewed by then, or
    still outstanding after its maturity date."""
    settled = loan.status in SETTLED and loan.settled_on is not None and loan.settled_on <= as_of
    return settled or loan.maturity_on < as_of


def reported_interest(total: Decimal | None) -> Decimal | None:
    """The interest the bank reports as charged: the sum of the loan's repayments' interest,
    or None (unknown, no cap) while it has reported none."""
    return total if total is not None and total > ZERO else None


def _claim_for(loan: Loan, *, interest_charged: Decimal | None) -> SubsidyClaim:
    """An unsaved claim with the loan's figures (``loan.program`` is read)."""
    program = loan.program
    start, end = subsidy_period(
        disbursed_on=loan.disbursed_on, maturity_on=loan.maturity_on, settled_on=loan.settled_on
    )
    result = compute_subsidy(
        program=program,
        inputs=SubsidyInputs(
            subsidised_principal=loan.subsidised_principal,
            annual_rate=loan.annual_rate,
            review_channel=loan.review_channel,
            loan_type=loan.loan_type,
            start=start,
            end=end,
            interest_charged=interest_charged,
        ),
    )
    return SubsidyClaim(
        loan=loan,
        program_id=loan.program_id,
        unit_id=loan.unit_id,
        bank_id=loan.bank_id,
        loan_type=loan.loan_type,
        review_channel=loan.review_channel,
        subsidised_principal=loan.subsidised_principal,
        contract_rate=loan.annual_rate,
        rate_cap=result.rate_cap,
        applied_rate=result.applied_rate,
        start_on=start,
        end_on=end,
        days=result.days,
        interest_share=program.interest_share,
        premium_rate=program.premium_rate,
        premium_share=program.premium_share,
        interest_charged=interest_charged,
        interest_subsidy=result.interest_subsidy,
        premium_subsidy=result.premium_subsidy,
        amount=result.total,
    )


def _refresh_pending(claim: SubsidyClaim, fresh: SubsidyClaim) -> SubsidyClaim:
    """Bring a pending claim up to date (e.g. the bank reported more interest since)."""
    changed = [name for name in FIGURES if getattr(claim, name) != getattr(fresh, name)]
    if changed:
        for name in changed:
            setattr(claim, name, getattr(fresh, name))
        claim.save(update_fields=[*changed, "updated_at"])
    return claim


@transaction.atomic
def create_claim_for_loan(*, loan: Loan, as_of: date | None = None) -> SubsidyClaim:
    """The loan's claim, created if it has none (idempotent: the existing one is returned).

    Only for a loan repaid or renewed, or past its maturity date (``as_of``, today by
    default). An existing claim that is still pending (in no batch yet) is brought up to
    date with the loan's current figures; once batched it no longer changes. The loan row is
    locked so that the repayment hook and the daily scan cannot both create one.
    """
    as_of = as_of or timezone.localdate()
    loan = Loan.objects.select_for_update(of=("self",)).select_related("program").get(pk=loan.pk)
    if not is_due(loan, as_of=as_of):
        raise DomainError("loan_not_due", "贷款尚未结清、续贷或到期，不能生成贴息申请")
    total = loan.repayments.aggregate(total=Sum("interest_amount"))["total"]
    fresh = _claim_for(loan, interest_charged=reported_interest(total))
    existing = SubsidyClaim.objects.filter(loan=loan).first()
    if existing is not None:
        if existing.status == ClaimStatus.PENDING:
            return _refresh_pending(existing, fresh)
        return existing
    try:
        with transaction.atomic():
            fresh.save()
    except IntegrityError:
        existing = SubsidyClaim.objects.filter(loan=loan).first()
        if existing is None:
            raise
        return existing
    return fresh


def _due_loans(as_of: date):
    """Loans due for a claim on ``as_of`` that have none, with the interest reported."""
    interest = (
        Repayment.objects.filter(loan=OuterRef("pk"))
        .order_by()
        .values("loan")
        .annotate(total=Sum("interest_amount"))
        .values("total")
    )
    return (
        Loan.objects.filter(
            Q(status__in=SETTLED, settled_on__lte=as_of) | Q(maturity_on__lt=as_of),
        )
        .filter(~Exists(SubsidyClaim.objects.filter(loan=OuterRef("pk"))))
        .select_related("program")
        .annotate(interest_total=Subquery(interest))
        .order_by("pk")
    )


def _save_chunk(claims: list[SubsidyClaim], *, as_of: date) -> list[SubsidyClaim]:
    """Insert a chunk at once; if another scan got there first, one by one instead."""
    try:
        with transaction.atomic():
            return bulk_create_audited(SubsidyClaim, claims)
    except IntegrityError:
        created = []
        for claim in claims:
            if not SubsidyClaim.objects.filter(loan_id=claim.loan_id).exists():
                created.append(create_claim_for_loan(loan=claim.loan, as_of=as_of))
        return created


def _chunks(items: Iterable, size: int):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@transaction.atomic
def create_due_claims(*, as_of: date | None = None) -> list[SubsidyClaim]:
    """The daily scan: create the claim of every loan due on ``as_of`` (today by default)
    that has none yet, and return the new claims.

    One query finds the loans (with their program and the interest reported) and one insert
    per 500 claims stores them, whatever the number of loans. A loan whose figures the
    formula refuses is logged and skipped, so one bad row does not stop the scan; a rerun
    creates nothing twice.
    """
    as_of = as_of or timezone.localdate()
    created: list[SubsidyClaim] = []
    for loans in _chunks(_due_loans(as_of).iterator(chunk_size=CHUNK), CHUNK):
        claims = []
        for loan in loans:
            try:
                claims.append(
                    _claim_for(loan, interest_charged=reported_interest(loan.interest_total))
                )
            except DomainError as error:
                logger.warning("subsidy claim skipped for loan %s: %s", loan.pk, error.message)
        if claims:
            created.extend(_save_chunk(claims, as_of=as_of))
    return created
