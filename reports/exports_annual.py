"""The annual analysis as an Excel workbook: one sheet per table, a native chart beside it.

The workbook is small (a row per year, unit or class), so it is built in normal mode, which
``openpyxl.chart`` needs. Each sheet has a merged title row, the units line (笔、万元), a
header row, the rows, a bold totals row where totals mean something, and a chart anchored
two columns to the right of the table whose series point at the table's own cells, so
editing a figure in Excel redraws the chart. Amounts are written in 万元, exact (元 / 10000),
with a two-place number format; shares and growth rates as fractions with a percent format.
Every sheet prints on A4 landscape, one page wide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, PieChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from gonghui.money import HUNDRED, WAN
from reports.annual import AnnualAnalysis, annual_analysis

THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
HEADER_FILL = PatternFill("solid", fgColor="F2F4F7")
WAN_FORMAT = "#,##0.00"
COUNT_FORMAT = "#,##0"
PERCENT_FORMAT = "0.00%"
DASH = "—"

TITLE_ROW, NOTE_ROW, HEADER_ROW = 1, 2, 3
FIRST_DATA_ROW = HEADER_ROW + 1
CHART_WIDTH_CM, CHART_HEIGHT_CM = 16, 8.5


def wan(amount: Decimal) -> Decimal:
    """元 → 万元, exact; the cell's format shows two places."""
    return Decimal(amount) / WAN


def fraction(rate: Decimal | None):
    """A percent (12.34) as the fraction Excel's % format expects, or a dash for None."""
    return DASH if rate is None else Decimal(rate) / HUNDRED


@dataclass(frozen=True)
class Column:
    header: str
    width: int
    number_format: str | None = None


@dataclass(frozen=True)
class Block:
    """Where one table landed: its data rows (inclusive) and its totals row (or None)."""

    sheet: Worksheet
    first_row: int
    last_row: int
    total_row: int | None

    @property
    def has_rows(self) -> bool:
        return self.last_row >= self.first_row


def _table(
    workbook: Workbook,
    *,
    name: str,
    title: str,
    note: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence],
    total: Sequence | None,
) -> Block:
    sheet = workbook.create_sheet(name)
    last = get_column_letter(len(columns))
    sheet.merge_cells(f"A{TITLE_ROW}:{last}{TITLE_ROW}")
    heading = sheet.cell(row=TITLE_ROW, column=1, value=title)
    heading.font = Font(size=14, bold=True)
    heading.alignment = CENTER
    sheet.row_dimensions[TITLE_ROW].height = 28
    sheet.merge_cells(f"A{NOTE_ROW}:{last}{NOTE_ROW}")
    sheet.cell(row=NOTE_ROW, column=1, value=note).alignment = Alignment(horizontal="right")

    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=index, value=column.header)
        cell.font = Font(bold=True)
        cell.alignment = CENTER
        cell.border = BOX
        cell.fill = HEADER_FILL
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.row_dimensions[HEADER_ROW].height = 32

    def put(row_number: int, values: Sequence, *, bold: bool = False) -> None:
        for index, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
            cell = sheet.cell(row=row_number, column=index, value=value)
            cell.border = BOX
            if index == 1:
                cell.alignment = Alignment(horizontal="center")
            else:
                cell.alignment = Alignment(horizontal="right")
                if column.number_format and not isinstance(value, str):
                    cell.number_format = column.number_format
            if bold:
                cell.font = Font(bold=True)

    row_number = FIRST_DATA_ROW
    for values in rows:
        put(row_number, values)
        row_number += 1
    last_row = row_number - 1
    total_row = None
    if total is not None:
        put(row_number, total, bold=True)
        total_row = row_number

    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.print_options.horizontalCentered = True
    return Block(sheet, FIRST_DATA_ROW, last_row, total_row)


def _place(chart, block: Block, columns: int, title: str) -> None:
    """Title, size and anchor: two columns right of the table, level with its header."""
    chart.title = title
    chart.width, chart.height = CHART_WIDTH_CM, CHART_HEIGHT_CM
    anchor = f"{get_column_letter(columns + 2)}{HEADER_ROW}"
    block.sheet.add_chart(chart, anchor)


