"""Writes on loans: disbursement, repayment, renewal and quarterly follow-up."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from accounts.choices import Role
from accounts.scoping import STAFF_ROLES, in_scope, role_of
from gonghui.errors import DomainError
from gonghui.history import writes_as_user
from gonghui.inputs import FieldErrors, clean_text, parse_amount, parse_count, parse_date
from gonghui.money import ZERO
from loans.choices import CheckRule, LoanStatus, OperatingStatus
from loans.models import Applicant, Application, FollowUp, Loan, Repayment
from loans.services.eligibility import active_loans_of, describe_blocking_loan, pick_blocking_loan
from loans.services.rules import check_maturity, check_rate_within_cap, split_principal
from loans.services.webhooks import notify_loan
from loans.services.workflow import apply_transition, check_transition, find_transition
from subsidies.services.claims import create_claim_for_loan


def _loan_terms(
    *,
    application: Application,
    contract_number,
    principal,
    annual_rate,
    disbursed_on,
    maturity_on,
    jobs_created,
    new_union_members,
) -> dict:
    """Every field of a new loan checked at once, so the caller gets all messages together.

    The loan keeps to the bank's approval: principal and rate at most the approved ones
    (the union's consent to a bank-online loan was given on those figures).
    """
    errors = FieldErrors()
    program = application.program
    values = {
        "contract_number": errors.attempt(
            "contract_number",
            lambda: clean_text(contract_number, max_length=64, field="contract_number"),
        ),
        "principal": errors.attempt(
            "principal", lambda: parse_amount(principal, field="principal")
        ),
        "annual_rate": errors.attempt(
            "annual_rate",
            lambda: check_rate_within_cap(
                program=program, review_channel=application.review_channel, annual_rate=annual_rate
            ),
        ),
        "disbursed_on": errors.attempt(
            "disbursed_on", lambda: parse_date(disbursed_on, field="disbursed_on", label="放款日期")
        ),
        "maturity_on": errors.attempt(
            "maturity_on", lambda: parse_date(maturity_on, field="maturity_on", label="到期日期")
        ),
        "jobs_created": errors.attempt(
            "jobs_created",
            lambda: parse_count(jobs_created, field="jobs_created", label="带动就业人数"),
        ),
        "new_union_members": errors.attempt(
            "new_union_members",
            lambda: parse_count(
                new_union_members, field="new_union_members", label="新增入会职工人数"
            ),
        ),
    }
    if values["contract_number"] == "":
        errors.add("contract_number", "请填写合同编号")
    start, end = values["disbursed_on"], values["maturity_on"]
    if start is not None and start < application.applied_on:
        errors.add("disbursed_on", "放款日期不能早于申请日期")
    if start is not None and end is not None:
        errors.attempt(
            "maturity_on",
            lambda: check_maturity(program=program, disbursed_on=start, maturity_on=end),
        )
    if application.approved_amount is None or application.approved_rate is None:
        raise DomainError("decision_incomplete", "银行审批信息不完整，不能放款")
    if values["principal"] is not None and values["principal"] > application.approved_amount:
        errors.add("principal", f"放款金额不能超过银行审批金额{application.approved_amount}元")
    if values["annual_rate"] is not None and values["annual_rate"] > application.approved_rate:
        errors.add("annual_rate", f"放款利率不能高于银行审批利率{application.approved_rate}%")
    errors.raise_if_any("放款信息有误")
    return values


@dataclass(frozen=True)
class DisbursementFacts:
    """What disbursement checks beyond the application row itself.

    The single-loan service reads these with a few queries under its locks; the bulk import
    reads them for every row of a file at once. Both then decide through
    :func:`plan_disbursement`, so a row is refused exactly when the service would refuse it.
    """

    applicant_active_loans: tuple[Loan, ...]  # the applicant's active loans, program loaded
    no_active_loan_overridden: bool  # the pre-loan check carries a written override
    contract_taken: bool  # the bank already has a loan with this contract number


def disbursement_facts(application: Application, *, contract_number) -> DisbursementFacts:
    """The facts of one disbursement, read under the applicant's lock (the race guard: two
    applications of one borrower cannot both be disbursed)."""
    Applicant.objects.select_for_update().get(pk=application.applicant_id)
    return DisbursementFacts(
        applicant_active_loans=tuple(active_loans_of(applicant_id=application.applicant_id)),
        no_active_loan_overridden=application.checks.filter(rule=CheckRule.NO_ACTIVE_LOAN)
        .exclude(override_reason="")
        .exists(),
        contract_taken=Loan.objects.filter(
            bank_id=application.bank_id, contract_number=clean_text(contract_number)
        ).exists(),
    )


def check_disbursable(application: Application) -> None:
    """The workflow part of disbursement: the application is approved (and, on the bank-online
    channel, consented to) and has no loan yet. Role and scope are the caller's."""
    if (
        find_transition(action="disburse", status=application.status, channel=application.channel)
        is None
    ):
        raise DomainError(
            "invalid_transition",
            f"申请当前状态为「{application.get_status_display()}」"
            f"（{application.get_channel_display()}），不能执行该操作",
        )


