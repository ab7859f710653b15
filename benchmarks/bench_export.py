"""The loan export against bare XlsxWriter ``constant_memory`` from a raw server-side cursor.

"ours" is ``loans.exports.write_loans`` as a city-staff user with the list's filters (the
fill's program, disbursed on or after a cut-off date chosen so about N loans match): scope,
filters, label dicts, name masking rule, the totals row. "baseline" is one SQL statement with
the same joins, labels (``CASE``), filter and order, read through a psycopg2 named cursor and
written with the same XlsxWriter calls and formats, nothing else. Both write to a temp dir
that is deleted afterwards. Run at 100,000 and 20,000 rows to show memory stays flat.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gonghui_bench \\
        .venv/bin/python benchmarks/bench_export.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import common

SCRIPT = "bench_export.py"
ITERSIZE = 2_000
BASELINE_SQL = """
SELECT u.name,
       coalesce(nullif(b.short_name, ''), b.name),
       l.contract_number,
       p.name,
       e.name,
       l.principal,
       l.subsidised_principal,
       l.leveraged_amount,
       l.annual_rate,
       CASE l.review_channel WHEN 'online' THEN '线上审核' ELSE '线下审核' END,
       CASE l.loan_type WHEN 'credit' THEN '信用贷款' WHEN 'guaranteed' THEN '担保贷款'
            ELSE '抵押贷款' END,
       l.disbursed_on,
       l.maturity_on,
       CASE l.status WHEN 'active' THEN '未结清' WHEN 'repaid' THEN '已结清' ELSE '已续贷' END,
       r.contract_number,
       l.jobs_created,
       l.new_union_members
  FROM loans_loan l
  JOIN loans_unit u ON u.id = l.unit_id
  JOIN loans_bank b ON b.id = l.bank_id
  JOIN loans_application a ON a.id = l.application_id
  JOIN loans_applicant p ON p.id = a.applicant_id
  JOIN loans_enterprise e ON e.id = a.enterprise_id
  LEFT JOIN loans_loan r ON r.id = l.renewal_of_id
 WHERE l.program_id = %s AND l.disbursed_on >= %s
 ORDER BY l.disbursed_on DESC, l.id DESC
"""


def task_name(rows: int) -> str:
    return f"loan export {rows:,} rows"


def _selection(rows: int) -> tuple[int, str]:
    """The fill's program and the disbursal date from which about ``rows`` loans match."""
    from django.db import connection
    from fill import PROGRAM_CODE

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM loans_program WHERE code = %s", [PROGRAM_CODE])
        (program_id,) = cursor.fetchone()
        cursor.execute(
            "SELECT disbursed_on FROM loans_loan WHERE program_id = %s"
            " ORDER BY disbursed_on DESC OFFSET %s LIMIT 1",
            [program_id, rows - 1],
        )
        (cutoff,) = cursor.fetchone()
    return program_id, cutoff.isoformat()


def ours(*, rows: int):
    from django.contrib.auth import get_user_model
    from fill import CITY_USER

    from loans.exports import loan_export_params, write_loans

    program_id, cutoff = _selection(rows)
    user = get_user_model().objects.select_related("profile").get(username=CITY_USER)
    params = loan_export_params({"program": str(program_id), "disbursed_from": cutoff}, user)

    def work():
        with tempfile.TemporaryDirectory() as folder, common.QueryCounter() as queries:
            written = write_loans(Path(folder) / "ours.xlsx", user=user, params=params)
        return written, queries.count

    return work


def baseline(*, rows: int):
    import xlsxwriter

    from loans.exports import HEADERS, WIDTHS

    program_id, cutoff = _selection(rows)
    connection = common.raw_connection()

    def work():
        with tempfile.TemporaryDirectory() as folder:
            workbook = xlsxwriter.Workbook(
                str(Path(folder) / "bare.xlsx"), {"constant_memory": True}
            )
            sheet = workbook.add_worksheet("贷款明细")
            bold = workbook.add_format({"bold": True})
            money = workbook.add_format({"num_format": "#,##0.00"})
            rate_format = workbook.add_format({"num_format": "0.00##"})
            day = workbook.add_format({"num_format": "yyyy-mm-dd"})
            for column, width in enumerate(WIDTHS):
                sheet.set_column(column, column, width)
            sheet.write_row(0, 0, HEADERS, bold)
            sheet.freeze_panes(1, 0)
            write_string, write_number = sheet.write_string, sheet.write_number
            write_datetime = sheet.write_datetime
            cursor = connection.cursor(name="bare_export")
            cursor.itersize = ITERSIZE
            cursor.execute(BASELINE_SQL, [program_id, cutoff])
            row = 0
            for record in cursor:
                row += 1
                write_string(row, 0, record[0])
                write_string(row, 1, record[1])
                write_string(row, 2, record[2])
                write_string(row, 3, record[3])
                write_string(row, 4, record[4])
                write_number(row, 5, record[5], money)
                write_number(row, 6, record[6], money)
                write_number(row, 7, record[7], money)
                write_number(row, 8, record[8], rate_format)
                write_string(row, 9, record[9])
                write_string(row, 10, record[10])
                write_datetime(row, 11, record[11], day)
                write_datetime(row, 12, record[12], day)
                write_string(row, 13, record[13])
                if record[14]:
                    write_string(row, 14, record[14])
                write_number(row, 15, record[15])
                write_number(row, 16, record[16])
            cursor.close()
            workbook.close()
        connection.close()
        return row, 1

    return work


def measure(*, sizes=(100_000, 20_000), repeats: int = 3) -> list[common.Measurement]:
    results = []
    for rows in sizes:
        results += common.interleaved(task_name(rows), SCRIPT, rows=rows, repeats=repeats)
    return results


if __name__ == "__main__":
    if "--child" in sys.argv:
        common.child_main({"ours": ours, "baseline": baseline})
    else:
        common.setup()
        common.print_table(measure())
