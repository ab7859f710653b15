"""Excel (``.xlsx``) downloads of the subsidy pages: the ledger (贴息台账) and the county
allocation table (贴息补助分配表).

Amounts are written as numbers (the stored ``Decimal``, never a float computed here) with
the ``#,##0.00`` format, so the sheet adds up in Excel and shows the same figures to the fen
as the page. Each writer returns the workbook's bytes;
``gonghui.spreadsheets.xlsx_response`` wraps them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from gonghui.spreadsheets import safe_text
from subsidies.models import SubsidyClaim
from subsidies.selectors import LedgerTotals
from subsidies.services.allocation import AllocationTable

MONEY_FORMAT = "#,##0.00"
RATE_FORMAT = "0.00##"
PERCENT_FORMAT = "0.00##"
COUNT_FORMAT = "0"
DATE_FORMAT = "yyyy-mm-dd"

TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
THIN = Side(style="thin", color="BFBFBF")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def _save(workbook: Workbook) -> bytes:
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- ledger -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    number_format: str | None = None


LEDGER_COLUMNS = (
    Column("合同编号", 22),
    Column("借款人", 10),
    Column("企业", 28),
    Column("单位", 14),
    Column("合作银行", 18),
    Column("贷款项目", 14),
    Column("贷款类型", 9),
    Column("贴息本金（元）", 16, MONEY_FORMAT),
    Column("贴息年利率（%）", 12, RATE_FORMAT),
    Column("计息起始日", 12, DATE_FORMAT),
    Column("计息截止日", 12, DATE_FORMAT),
    Column("贴息天数", 9, COUNT_FORMAT),
    Column("贴息金额（元）", 15, MONEY_FORMAT),
    Column("保费补贴（元）", 15, MONEY_FORMAT),
    Column("补贴合计（元）", 16, MONEY_FORMAT),
    Column("拨付批次", 18),
    Column("状态", 11),
)
# 1-based positions of the columns the totals row fills.
LEDGER_INTEREST_COLUMN = 13
LEDGER_PREMIUM_COLUMN = 14
LEDGER_AMOUNT_COLUMN = 15


def ledger_row(claim: SubsidyClaim) -> list:
    """One claim as the sheet's values, in the order of ``LEDGER_COLUMNS``."""
    application = claim.loan.application
    return [
        claim.loan.contract_number,
        application.applicant.name,
        application.enterprise.name if application.enterprise_id else "",
        claim.unit.name,
        claim.bank.name,
        str(claim.program),
        claim.get_loan_type_display(),
        claim.subsidised_principal,
        claim.applied_rate,
        claim.start_on,
        claim.end_on,
        claim.days,
        claim.interest_subsidy,
        claim.premium_subsidy,
        claim.amount,
        claim.batch.number if claim.batch_id else "",
        claim.get_status_display(),
    ]


def ledger_workbook(
    claims: Iterable[SubsidyClaim], totals: LedgerTotals, *, subtitle: str = "", target=None
) -> bytes | None:
    """The ledger sheet: a title row 贴息台账, a subtitle (filters, time), a bold header,
    one row per claim and a totals row. Written in write-only mode (streamed), to the path
    ``target`` when given (then nothing is returned)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("贴息台账")
    for index, column in enumerate(LEDGER_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A4"

    def cell(value, *, font=None, number_format=None, fill=None, alignment=None):
        item = WriteOnlyCell(sheet, value=value)
        if font is not None:
            item.font = font
        if number_format is not None and value is not None and value != "":
            item.number_format = number_format
        if fill is not None:
            item.fill = fill
        if alignment is not None:
            item.alignment = alignment
        return item

    sheet.append([cell("贴息台账", font=TITLE_FONT)])
    generated = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    sheet.append([cell(f"{subtitle}　导出时间：{generated}".strip("　"))])
    sheet.append(
        [
            cell(column.header, font=BOLD, fill=HEADER_FILL, alignment=CENTER)
            for column in LEDGER_COLUMNS
        ]
    )
    for claim in claims:
        values = ledger_row(claim)
        sheet.append(
            [
                cell(safe_text(value), number_format=column.number_format)
                for value, column in zip(values, LEDGER_COLUMNS, strict=True)
            ]
        )
    footer = [cell(None) for _ in LEDGER_COLUMNS]
    footer[0] = cell("合计", font=BOLD)
    footer[1] = cell(f"{totals.count}笔", font=BOLD)
    for position, value in (
        (LEDGER_INTEREST_COLUMN, totals.interest_subsidy),
        (LEDGER_PREMIUM_COLUMN, totals.premium_subsidy),
        (LEDGER_AMOUNT_COLUMN, totals.amount),
    ):
        footer[position - 1] = cell(value, font=BOLD, number_format=MONEY_FORMAT)
    footer[-1] = cell(f"已支付{totals.paid_amount:,.2f}元", font=BOLD)
    sheet.append(footer)
    if target is not None:
        workbook.save(target)
        return None
    return _save(workbook)


# --- county allocation --------------------------------------------------------------------

ALLOCATION_COLUMNS = (
    Column("序号", 6, COUNT_FORMAT),
    Column("单位", 16),
    Column("任务数（元）", 16, MONEY_FORMAT),
    Column("调出（−，元）", 14, MONEY_FORMAT),
    Column("调入（+，元）", 14, MONEY_FORMAT),
    Column("调整后任务数（元）", 17, MONEY_FORMAT),
    Column("完成额（元）", 16, MONEY_FORMAT),
    Column("完成率（%）", 11, PERCENT_FORMAT),
    Column("计入补助的完成额（元）", 18, MONEY_FORMAT),
    Column("分配比例（%）", 12, PERCENT_FORMAT),
    Column("分配金额（元）", 15, MONEY_FORMAT),
    Column("备注", 22),
)
ALLOCATION_HEADER_ROW = 3
ALLOCATION_FIRST_LINE_ROW = 4
# 1-based positions of the money columns in the table.
ALLOCATION_MONEY_COLUMNS = {
    "task": 3,
    "given": 4,
    "received": 5,
    "adjusted_task": 6,
    "completed": 7,
    "counted": 9,
    "allocation": 11,
}


def line_note(line) -> str:
    """The remark of a unit's line: floor, cap and reallocation marks."""
    notes = []
    if line.below_floor:
        notes.append("未达补助下限")
    if line.capped:
        notes.append("超过封顶，按封顶计")
    if line.adjusted_task <= 0:
        notes.append("无任务")
    if line.reallocation_mark:
        notes.append(line.reallocation_mark)
    return "；".join(notes)


