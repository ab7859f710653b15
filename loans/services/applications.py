"""Writes on applications: intake by each channel, review, bank decision, consent, opinions.

Every function is keyword-only, runs in one transaction, locks the application row before
it reads what it decides on, validates before it saves and raises
:class:`~gonghui.errors.DomainError` on a refusal, so nothing is half-written.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.choices import Role
from accounts.scoping import in_scope, profile_of, role_of
from gonghui.errors import DomainError
from gonghui.history import writes_as_user
from gonghui.inputs import FieldErrors, clean_text, parse_amount, parse_date
from loans.choices import (
    ApplicationChannel,
    ApplicationStatus,
    LoanPurpose,
    LoanType,
    OpinionKind,
    ReviewChannel,
)
from loans.models import Applicant, Application, Bank, Enterprise, Opinion, Program, Unit
from loans.services.eligibility import store_pre_loan_checks
from loans.services.parties import (
    ApplicantData,
    EnterpriseData,
    upsert_applicant,
    upsert_enterprise,
)
from loans.services.rules import add_months, check_rate_within_cap, check_term, split_principal
from loans.services.workflow import apply_transition, check_transition
from subsidies.services.calculation import SubsidyInputs, compute_subsidy

__all__ = [
    "ApplicantData",
    "EnterpriseData",
    "upsert_applicant",
    "upsert_enterprise",
]

S = ApplicationStatus
# Statuses in which the file is still open for the union's and the bank's review.
OPEN_STATUSES = frozenset(
    {
        S.DRAFT,
        S.SUBMITTED,
        S.RETURNED,
        S.RECOMMENDED,
        S.BANK_APPROVED,
        S.CONSENT_REQUESTED,
        S.CONSENTED,
    }
)


def lock_application(application: Application) -> Application:
    """The application re-read under a row lock, with what the rules read alongside it."""
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("program", "applicant", "enterprise", "unit", "bank")
        .get(pk=application.pk)
    )


def _refreshed(application: Application) -> Application:
    application.refresh_from_db()
    return application


# --- intake -------------------------------------------------------------------------------


def next_reference(program: Program) -> str:
    """The next application number of a program, e.g. ``jgd-2020-000042``.

    Callers hold the program row's lock, so two intakes cannot take the same number.
    """
    prefix = f"{program.code}-"
    last = Application.objects.filter(program=program, reference__startswith=prefix).aggregate(
        last=Max("reference")
    )["last"]
    suffix = last.removeprefix(prefix) if last else ""
    number = int(suffix) + 1 if suffix.isascii() and suffix.isdigit() else 1
    number = max(number, Application.objects.filter(program=program).count() + 1)
    return f"{prefix}{number:06d}"


def _check_intake_role(*, user, channel: str, unit: Unit, bank: Bank | None) -> None:
    role = role_of(user)
    profile = profile_of(user)
    if channel == ApplicationChannel.UNION_REFERRAL:
        if role not in (Role.COUNTY_STAFF, Role.CITY_STAFF):
            raise DomainError("permission_denied", "只有工会经办人可以录入工会推荐申请")
        if role == Role.COUNTY_STAFF and profile.unit_id != unit.pk:
            raise DomainError.for_field("unit", "unit_out_of_scope", "只能为本单位录入申请")
    else:
        if role != Role.BANK_OFFICER:
            raise DomainError("permission_denied", "只有合作银行信贷员可以提交银行推荐或线上申请")
        if bank is None or profile.bank_id != bank.pk:
            raise DomainError.for_field("bank", "bank_out_of_scope", "只能以本行名义提交申请")


@writes_as_user
@transaction.atomic
def create_application(
    *,
    user,
    program: Program,
    unit: Unit,
    applicant: Applicant,
    enterprise: Enterprise,
    channel: str,
    amount,
    applied_on,
    term_months=None,
    purpose: str = LoanPurpose.PRODUCTION,
    purpose_other: str = "",
    bank: Bank | None = None,
    submit: bool = False,
) -> Application:
    """Take in an application by one of the three channels.

    Union staff enter union referrals as drafts (or submit them at once); a bank's
    referral or online application arrives submitted for the union's review. The
    pre-loan checks run at once so the reviewer sees them.
    """
    if channel not in ApplicationChannel.values:
        raise DomainError.for_field("channel", "channel_invalid", "申报方式无效")
    _check_intake_role(user=user, channel=channel, unit=unit, bank=bank)
    program = Program.objects.select_for_update().get(pk=program.pk)
    if not program.is_active:
        raise DomainError.for_field("program", "program_closed", "该贷款项目已结束，不再受理申请")
    errors = FieldErrors()
    if unit.city != program.city:
        errors.add("unit", f"{unit}不属于{program.city}，不能申报{program}")
    amount = errors.attempt("amount", lambda: parse_amount(amount, field="amount"))
    term = program.term_months if term_months in (None, "") else term_months
    term = errors.attempt("term_months", lambda: check_term(program=program, term_months=term))
    purpose_other = errors.attempt(
        "purpose_other", lambda: clean_text(purpose_other, max_length=100, field="purpose_other")
    )
    if purpose not in LoanPurpose.values:
        errors.add("purpose", "贷款用途无效")
    elif purpose == LoanPurpose.OTHER and not purpose_other:
        errors.add("purpose_other", "贷款用途为其他时须说明用途")
    applied_on = errors.attempt(
        "applied_on", lambda: parse_date(applied_on, field="applied_on", label="申请时间")
    )
    if applied_on is not None and applied_on > timezone.localdate():
        errors.add("applied_on", "申请时间不能晚于今天")
    errors.raise_if_any("申请信息有误")
    from_bank = channel != ApplicationChannel.UNION_REFERRAL
    status = S.SUBMITTED if (submit or from_bank) else S.DRAFT
    application = Application.objects.create(
        reference=next_reference(program),
        program=program,
        unit=unit,
        applicant=applicant,
        enterprise=enterprise,
        bank=bank if from_bank else None,
        channel=channel,
        status=status,
        borrower_class=applicant.borrower_class,
        amount=amount,
        term_months=term,
        purpose=purpose,
        purpose_other=purpose_other if purpose == LoanPurpose.OTHER else "",
        applied_on=applied_on,
        created_by=user,
    )
    application.events.create(action="create", to_status=status, actor=user)
    store_pre_loan_checks(application)
    return application


# --- union review -------------------------------------------------------------------------


@transaction.atomic
def submit_application(*, application: Application, user) -> Application:
    return apply_transition(application, action="submit", user=user)


@transaction.atomic
def recommend_application(
    *, application: Application, user, bank: Bank | None = None, opinion: str = ""
) -> Application:
    """Recommend an application to a bank once every pre-loan check is passed or overridden."""
    locked = lock_application(application)
    check_transition(locked, action="recommend", user=user)
    bank = bank or locked.bank
    if bank is None:
        raise DomainError.for_field("bank", "bank_required", "请选择推荐的合作银行")
    if locked.channel == ApplicationChannel.BANK_REFERRAL and bank.pk != locked.bank_id:
        raise DomainError.for_field("bank", "bank_fixed", "银行推荐的申请只能推荐回原银行")
    store_pre_loan_checks(locked)
    if clean_text(opinion):
        record_opinion(application=locked, user=user, kind=OpinionKind.COUNTY_UNION, text=opinion)
    apply_transition(locked, action="recommend", user=user, bank=bank)
    return _refreshed(application)


@transaction.atomic
def return_application(*, application: Application, user, reason: str) -> Application:
    return apply_transition(application, action="return", user=user, note=clean_text(reason))


@transaction.atomic
def reject_application(*, application: Application, user, reason: str) -> Application:
    return apply_transition(application, action="reject", user=user, note=clean_text(reason))


# --- bank decision and consent --------------------------------------------------------------


@transaction.atomic
def approve_application(
    *,
    application: Application,
    user,
    amount,
    annual_rate,
    loan_type: str,
    review_channel: str,
    opinion: str = "",
) -> Application:
    """The bank's approval: amount within the request, rate within the channel's cap, type."""
    locked = lock_application(application)
    check_transition(locked, action="approve", user=user)
    errors = FieldErrors()
    amount = errors.attempt("amount", lambda: parse_amount(amount, field="amount"))
    if amount is not None and amount > locked.amount:
        errors.add("amount", f"审批金额不能超过申请金额{locked.amount}元")
    if loan_type not in LoanType.values:
        errors.add("loan_type", "贷款类型须为信用、担保或抵押")
    if locked.channel == ApplicationChannel.BANK_ONLINE and review_channel != ReviewChannel.ONLINE:
        errors.add("review_channel", "银行线上审核的申请须按线上审核方式审批")
    elif review_channel == ReviewChannel.ONLINE and not locked.bank.offers_online_review:
        errors.add("review_channel", f"{locked.bank}未开展线上审核")
    elif review_channel == ReviewChannel.OFFLINE and not locked.bank.offers_offline_review:
        errors.add("review_channel", f"{locked.bank}未开展线下审核")
    rate = errors.attempt(
        "annual_rate",
        lambda: check_rate_within_cap(
            program=locked.program, review_channel=review_channel, annual_rate=annual_rate
        ),
    )
    errors.raise_if_any("审批信息有误")
    if clean_text(opinion):
        record_opinion(application=locked, user=user, kind=OpinionKind.BANK, text=opinion)
    apply_transition(
        locked,
        action="approve",
        user=user,
        approved_amount=amount,
        approved_rate=rate,
        loan_type=loan_type,
        review_channel=review_channel,
        decided_at=timezone.now(),
    )
    return _refreshed(application)


@transaction.atomic
def decline_application(*, application: Application, user, reason: str) -> Application:
    """The bank declines, with the reason that also fills its opinion box."""
    locked = lock_application(application)
    check_transition(locked, action="decline", user=user, note=clean_text(reason))
    record_opinion(application=locked, user=user, kind=OpinionKind.BANK, text=reason)
    apply_transition(
        locked,
        action="decline",
        user=user,
        note=clean_text(reason),
        decision_reason=clean_text(reason)[:500],
        decided_at=timezone.now(),
    )
    return _refreshed(application)


def estimate_subsidy(application: Application) -> Decimal:
    """The subsidy the union would pay if the approved loan runs its full term from the
    decision day (Beijing date)."""
    if application.approved_amount is None or application.approved_rate is None:
        raise DomainError("not_approved", "银行尚未审批，无法测算贴息金额")
    split = split_principal(
        program=application.program,
        borrower_class=application.borrower_class,
        principal=application.approved_amount,
    )
    start = (
        timezone.localdate(application.decided_at)
        if application.decided_at
        else application.applied_on
    )
    result = compute_subsidy(
        program=application.program,
        inputs=SubsidyInputs(
            subsidised_principal=split.subsidised,
            annual_rate=application.approved_rate,
            review_channel=application.review_channel,
            loan_type=application.loan_type,
            start=start,
            end=add_months(start, application.term_months),
        ),
    )
    return result.total


@transaction.atomic
def request_consent(*, application: Application, user) -> Application:
    """A bank-online application asks the union's consent, with the subsidy it implies."""
    locked = lock_application(application)
    check_transition(locked, action="request_consent", user=user)
    store_pre_loan_checks(locked)
    apply_transition(
        locked,
        action="request_consent",
        user=user,
        consent_subsidy_amount=estimate_subsidy(locked),
    )
    return _refreshed(application)


