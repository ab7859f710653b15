"""Monthly completion statistics (附件3): figures, rebuilds, command, task, xlsx and page."""

from datetime import date
from decimal import Decimal
from io import BytesIO, StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from quotas.models import Reallocation
from reports.exports import monthly_snapshot_xlsx
from reports.models import MonthlySnapshot
from reports.services import build_monthly_snapshot, previous_month
from reports.tasks import build_monthly_snapshots
from tests.factories import LoanFactory, QuotaFactory

pytestmark = pytest.mark.django_db
JULY = date(2020, 7, 1)


@pytest.fixture
def figures(program, unit, other_unit, city_user):
    QuotaFactory(program=program, unit=unit, task_amount=Decimal("2900000.00"))
    QuotaFactory(program=program, unit=other_unit, task_amount=Decimal("1800000.00"))
    for on, amount in ((date(2020, 7, 20), "200000"), (date(2020, 8, 15), "999999")):
        Reallocation.objects.create(
            program=program,
            from_unit=unit,
            to_unit=other_unit,
            amount=Decimal(amount),
            reallocated_on=on,
            reason="调剂",
            created_by=city_user,
        )
    common = {"application__program": program, "application__unit": unit}
    first = LoanFactory(
        **common,
        principal=Decimal("400000.00"),
        subsidised_principal=Decimal("300000.00"),
        leveraged_amount=Decimal("100000.00"),
        jobs_created=8,
        new_union_members=3,
        disbursed_on=date(2020, 6, 10),
        maturity_on=date(2021, 6, 10),
    )
    LoanFactory(
        **common,
        principal=Decimal("150000.00"),
        renewal_of=LoanFactory(
            **common,
            disbursed_on=date(2019, 7, 1),
            maturity_on=date(2020, 7, 1),
            status="renewed",
            settled_on=date(2020, 7, 31),
            program=program,
        ),
        jobs_created=2,
        new_union_members=1,
        disbursed_on=date(2020, 7, 31),
        maturity_on=date(2021, 7, 31),
    )
    LoanFactory(
        **common,
        principal=Decimal("50000.00"),
        disbursed_on=date(2020, 8, 1),
        maturity_on=date(2021, 8, 1),
    )
    return first


def rows_of(snapshot):
    return {
        row.unit.name if row.unit else "合计": row for row in snapshot.rows.select_related("unit")
    }


def test_july_figures_per_unit_and_in_total(program, figures, unit, other_unit):
    snapshot = build_monthly_snapshot(program=program, month=JULY)
    assert snapshot.as_of == date(2020, 7, 31)
    rows = rows_of(snapshot)
    mine = rows[unit.name]
    # Loans disbursed by 31 July: the 2019 loan (200,000), June (400,000), the 31 July renewal.
    assert mine.loans == 3
    assert mine.amount == Decimal("750000.00")
    assert mine.renewal_amount == Decimal("150000.00")
    assert mine.leveraged_amount == Decimal("100000.00")
    assert (mine.jobs_created, mine.new_union_members) == (10, 4)
    assert mine.completed == Decimal("650000.00")
    # Only the reallocation dated 20 July counts: 2,900,000 − 200,000.
    assert mine.task == Decimal("2700000.00")
    assert mine.completion_rate == Decimal("24.07")
    theirs = rows[other_unit.name]
    assert (theirs.task, theirs.loans, theirs.completion_rate) == (
        Decimal("2000000.00"),
        0,
        Decimal("0.00"),
    )
    total = rows["合计"]
    assert (total.task, total.loans, total.amount) == (
        Decimal("4700000.00"),
        3,
        Decimal("750000.00"),
    )
    assert total.completion_rate == Decimal("13.83")


def test_rebuilding_keeps_one_snapshot_and_follows_new_loans(program, figures, unit):
    build_monthly_snapshot(program=program, month=JULY)
    LoanFactory(
        application__program=program,
        application__unit=unit,
        disbursed_on=date(2020, 7, 5),
        maturity_on=date(2021, 7, 5),
    )
    snapshot = build_monthly_snapshot(program=program, month=JULY)
    assert MonthlySnapshot.objects.count() == 1
    assert rows_of(snapshot)[unit.name].loans == 4


