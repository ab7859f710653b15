"""The ``.xlsx`` downloads: the ledger (贴息台账) and the county allocation table, opened
with openpyxl and checked cell by cell against figures worked out here, independently of
the code under test; with the demo data, the 2020 九工贷 allocation on screen and in the
sheet agree to the fen."""

from __future__ import annotations

import io
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from gonghui.spreadsheets import XLSX_TYPE
from loans.models import Program
from subsidies.models import SubsidyClaim
from subsidies.services.batches import create_batch
from tests.factories import QuotaFactory, UnitFactory

pytestmark = pytest.mark.django_db

D = Decimal
FEN = D("0.01")
LEDGER = reverse("subsidies:claim-ledger")
ALLOCATION = reverse("subsidies:allocation")


def fen(value) -> Decimal:
    """A cell's number (or an exact fraction) as 元 to the fen, half-up."""
    if isinstance(value, Fraction):
        return (D(value.numerator) / D(value.denominator)).quantize(FEN, ROUND_HALF_UP)
    return D(str(value)).quantize(FEN, ROUND_HALF_UP)


def open_sheet(response):
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_TYPE
    assert response["Content-Disposition"].startswith("attachment;")
    workbook = load_workbook(io.BytesIO(response.content))
    return workbook.active


def rows_of(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


# --- ledger -------------------------------------------------------------------------------


def test_ledger_xlsx_has_the_filtered_rows_and_totals(
    client, city_user, program, other_unit, pending_claims
):
    mine = pending_claims(2)
    pending_claims(1, unit=other_unit)
    batch = create_batch(program=program, claim_ids=[mine[0].pk], user=city_user)
    client.force_login(city_user)
    sheet = open_sheet(client.get(LEDGER, {"unit": mine[0].unit_id, "format": "xlsx"}))
    rows = rows_of(sheet)

    assert rows[0][0] == "贴息台账"
    assert sheet["A1"].font.bold
    assert "单位：修水县" in rows[1][0]
    header = rows[2]
    assert header[0] == "合同编号" and header[14] == "补贴合计（元）"
    assert all(cell.font.bold for cell in sheet[3])
    assert sheet.column_dimensions["A"].width >= 20
    assert sheet.column_dimensions["C"].width >= 20

    # 300,000 × 5.80% × 365 / 360 × 100%, rounded half-up once: 17,641.67 each.
    each = (D("300000") * D("0.058") * 365 / 360).quantize(FEN, ROUND_HALF_UP)
    assert each == D("17641.67")
    body = rows[3:-1]
    assert len(body) == 2
    by_contract = {row[0]: row for row in body}
    assert set(by_contract) == {claim.loan.contract_number for claim in mine}
    for claim in mine:
        row = by_contract[claim.loan.contract_number]
        assert row[1] == claim.loan.application.applicant.name
        assert row[3] == "修水县" and row[4] == "九江银行"
        assert fen(row[7]) == D("300000.00")
        assert D(str(row[8])) == D("5.80")
        assert row[11] == 365
        assert fen(row[12]) == each and fen(row[13]) == 0 and fen(row[14]) == each
    assert by_contract[mine[0].loan.contract_number][15] == batch.number
    assert by_contract[mine[0].loan.contract_number][16] == "已纳入批次"
    assert by_contract[mine[1].loan.contract_number][16] == "待纳入批次"
    for cell in sheet[4][7], sheet[4][12], sheet[4][14]:
        assert cell.number_format == "#,##0.00"
        assert isinstance(cell.value, int | float)

    totals = rows[-1]
    assert totals[0] == "合计" and totals[1] == "2笔"
    assert fen(totals[12]) == 2 * each
    assert fen(totals[14]) == 2 * each
    assert sheet.cell(row=len(rows), column=15).font.bold
    assert sheet.cell(row=len(rows), column=15).number_format == "#,##0.00"


def test_ledger_xlsx_follows_the_users_scope(client, county_user, other_unit, pending_claims):
    own = pending_claims(1)
    pending_claims(2, unit=other_unit)
    client.force_login(county_user)
    rows = rows_of(open_sheet(client.get(LEDGER, {"format": "xlsx"})))
    assert [row[0] for row in rows[3:-1]] == [own[0].loan.contract_number]
    assert rows[-1][1] == "1笔"


def test_batch_page_downloads_its_claims_only(client, city_user, program, pending_claims):
    claims = pending_claims(3)
    batch = create_batch(program=program, claim_ids=[c.pk for c in claims[:2]], user=city_user)
    client.force_login(city_user)
    page = client.get(reverse("subsidies:batch-detail", args=[batch.pk]))
    link = f"{LEDGER}?batch={batch.pk}&amp;format=xlsx"
    assert link in page.content.decode()
    rows = rows_of(open_sheet(client.get(LEDGER, {"batch": batch.pk, "format": "xlsx"})))
    assert f"拨付批次：{batch.number}" in rows[1][0]
    assert sorted(row[0] for row in rows[3:-1]) == sorted(
        c.loan.contract_number for c in claims[:2]
    )
    assert fen(rows[-1][14]) == batch.total


# --- allocation: a hand-worked table ------------------------------------------------------


@pytest.fixture
def worked_program(program, unit, other_unit, make_loan):
    """Target 3,000,000, pool 800,000, provincial 200,000; three 1,000,000 tasks.

    修水县 lent 1,300,000 (130%: counted at the 120% cap, 1,200,000), 武宁县 900,000 (90%),
    瑞昌市 700,000 (70%: below the 80% floor, nothing). City-wide 2,900,000 misses the target:
    city contribution = 800,000 × 2.9 / 3 = 773,333.33; distributed = 973,333.33.
    修水县: (2,920,000 / 3) × 1.2 / 2.9 = 402,758.6206…; 武宁县: … × 0.9 / 2.9 = 302,068.9655…;
    allocated = 704,827.586… → 704,827.59; rounded down the two give 704,827.58, and the
    missing fen goes to 武宁县 (larger remainder): 402,758.62 and 302,068.97.
    Retained = 973,333.33 − 704,827.59 = 268,505.74.
    """
    program.target_amount = D("3000000.00")
    program.allocation_pool = D("800000.00")
    program.provincial_amount = D("200000.00")
    program.save()
    third = UnitFactory(code="ruichang", name="瑞昌市")
    for each in (unit, other_unit, third):
        QuotaFactory(program=program, unit=each, task_amount=D("1000000.00"))
    for where, amounts in (
        (unit, ["300000.00"] * 4 + ["100000.00"]),
        (other_unit, ["300000.00"] * 3),
        (third, ["300000.00"] * 2 + ["100000.00"]),
    ):
        for amount in amounts:
            make_loan(principal=amount, unit=where)
    return program


def worked_figures():
    distributed = Fraction(800000) * Fraction(2900000, 3000000) + 200000
    exact = {
        "修水县": distributed * Fraction(1200000, 2900000),
        "武宁县": distributed * Fraction(900000, 2900000),
        "瑞昌市": Fraction(0),
    }
    return distributed, exact


def test_worked_figures_are_as_documented():
    distributed, exact = worked_figures()
    assert fen(distributed) == D("973333.33")
    assert fen(exact["修水县"]) == D("402758.62")
    assert fen(sum(exact.values())) == D("704827.59")


def test_allocation_xlsx_lays_out_the_table(client, city_user, worked_program):
    client.force_login(city_user)
    response = client.get(ALLOCATION, {"program": worked_program.pk, "format": "xlsx"})
    sheet = open_sheet(response)
    assert sheet["A1"].value == "2020年九工贷贴息补助分配表"
    assert sheet["A1"].font.bold
    assert "A1:L1" in {str(r) for r in sheet.merged_cells.ranges}
    assert "未确认" in sheet["A2"].value
    header = [cell.value for cell in sheet[3]]
    assert header[:3] == ["序号", "单位", "任务数（元）"]
    assert "计入补助的完成额（元）" in header and header[10] == "分配金额（元）"

    lines = {row[1]: row for row in sheet.iter_rows(min_row=4, max_row=6, values_only=True)}
    expected = {
        # unit: (completed, rate, counted, allocation, note)
        "修水县": ("1300000.00", "130", "1200000.00", "402758.62", "超过封顶"),
        "武宁县": ("900000.00", "90", "900000.00", "302068.97", ""),
        "瑞昌市": ("700000.00", "70", "0.00", "0.00", "未达补助下限"),
    }
    assert set(lines) == set(expected)
    for name, (completed, rate, counted, allocation, note) in expected.items():
        row = lines[name]
        assert fen(row[2]) == D("1000000.00")  # task
        assert fen(row[5]) == D("1000000.00")  # adjusted task
        assert fen(row[6]) == D(completed)
        assert D(str(row[7])) == D(rate)
        assert fen(row[8]) == D(counted)
        assert fen(row[10]) == D(allocation)
        assert note in (row[11] or "")
    for column in (3, 6, 7, 9, 11):
        assert sheet.cell(row=4, column=column).number_format == "#,##0.00"

    # Totals row, with its label cell merged over 序号 and 单位.
    totals = [cell.value for cell in sheet[7]]
    assert totals[0] == "合计"
    assert "A7:B7" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet["A7"].font.bold
    assert fen(totals[2]) == D("3000000.00")
    assert fen(totals[6]) == D("2900000.00")
    assert fen(totals[8]) == D("2100000.00")
    assert fen(totals[10]) == D("704827.59")
    assert fen(totals[10]) == fen(lines["修水县"][10]) + fen(lines["武宁县"][10])

    summary = {row[0]: row[2] for row in sheet.iter_rows(min_row=9, values_only=True) if row[0]}
    distributed, _ = worked_figures()
    assert fen(summary["全市完成额（元）"]) == D("2900000.00")
    assert fen(summary["全市贷款任务（元）"]) == D("3000000.00")
    assert fen(summary["市总补助资金（元）"]) == D("773333.33")
    assert fen(summary["省总补助资金（元）"]) == D("200000.00")
    assert fen(summary["可分配补助资金（元）"]) == fen(distributed) == D("973333.33")
    assert fen(summary["分配合计（元）"]) == D("704827.59")
    assert fen(summary["市总留存（元）"]) == D("268505.74")


def test_frozen_allocation_xlsx_says_who_confirmed(client, city_user, worked_program):
    client.force_login(city_user)
    client.post(reverse("subsidies:allocation-freeze"), {"program": worked_program.pk})
    sheet = open_sheet(client.get(ALLOCATION, {"program": worked_program.pk, "format": "xlsx"}))
    assert "已确认并冻结" in sheet["A2"].value
    assert fen(sheet["K7"].value) == D("704827.59")


# --- allocation with the demo data: screen and sheet agree to the fen --------------------
# The seeded data stay until the end of the module: keep these tests last.


class _TableText(HTMLParser):
    """The cell texts of the rows of the table inside ``#allocation-table``."""

    def __init__(self):
        super().__init__()
        self.inside = 0
        self.in_body = False
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "section" and ("id", "allocation-table") in attrs:
            self.inside = 1
        elif self.inside and tag == "section":
            self.inside += 1
        if not self.inside:
            return
        if tag in ("tbody", "tfoot"):
            self.in_body = True
        elif tag == "tr" and self.in_body:
            self.rows.append([])
        elif tag in ("td", "th") and self.in_body:
            self.cell = []

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "section":
            self.inside -= 1
        elif tag in ("tbody", "tfoot"):
            self.in_body = False
        elif tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def money_text(text: str) -> Decimal:
    return D(text.replace(",", "").replace("−", "").replace("+", "").strip())


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("seed_demo", stdout=io.StringIO())
        yield
        SubsidyClaim.objects.all().delete()
        call_command("flush", interactive=False, verbosity=0)


def test_demo_allocation_on_screen_and_in_the_sheet_agree_to_the_fen(client, seeded):
    program = Program.objects.get(code="jgd-2020")
    client.force_login(get_user_model().objects.get(username="city"))
    page = client.get(ALLOCATION, {"program": program.pk})
    assert page.status_code == 200
    table = page.context["table"]
    lines = page.context["lines"]
    assert len(lines) == 15

    parser = _TableText()
    parser.feed(page.content.decode())
    screen_rows, screen_totals = parser.rows[:-1], parser.rows[-1]
    assert len(screen_rows) == 15

    sheet = open_sheet(client.get(ALLOCATION, {"program": program.pk, "format": "xlsx"}))
    sheet_rows = list(sheet.iter_rows(min_row=4, max_row=18, values_only=True))
    sheet_totals = [cell.value for cell in sheet[19]]
    assert sheet_totals[0] == "合计"

    money_columns = {  # sheet column index: (screen column index, line attribute)
        2: (2, "task"),
        5: (5, "adjusted_task"),
        6: (6, "completed"),
        8: (8, "counted"),
        10: (10, "allocation"),
    }
    for line, screen, cells in zip(lines, screen_rows, sheet_rows, strict=True):
        assert screen[1] == cells[1] == line.unit.name
        for sheet_index, (screen_index, attribute) in money_columns.items():
            figure = fen(getattr(line, attribute))
            assert money_text(screen[screen_index]) == figure, (line.unit.name, attribute)
            assert fen(cells[sheet_index]) == figure, (line.unit.name, attribute)
        for sheet_index, screen_index, attribute in ((3, 3, "given"), (4, 4, "received")):
            figure = fen(getattr(line, attribute))
            assert fen(cells[sheet_index]) == figure
            shown = screen[screen_index]
            assert (money_text(shown) if shown != "—" else D("0.00")) == figure
        assert line.allocation == fen(line.allocation)  # already to the fen

    # Totals: the sheet's, the screen's and the table's agree, and add up. (On screen the
    # label spans 序号 and 单位, so the totals row has one cell fewer.)
    assert screen_totals[0] == "合计"
    allocations = sum((fen(cells[10]) for cells in sheet_rows), D("0"))
    assert allocations == fen(sheet_totals[10]) == money_text(screen_totals[9]) == table.allocated
    assert fen(sheet_totals[6]) == money_text(screen_totals[5]) == table.city_completed
    summary = {row[0]: row[2] for row in sheet.iter_rows(min_row=21, values_only=True) if row[0]}
    assert fen(summary["分配合计（元）"]) + fen(summary["市总留存（元）"]) == fen(
        summary["可分配补助资金（元）"]
    )
    assert fen(summary["市总留存（元）"]) == table.retained
    assert fen(summary["可分配补助资金（元）"]) == table.distributed
    html = page.content.decode()
    assert f"{table.retained:,.2f}" in html and f"{table.distributed:,.2f}" in html
    # The demo's reallocations show as marks on both.
    assert sum(1 for cells in sheet_rows if fen(cells[3]) > 0) == 2
    assert sum(1 for row in screen_rows if row[3].startswith("−")) == 2


def test_demo_ledger_page_and_sheet_agree(client, seeded):
    created = list(SubsidyClaim.objects.all())  # seed_demo ran the scan
    assert created
    for username in ("city", "county"):
        client.force_login(get_user_model().objects.get(username=username))
        page = client.get(LEDGER, {"page_size": 100})
        assert page.status_code == 200
        totals = page.context["totals"]
        assert 0 < totals.count <= len(created)
        rows = rows_of(open_sheet(client.get(LEDGER, {"format": "xlsx"})))
        body = rows[3:-1]
        assert len(body) == totals.count
        assert sum((fen(row[14]) for row in body), D("0")) == totals.amount == fen(rows[-1][14])
        assert f"{totals.amount:,.2f}" in page.content.decode()
