"""Writes on loans: disbursement, repayment, renewal and quarterly follow-up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from accounts.choices import Role
from accounts.scoping import STAFF_ROLES, in_scope, role_of
from gonghui.errors import DomainError
from gonghui.money import ZERO, parse_amount
from loans.choices import LoanStatus, OperatingStatus
from loans.models import Application, FollowUp, Loan, Repayment
from loans.services.rules import check_maturity, check_rate_within_cap, split_principal
from loans.services.workflow import apply_transition, check_transition


def _contract_number(value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError.for_field("contract_number", "required", "请填写合同编号")
    if len(value) > 64:
        raise DomainError.for_field("contract_number", "too_long", "合同编号不能超过64个字符")
    return value


def _validate_loan_terms(
    *,
    application: Application,
    contract_number: str,
    principal,
    annual_rate,
    disbursed_on: date,
    maturity_on: date,
    jobs_created: int,
    new_union_members: int,
    max_principal: Decimal | None,
) -> dict:
    """Every field of a new loan checked at once, so the caller gets all messages together."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    program = application.program

    def attempt(field, check):
        try:
            values[field] = check()
        except DomainError as error:
            errors.update(error.field_errors or {field: [error.message]})

    attempt("contract_number", lambda: _contract_number(contract_number))
    attempt("principal", lambda: parse_amount(principal, field="principal"))
    attempt(
        "annual_rate",
        lambda: check_rate_within_cap(
            program=program, review_channel=application.review_channel, annual_rate=annual_rate
        ),
    )
    if disbursed_on is None:
        errors["disbursed_on"] = ["请填写放款日期"]
    elif disbursed_on < application.applied_on:
        errors["disbursed_on"] = ["放款日期不能早于申请日期"]
    elif maturity_on is None:
        errors["maturity_on"] = ["请填写到期日期"]
    else:
        attempt(
            "maturity_on",
            lambda: check_maturity(
                program=program, disbursed_on=disbursed_on, maturity_on=maturity_on
            ),
        )
    for field, label, value in (
        ("jobs_created", "带动就业人数", jobs_created),
        ("new_union_members", "新增入会职工人数", new_union_members),
    ):
        if value is None or int(value) < 0:
            errors[field] = [f"{label}不能为负数"]
    if "principal" in values and max_principal is not None and values["principal"] > max_principal:
        errors["principal"] = [f"放款金额不能超过银行审批金额{max_principal}元"]
    if errors:
        raise DomainError("validation_error", "放款信息有误", field_errors=errors)
    return values


def _create_loan(
    *, application: Application, user, values: dict, renewal_of: Loan | None = None, **fields
) -> Loan:
    split = split_principal(
        program=application.program,
        borrower_class=application.borrower_class,
        principal=values["principal"],
    )
    loan = Loan(
        application=application,
        program=application.program,
        unit=application.unit,
        bank=application.bank,
        contract_number=values["contract_number"],
        principal=values["principal"],
        subsidised_principal=split.subsidised,
        leveraged_amount=split.leveraged,
        annual_rate=values["annual_rate"],
        review_channel=application.review_channel,
        loan_type=application.loan_type,
        renewal_of=renewal_of,
        created_by=user,
        **fields,
    )
    try:
        with transaction.atomic():
            loan.save()
    except IntegrityError as error:
        if Loan.objects.filter(
            bank=application.bank, contract_number=loan.contract_number
        ).exists():
            raise DomainError.for_field(
                "contract_number", "contract_number_taken", "该合同编号在本行已存在"
            ) from error
        raise DomainError("loan_already_active", "该申请已有未结清贷款，不能重复放款") from error
    return loan


@transaction.atomic
def disburse_loan(
    *,
    application: Application,
    user,
    contract_number: str,
    principal,
    annual_rate,
    disbursed_on: date,
    maturity_on: date,
    jobs_created: int = 0,
    new_union_members: int = 0,
    renewal_of: Loan | None = None,
) -> Loan:
    """Create the loan of an application the bank approved (and the union consented to).

    The application row is locked first, and the database allows one active loan per
    application, so two disbursements racing for it create exactly one loan.
    """
    application = (
        Application.objects.select_for_update().select_related("program").get(pk=application.pk)
    )
    check_transition(application, action="disburse", user=user)
    values = _validate_loan_terms(
        application=application,
        contract_number=contract_number,
        principal=principal,
        annual_rate=annual_rate,
        disbursed_on=disbursed_on,
        maturity_on=maturity_on,
        jobs_created=jobs_created,
        new_union_members=new_union_members,
        max_principal=application.approved_amount,
    )
    loan = _create_loan(
        application=application,
        user=user,
        values=values,
        renewal_of=renewal_of,
        disbursed_on=disbursed_on,
        maturity_on=maturity_on,
        jobs_created=int(jobs_created),
        new_union_members=int(new_union_members),
    )
    note = f"合同{loan.contract_number}"
    if renewal_of is not None:
        note += f"（续贷，原合同{renewal_of.contract_number}）"
    apply_transition(application, action="disburse", user=user, note=note)
    return loan


def _lock_own_loan(loan: Loan, user, *, roles: frozenset[str]) -> Loan:
    locked = (
        Loan.objects.select_for_update().select_related("application", "program").get(pk=loan.pk)
    )
    if role_of(user) not in roles:
        raise DomainError("permission_denied", "您的角色无权执行该操作")
    if not in_scope(user, locked):
        raise DomainError("not_found", "贷款不存在或不在您的管辖范围内")
    return locked