def test_build_costs_the_same_queries_for_more_loans(program, figures, unit):
    def count():
        with CaptureQueriesContext(connection) as queries:
            build_monthly_snapshot(program=program, month=JULY)
        return len(queries)

    build_monthly_snapshot(program=program, month=JULY)  # the snapshot row exists from here on
    before = count()
    for _ in range(20):
        LoanFactory(
            application__program=program,
            application__unit=unit,
            disbursed_on=date(2020, 7, 2),
            maturity_on=date(2021, 7, 2),
        )
    assert count() == before


def test_only_city_staff_rebuild_from_the_portal(program, figures, county_user):
    from gonghui.errors import DomainError

    with pytest.raises(DomainError):
        build_monthly_snapshot(program=program, month=JULY, user=county_user)
    assert not MonthlySnapshot.objects.exists()


def test_command_builds_and_refuses_bad_input(program, figures):
    out = StringIO()
    call_command("build_monthly_stats", "--program", program.code, "--month", "2020-07", stdout=out)
    assert "3笔" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("build_monthly_stats", "--program", "nope", "--month", "2020-07")
    with pytest.raises(CommandError):
        call_command("build_monthly_stats", "--program", program.code, "--month", "July")


def test_scheduled_task_builds_the_month_just_ended_once(program, figures):
    assert previous_month(date(2020, 8, 2)) == JULY
    assert previous_month(date(2021, 1, 2)) == date(2020, 12, 1)
    build_monthly_snapshots("2020-08-02")
    build_monthly_snapshots("2020-08-02")
    assert list(MonthlySnapshot.objects.values_list("program__code", "month")) == [
        (program.code, JULY)
    ]


def test_xlsx_is_laid_out_like_the_form(program, figures, unit):
    snapshot = build_monthly_snapshot(program=program, month=JULY)
    sheet = load_workbook(BytesIO(monthly_snapshot_xlsx(snapshot))).active
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A1:J1", "A4:A5", "B4:B5", "J4:J5"} <= merged
    assert sheet["A1"].value == f"“{program.name}”业务完成情况统计表"
    assert sheet["H2"].value == "单位：笔、万元"
    assert sheet["A3"].value == "填表单位：（盖章）"
    assert sheet["G3"].value.startswith("填表时间：")
    assert sheet["B4"].value == "贷款任\n务数"
    by_name = {sheet.cell(row=r, column=1).value: r for r in range(6, sheet.max_row + 1)}
    mine = by_name[unit.name]
    assert Decimal(str(sheet.cell(row=mine, column=2).value)) == Decimal("270")  # 万元
    assert Decimal(str(sheet.cell(row=mine, column=4).value)) == Decimal("75")
    assert sheet.cell(row=mine, column=3).value == 3
    assert sheet.cell(row=mine, column=4).number_format == "#,##0.00"
    total = by_name["合计"]
    assert Decimal(str(sheet.cell(row=total, column=2).value)) == Decimal("470")
    assert sheet.cell(row=total, column=1).font.bold
    assert sheet.page_setup.orientation == "landscape"


def test_portal_page_builds_shows_and_downloads(
    client, program, figures, city_user, county_user, bank_user, unit, other_unit
):
    url = reverse("reports:monthly")
    client.force_login(city_user)
    client.post(url, {"program": program.code, "month": "2020-07"})
    assert MonthlySnapshot.objects.count() == 1
    page = client.get(url, {"program": program.code, "month": "2020-07"})
    assert page.status_code == 200
    assert "75.00" in page.content.decode()  # 750,000 元 in 万元
    download = client.get(url, {"program": program.code, "month": "2020-07", "format": "xlsx"})
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    client.force_login(county_user)
    rows = client.get(url, {"program": program.code, "month": "2020-07"}).context["rows"]
    assert [row.unit for row in rows] == [unit]
    client.post(url, {"program": program.code, "month": "2020-07"})  # refused with a message
    client.force_login(bank_user)
    assert client.get(url).status_code == 403


def test_a_completion_rate_far_above_100_percent_is_stored(program, unit):
    QuotaFactory(program=program, unit=unit, task_amount=Decimal("100.00"))
    LoanFactory(
        application__program=program,
        application__unit=unit,
        principal=Decimal("3000000.00"),
        subsidised_principal=Decimal("3000000.00"),
        disbursed_on=date(2020, 7, 1),
        maturity_on=date(2021, 7, 1),
    )
    snapshot = build_monthly_snapshot(program=program, month=JULY)
    snapshot.refresh_from_db()
    assert rows_of(snapshot)[unit.name].completion_rate == Decimal("3000000.00")
