"""The pre-loan checks (贷前资格审查) of SPEC.md, computed rule by rule and stored.

Each check returns pass or fail with a Chinese reason that the reviewer reads. A failed
check blocks recommendation and consent until a staff member writes an override reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts.scoping import STAFF_ROLES, in_scope, role_of
from gonghui.errors import DomainError
from gonghui.history import writes_as_user
from gonghui.inputs import clean_text
from loans.choices import ApplicationStatus, CheckRule, LoanStatus
from loans.models import Application, EligibilityCheck, Loan
from loans.services.rules import add_months, amount_limit


@dataclass(frozen=True)
class CheckResult:
    rule: str
    passed: bool
    reason: str

    @property
    def label(self) -> str:
        return CheckRule(self.rule).label


def is_excluded_industry(*, excluded: list[str], section: str, code: str) -> str | None:
    """The exclusion entry that matches an industry (section letter or code prefix), if any."""
    for entry in excluded:
        entry = str(entry).strip().upper()
        if not entry:
            continue
        if entry.isalpha() and entry == section:
            return entry
        if not entry.isalpha() and code and code.startswith(entry):
            return entry
    return None


def check_union_membership(application: Application) -> CheckResult:
    applicant, program = application.applicant, application.program
    if not program.require_union_membership:
        return CheckResult(CheckRule.UNION_MEMBERSHIP, True, "本项目不要求工会会员资格")
    if applicant.is_union_member and applicant.union_name.strip():
        return CheckResult(
            CheckRule.UNION_MEMBERSHIP, True, f"申请人为工会会员，所属工会：{applicant.union_name}"
        )
    if applicant.is_union_member:
        return CheckResult(
            CheckRule.UNION_MEMBERSHIP, False, "申请人未填写所属工会，无法核实会员资格"
        )
    return CheckResult(CheckRule.UNION_MEMBERSHIP, False, "申请人不是工会会员")


def check_enterprise_age(application: Application, *, as_of: date) -> CheckResult:
    enterprise, program = application.enterprise, application.program
    years = program.max_enterprise_age_years
    earliest = add_months(as_of, -12 * years)
    licence = enterprise.licence_date
    if licence > as_of:
        return CheckResult(
            CheckRule.ENTERPRISE_AGE, False, f"营业执照日期{licence.isoformat()}晚于申请日期"
        )
    if licence < earliest:
        return CheckResult(
            CheckRule.ENTERPRISE_AGE,
            False,
            f"企业成立于{licence.isoformat()}，超过{years}年（须在{earliest.isoformat()}之后成立）",
        )
    return CheckResult(
        CheckRule.ENTERPRISE_AGE, True, f"企业成立于{licence.isoformat()}，在{years}年以内"
    )


def check_jobs(application: Application) -> CheckResult:
    employees, minimum = application.enterprise.employees, application.program.min_jobs
    if employees >= minimum:
        return CheckResult(CheckRule.JOBS, True, f"企业职工{employees}人，不少于{minimum}人")
    return CheckResult(CheckRule.JOBS, False, f"企业职工{employees}人，少于{minimum}人")


def check_industry(application: Application) -> CheckResult:
    enterprise = application.enterprise
    match = is_excluded_industry(
        excluded=application.program.excluded_industries,
        section=enterprise.industry_section,
        code=enterprise.industry_code,
    )
    industry = enterprise.get_industry_section_display()
    if enterprise.industry_code:
        industry = f"{industry}（{enterprise.industry_code}）"
    if match:
        return CheckResult(
            CheckRule.EXCLUDED_INDUSTRY, False, f"所属行业{industry}属于不予贴息行业（{match}）"
        )
    return CheckResult(CheckRule.EXCLUDED_INDUSTRY, True, f"所属行业{industry}不在限制范围内")


def check_amount(application: Application) -> CheckResult:
    limit = amount_limit(program=application.program, borrower_class=application.borrower_class)
    label = application.get_borrower_class_display()
    if application.amount <= limit:
        return CheckResult(
            CheckRule.AMOUNT_LIMIT, True, f"申请{application.amount}元，未超过{label}限额{limit}元"
        )
    return CheckResult(
        CheckRule.AMOUNT_LIMIT,
        False,
        f"申请{application.amount}元，超过{label}限额{limit}元，"
        f"超出的{application.amount - limit}元不予贴息",
    )


def active_loans_of(*, applicant_id: int):
    """The applicant's active program loans (with their program), for :func:`pick_blocking_loan`."""
    return Loan.objects.filter(
        application__applicant_id=applicant_id, status=LoanStatus.ACTIVE
    ).select_related("program")