@transaction.atomic
def give_consent(*, application: Application, user, opinion: str = "") -> Application:
    """The union agrees to subsidise a bank-online loan (the amount shown is the one agreed)."""
    locked = lock_application(application)
    check_transition(locked, action="consent", user=user)
    store_pre_loan_checks(locked)
    if clean_text(opinion):
        record_opinion(application=locked, user=user, kind=OpinionKind.COUNTY_UNION, text=opinion)
    apply_transition(locked, action="consent", user=user, consented_at=timezone.now())
    return _refreshed(application)


@transaction.atomic
def refuse_consent(*, application: Application, user, reason: str) -> Application:
    return apply_transition(
        application, action="refuse_consent", user=user, note=clean_text(reason)
    )


# --- opinions -------------------------------------------------------------------------------

OPINION_ROLES = {
    OpinionKind.RECOMMENDER: frozenset({Role.COUNTY_STAFF, Role.CITY_STAFF}),
    OpinionKind.COUNTY_UNION: frozenset({Role.COUNTY_STAFF, Role.CITY_STAFF}),
    OpinionKind.BANK: frozenset({Role.BANK_OFFICER}),
}


@writes_as_user
@transaction.atomic
def record_opinion(*, application: Application, user, kind: str, text: str) -> Opinion:
    """Write (or rewrite) one of the three opinion boxes of 附件2, by the role that owns it,
    while the application is still under review."""
    if kind not in OpinionKind.values:
        raise DomainError.for_field("kind", "opinion_kind_invalid", "意见类别无效")
    if role_of(user) not in OPINION_ROLES[kind] or not in_scope(user, application):
        raise DomainError("permission_denied", f"您无权填写「{OpinionKind(kind).label}」")
    if application.status not in OPEN_STATUSES:
        raise DomainError("application_closed", "申请已办结，不能再填写审核意见")
    text = clean_text(text)
    if not text:
        raise DomainError.for_field("text", "opinion_required", "请填写审核意见")
    opinion, _ = Opinion.objects.update_or_create(
        application=application,
        kind=kind,
        defaults={"text": text, "author": user, "written_at": timezone.now()},
    )
    application.events.create(
        action="opinion", actor=user, note=f"{opinion.get_kind_display()}：{text}"
    )
    return opinion


@transaction.atomic
def approve_application_by_union(
    *, application: Application, user, opinion: str = ""
) -> Application:
    """The union's "approve" of the batch list: the next approval step the union owns.

    A draft or returned application is submitted (the recommending unit's approval); a
    bank-online application awaiting consent gets it. Anything else is refused.
    """
    if application.status in (S.DRAFT, S.RETURNED):
        if clean_text(opinion):
            record_opinion(
                application=application, user=user, kind=OpinionKind.RECOMMENDER, text=opinion
            )
        return submit_application(application=application, user=user)
    if application.status == S.CONSENT_REQUESTED:
        return give_consent(application=application, user=user, opinion=opinion)
    raise DomainError(
        "invalid_transition", f"申请当前状态为「{application.get_status_display()}」，无需审核通过"
    )