def _axes(chart, x_title: str, y_title: str) -> None:
    chart.x_axis.title = x_title
    chart.y_axis.title = y_title
    # openpyxl 3.1 writes axes as deleted unless told otherwise; Excel would hide them.
    chart.x_axis.delete = False
    chart.y_axis.delete = False


def _bar(block: Block, *, value_cols: Sequence[int], y_title: str, x_title: str,
         horizontal: bool = False, stacked: bool = False) -> BarChart:  # fmt: skip
    chart = BarChart()
    chart.type = "bar" if horizontal else "col"
    if stacked:
        chart.grouping = "stacked"
        chart.overlap = 100
    for column in value_cols:
        data = Reference(
            block.sheet, min_col=column, max_col=column, min_row=HEADER_ROW, max_row=block.last_row
        )
        chart.add_data(data, titles_from_data=True)
    chart.set_categories(
        Reference(block.sheet, min_col=1, min_row=block.first_row, max_row=block.last_row)
    )
    if len(value_cols) == 1:
        chart.legend = None
    _axes(chart, x_title, y_title)
    return chart


def _pie(block: Block, *, value_col: int) -> PieChart:
    chart = PieChart()
    chart.add_data(
        Reference(
            block.sheet,
            min_col=value_col,
            max_col=value_col,
            min_row=HEADER_ROW,
            max_row=block.last_row,
        ),
        titles_from_data=True,
    )
    chart.set_categories(
        Reference(block.sheet, min_col=1, min_row=block.first_row, max_row=block.last_row)
    )
    chart.dataLabels = DataLabelList()
    chart.dataLabels.showPercent = True
    return chart


def _line(block: Block, *, value_col: int, y_title: str) -> LineChart:
    chart = LineChart()
    chart.add_data(
        Reference(
            block.sheet,
            min_col=value_col,
            max_col=value_col,
            min_row=HEADER_ROW,
            max_row=block.last_row,
        ),
        titles_from_data=True,
    )
    chart.set_categories(
        Reference(block.sheet, min_col=1, min_row=block.first_row, max_row=block.last_row)
    )
    chart.legend = None
    _axes(chart, "年度", y_title)
    return chart


# --- the sheets --------------------------------------------------------------------------

YEAR_COLUMNS = (
    Column("年度", 10),
    Column("贷款笔数（笔）", 12, COUNT_FORMAT),
    Column("发放金额（万元）", 14, WAN_FORMAT),
    Column("较上年增长", 12, PERCENT_FORMAT),
    Column("扶持企业（家）", 12, COUNT_FORMAT),
    Column("带动就业（人）", 12, COUNT_FORMAT),
)
UNIT_COLUMNS = (
    Column("单位", 14),
    Column("贷款笔数（笔）", 12, COUNT_FORMAT),
    Column("发放金额（万元）", 14, WAN_FORMAT),
    Column("贴息本金（万元）", 14, WAN_FORMAT),
    Column("带动就业（人）", 12, COUNT_FORMAT),
    Column("金额占比", 10, PERCENT_FORMAT),
)
FOUNDER_COLUMNS = (
    Column("创业法人类型", 24),
    Column("贷款笔数（笔）", 12, COUNT_FORMAT),
    Column("笔数占比", 10, PERCENT_FORMAT),
    Column("发放金额（万元）", 14, WAN_FORMAT),
)
JOBS_COLUMNS = (
    Column("创业法人类型", 24),
    Column("带动就业（人）", 12, COUNT_FORMAT),
    Column("就业占比", 10, PERCENT_FORMAT),
)
STATUS_COLUMNS = (
    Column("经营状况", 14),
    Column("贷款笔数（笔）", 12, COUNT_FORMAT),
    Column("占比", 10, PERCENT_FORMAT),
)
SUBSIDY_COLUMNS = (
    Column("支付年度", 10),
    Column("贴息笔数（笔）", 12, COUNT_FORMAT),
    Column("贴息金额（万元）", 14, WAN_FORMAT),
    Column("保费补贴（万元）", 14, WAN_FORMAT),
    Column("补贴合计（万元）", 14, WAN_FORMAT),
)
CUMULATIVE_COLUMNS = (
    Column("截至年末", 10),
    Column("累计笔数（笔）", 12, COUNT_FORMAT),
    Column("累计金额（万元）", 14, WAN_FORMAT),
    Column("累计扶持企业（家）", 14, COUNT_FORMAT),
    Column("累计带动就业（人）", 14, COUNT_FORMAT),
    Column("累计补贴（万元）", 14, WAN_FORMAT),
)

