"""The annual workbook, reopened with openpyxl: titles, merged ranges, cells, totals, print
set-up and the native charts (type, title, and the cells their series point at).

Expected cells come from ``expected()`` in test_annual.py, computed from the test's SPECS.
"""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, LineChart, PieChart

from loans.choices import FounderClass, IndustryGroup, OperatingStatus
from reports.annual import annual_params
from reports.exports_annual import SHEETS, write_annual
from tests.reports.test_annual import PAID, SPECS, build_book, expected

pytestmark = pytest.mark.django_db

WAN = Decimal(10000)


def wan(amount) -> float:
    return pytest.approx(float(Decimal(amount) / WAN), abs=1e-9)


def frac(percent) -> float:
    return pytest.approx(float(Decimal(percent) / 100), abs=1e-9)


@pytest.fixture
def workbook(program, unit, other_unit, city_user, tmp_path):
    build_book(program, {"own": unit, "other": other_unit})
    path = tmp_path / "annual.xlsx"
    steps = []
    rows = write_annual(
        path,
        user=city_user,
        params=annual_params({}, city_user),
        progress=lambda done, total: steps.append((done, total)),
    )
    assert steps[-1] == (2, 2)
    book = load_workbook(path)
    book.rows_written = rows
    return book


def chart_title(chart) -> str:
    return "".join(run.t for para in chart.title.tx.rich.p for run in (para.r or []))


def refs(chart) -> list[str]:
    return [series.val.numRef.f for series in chart.series]


def categories(chart) -> list[str]:
    return [
        series.cat.numRef.f if series.cat.numRef else series.cat.strRef.f for series in chart.series
    ]


def table(sheet, width: int) -> list[tuple]:
    return [row[:width] for row in sheet.iter_rows(min_row=4, values_only=True)]


def test_sheets_in_order_each_with_title_units_and_a4_landscape(workbook):
    assert workbook.sheetnames == list(SHEETS)
    for sheet in workbook:
        merged = {str(r) for r in sheet.merged_cells.ranges}
        last = sheet.cell(row=3, column=sheet.max_column).column_letter
        assert f"A1:{last}1" in merged and f"A2:{last}2" in merged
        assert "年度分析" in sheet["A1"].value
        assert sheet["A2"].value.startswith("单位：")
        assert sheet.page_setup.orientation == "landscape"
        assert int(sheet.page_setup.paperSize) == 9  # A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage is True


def test_years_sheet_cells_totals_and_bar_chart(workbook):
    sheet = workbook["年度发放"]
    want = expected()["years"]
    assert sheet["C3"].value == "发放金额（万元）"
    rows = table(sheet, 6)
    for got, (year, loans, amount, enterprises, jobs, growth) in zip(rows, want, strict=False):
        assert got[0] == f"{year}年" and got[1] == loans and got[2] == wan(amount)
        assert got[3] == (frac(growth) if growth is not None else "—")
        assert got[4:] == (enterprises, jobs)
    total = rows[len(want)]
    assert total[0] == "合计"
    assert total[1] == len(SPECS) and total[2] == wan(sum(Decimal(s[2]) for s in SPECS))
    assert total[5] == sum(s[7] for s in SPECS)
    assert sheet["C4"].number_format == "#,##0.00" and sheet["D5"].number_format == "0.00%"
    assert sheet[f"A{4 + len(want)}"].font.b

    (chart,) = sheet._charts
    assert isinstance(chart, BarChart) and chart.type == "col"
    assert chart_title(chart) == "每年度发放金额"
    last = 3 + len(want)
    assert refs(chart) == [f"'年度发放'!$C$4:$C${last}"]  # data rows only, never the total
    assert categories(chart) == [f"'年度发放'!$A$4:$A${last}"]
    assert chart.anchor._from.col == 7  # column H: two to the right of the 6-column table


def test_units_sheet_and_horizontal_bar_chart(workbook, unit, other_unit):
    sheet = workbook["各单位"]
    want = expected()["units"]
    rows = {r[0]: r for r in table(sheet, 6)}
    for key, name in (("own", unit.name), ("other", other_unit.name)):
        loans, amount, subsidised, jobs, share = want[key]
        assert rows[name][1:] == (loans, wan(amount), wan(subsidised), jobs, frac(share))
    assert rows["合计"][1] == len(SPECS) and rows["合计"][5] == 1
    (chart,) = sheet._charts
    assert isinstance(chart, BarChart) and chart.type == "bar"
    assert chart_title(chart) == "各单位发放金额"
    assert refs(chart) == ["'各单位'!$C$4:$C$5"]