def outstanding_principal(loan: Loan) -> Decimal:
    repaid = loan.repayments.aggregate(total=Sum("principal_amount"))["total"] or ZERO
    return loan.principal - repaid


@transaction.atomic
def record_repayment(
    *, loan: Loan, user, repaid_on: date, principal_amount, interest_amount="0", note: str = ""
) -> Repayment:
    """Record a repayment; the loan is settled when its principal is fully repaid."""
    loan = _lock_own_loan(loan, user, roles=frozenset({Role.BANK_OFFICER, Role.CITY_STAFF}))
    if loan.status != LoanStatus.ACTIVE:
        raise DomainError("loan_closed", "该贷款已结清或已续贷，不能再登记还款")
    errors: dict[str, list[str]] = {}
    amounts = {}
    for field, value in (
        ("principal_amount", principal_amount),
        ("interest_amount", interest_amount),
    ):
        try:
            amounts[field] = parse_amount(value or "0", field=field, allow_zero=True)
        except DomainError as error:
            errors.update(error.field_errors)
    principal_amount = amounts.get("principal_amount")
    interest_amount = amounts.get("interest_amount")
    if not errors and principal_amount == ZERO and interest_amount == ZERO:
        errors["principal_amount"] = ["归还本金和实收利息不能同时为0"]
    outstanding = outstanding_principal(loan)
    if not errors and principal_amount > outstanding:
        errors["principal_amount"] = [f"归还本金超过未还本金{outstanding}元"]
    if repaid_on is None:
        errors["repaid_on"] = ["请填写还款日期"]
    elif repaid_on < loan.disbursed_on:
        errors["repaid_on"] = ["还款日期不能早于放款日期"]
    if errors:
        raise DomainError("validation_error", "还款信息有误", field_errors=errors)
    repayment = Repayment.objects.create(
        loan=loan,
        repaid_on=repaid_on,
        principal_amount=principal_amount,
        interest_amount=interest_amount,
        note=(note or "").strip(),
        created_by=user,
    )
    if principal_amount == outstanding:
        loan.status, loan.settled_on = LoanStatus.REPAID, repaid_on
        loan.save(update_fields=["status", "settled_on", "updated_at"])
    return repayment


@transaction.atomic
def renew_loan(
    *,
    loan: Loan,
    application: Application,
    user,
    contract_number: str,
    principal,
    annual_rate,
    disbursed_on: date,
    maturity_on: date,
    jobs_created: int = 0,
    new_union_members: int = 0,
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
    if application.applicant_id != old.application.applicant_id:
        raise DomainError.for_field(
            "application", "renewal_other_applicant", "续贷申请的申请人须与原贷款一致"
        )
    if disbursed_on is not None and (disbursed_on.year, disbursed_on.month) < (
        old.maturity_on.year,
        old.maturity_on.month,
    ):
        raise DomainError.for_field(
            "disbursed_on", "renewal_too_early", "续贷须在原贷款到期当月或之后办理"
        )
    old.status, old.settled_on = LoanStatus.RENEWED, disbursed_on
    old.save(update_fields=["status", "settled_on", "updated_at"])
    return disburse_loan(
        application=application,
        user=user,
        contract_number=contract_number,
        principal=principal,
        annual_rate=annual_rate,
        disbursed_on=disbursed_on,
        maturity_on=maturity_on,
        jobs_created=jobs_created,
        new_union_members=new_union_members,
        renewal_of=old,
    )


@transaction.atomic
def record_follow_up(
    *,
    loan: Loan,
    user,
    year: int,
    quarter: int,
    visited_on: date,
    operating_status: str,
    jobs: int,
    insured_employees: int,
    note: str = "",
) -> FollowUp:
    """Record (or correct) the quarter's post-loan follow-up (一季度一跟踪)."""
    loan = _lock_own_loan(loan, user, roles=STAFF_ROLES)
    errors: dict[str, list[str]] = {}
    if quarter not in (1, 2, 3, 4):
        errors["quarter"] = ["季度须为1至4"]
    if operating_status not in OperatingStatus.values:
        errors["operating_status"] = ["请选择经营状况"]
    if jobs is None or int(jobs) < 0:
        errors["jobs"] = ["带动就业人数不能为负数"]
    if insured_employees is None or int(insured_employees) < 0:
        errors["insured_employees"] = ["缴纳社保职工人数不能为负数"]
    elif jobs is not None and int(insured_employees) > int(jobs):
        errors["insured_employees"] = ["缴纳社保职工人数不能超过带动就业人数"]
    if visited_on is None:
        errors["visited_on"] = ["请填写跟踪日期"]
    elif visited_on < loan.disbursed_on:
        errors["visited_on"] = ["跟踪日期不能早于放款日期"]
    elif (visited_on.year, (visited_on.month - 1) // 3 + 1) != (year, quarter):
        errors["visited_on"] = [f"跟踪日期须在{year}年第{quarter}季度内"]
    if errors:
        raise DomainError("validation_error", "贷后跟踪信息有误", field_errors=errors)
    follow_up, _ = FollowUp.objects.update_or_create(
        loan=loan,
        year=year,
        quarter=quarter,
        defaults={
            "visited_on": visited_on,
            "operating_status": operating_status,
            "jobs": int(jobs),
            "insured_employees": int(insured_employees),
            "note": (note or "").strip(),
            "recorded_by": user,
        },
    )
    return follow_up
