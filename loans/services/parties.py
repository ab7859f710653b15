"""Writes on applicants and enterprises: found by resident ID or credit code, or created.

Intake reuses an existing applicant or enterprise by its identity number. Only staff who
may see the existing row (or city staff) may change it, so one unit or bank cannot rewrite
the facts another unit's pre-loan checks rely on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from accounts.choices import Role
from accounts.scoping import in_scope, role_of
from gonghui.errors import DomainError
from gonghui.history import writes_as_user
from gonghui.inputs import FieldErrors, clean_text, parse_amount, parse_count, parse_date
from gonghui.money import ZERO
from gonghui.pii import keyed_hash
from loans.choices import FounderClass, IndustrySection
from loans.models import Applicant, Enterprise
from loans.services import identity

INTAKE_ROLES = frozenset({Role.COUNTY_STAFF, Role.CITY_STAFF, Role.BANK_OFFICER})


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
    licence_date: date | str | None
    industry_section: str
    employees: int | str = 0
    address: str = ""
    industry_code: str = ""
    is_emerging: bool = False
    annual_output: Decimal | str = ZERO
    situation: str = ""


def check_may_update(user, existing: Model | None, label: str, field: str) -> None:
    """Refuse to change a row another unit or bank is working with."""
    if role_of(user) not in INTAKE_ROLES:
        raise DomainError("permission_denied", "您的角色无权录入申请信息")
    if existing is None or role_of(user) == Role.CITY_STAFF:
        return
    if existing.applications.exists() and not in_scope(user, existing):
        raise DomainError.for_field(
            field, "record_out_of_scope", f"该{label}已由其他单位登记，请联系市总工会经办人处理"
        )


def _required_text(errors: FieldErrors, value, field: str, label: str, max_length: int) -> str:
    text = errors.attempt(field, lambda: clean_text(value, max_length=max_length, field=field))
    if text == "":
        errors.add(field, f"请填写{label}")
    return text or ""


def clean_applicant(data: ApplicantData) -> dict:
    """The applicant's stored values, or a DomainError with every field's message.

    No queries: the single-row service and the bulk import both call it.
    """
    errors = FieldErrors()
    id_number = errors.attempt("id_number", lambda: identity.validate_resident_id(data.id_number))
    mobile = errors.attempt("mobile", lambda: identity.validate_mobile(data.mobile))
    name = _required_text(errors, data.name, "name", "申请人姓名", 50)
    texts = {
        field: errors.attempt(
            field, lambda f=field, n=n: clean_text(getattr(data, f), max_length=n, field=f)
        )
        for field, n in (("hukou", 100), ("address", 200), ("union_name", 200), ("resume", 5000))
    }
    if data.founder_class not in FounderClass.values:
        errors.add("founder_class", "创业人员类型无效")
    errors.raise_if_any("申请人信息有误")
    return {
        "id_number": id_number,
        "name": name,
        "mobile": mobile,
        "is_model_worker": bool(data.is_model_worker),
        "is_epidemic_relative": bool(data.is_epidemic_relative),
        "founder_class": data.founder_class,
        "is_union_member": bool(data.is_union_member),
        **texts,
    }


@writes_as_user
@transaction.atomic
def upsert_applicant(*, user, data: ApplicantData) -> Applicant:
    """The applicant with this resident ID, created or brought up to date."""
    values = clean_applicant(data)
    id_number = values.pop("id_number")
    existing = Applicant.objects.select_for_update().by_resident_id(id_number).first()
    check_may_update(user, existing, "申请人", "id_number")
    applicant, _ = Applicant.objects.update_or_create(
        id_number_hash=keyed_hash(id_number), defaults={**values, "id_number": id_number}
    )
    return applicant


def _industry_code(value) -> str:
    code = identity.normalize_text(clean_text(value))
    if code and not (len(code) == 4 and code.isascii() and code.isdigit()):
        raise DomainError.for_field("industry_code", "industry_code_invalid", "行业代码须为4位数字")
    return code


def clean_enterprise(data: EnterpriseData) -> dict:
    """The enterprise's stored values, or a DomainError with every field's message.

    No queries (the licence date is compared with today's date): the single-row service
    and the bulk import both call it.
    """
    errors = FieldErrors()
    credit_code = errors.attempt(
        "credit_code", lambda: identity.validate_credit_code(data.credit_code)
    )
    name = _required_text(errors, data.name, "name", "企业名称", 200)
    legal = _required_text(
        errors, data.legal_representative, "legal_representative", "法人代表", 50
    )
    if data.industry_section not in IndustrySection.values:
        errors.add("industry_section", "请选择行业门类")
    code = errors.attempt("industry_code", lambda: _industry_code(data.industry_code))
    employees = errors.attempt(
        "employees", lambda: parse_count(data.employees, field="employees", label="职工数")
    )
    output = errors.attempt(
        "annual_output",
        lambda: parse_amount(data.annual_output or "0", field="annual_output", allow_zero=True),
    )
    licence = errors.attempt(
        "licence_date",
        lambda: parse_date(data.licence_date, field="licence_date", label="营业执照领取时间"),
    )
    if licence is not None and licence > timezone.localdate():
        errors.add("licence_date", "营业执照领取时间不能晚于今天")
    address = errors.attempt(
        "address", lambda: clean_text(data.address, max_length=200, field="address")
    )
    errors.raise_if_any("企业信息有误")
    return {
        "credit_code": credit_code,
        "name": name,
        "legal_representative": legal,
        "address": address,
        "employees": employees,
        "licence_date": licence,
        "industry_section": data.industry_section,
        "industry_code": code,
        "is_emerging": bool(data.is_emerging),
        "annual_output": output,
        "situation": clean_text(data.situation),
    }


@writes_as_user
@transaction.atomic
def upsert_enterprise(*, user, data: EnterpriseData) -> Enterprise:
    """The enterprise with this credit code, created or brought up to date."""
    values = clean_enterprise(data)
    credit_code = values.pop("credit_code")
    existing = Enterprise.objects.select_for_update().filter(credit_code=credit_code).first()
    check_may_update(user, existing, "企业", "credit_code")
    enterprise, _ = Enterprise.objects.update_or_create(credit_code=credit_code, defaults=values)
    return enterprise