def test_founder_and_jobs_sheets_with_pie_charts(workbook):
    want = expected()["founders"]
    founders = table(workbook["创业法人类型"], 4)
    jobs = table(workbook["带动就业"], 3)
    for index, (key, label) in enumerate(FounderClass.choices):
        loans, amount, job_count, loan_share, jobs_share = want[key]
        assert founders[index] == (label, loans, frac(loan_share), wan(amount))
        assert jobs[index] == (label, job_count, frac(jobs_share))
    assert founders[4][:2] == ("合计", len(SPECS))
    assert jobs[4][:2] == ("合计", sum(s[7] for s in SPECS))
    for name, title in (("创业法人类型", "扶持对象分布（笔数）"), ("带动就业", "带动稳岗就业情况")):
        (chart,) = workbook[name]._charts
        assert isinstance(chart, PieChart)
        assert chart_title(chart) == title
        assert refs(chart) == [f"'{name}'!$B$4:$B$7"]
        assert categories(chart) == [f"'{name}'!$A$4:$A$7"]


def test_industry_sheet_is_a_stacked_bar_per_group(workbook):
    sheet = workbook["行业分布"]
    want = expected()["industries"]
    rows = table(sheet, 6)
    years = sorted(want)
    for got, year in zip(rows, years, strict=False):
        assert got == (f"{year}年", *want[year], sum(want[year]))
    totals = rows[len(years)]
    assert totals[0] == "合计"
    assert totals[1:5] == tuple(sum(want[y][i] for y in years) for i in range(4))
    (chart,) = sheet._charts
    assert isinstance(chart, BarChart) and chart.grouping == "stacked"
    last = 3 + len(years)
    assert refs(chart) == [f"'行业分布'!${c}$4:${c}${last}" for c in "BCDE"]
    assert len(chart.series) == len(IndustryGroup.values)


def test_status_sheet_uses_the_latest_follow_up(workbook):
    want = expected()["statuses"]
    rows = table(workbook["经营状况"], 3)
    labels = [*OperatingStatus.choices, ("none", "尚未跟踪")]
    for got, (key, label) in zip(rows, labels, strict=False):
        assert got[0] == label and got[1] == want.get(key, 0)
    assert rows[len(labels)][:2] == ("合计", len(SPECS))
    (chart,) = workbook["经营状况"]._charts
    assert isinstance(chart, PieChart) and refs(chart) == ["'经营状况'!$B$4:$B$7"]


def test_subsidy_sheet_has_paid_claims_by_year_and_a_bar_chart(workbook):
    want = expected()["subsidies"]
    rows = table(workbook["贴息支付"], 5)
    for got, year in zip(rows, sorted(want), strict=False):
        claims, interest, premium = want[year]
        assert got == (f"{year}年", claims, wan(interest), wan(premium), wan(interest + premium))
    total = rows[len(want)]
    assert total[:2] == ("合计", len(PAID))
    assert total[4] == wan(sum(Decimal(p[2]) + Decimal(p[3]) for p in PAID))
    (chart,) = workbook["贴息支付"]._charts
    assert isinstance(chart, BarChart)
    assert chart_title(chart) == "各年度支付补贴金额"
    assert refs(chart) == [f"'贴息支付'!$E$4:$E${3 + len(want)}"]


def test_cumulative_sheet_and_line_chart(workbook):
    want = expected()["cumulative"]
    rows = table(workbook["累计情况"], 6)
    assert len([r for r in rows if r[0]]) == len(want)  # no totals row: running totals
    for got, (year, loans, amount, enterprises, jobs, paid) in zip(rows, want, strict=False):
        assert got == (f"{year}年", loans, wan(amount), enterprises, jobs, wan(paid))
    (chart,) = workbook["累计情况"]._charts
    assert isinstance(chart, LineChart)
    assert chart_title(chart) == "累计发放金额"
    assert refs(chart) == [f"'累计情况'!$C$4:$C${3 + len(want)}"]


def test_rows_written_is_the_number_of_table_rows(workbook):
    want = expected()
    assert workbook.rows_written == (
        len(want["years"]) + 2 + 4 + 4 + len(want["industries"]) + 4
        + len(want["subsidies"]) + len(want["cumulative"])
    )  # fmt: skip


def test_empty_analysis_writes_tables_without_charts(city_user, program):
    buffer = BytesIO()
    rows = write_annual(buffer, user=city_user, params=annual_params({}, city_user))
    book = load_workbook(BytesIO(buffer.getvalue()))
    assert rows == 0
    assert not book["年度发放"]._charts
    assert book["年度发放"]["A4"].value == "合计"


def test_download_view_sends_the_workbook_for_the_county_scope(client, county_user, program,
                                                               unit, other_unit):  # fmt: skip
    build_book(program, {"own": unit, "other": other_unit})
    client.force_login(county_user)
    response = client.get("/reports/annual.xlsx", {"program": program.code})
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    book = load_workbook(BytesIO(response.content))
    names = [row[0] for row in book["各单位"].iter_rows(min_row=4, values_only=True)]
    assert names == [unit.name, "合计"]
    own = [s for s in SPECS if s[0] == "own"]
    assert book["年度发放"].cell(row=4 + len({s[1].year for s in own}), column=2).value == len(own)
