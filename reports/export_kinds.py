"""Export jobs of the reports app (see ``reports.jobs`` for the contract).

公示名单 and the application roster (附件2 columns): the downloads that grow with the
loans. The annual analysis is a few dozen aggregate rows and stays a direct download.
"""

from __future__ import annotations

from accounts.choices import Role
from accounts.scoping import restrict, role_of
from gonghui.errors import DomainError
from gonghui.inputs import FieldErrors, parse_date
from loans.models import Loan, Program
from reports.exports import announcement_xlsx
from reports.jobs import register_export, tracked
from reports.roster import ROSTER_ROLES, roster_params, write_roster

ANNOUNCEMENT_ROLES = frozenset({Role.CITY_STAFF, Role.MANAGER})


def announcement_loans(user, program, *, start=None, end=None):
    """The loans of a 公示名单: the program's, in the user's scope and the disbursal period."""
    loans = restrict(Loan.objects.filter(program=program), user).select_related(
        "unit", "bank", "application__applicant", "application__enterprise"
    )
    if start:
        loans = loans.filter(disbursed_on__gte=start)
    if end:
        loans = loans.filter(disbursed_on__lte=end)
    return loans.order_by("unit__sort_order", "disbursed_on", "id")


def parse_announcement(data, user) -> dict:
    errors = FieldErrors()
    code = (data.get("program") or "").strip()
    program = Program.objects.filter(code=code).first() if code else None
    if program is None:
        errors.add("program", "请选择贷款项目" if not code else "没有这个贷款项目")
    start = errors.attempt(
        "from", lambda: parse_date(data["from"], field="from") if data.get("from") else None
    )
    end = errors.attempt(
        "to", lambda: parse_date(data["to"], field="to") if data.get("to") else None
    )
    if start and end and start > end:
        errors.add("to", "结束日期不能早于开始日期")
    errors.raise_if_any("导出条件有误")
    return {
        "program": program.code,
        "from": start.isoformat() if start else "",
        "to": end.isoformat() if end else "",
    }


def write_announcement(path, *, user, params, progress) -> int:
    program = Program.objects.filter(code=params["program"]).first()
    if program is None:
        raise DomainError("program_gone", "该贷款项目已不存在")
    loans = announcement_loans(
        user,
        program,
        start=parse_date(params["from"], field="from") if params.get("from") else None,
        end=parse_date(params["to"], field="to") if params.get("to") else None,
    )
    total = loans.count()
    announcement_xlsx(
        program=program,
        loans=tracked(loans.iterator(chunk_size=2000), progress, total=total),
        target=path,
    )
    return total


register_export(
    "announcement",
    label="贷款贴息公示名单",
    parse_params=parse_announcement,
    write=write_announcement,
    filename=lambda params: f"{params['program']}-announcement.xlsx",
    allowed=lambda user: role_of(user) in ANNOUNCEMENT_ROLES,
)

register_export(
    "roster",
    label="贷款申请名册（附件2格式）",
    parse_params=roster_params,
    write=write_roster,
    filename=lambda params: "application-roster.xlsx",
    allowed=lambda user: role_of(user) in ROSTER_ROLES,
)