def pick_blocking_loan(
    active_loans, *, as_of: date, exclude_application_id=None, exclude_loan_id=None
) -> Loan | None:
    """Among an applicant's active loans, the one still running on ``as_of``, if any.

    A loan maturing within a month of ``as_of`` does not block: that is the one a renewal
    (续贷) replaces, and renewals are applied for in the maturity month. Pure Python, so the
    bulk import applies it to loans it read for a whole file at once.
    """
    horizon = add_months(as_of, 1)
    running = [
        loan
        for loan in active_loans
        if loan.maturity_on > horizon
        and (exclude_application_id is None or loan.application_id != exclude_application_id)
        and (exclude_loan_id is None or loan.pk != exclude_loan_id)
    ]
    return min(running, key=lambda loan: (loan.maturity_on, loan.pk), default=None)


def blocking_loan(
    *, applicant_id: int, as_of: date, exclude_application_id=None, exclude_loan_id=None
) -> Loan | None:
    """The applicant's other program loan still running on ``as_of``, if any."""
    return pick_blocking_loan(
        active_loans_of(applicant_id=applicant_id),
        as_of=as_of,
        exclude_application_id=exclude_application_id,
        exclude_loan_id=exclude_loan_id,
    )


def describe_blocking_loan(loan: Loan) -> str:
    return (
        f"申请人在{loan.program}有未结清贷款（合同{loan.contract_number}，"
        f"{loan.maturity_on.isoformat()}到期）"
    )


def check_no_active_loan(application: Application, *, as_of: date) -> CheckResult:
    """No other program loan of the applicant still running on the application date."""
    other = blocking_loan(
        applicant_id=application.applicant_id, as_of=as_of, exclude_application_id=application.pk
    )
    if other is None:
        return CheckResult(CheckRule.NO_ACTIVE_LOAN, True, "申请人无其他未结清的项目贷款")
    return CheckResult(CheckRule.NO_ACTIVE_LOAN, False, describe_blocking_loan(other))


def run_pre_loan_checks(
    application: Application, *, as_of: date | None = None
) -> list[CheckResult]:
    """Every pre-loan check of the application, in the order the reviewer reads them."""
    as_of = as_of or application.applied_on
    return [
        check_union_membership(application),
        check_enterprise_age(application, as_of=as_of),
        check_jobs(application),
        check_industry(application),
        check_amount(application),
        check_no_active_loan(application, as_of=as_of),
    ]


@transaction.atomic
def store_pre_loan_checks(application: Application) -> list[EligibilityCheck]:
    """Recompute and store the checks; an override survives only while its check still fails."""
    now = timezone.now()
    existing = {c.rule: c for c in application.checks.all()}
    stored = []
    for result in run_pre_loan_checks(application):
        check = existing.get(result.rule) or EligibilityCheck(
            application=application, rule=result.rule
        )
        check.passed, check.reason, check.checked_at = result.passed, result.reason, now
        if result.passed:
            check.override_reason, check.overridden_by, check.overridden_at = "", None, None
        check.save()
        stored.append(check)
    return stored


def unsatisfied_checks(application: Application) -> list[EligibilityCheck]:
    """The stored checks that failed and have no override reason."""
    return [c for c in application.checks.all() if not c.is_satisfied]


# Statuses in which the union still decides on the checks.
REVIEW_STATUSES = frozenset(
    {
        ApplicationStatus.DRAFT,
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.RETURNED,
        ApplicationStatus.CONSENT_REQUESTED,
    }
)


@writes_as_user
@transaction.atomic
def override_check(*, application: Application, rule: str, reason: str, user) -> EligibilityCheck:
    """Let a failed check pass on a written reason by union staff of the application's scope,
    while the union is still reviewing the application."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    if role_of(user) not in STAFF_ROLES or not in_scope(user, application):
        raise DomainError("permission_denied", "只有本单位或市总工会经办人可以例外通过贷前审查")
    if application.status not in REVIEW_STATUSES:
        raise DomainError("application_not_in_review", "申请不在审核阶段，不能例外通过贷前审查")
    reason = clean_text(reason)
    if not reason:
        raise DomainError.for_field(
            "override_reason", "override_reason_required", "请填写例外通过理由"
        )
    check = application.checks.select_for_update().filter(rule=rule).first()
    if check is None:
        raise DomainError.for_field("rule", "check_not_run", "该审查项目尚未审查")
    if check.passed:
        raise DomainError.for_field(
            "rule", "check_already_passed", "该审查项目已通过，无需例外处理"
        )
    check.override_reason, check.overridden_by, check.overridden_at = reason, user, timezone.now()
    check.save(update_fields=["override_reason", "overridden_by", "overridden_at"])
    application.events.create(
        action="override_check", actor=user, note=f"{check.get_rule_display()}：{reason}"
    )
    return check
