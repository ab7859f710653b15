"""Writes on applications: intake by each channel, review, bank decision, consent, opinions.

Every function is keyword-only, runs in one transaction, validates before it saves and
raises :class:`~gonghui.errors.DomainError` on a refusal, so nothing is half-written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.choices import Role
from accounts.scoping import in_scope, profile_of, role_of
from gonghui.errors import DomainError
from gonghui.money import ZERO, parse_amount, round_fen
from loans.choices import (
    ApplicationChannel,
    ApplicationStatus,
    FounderClass,
    IndustrySection,
    LoanPurpose,
    LoanType,
    OpinionKind,
    ReviewChannel,
)
from loans.models import Applicant, Application, Bank, Enterprise, Opinion, Program, Unit
from loans.services import identity
from loans.services.eligibility import store_pre_loan_checks, unsatisfied_checks
from loans.services.rules import add_months, check_rate_within_cap, check_term
from loans.services.workflow import apply_transition, check_transition

# --- applicant and enterprise -----------------------------------------------------------


@dataclass(frozen=True)
class ApplicantData:
    name: str
    id_number: str
    mobile: str
    hukou: str = ""
    address: str = ""
    is_model_worker: bool = False
    is_epidemic_relative: bool = False
    founder_class: str = FounderClass.OTHER
    is_union_member: bool = True
    union_name: str = ""
    resume: str = ""


@dataclass(frozen=True)
class EnterpriseData:
    name: str
    credit_code: str
    legal_representative: str
    licence_date: date
    industry_section: str
    employees: int = 0
    address: str = ""
    industry_code: str = ""
    is_emerging: bool = False
    annual_output: Decimal = ZERO
    situation: str = ""


def _required(value: str, field: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError.for_field(field, "required", f"请填写{label}")
    return value


@transaction.atomic
def upsert_applicant(*, data: ApplicantData) -> Applicant:
    """The applicant with this resident ID, created or brought up to date."""
    errors: dict[str, list[str]] = {}
    values = {}
    for field, check in (
        ("id_number", identity.validate_resident_id),
        ("mobile", identity.validate_mobile),
    ):
        try:
            values[field] = check(getattr(data, field), field=field)
        except DomainError as error:
            errors.update(error.field_errors)
    if not (data.name or "").strip():
        errors["name"] = ["请填写申请人姓名"]
    if data.founder_class not in FounderClass.values:
        errors["founder_class"] = ["创业人员类型无效"]
    if errors:
        raise DomainError("validation_error", "申请人信息有误", field_errors=errors)
    applicant, _ = Applicant.objects.update_or_create(
        id_number=values["id_number"],
        defaults={
            "name": data.name.strip(),
            "mobile": values["mobile"],
            "hukou": data.hukou.strip(),
            "address": data.address.strip(),
            "is_model_worker": data.is_model_worker,
            "is_epidemic_relative": data.is_epidemic_relative,
            "founder_class": data.founder_class,
            "is_union_member": data.is_union_member,
            "union_name": data.union_name.strip(),
            "resume": data.resume.strip(),
        },
    )
    return applicant


@transaction.atomic
def upsert_enterprise(*, data: EnterpriseData) -> Enterprise:
    """The enterprise with this credit code, created or brought up to date."""
    errors: dict[str, list[str]] = {}
    credit_code = ""
    try:
        credit_code = identity.validate_credit_code(data.credit_code)
    except DomainError as error:
        errors.update(error.field_errors)
    for field, label in (("name", "企业名称"), ("legal_representative", "法人代表")):
        if not (getattr(data, field) or "").strip():
            errors[field] = [f"请填写{label}"]
    if data.industry_section not in IndustrySection.values:
        errors["industry_section"] = ["请选择行业门类"]
    code = identity.normalize_text(data.industry_code or "")
    if code and not (len(code) == 4 and code.isascii() and code.isdigit()):
        errors["industry_code"] = ["行业代码须为4位数字"]
    if data.employees is None or int(data.employees) < 0:
        errors["employees"] = ["职工数不能为负数"]
    if data.licence_date is None:
        errors["licence_date"] = ["请填写营业执照领取时间"]
    elif data.licence_date > timezone.localdate():
        errors["licence_date"] = ["营业执照领取时间不能晚于今天"]
    if Decimal(data.annual_output or 0) < ZERO:
        errors["annual_output"] = ["年产值不能为负数"]
    if errors:
        raise DomainError("validation_error", "企业信息有误", field_errors=errors)
    enterprise, _ = Enterprise.objects.update_or_create(
        credit_code=credit_code,
        defaults={
            "name": data.name.strip(),
            "legal_representative": data.legal_representative.strip(),
            "address": data.address.strip(),
            "employees": int(data.employees),
            "licence_date": data.licence_date,
            "industry_section": data.industry_section,
            "industry_code": code,
            "is_emerging": data.is_emerging,
            "annual_output": round_fen(Decimal(data.annual_output or 0)),
            "situation": data.situation.strip(),
        },
    )
    return enterprise


# --- intake -------------------------------------------------------------------------------


def next_reference(program: Program) -> str:
    """The next application number of a program, e.g. ``2020-jgd-000042``."""
    last = Application.objects.filter(program=program).aggregate(last=Max("reference"))["last"]
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{program.code}-{number:06d}"


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
    applied_on: date,
    term_months: int | None = None,
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
    if not program.is_active:
        raise DomainError.for_field("program", "program_closed", "该贷款项目已结束，不再受理申请")
    _check_intake_role(user=user, channel=channel, unit=unit, bank=bank)
    errors: dict[str, list[str]] = {}
    try:
        amount = parse_amount(amount, field="amount")
    except DomainError as error:
        errors.update(error.field_errors)
    try:
        term_months = check_term(program=program, term_months=term_months or program.term_months)
    except DomainError as error:
        errors.update(error.field_errors)
    if purpose not in LoanPurpose.values:
        errors["purpose"] = ["贷款用途无效"]
    elif purpose == LoanPurpose.OTHER and not purpose_other.strip():
        errors["purpose_other"] = ["贷款用途为其他时须说明用途"]
    if applied_on is None:
        errors["applied_on"] = ["请填写申请时间"]
    elif applied_on > timezone.localdate():
        errors["applied_on"] = ["申请时间不能晚于今天"]
    if errors:
        raise DomainError("validation_error", "申请信息有误", field_errors=errors)
    from_bank = channel != ApplicationChannel.UNION_REFERRAL
    status = ApplicationStatus.SUBMITTED if (submit or from_bank) else ApplicationStatus.DRAFT
    application = Application(
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
        term_months=term_months,
        purpose=purpose,
        purpose_other=purpose_other.strip(),
        applied_on=applied_on,
        created_by=user,
    )
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError:
        # Two intakes raced for the same number: take the next one.
        application.reference = next_reference(program)
        application.save()
    application.events.create(action="create", to_status=status, actor=user)
    store_pre_loan_checks(application)
    return application


# --- union review -------------------------------------------------------------------------


def _require_checks_satisfied(application: Application) -> None:
    store_pre_loan_checks(application)
    failed = unsatisfied_checks(application)
    if failed:
        names = "、".join(c.get_rule_display() for c in failed)
        raise DomainError(
            "pre_loan_checks_failed",
            f"贷前审查未通过：{names}。请退回、拒绝，或填写例外通过理由",
            field_errors={c.rule: [c.reason] for c in failed},
        )


@transaction.atomic
def submit_application(*, application: Application, user) -> Application:
    return apply_transition(application, action="submit", user=user)


@transaction.atomic
def recommend_application(
    *, application: Application, user, bank: Bank | None = None, opinion: str = ""
) -> Application:
    """Recommend an application to a bank once every pre-loan check is passed or overridden."""
    check_transition(application, action="recommend", user=user)
    bank = bank or application.bank
    if bank is None:
        raise DomainError.for_field("bank", "bank_required", "请选择推荐的合作银行")
    if application.channel == ApplicationChannel.BANK_REFERRAL and bank.pk != application.bank_id:
        raise DomainError.for_field("bank", "bank_fixed", "银行推荐的申请只能推荐回原银行")
    _require_checks_satisfied(application)
    if opinion.strip():
        record_opinion(
            application=application, user=user, kind=OpinionKind.COUNTY_UNION, text=opinion
        )
    return apply_transition(application, action="recommend", user=user, bank=bank)


@transaction.atomic
def return_application(*, application: Application, user, reason: str) -> Application:
    return apply_transition(application, action="return", user=user, note=reason)


@transaction.atomic
def reject_application(*, application: Application, user, reason: str) -> Application:
    return apply_transition(application, action="reject", user=user, note=reason)


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
    """The bank's approval: amount, rate within the channel's cap, and loan type."""
    check_transition(application, action="approve", user=user)
    errors: dict[str, list[str]] = {}
    try:
        amount = parse_amount(amount, field="amount")
    except DomainError as error:
        errors.update(error.field_errors)
    if loan_type not in LoanType.values:
        errors["loan_type"] = ["贷款类型须为信用、担保或抵押"]
    if (
        application.channel == ApplicationChannel.BANK_ONLINE
        and review_channel != ReviewChannel.ONLINE
    ):
        errors["review_channel"] = ["银行线上审核的申请须按线上审核方式审批"]
    try:
        rate = check_rate_within_cap(
            program=application.program, review_channel=review_channel, annual_rate=annual_rate
        )
    except DomainError as error:
        errors.update(error.field_errors)
    if errors:
        raise DomainError("validation_error", "审批信息有误", field_errors=errors)
    if opinion.strip():
        record_opinion(application=application, user=user, kind=OpinionKind.BANK, text=opinion)
    return apply_transition(
        application,
        action="approve",
        user=user,
        approved_amount=amount,
        approved_rate=rate,
        loan_type=loan_type,
        review_channel=review_channel,
        decided_at=timezone.now(),
    )


@transaction.atomic
def decline_application(*, application: Application, user, reason: str) -> Application:
    """The bank declines, with the reason that also fills its opinion box."""
    application = apply_transition(
        application,
        action="decline",
        user=user,
        note=reason,
        decision_reason=(reason or "").strip(),
        decided_at=timezone.now(),
    )
    record_opinion(application=application, user=user, kind=OpinionKind.BANK, text=reason)
    return application


def estimate_subsidy(application: Application) -> Decimal:
    """The subsidy the union would pay if the approved loan runs its full term."""
    from loans.services.rules import split_principal
    from subsidies.services.calculation import SubsidyInputs, compute_subsidy

    if application.approved_amount is None or application.approved_rate is None:
        raise DomainError("not_approved", "银行尚未审批，无法测算贴息金额")
    split = split_principal(
        program=application.program,
        borrower_class=application.borrower_class,
        principal=application.approved_amount,
    )
    start = application.decided_at.date() if application.decided_at else application.applied_on
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
    check_transition(application, action="request_consent", user=user)
    store_pre_loan_checks(application)
    return apply_transition(
        application,
        action="request_consent",
        user=user,
        consent_subsidy_amount=estimate_subsidy(application),
    )


@transaction.atomic
def give_consent(*, application: Application, user, opinion: str = "") -> Application:
    """The union agrees to subsidise a bank-online loan (the amount shown is the one agreed)."""
    check_transition(application, action="consent", user=user)
    _require_checks_satisfied(application)
    if opinion.strip():
        record_opinion(
            application=application, user=user, kind=OpinionKind.COUNTY_UNION, text=opinion
        )
    return apply_transition(application, action="consent", user=user, consented_at=timezone.now())


@transaction.atomic
def refuse_consent(*, application: Application, user, reason: str) -> Application:
    return apply_transition(application, action="refuse_consent", user=user, note=reason)


# --- opinions -------------------------------------------------------------------------------


OPINION_ROLES = {
    OpinionKind.RECOMMENDER: frozenset({Role.COUNTY_STAFF, Role.CITY_STAFF}),
    OpinionKind.COUNTY_UNION: frozenset({Role.COUNTY_STAFF, Role.CITY_STAFF}),
    OpinionKind.BANK: frozenset({Role.BANK_OFFICER}),
}


@transaction.atomic
def record_opinion(*, application: Application, user, kind: str, text: str) -> Opinion:
    """Write (or rewrite) one of the three opinion boxes of 附件2, by the role that owns it."""
    if kind not in OpinionKind.values:
        raise DomainError.for_field("kind", "opinion_kind_invalid", "意见类别无效")
    if role_of(user) not in OPINION_ROLES[kind] or not in_scope(user, application):
        raise DomainError("permission_denied", f"您无权填写「{OpinionKind(kind).label}」")
    text = (text or "").strip()
    if not text:
        raise DomainError.for_field("text", "opinion_required", "请填写审核意见")
    opinion, _ = Opinion.objects.update_or_create(
        application=application, kind=kind, defaults={"text": text, "author": user}
    )
    application.events.create(
        action="opinion", actor=user, note=f"{opinion.get_kind_display()}：{text}"
    )
    return opinion
