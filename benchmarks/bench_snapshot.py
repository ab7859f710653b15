"""The whole monthly snapshot (附件3, all units, stored) against one raw SQL GROUP BY.

"ours" is ``reports.services.build_monthly_snapshot`` for the fill's last month: quotas,
reallocations, the loan aggregate and the stored rows, in one transaction. "baseline" is the
one ``GROUP BY unit`` over the same loans computing the same loan columns, fetched with a bare
psycopg2 cursor and not stored.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gonghui_bench \\
        .venv/bin/python benchmarks/bench_snapshot.py
"""

from __future__ import annotations

import sys

import common

TASK = "monthly snapshot, 1,000,000 loans"
SCRIPT = "bench_snapshot.py"
GROUP_BY = """
SELECT unit_id,
       count(*),
       sum(principal),
       coalesce(sum(principal) FILTER (WHERE renewal_of_id IS NOT NULL), 0),
       sum(leveraged_amount),
       sum(new_union_members),
       sum(jobs_created),
       sum(subsidised_principal)
  FROM loans_loan
 WHERE program_id = %s AND disbursed_on <= %s
 GROUP BY unit_id
"""


def _program():
    from fill import PROGRAM_CODE

    from loans.models import Program

    return Program.objects.get(code=PROGRAM_CODE)


def ours(*, rows: int = 0):
    from fill import LAST_MONTH

    from reports.services import build_monthly_snapshot

    program = _program()

    def work():
        with common.QueryCounter() as queries:
            snapshot = build_monthly_snapshot(program=program, month=LAST_MONTH)
        total = snapshot.rows.get(unit__isnull=True)
        return total.loans, queries.count

    return work


def baseline(*, rows: int = 0):
    from fill import LAST_MONTH

    from reports.services import month_end

    program_id = _program().pk
    connection = common.raw_connection()

    def work():
        with connection.cursor() as cursor:
            cursor.execute(GROUP_BY, [program_id, month_end(LAST_MONTH)])
            grouped = cursor.fetchall()
        connection.close()
        return sum(row[1] for row in grouped), 1

    return work


def measure(*, repeats: int = 3) -> list[common.Measurement]:
    return common.interleaved(TASK, SCRIPT, repeats=repeats)


if __name__ == "__main__":
    if "--child" in sys.argv:
        common.child_main({"ours": ours, "baseline": baseline})
    else:
        common.setup()
        common.print_table(measure())
