"""The application roster (申请表汇总): one row per application in 附件2's fields.

The roster can hold every application of a city over years, so it is streamed: an openpyxl
write-only workbook fed from a queryset ``.iterator()`` whose joins (``select_related``) and
the three opinions (one correlated subquery each) come back in the same rows, so memory and
the number of queries stay flat as the rows grow.

Who sees what follows the application detail page: union staff (county and city) see
resident IDs, birth dates and mobiles in full; managers and bank officers see them masked
(ID ``3604**********1234``, mobile ``139****0001``, birth year only). Rows are the user's
scope (``accounts.scoping.restrict``): county staff their unit, bank officers their bank.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import OuterRef, QuerySet, Subquery
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from accounts.choices import Role
from accounts.permissions import UNION_STAFF, int_id
from accounts.scoping import restrict, role_of
from gonghui.errors import DomainError
from gonghui.inputs import FieldErrors, clean_text, parse_date
from gonghui.money import WAN
from gonghui.spreadsheets import safe_text
from loans.choices import ApplicationChannel, ApplicationStatus, FounderClass, OpinionKind
from loans.filters import by_id_hash, clean_id_hash, hide_resident_id, search_people
from loans.models import Application, Bank, Opinion, PersonalDataAccess, Program, Unit
from loans.services.identity import birth_date_or_none, mask_mobile, mask_resident_id
from loans.services.privacy import record_access

PROGRESS_EVERY = 1000
ROSTER_ROLES = frozenset({Role.COUNTY_STAFF, Role.CITY_STAFF, Role.MANAGER, Role.BANK_OFFICER})
# The roles that see identity fields in full, as on the application detail page.
UNMASKED_ROLES = UNION_STAFF

# (header, width) in the order of the 附件2 form, then the workflow's own columns.
COLUMNS = (
    ("序号", 6),
    ("申请编号", 20),
    ("贷款项目", 14),
    ("所属单位", 12),
    ("申请人", 10),
    ("性别", 6),
    ("出生日期", 12),
    ("身份证号", 21),
    ("手机号码", 13),
    ("是否劳模", 8),
    ("借款人类别", 14),
    ("创业人员类型", 20),
    ("工会会员", 8),
    ("所属工会", 20),
    ("企业名称", 28),
    ("统一社会信用代码", 21),
    ("法人代表", 10),
    ("行业", 24),
    ("职工数", 8),
    ("营业执照领取时间", 12),
    ("贷款金额（万元）", 12),
    ("贷款期限（月）", 8),
    ("贷款用途", 14),
    ("申请时间", 12),
    ("申报方式", 12),
    ("合作银行", 16),
    ("状态", 14),
    ("推荐单位审核意见", 30),
    ("县区总工会审核意见", 30),
    ("银行审核意见", 30),
)
HEADERS = tuple(header for header, _ in COLUMNS)
AMOUNT_FORMAT = "#,##0.00####"  # 万元, exact to the fen (元 / 10000 has 6 places)
DATE_FORMAT = "yyyy-mm-dd"
OPINION_FIELDS = {
    OpinionKind.RECOMMENDER: "opinion_recommender",
    OpinionKind.COUNTY_UNION: "opinion_county",
    OpinionKind.BANK: "opinion_bank",
}


# --- params ------------------------------------------------------------------------------


def roster_params(data, user) -> dict:
    """Clean the roster filters into JSON-safe params for the download or a job.

    Accepts the application list's own query names, so the list's filters carry over:
    ``program`` (id or code), ``unit`` (id), ``status``, ``channel``, ``founder_class``,
    ``bank`` (id), ``q`` (name, enterprise or ID digits), ``applied_from`` and
    ``applied_to`` (YYYY-MM-DD). Returns the same keys, JSON-safe (ids, strings, ISO dates,
    None for "any"). Bad input raises one
    DomainError with a Chinese message per field; a unit outside the user's scope is bad
    input too (county staff export only their unit, bank officers their bank's rows).
    A whole resident ID in ``q`` is kept as its keyed hash (``idh``), never in clear, as the
    list page does (loans.filters.hide_resident_id); ``idh`` itself is accepted too.
    """
    data = hide_resident_id(data) or data
    if role_of(user) not in ROSTER_ROLES:
        raise DomainError("forbidden", "您的角色无权导出申请名册")
    errors = FieldErrors()
    program_id = None
    program_text = str(data.get("program") or "").strip()
    if program_text:
        lookup = {"pk": int_id(program_text)} if program_text.isdigit() else {"code": program_text}
        program_id = (
            restrict(Program.objects.filter(**lookup), user).values_list("pk", flat=True).first()
            if all(lookup.values())
            else None
        )
        if program_id is None:
            errors.add("program", "贷款项目不存在")
    unit_id = None
    unit_text = str(data.get("unit") or "").strip()
    if unit_text:
        unit_id = int_id(unit_text)
        if unit_id is None or not restrict(Unit.objects.filter(pk=unit_id), user).exists():
            errors.add("unit", "单位不存在或不在您的管辖范围内")
            unit_id = None
    choices = {}
    for name, allowed, message in (
        ("status", ApplicationStatus.values, "申请状态无效"),
        ("channel", ApplicationChannel.values, "申报方式无效"),
        ("founder_class", FounderClass.values, "创业人员类型无效"),
    ):
        choices[name] = str(data.get(name) or "").strip() or None
        if choices[name] is not None and choices[name] not in allowed:
            errors.add(name, message)
    bank_id = None
    bank_text = str(data.get("bank") or "").strip()
    if bank_text:
        bank_id = int_id(bank_text)
        if bank_id is None or not Bank.objects.filter(pk=bank_id).exists():
            errors.add("bank", "合作银行不存在")
    search = errors.attempt("q", lambda: clean_text(data.get("q"), max_length=50, field="q"))
    id_hash = errors.attempt("idh", lambda: clean_id_hash(data.get("idh")))
    dates = {}
    for name, label in (("applied_from", "申请日期起"), ("applied_to", "申请日期止")):
        text = str(data.get(name) or "").strip()
        dates[name] = (
            errors.attempt(name, lambda t=text, n=name, lb=label: parse_date(t, field=n, label=lb))
            if text
            else None
        )
    if (
        dates["applied_from"]
        and dates["applied_to"]
        and dates["applied_from"] > dates["applied_to"]
    ):
        errors.add("applied_to", "申请日期止不能早于申请日期起")
    errors.raise_if_any("申请名册的筛选条件有误")
    return {
        "program": program_id,
        "unit": unit_id,
        **choices,
        "bank": bank_id,
        "q": search or None,
        "idh": id_hash or None,
        "applied_from": dates["applied_from"].isoformat() if dates["applied_from"] else None,
        "applied_to": dates["applied_to"].isoformat() if dates["applied_to"] else None,
    }


# --- rows --------------------------------------------------------------------------------


def roster_queryset(user, params: dict) -> QuerySet[Application]:
    """The applications of the roster, in the user's scope, with everything a row needs."""
    applications = restrict(
        Application.objects.select_related("applicant", "enterprise", "unit", "bank", "program"),
        user,
    )
    if params.get("program"):
        applications = applications.filter(program_id=params["program"])
    if params.get("unit"):
        applications = applications.filter(unit_id=params["unit"])
    for name, lookup in (
        ("status", "status"),
        ("channel", "channel"),
        ("founder_class", "applicant__founder_class"),
        ("bank", "bank_id"),
    ):
        if params.get(name):
            applications = applications.filter(**{lookup: params[name]})
    if params.get("q"):
        applications = search_people(applications, params["q"])
    if params.get("idh"):
        applications = by_id_hash(applications, params["idh"])
    if params.get("applied_from"):
        applications = applications.filter(applied_on__gte=params["applied_from"])
    if params.get("applied_to"):
        applications = applications.filter(applied_on__lte=params["applied_to"])
    opinions = {
        field: Subquery(
            Opinion.objects.filter(application=OuterRef("pk"), kind=kind).values("text")[:1]
        )
        for kind, field in OPINION_FIELDS.items()
    }
    return applications.annotate(**opinions).order_by("unit__sort_order", "applied_on", "pk")


def _birth_and_sex(id_number: str) -> tuple[date | None, str]:
    """Birth date and sex encoded in an 18-character resident ID (odd 17th digit: male)."""
    if len(id_number) != 18 or not id_number[:17].isdigit():
        return None, ""
    return birth_date_or_none(id_number), "男" if int(id_number[16]) % 2 else "女"


def roster_row(number: int, application: Application, *, unmasked: bool) -> list:
    applicant, enterprise = application.applicant, application.enterprise
    birth, sex = _birth_and_sex(applicant.id_number)
    if unmasked:
        birth_cell, id_cell, mobile_cell = birth, applicant.id_number, applicant.mobile
    else:
        birth_cell = f"{birth.year}年" if birth else ""
        id_cell = mask_resident_id(applicant.id_number)
        mobile_cell = mask_mobile(applicant.mobile)
    purpose = application.get_purpose_display()
    if application.purpose_other:
        purpose = f"{purpose}（{application.purpose_other}）"
    return [
        number,
        application.reference,
        application.program.name,
        application.unit.name,
        applicant.name,
        sex,
        birth_cell,
        id_cell,
        mobile_cell,
        "是" if applicant.is_model_worker else "否",
        application.get_borrower_class_display(),
        applicant.get_founder_class_display(),
        "是" if applicant.is_union_member else "否",
        applicant.union_name,
        enterprise.name,
        enterprise.credit_code,
        enterprise.legal_representative,
        enterprise.get_industry_section_display(),
        enterprise.employees,
        enterprise.licence_date,
        Decimal(application.amount) / WAN,
        application.term_months,
        purpose,
        application.applied_on,
        application.get_channel_display(),
        str(application.bank) if application.bank_id else "",
        application.get_status_display(),
        application.opinion_recommender or "",
        application.opinion_county or "",
        application.opinion_bank or "",
    ]


# --- the workbook ------------------------------------------------------------------------

AMOUNT_COLUMN = HEADERS.index("贷款金额（万元）")
DATE_COLUMNS = frozenset(HEADERS.index(h) for h in ("出生日期", "营业执照领取时间", "申请时间"))


def roster_title(params: dict) -> str:
    program = (
        Program.objects.filter(pk=params.get("program")).first() if params.get("program") else None
    )
    return f"{program.name if program else '全部项目'}贷款申请表汇总（附件2）"


def write_roster(path, *, user, params: dict, progress=None) -> int:
    """Stream the roster for cleaned ``params`` (see :func:`roster_params`) to ``path`` (a
    file name or a binary file object); returns the number of application rows.

    ``progress(done, total)`` is called every ``PROGRESS_EVERY`` rows and once at the end.
    """
    if role_of(user) not in ROSTER_ROLES:
        raise DomainError("forbidden", "您的角色无权导出申请名册")
    unmasked = role_of(user) in UNMASKED_ROLES
    applications = roster_queryset(user, params)
    total = applications.count() if progress else 0

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("申请名册")
    for index, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "C3"
    title = WriteOnlyCell(sheet, value=roster_title(params))
    title.font = Font(size=14, bold=True)
    sheet.append([title])
    box = Border(*(Side(style="thin"),) * 4)
    fill = PatternFill("solid", fgColor="F2F4F7")
    header_cells = []
    for header in HEADERS:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = Font(bold=True)
        cell.border = box
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        header_cells.append(cell)
    sheet.append(header_cells)

    done = 0
    for application in applications.iterator(chunk_size=PROGRESS_EVERY):
        done += 1
        values = roster_row(done, application, unmasked=unmasked)
        cells = []
        for index, value in enumerate(values):
            if index == AMOUNT_COLUMN or (index in DATE_COLUMNS and isinstance(value, date)):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = AMOUNT_FORMAT if index == AMOUNT_COLUMN else DATE_FORMAT
                cells.append(cell)
            else:
                cells.append(safe_text(value))
        sheet.append(cells)
        if progress and done % PROGRESS_EVERY == 0:
            progress(done, total)
    sheet.print_title_rows = "2:2"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    workbook.save(path)
    if progress:
        progress(done, total)
    if unmasked:
        record_access(user=user, purpose=PersonalDataAccess.Purpose.ROSTER, row_count=done)
    return done