def plan_disbursement(
    *,
    application: Application,
    user,
    facts: DisbursementFacts,
    renewal_of: Loan | None = None,
    **fields,
) -> Loan:
    """The unsaved loan of an application, or a DomainError saying why it cannot be made.

    ``fields`` are the raw inputs of :func:`disburse_loan`. No queries: the application
    comes with its program, and ``facts`` carries everything else.
    """
    check_disbursable(application)
    terms = _loan_terms(application=application, **fields)
    other = pick_blocking_loan(
        facts.applicant_active_loans,
        as_of=terms["disbursed_on"],
        exclude_application_id=application.pk,
        exclude_loan_id=renewal_of.pk if renewal_of else None,
    )
    if other is not None and not facts.no_active_loan_overridden:
        raise DomainError("active_loan_exists", describe_blocking_loan(other))
    if facts.contract_taken:
        raise DomainError.for_field(
            "contract_number", "contract_number_taken", "该合同编号在本行已存在"
        )
    split = split_principal(
        program=application.program,
        borrower_class=application.borrower_class,
        principal=terms["principal"],
    )
    return Loan(
        application=application,
        program=application.program,
        unit=application.unit,
        bank=application.bank,
        subsidised_principal=split.subsidised,
        leveraged_amount=split.leveraged,
        review_channel=application.review_channel,
        loan_type=application.loan_type,
        renewal_of=renewal_of,
        created_by=user,
        **terms,
    )


def disbursement_note(loan: Loan) -> str:
    """The timeline note of a disbursement."""
    note = f"合同{loan.contract_number}"
    if loan.renewal_of is not None:
        note += f"（续贷，原合同{loan.renewal_of.contract_number}）"
    return note


def _disburse(*, application: Application, user, fields: dict, renewal_of: Loan | None) -> Loan:
    """Create the loan row and move the locked application to disbursed."""
    check_disbursable(application)
    _loan_terms(application=application, **fields)  # field errors before the facts' queries
    facts = disbursement_facts(application, contract_number=fields["contract_number"])
    loan = plan_disbursement(
        application=application, user=user, facts=facts, renewal_of=renewal_of, **fields
    )
    try:
        with transaction.atomic():
            loan.save()
    except IntegrityError:
        if Loan.objects.filter(bank=loan.bank, contract_number=loan.contract_number).exists():
            raise DomainError.for_field(
                "contract_number", "contract_number_taken", "该合同编号在本行已存在"
            ) from None
        if application.loans.filter(status=LoanStatus.ACTIVE).exists():
            raise DomainError("loan_already_active", "该申请已有未结清贷款，不能重复放款") from None
        raise
    apply_transition(application, action="disburse", user=user, note=disbursement_note(loan))
    notify_loan(loan, "disbursed")
    return loan


def _lock_approved_application(application: Application, user) -> Application:
    locked = (
        Application.objects.select_for_update(of=("self",))
        .select_related("program", "unit", "bank")
        .get(pk=application.pk)
    )
    check_transition(locked, action="disburse", user=user)
    return locked


