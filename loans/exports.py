"""The loan list as an .xlsx workbook, streamed: flat memory however many loans.

:func:`loan_export_params` validates the loan list's filters (the same ``LoanFilter`` the list
page uses, the unit choices limited to the user's scope) into plain JSON-able values, so an
export job can store them; :func:`write_loans` writes the scoped, filtered loans with XlsxWriter
in ``constant_memory`` mode, each row going to disk as it is written, the rows fetched in chunks
from one server-side cursor (``values_list().iterator()``) and every label looked up in a dict
built once — no query and no model instance per row. The totals row is summed while streaming.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import xlsxwriter
from django.db import transaction

from accounts.permissions import UNION_STAFF
from accounts.scoping import restrict, role_of
from gonghui.errors import DomainError
from gonghui.money import ZERO
from gonghui.spreadsheets import safe_text
from loans.choices import LoanStatus, LoanType, ReviewChannel
from loans.filters import LoanFilter, clean_id_hash, hide_resident_id
from loans.models import Bank, Loan, Unit
from reports.exports import mask_name

# Sort keys of the loan list (shared with loans.views.loans).
LOAN_SORTS = {
    "-disbursed_on": ("-disbursed_on", "-id"),
    "disbursed_on": ("disbursed_on", "id"),
    "maturity_on": ("maturity_on", "id"),
    "-principal": ("-principal", "-id"),
    "principal": ("principal", "id"),
    "unit": ("unit__sort_order", "unit__code", "-disbursed_on", "-id"),
    "contract_number": ("contract_number", "id"),
}
DEFAULT_SORT = "-disbursed_on"
FILTER_FIELDS = ("q", "program", "unit", "bank", "status", "loan_type")
DATE_FIELDS = ("disbursed_from", "disbursed_to")
MAX_QUERY_LENGTH = 100

# Roles that see borrowers' names in full, as on the application detail page (union
# reviewers); everyone else gets the 公示名单 mask (张小三 → 张*三).
NAME_ROLES = UNION_STAFF

HEADERS = (
    "单位",
    "放款银行",
    "合同编号",
    "借款人",
    "企业名称",
    "贷款金额（元）",
    "贴息本金（元）",
    "拉动贷款金额（元）",
    "年利率（%）",
    "审核方式",
    "贷款类型",
    "放款日期",
    "到期日期",
    "状态",
    "续贷原合同编号",
    "带动就业人数",
    "新增入会职工人数",
)
WIDTHS = (12, 16, 20, 10, 30, 16, 16, 16, 11, 10, 10, 12, 12, 8, 20, 12, 14)
# The database columns, in the order the cells are written.
COLUMNS = (
    "unit_id",
    "bank_id",
    "contract_number",
    "application__applicant__name",
    "application__enterprise__name",
    "principal",
    "subsidised_principal",
    "leveraged_amount",
    "annual_rate",
    "review_channel",
    "loan_type",
    "disbursed_on",
    "maturity_on",
    "status",
    "renewal_of__contract_number",
    "jobs_created",
    "new_union_members",
)
MONEY_FORMAT = "#,##0.00"
RATE_FORMAT = "0.00##"
DATE_FORMAT = "yyyy-mm-dd"
CHUNK_SIZE = 2_000
PROGRESS_EVERY = 5_000


def loan_export_params(data, user) -> dict:
    """The loan list's filters and sort from request data, validated, as JSON-able values.

    Raises :class:`DomainError` with a Chinese message per bad field (an unknown program,
    a unit outside the user's scope, a malformed date, an unknown sort …). A whole resident ID
    searched for is stored as its keyed hash (``idh``), never in clear (loans.filters).
    """
    data = hide_resident_id(data) or data
    filterset = _filterset(data, user)
    form = filterset.form
    errors: dict[str, list[str]] = {}
    if not form.is_valid():
        for field, messages in form.errors.items():
            errors.setdefault(field if field != "__all__" else "non_field", []).extend(
                str(message) for message in messages
            )
    sort = str(data.get("sort") or DEFAULT_SORT)
    if sort not in LOAN_SORTS:
        errors.setdefault("sort", []).append("排序方式无效")
    try:
        id_hash = clean_id_hash(data.get("idh"))
    except DomainError as error:
        id_hash = ""
        for name, messages in error.field_errors.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise DomainError("validation_error", "导出条件有误", field_errors=errors)
    cleaned = form.cleaned_data
    start, end = cleaned.get("disbursed_from"), cleaned.get("disbursed_to")
    if start and end and start > end:
        raise DomainError.for_field(
            "disbursed_to", "date_range_invalid", "结束日期不能早于开始日期"
        )
    query = (cleaned.get("q") or "").strip()
    if len(query) > MAX_QUERY_LENGTH:
        raise DomainError.for_field("q", "too_long", f"搜索内容不能超过{MAX_QUERY_LENGTH}个字符")
    params: dict = {"sort": sort}
    if query:
        params["q"] = query
    if id_hash:
        params["idh"] = id_hash
    for name in ("program", "unit", "bank"):
        if cleaned.get(name) is not None:
            params[name] = cleaned[name].pk
    for name in ("status", "loan_type"):
        if cleaned.get(name):
            params[name] = cleaned[name]
    for name in DATE_FIELDS:
        if cleaned.get(name):
            params[name] = cleaned[name].isoformat()
    return params


def _filterset(data, user, queryset=None) -> LoanFilter:
    filterset = LoanFilter(data, queryset=queryset if queryset is not None else Loan.objects.none())
    # Offer only the units the user may see, as the list page does.
    filterset.form.fields["unit"].queryset = restrict(Unit.objects.all(), user)
    return filterset


def export_queryset(user, params: dict):
    """The scoped, filtered, sorted loans of validated ``params`` (see loan_export_params)."""
    data = {key: str(value) for key, value in params.items()}
    filterset = _filterset(data, user, restrict(Loan.objects.all(), user))
    if not filterset.is_valid():  # e.g. a program deleted since the params were checked
        raise DomainError("validation_error", "导出条件已失效，请重新选择")
    sort = params.get("sort", DEFAULT_SORT)
    return filterset.qs.order_by(*LOAN_SORTS.get(sort, LOAN_SORTS[DEFAULT_SORT]))


def write_loans(
    path: str | Path,
    *,
    user,
    params: dict,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the user's loans matching ``params`` to ``path`` (.xlsx); returns the row count.

    ``progress(done, total)`` is called every 5,000 rows and at the end (the total costs one
    COUNT query, made only when a callback is given).
    """
    queryset = export_queryset(user, params)
    labels = {
        "units": dict(Unit.objects.values_list("id", "name")),
        "banks": {
            pk: short or name
            for pk, short, name in Bank.objects.values_list("id", "short_name", "name")
        },
    }
    # Inside a transaction PostgreSQL streams the server-side cursor; in autocommit Django
    # declares it WITH HOLD, which makes the server build the whole result first.
    with transaction.atomic():
        total = queryset.count() if progress is not None else 0
        rows = queryset.values_list(*COLUMNS).iterator(chunk_size=CHUNK_SIZE)
        written = _write_workbook(
            path,
            rows,
            masked=role_of(user) not in NAME_ROLES,
            progress=progress,
            total=total,
            **labels,
        )
    if progress is not None and (written == 0 or written % PROGRESS_EVERY):
        progress(written, total)  # the last call, unless the loop just made it
    return written


def _write_workbook(path, rows, *, units, banks, masked, progress, total) -> int:
    channels = dict(ReviewChannel.choices)
    types = dict(LoanType.choices)
    statuses = dict(LoanStatus.choices)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        sheet = workbook.add_worksheet("贷款明细")
        bold = workbook.add_format({"bold": True})
        money = workbook.add_format({"num_format": MONEY_FORMAT})
        rate_format = workbook.add_format({"num_format": RATE_FORMAT})
        day = workbook.add_format({"num_format": DATE_FORMAT})
        bold_money = workbook.add_format({"bold": True, "num_format": MONEY_FORMAT})
        for column, width in enumerate(WIDTHS):
            sheet.set_column(column, column, width)
        sheet.write_row(0, 0, HEADERS, bold)
        sheet.freeze_panes(1, 0)

        write_string = sheet.write_string
        write_number = sheet.write_number
        write_datetime = sheet.write_datetime
        principal_sum = subsidised_sum = leveraged_sum = ZERO
        jobs_sum = members_sum = 0
        row = 0
        for (
            unit_id,
            bank_id,
            contract,
            name,
            enterprise,
            principal,
            subsidised,
            leveraged,
            rate,
            channel,
            loan_type,
            disbursed,
            maturity,
            status,
            renewal_of,
            jobs,
            members,
        ) in rows:
            row += 1
            write_string(row, 0, units[unit_id])
            write_string(row, 1, banks[bank_id])
            write_string(row, 2, safe_text(contract))
            write_string(row, 3, safe_text(mask_name(name) if masked else name))
            write_string(row, 4, safe_text(enterprise))
            write_number(row, 5, principal, money)
            write_number(row, 6, subsidised, money)
            write_number(row, 7, leveraged, money)
            write_number(row, 8, rate, rate_format)
            write_string(row, 9, channels[channel])
            write_string(row, 10, types[loan_type])
            write_datetime(row, 11, disbursed, day)
            write_datetime(row, 12, maturity, day)
            write_string(row, 13, statuses[status])
            if renewal_of:
                write_string(row, 14, safe_text(renewal_of))
            write_number(row, 15, jobs)
            write_number(row, 16, members)
            principal_sum += principal
            subsidised_sum += subsidised
            leveraged_sum += leveraged
            jobs_sum += jobs
            members_sum += members
            if progress is not None and row % PROGRESS_EVERY == 0:
                progress(row, total)

        last = row + 1
        write_string(last, 0, "合计", bold)
        write_string(last, 2, f"共{row}笔", bold)
        write_number(last, 5, principal_sum, bold_money)
        write_number(last, 6, subsidised_sum, bold_money)
        write_number(last, 7, leveraged_sum, bold_money)
        write_number(last, 15, jobs_sum, bold)
        write_number(last, 16, members_sum, bold)
    finally:
        workbook.close()
    return row
