"""附件3 as an Excel workbook, laid out like the paper form (单位：笔、万元)."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from gonghui.money import WAN
from gonghui.spreadsheets import safe_text
from reports.models import MonthlySnapshot

HEADERS = (
    "县区名称",
    "贷款任\n务数",
    "已放款\n笔数",
    "已放款\n金额",
    "其中续贷金额",
    "拉动贷款金额",
    "新增入会职工人数",
    "带动就\n业人数",
    "任务\n完成率",
    "备注",
)
WIDTHS = (14, 12, 10, 12, 12, 12, 12, 10, 10, 12)
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
WAN_FORMAT = "#,##0.00"


def _wan(value: Decimal) -> Decimal:
    """元 → 万元, exact (the cell's number format shows two places)."""
    return Decimal(value) / WAN


def monthly_snapshot_xlsx(snapshot: MonthlySnapshot) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"{snapshot.month:%Y年%m月}"
    last = get_column_letter(len(HEADERS))

    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"] = f"“{snapshot.program.name}”业务完成情况统计表"
    sheet["A1"].font = Font(size=16, bold=True)
    sheet["A1"].alignment = CENTER
    sheet.row_dimensions[1].height = 30
    sheet.merge_cells("H2:J2")
    sheet["H2"] = "单位：笔、万元"
    sheet["H2"].alignment = Alignment(horizontal="right")
    sheet.merge_cells("A3:D3")
    sheet["A3"] = "填表单位：（盖章）"
    built = timezone.localtime(snapshot.built_at)
    sheet.merge_cells("G3:J3")
    sheet["G3"] = f"填表时间：{built.year}年{built.month}月{built.day}日"
    sheet["G3"].alignment = Alignment(horizontal="right")

    for column, (header, width) in enumerate(zip(HEADERS, WIDTHS, strict=True), start=1):
        letter = get_column_letter(column)
        sheet.merge_cells(f"{letter}4:{letter}5")
        cell = sheet.cell(row=4, column=column, value=header)
        cell.font = Font(bold=True)
        cell.alignment = CENTER
        cell.border = BOX
        sheet.cell(row=5, column=column).border = BOX
        sheet.column_dimensions[letter].width = width

    row_number = 6
    for row in snapshot.rows.select_related("unit").order_by("position"):
        values = (
            row.unit.name if row.unit else "合计",
            _wan(row.task),
            row.loans,
            _wan(row.amount),
            _wan(row.renewal_amount),
            _wan(row.leveraged_amount),
            row.new_union_members,
            row.jobs_created,
            (row.completion_rate / 100) if row.completion_rate is not None else None,
            "",
        )
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row_number, column=column, value=value)
            cell.border = BOX
            cell.alignment = Alignment(horizontal="center" if column == 1 else "right")
            if column in (2, 4, 5, 6):
                cell.number_format = WAN_FORMAT
            elif column == 9:
                cell.number_format = "0.00%"
            if row.unit_id is None:
                cell.font = Font(bold=True)
        row_number += 1

    sheet.cell(row=row_number + 1, column=1, value="填表人签名：")
    sheet.cell(row=row_number + 1, column=7, value="分管领导签名：")
    sheet.cell(row=row_number + 2, column=1, value="注：此表每月2日前上报至市总工会经济技术部。")

    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "4:5"
    sheet.print_options.horizontalCentered = True

    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- rosters -----------------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """张三 → 张*, 张小三 → 张*三, 欧阳娜娜 → 欧**娜: first and last character kept."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _write_rows(
    title: str, headers: tuple[str, ...], rows, widths: tuple[int, ...], *, target=None
) -> bytes | None:
    """A streamed (write-only) workbook: title row, header row, then the rows as they come.

    Saved to ``target`` (a path) when given, else returned as bytes."""
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    heading = WriteOnlyCell(sheet, value=title)
    heading.font = Font(size=14, bold=True)
    sheet.append([heading])
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = Font(bold=True)
        cell.border = BOX
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([safe_text(value) for value in row])
    if target is not None:
        workbook.save(target)
        return None
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def announcement_xlsx(*, program, loans, target=None) -> bytes | None:
    """公示名单: approved borrowers of a program and period, names and IDs masked.

    ``loans`` may be a lazy iterable (``QuerySet.iterator()``): rows are streamed."""
    from loans.services.identity import mask_resident_id

    headers = (
        "序号",
        "单位",
        "借款人",
        "身份证号",
        "企业名称",
        "贷款金额（万元）",
        "放款银行",
        "放款日期",
    )
    rows = (
        (
            number,
            loan.unit.name,
            mask_name(loan.application.applicant.name),
            mask_resident_id(loan.application.applicant.id_number),
            loan.application.enterprise.name,
            _wan(loan.principal).quantize(Decimal("0.01")),
            str(loan.bank),
            loan.disbursed_on,
        )
        for number, loan in enumerate(loans, start=1)
    )
    return _write_rows(
        f"{program.name}贷款贴息公示名单",
        headers,
        rows,
        (6, 12, 10, 22, 30, 14, 16, 12),
        target=target,
    )