@writes_as_user
@transaction.atomic
def disburse_loan(
    *,
    application: Application,
    user,
    contract_number,
    principal,
    annual_rate,
    disbursed_on,
    maturity_on,
    jobs_created=0,
    new_union_members=0,
) -> Loan:
    """Create the loan of an application the bank approved (and the union consented to).

    The application row is locked first, and the database allows one active loan per
    application, so two disbursements racing for it create exactly one loan.
    """
    locked = _lock_approved_application(application, user)
    fields = {
        "contract_number": contract_number,
        "principal": principal,
        "annual_rate": annual_rate,
        "disbursed_on": disbursed_on,
        "maturity_on": maturity_on,
        "jobs_created": jobs_created,
        "new_union_members": new_union_members,
    }
    loan = _disburse(application=locked, user=user, fields=fields, renewal_of=None)
    application.refresh_from_db()
    return loan


def _lock_own_loan(loan: Loan, user, *, roles: frozenset[str]) -> Loan:
    locked = (
        Loan.objects.select_for_update(of=("self",))
        .select_related("application", "program")
        .get(pk=loan.pk)
    )
    if role_of(user) not in roles:
        raise DomainError("permission_denied", "您的角色无权执行该操作")
    if not in_scope(user, locked):
        raise DomainError("not_found", "贷款不存在或不在您的管辖范围内")
    return locked


def outstanding_principal(loan: Loan) -> Decimal:
    repaid = loan.repayments.aggregate(total=Sum("principal_amount"))["total"] or ZERO
    return loan.principal - repaid


@writes_as_user
@transaction.atomic
def record_repayment(
    *, loan: Loan, user, repaid_on, principal_amount, interest_amount="0", note: str = ""
) -> Repayment:
    """Record a repayment; the loan is settled when its principal is fully repaid."""
    loan = _lock_own_loan(loan, user, roles=frozenset({Role.BANK_OFFICER, Role.CITY_STAFF}))
    if loan.status != LoanStatus.ACTIVE:
        raise DomainError("loan_closed", "该贷款已结清或已续贷，不能再登记还款")
    errors = FieldErrors()
    principal_amount = errors.attempt(
        "principal_amount",
        lambda: parse_amount(principal_amount or "0", field="principal_amount", allow_zero=True),
    )
    interest_amount = errors.attempt(
        "interest_amount",
        lambda: parse_amount(interest_amount or "0", field="interest_amount", allow_zero=True),
    )
    repaid_on = errors.attempt(
        "repaid_on", lambda: parse_date(repaid_on, field="repaid_on", label="还款日期")
    )
    note = errors.attempt("note", lambda: clean_text(note, max_length=200, field="note"))
    outstanding = outstanding_principal(loan)
    if principal_amount is not None and interest_amount is not None:
        if principal_amount == ZERO and interest_amount == ZERO:
            errors.add("principal_amount", "归还本金和实收利息不能同时为0")
        elif principal_amount > outstanding:
            errors.add("principal_amount", f"归还本金超过未还本金{outstanding}元")
    if repaid_on is not None and repaid_on < loan.disbursed_on:
        errors.add("repaid_on", "还款日期不能早于放款日期")
    errors.raise_if_any("还款信息有误")
    repayment = Repayment.objects.create(
        loan=loan,
        repaid_on=repaid_on,
        principal_amount=principal_amount,
        interest_amount=interest_amount,
        note=note,
        created_by=user,
    )
    if principal_amount == outstanding:
        loan.status, loan.settled_on = LoanStatus.REPAID, repaid_on
        loan.save(update_fields=["status", "settled_on", "updated_at"])
        create_claim_for_loan(loan=loan, as_of=repaid_on)
        notify_loan(loan, "repaid")
    return repayment