def allocation_summary(table: AllocationTable) -> list[tuple[str, object, str]]:
    """The summary lines under the table: (label, value, number format)."""
    policy = table.policy
    return [
        ("全市完成额（元）", table.city_completed, MONEY_FORMAT),
        ("全市贷款任务（元）", policy.target, MONEY_FORMAT),
        ("全市完成率（%）", table.city_completion_rate, PERCENT_FORMAT),
        ("市总补助资金池（元）", policy.pool, MONEY_FORMAT),
        ("市总补助资金（元）", table.city_contribution, MONEY_FORMAT),
        ("省总补助资金（元）", table.provincial, MONEY_FORMAT),
        ("可分配补助资金（元）", table.distributed, MONEY_FORMAT),
        ("分配合计（元）", table.allocated, MONEY_FORMAT),
        ("市总留存（元）", table.retained, MONEY_FORMAT),
    ]


def frozen_note(table: AllocationTable) -> str:
    result = table.frozen
    if result is None:
        return "未确认（按当前数据计算，确认前数字会随数据变化）"
    who = result.confirmed_by.get_full_name() or result.confirmed_by.username
    when = timezone.localtime(result.confirmed_at).strftime("%Y-%m-%d %H:%M")
    return f"已确认并冻结（{who}，{when}）"


def allocation_workbook(program, table: AllocationTable) -> bytes:
    """The allocation table laid out as on the page: a merged title, the unit lines with
    every intermediate column, a totals row and the city-level summary lines."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "贴息补助分配"
    width = len(ALLOCATION_COLUMNS)
    last = get_column_letter(width)

    sheet["A1"] = f"{program}贴息补助分配表"
    sheet["A1"].font = TITLE_FONT
    sheet["A1"].alignment = CENTER
    sheet.merge_cells(f"A1:{last}1")
    sheet.row_dimensions[1].height = 26
    sheet["A2"] = f"单位：元　{frozen_note(table)}"
    sheet.merge_cells(f"A2:{last}2")

    for index, column in enumerate(ALLOCATION_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
        cell = sheet.cell(row=ALLOCATION_HEADER_ROW, column=index, value=column.header)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = CENTER
        cell.border = BORDER
    sheet.freeze_panes = sheet.cell(row=ALLOCATION_FIRST_LINE_ROW, column=3)

    def put(row: int, values: list, *, font=None) -> None:
        for index, (value, column) in enumerate(
            zip(values, ALLOCATION_COLUMNS, strict=True), start=1
        ):
            cell = sheet.cell(row=row, column=index, value=value)
            cell.border = BORDER
            if column.number_format and value is not None and value != "":
                cell.number_format = column.number_format
            if font is not None:
                cell.font = font

    row = ALLOCATION_FIRST_LINE_ROW
    for position, line in enumerate(table.lines, start=1):
        put(
            row,
            [
                position,
                line.unit.name,
                line.task,
                line.given,
                line.received,
                line.adjusted_task,
                line.completed,
                line.completion_rate,
                line.counted,
                line.share,
                line.allocation,
                line_note(line),
            ],
        )
        row += 1
    counted_share = sum((line.share for line in table.lines), start=Decimal(0))
    put(
        row,
        [
            "合计",
            "",
            table.task_total,
            table.given_total,
            table.received_total,
            table.adjusted_task_total,
            table.city_completed,
            table.city_completion_rate,
            table.counted_total,
            counted_share,
            table.allocated,
            f"市总留存{table.retained:,.2f}元",
        ],
        font=BOLD,
    )
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
    row += 2
    for label, value, number_format in allocation_summary(table):
        sheet.cell(row=row, column=1, value=label).font = BOLD
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
        cell = sheet.cell(row=row, column=3, value=value)
        cell.number_format = number_format
        row += 1
    return _save(workbook)