# Sheet names, in order: the tests and the lead's job framework refer to them.
SHEETS = (
    "年度发放",
    "各单位",
    "创业法人类型",
    "带动就业",
    "行业分布",
    "经营状况",
    "贴息支付",
    "累计情况",
)


def _sheet_years(workbook, a: AnnualAnalysis) -> int:
    block = _table(
        workbook,
        name=SHEETS[0],
        title=f"{a.title}：每年度发放及增幅",
        note="单位：笔、万元、家、人",
        columns=YEAR_COLUMNS,
        rows=[
            (r.label, r.loans, wan(r.amount), fraction(r.growth), r.enterprises, r.jobs)
            for r in a.years
        ],
        total=("合计", a.total_loans, wan(a.total_amount), DASH, DASH, a.total_jobs),
    )
    if block.has_rows:
        chart = _bar(block, value_cols=[3], y_title="万元", x_title="年度")
        _place(chart, block, len(YEAR_COLUMNS), "每年度发放金额")
    return len(a.years)


def _sheet_units(workbook, a: AnnualAnalysis) -> int:
    block = _table(
        workbook,
        name=SHEETS[1],
        title=f"{a.title}：各单位发放情况",
        note="单位：笔、万元、人",
        columns=UNIT_COLUMNS,
        rows=[
            (r.name, r.loans, wan(r.amount), wan(r.subsidised), r.jobs, fraction(r.share))
            for r in a.units
        ],
        total=(
            "合计",
            a.total_loans,
            wan(a.total_amount),
            wan(a.total_subsidised),
            a.total_jobs,
            Decimal(1) if a.units else DASH,
        ),
    )
    if block.has_rows:
        chart = _bar(block, value_cols=[3], y_title="万元", x_title="单位", horizontal=True)
        _place(chart, block, len(UNIT_COLUMNS), "各单位发放金额")
    return len(a.units)


def _sheet_founders(workbook, a: AnnualAnalysis) -> int:
    block = _table(
        workbook,
        name=SHEETS[2],
        title=f"{a.title}：创业法人类型分布",
        note="单位：笔、万元",
        columns=FOUNDER_COLUMNS,
        rows=[(r.label, r.loans, fraction(r.loan_share), wan(r.amount)) for r in a.founders],
        total=("合计", a.total_loans, Decimal(1) if a.total_loans else DASH, wan(a.total_amount)),
    )
    if block.has_rows:
        _place(_pie(block, value_col=2), block, len(FOUNDER_COLUMNS), "扶持对象分布（笔数）")
    return len(a.founders)


def _sheet_jobs(workbook, a: AnnualAnalysis) -> int:
    block = _table(
        workbook,
        name=SHEETS[3],
        title=f"{a.title}：带动稳岗就业情况",
        note="单位：人",
        columns=JOBS_COLUMNS,
        rows=[(r.label, r.jobs, fraction(r.jobs_share)) for r in a.founders],
        total=("合计", a.total_jobs, Decimal(1) if a.total_jobs else DASH),
    )
    if block.has_rows:
        _place(_pie(block, value_col=2), block, len(JOBS_COLUMNS), "带动稳岗就业情况")
    return len(a.founders)