@writes_as_user
@transaction.atomic
def renew_loan(
    *,
    loan: Loan,
    application: Application,
    user,
    contract_number,
    principal,
    annual_rate,
    disbursed_on,
    maturity_on,
    jobs_created=0,
    new_union_members=0,
) -> Loan:
    """Renew (续贷) a loan: disburse the borrower's new, approved application as its renewal.

    A renewal goes through the procedure again (notice section 七), so it needs its own
    approved application of the same applicant, usually under the current year's program.
    It is disbursed in the old loan's maturity month or later; the old loan closes as
    renewed, and the new loan has its own subsidy and counts towards its unit's completed
    amount.
    """
    old = _lock_own_loan(loan, user, roles=frozenset({Role.BANK_OFFICER}))
    if old.status != LoanStatus.ACTIVE:
        raise DomainError("loan_closed", "只有未结清的贷款可以续贷")
    locked = _lock_approved_application(application, user)
    if locked.applicant_id != old.application.applicant_id:
        raise DomainError.for_field(
            "application", "renewal_other_applicant", "续贷申请的申请人须与原贷款一致"
        )
    fields = {
        "contract_number": contract_number,
        "principal": principal,
        "annual_rate": annual_rate,
        "disbursed_on": disbursed_on,
        "maturity_on": maturity_on,
        "jobs_created": jobs_created,
        "new_union_members": new_union_members,
    }
    start = _loan_terms(application=locked, **fields)["disbursed_on"]
    if (start.year, start.month) < (old.maturity_on.year, old.maturity_on.month):
        raise DomainError.for_field(
            "disbursed_on", "renewal_too_early", "续贷须在原贷款到期当月或之后办理"
        )
    renewal = _disburse(application=locked, user=user, fields=fields, renewal_of=old)
    old.status, old.settled_on = LoanStatus.RENEWED, start
    old.save(update_fields=["status", "settled_on", "updated_at"])
    create_claim_for_loan(loan=old, as_of=start)
    notify_loan(old, "renewed")
    application.refresh_from_db()
    return renewal


@writes_as_user
@transaction.atomic
def record_follow_up(
    *,
    loan: Loan,
    user,
    year,
    quarter,
    visited_on,
    operating_status: str,
    jobs,
    insured_employees,
    note: str = "",
) -> FollowUp:
    """Record (or correct) the quarter's post-loan follow-up (一季度一跟踪)."""
    loan = _lock_own_loan(loan, user, roles=STAFF_ROLES)
    errors = FieldErrors()
    year = errors.attempt("year", lambda: parse_count(year, field="year", label="年度"))
    quarter = errors.attempt("quarter", lambda: parse_count(quarter, field="quarter", label="季度"))
    jobs = errors.attempt("jobs", lambda: parse_count(jobs, field="jobs", label="带动就业人数"))
    insured = errors.attempt(
        "insured_employees",
        lambda: parse_count(insured_employees, field="insured_employees", label="缴纳社保职工人数"),
    )
    visited_on = errors.attempt(
        "visited_on", lambda: parse_date(visited_on, field="visited_on", label="跟踪日期")
    )
    if quarter is not None and quarter not in (1, 2, 3, 4):
        errors.add("quarter", "季度须为1至4")
    if operating_status not in OperatingStatus.values:
        errors.add("operating_status", "请选择经营状况")
    if jobs is not None and insured is not None and insured > jobs:
        errors.add("insured_employees", "缴纳社保职工人数不能超过带动就业人数")
    if visited_on is not None and "quarter" not in errors and year is not None:
        if visited_on < loan.disbursed_on:
            errors.add("visited_on", "跟踪日期不能早于放款日期")
        elif (visited_on.year, (visited_on.month - 1) // 3 + 1) != (year, quarter):
            errors.add("visited_on", f"跟踪日期须在{year}年第{quarter}季度内")
    errors.raise_if_any("贷后跟踪信息有误")
    follow_up, _ = FollowUp.objects.update_or_create(
        loan=loan,
        year=year,
        quarter=quarter,
        defaults={
            "visited_on": visited_on,
            "operating_status": operating_status,
            "jobs": jobs,
            "insured_employees": insured,
            "note": clean_text(note),
            "recorded_by": user,
        },
    )
    return follow_up