def _sheet_industries(workbook, a: AnnualAnalysis) -> int:
    columns = (
        Column("年度", 10),
        *(Column(f"{label}（家）", 12, COUNT_FORMAT) for _, label in a.industry_groups),
        Column("合计（家）", 12, COUNT_FORMAT),
    )
    totals = a.industry_totals
    block = _table(
        workbook,
        name=SHEETS[4],
        title=f"{a.title}：贷款企业行业分布",
        note="单位：家",
        columns=columns,
        rows=[(f"{r.year}年", *r.counts, r.total) for r in a.industries],
        total=("合计", *totals, sum(totals)),
    )
    if block.has_rows:
        chart = _bar(
            block,
            value_cols=list(range(2, 2 + len(a.industry_groups))),
            y_title="家",
            x_title="年度",
            stacked=True,
        )
        _place(chart, block, len(columns), "各年度贷款企业行业分布")
    return len(a.industries)


def _sheet_statuses(workbook, a: AnnualAnalysis) -> int:
    total = a.total_status_loans
    block = _table(
        workbook,
        name=SHEETS[5],
        title=f"{a.title}：发放贷款项目经营情况",
        note="单位：笔（按每笔贷款最近一次季度跟踪）",
        columns=STATUS_COLUMNS,
        rows=[(r.label, r.loans, fraction(r.share)) for r in a.statuses],
        total=("合计", total, Decimal(1) if total else DASH),
    )
    if block.has_rows:
        _place(_pie(block, value_col=2), block, len(STATUS_COLUMNS), "发放贷款项目经营情况")
    return len(a.statuses)


def _sheet_subsidies(workbook, a: AnnualAnalysis) -> int:
    t = a.subsidy_totals
    block = _table(
        workbook,
        name=SHEETS[6],
        title=f"{a.title}：贴息及保费补贴支付情况",
        note="单位：笔、万元（按拨付批次支付日期所在年度）",
        columns=SUBSIDY_COLUMNS,
        rows=[
            (f"{r.year}年", r.claims, wan(r.interest), wan(r.premium), wan(r.amount))
            for r in a.subsidies
        ],
        total=("合计", t.claims, wan(t.interest), wan(t.premium), wan(t.amount)),
    )
    if block.has_rows:
        chart = _bar(block, value_cols=[5], y_title="万元", x_title="支付年度")
        _place(chart, block, len(SUBSIDY_COLUMNS), "各年度支付补贴金额")
    return len(a.subsidies)


def _sheet_cumulative(workbook, a: AnnualAnalysis) -> int:
    block = _table(
        workbook,
        name=SHEETS[7],
        title=f"{a.title}：累计发放情况",
        note="单位：笔、万元、家、人（自首笔贷款起累计至当年末）",
        columns=CUMULATIVE_COLUMNS,
        rows=[
            (f"{r.year}年", r.loans, wan(r.amount), r.enterprises, r.jobs, wan(r.subsidies))
            for r in a.cumulative
        ],
        total=None,
    )
    if block.has_rows:
        chart = _line(block, value_col=3, y_title="万元")
        _place(chart, block, len(CUMULATIVE_COLUMNS), "累计发放金额")
    return len(a.cumulative)


WRITERS: tuple[Callable[[Workbook, AnnualAnalysis], int], ...] = (
    _sheet_years,
    _sheet_units,
    _sheet_founders,
    _sheet_jobs,
    _sheet_industries,
    _sheet_statuses,
    _sheet_subsidies,
    _sheet_cumulative,
)


def annual_workbook(analysis: AnnualAnalysis) -> tuple[Workbook, int]:
    """The workbook of an analysis and the number of table rows written."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    rows = sum(writer(workbook, analysis) for writer in WRITERS)
    return workbook, rows


def write_annual(path, *, user, params: dict, progress=None) -> int:
    """Write the annual analysis for cleaned ``params`` (see ``reports.annual.annual_params``)
    to ``path`` (a file name or a binary file object); returns the table rows written.

    ``progress(done, total)`` is called after the figures and after saving (two steps: the
    workbook is small; the queries are the work).
    """
    analysis = annual_analysis(user, params)
    if progress:
        progress(1, 2)
    workbook, rows = annual_workbook(analysis)
    workbook.save(path)
    if progress:
        progress(2, 2)
    return rows
