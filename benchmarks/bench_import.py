"""Benchmark: a 10,000-row loan import against a bare read-and-bulk_create of the same file.

"ours" is the portal's import path: ``load_xlsx`` (openpyxl read-only) and ``run_import``
with ``loans.resources.LoanResource``, which validates every row like ``disburse_loan``,
writes the loans, moves the applications to 已放款 and writes their timeline events.
"baseline" reads the same file with openpyxl's read-only mode, looks the applications up
in one query and creates the loans with one ``bulk_create``: no validation, no timeline.

Run on the benchmark database only (PostgreSQL, a name containing "bench"):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gonghui_bench \\
        .venv/bin/python benchmarks/bench_import.py [--rows 10000]

It creates its own program, unit, bank, user, applicants, enterprises and approved
applications, all coded "BENCH-IMP-…", and removes them (and the loans and events it made)
afterwards. Time: best of 3, ours and baseline interleaved in one run. Queries: counted
with ``common.QueryCounter``. Peak memory: a fresh subprocess per variant runs the work once
and reports its peak RSS above its RSS before the work (``common.PeakMemory``, VmHWM), MiB.
Django is set up by ``common.setup`` (DEBUG off), as for every other benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import common

PREFIX = "BENCH-IMP-"
TASK = "loan import 10,000 rows"
REPEATS = 3


# --- data ------------------------------------------------------------------------------------


def prepare(rows: int) -> dict:
    """Approved applications for ``rows`` loans, and the xlsx file of those loans."""
    import openpyxl
    from django.contrib.auth import get_user_model

    from loans.choices import (
        ApplicationChannel,
        ApplicationStatus,
        IndustrySection,
        LoanType,
        ReviewChannel,
        UnitKind,
    )
    from loans.models import Applicant, Application, Bank, Enterprise, Program, Unit
    from loans.services.identity import make_credit_code, make_resident_id

    cleanup()
    program = Program.objects.create(
        code=f"{PREFIX}2020", name=f"{PREFIX}2020年九工贷", city="九江市", year=2020
    )
    unit = Unit.objects.create(
        code=f"{PREFIX}unit", name=f"{PREFIX}县", city="九江市", kind=UnitKind.COUNTY
    )
    bank = Bank.objects.create(code=f"{PREFIX}bank", name=f"{PREFIX}银行")
    user = get_user_model().objects.create(username=f"{PREFIX}city", is_superuser=True)
    # Identity numbers in a region code no real data uses, skipping any already stored.
    ids = [
        make_resident_id(
            region="659999",
            birth=date(1970, 1, 1) + timedelta(days=n % 10_000),
            sequence=n // 10_000 % 1000,
        )
        for n in range(rows * 2)
    ]
    ids = list(dict.fromkeys(ids))
    taken = {applicant.id_number for applicant in Applicant.objects.by_resident_ids(ids)}
    ids = [i for i in ids if i not in taken][:rows]
    codes = [make_credit_code(body=f"91659999B{n:08d}") for n in range(rows * 2)]
    taken = set(
        Enterprise.objects.filter(credit_code__in=codes).values_list("credit_code", flat=True)
    )
    codes = [c for c in codes if c not in taken][:rows]
    if len(ids) < rows or len(codes) < rows:
        raise SystemExit("could not find enough unused identity numbers for the benchmark")
    applicants = Applicant.objects.bulk_create(
        [
            Applicant(name=f"{PREFIX}{n}", id_number=ids[n], mobile="13900000000")
            for n in range(rows)
        ]
    )
    enterprises = Enterprise.objects.bulk_create(
        [
            Enterprise(
                name=f"{PREFIX}企业{n}",
                credit_code=codes[n],
                legal_representative="张三",
                licence_date=date(2019, 1, 1),
                industry_section=IndustrySection.F,
            )
            for n in range(rows)
        ]
    )
    Application.objects.bulk_create(
        [
            Application(
                reference=f"{PREFIX}{n:06d}",
                program=program,
                unit=unit,
                bank=bank,
                applicant=applicants[n],
                enterprise=enterprises[n],
                channel=ApplicationChannel.UNION_REFERRAL,
                status=ApplicationStatus.BANK_APPROVED,
                amount=Decimal("300000.00"),
                applied_on=date(2020, 6, 1),
                review_channel=ReviewChannel.OFFLINE,
                loan_type=LoanType.GUARANTEED,
                approved_amount=Decimal("300000.00"),
                approved_rate=Decimal("5.80"),
            )
            for n in range(rows)
        ],
        batch_size=2000,
    )
    headers = [
        "申请编号",
        "银行代码",
        "合同编号",
        "贷款金额（元）",
        "年利率（%）",
        "放款日期",
        "到期日期",
        "带动就业人数",
        "新增入会职工人数",
    ]
    book = openpyxl.Workbook()  # a normal workbook, which records its dimensions like Excel
    sheet = book.active
    sheet.append(headers)
    for n in range(rows):
        sheet.append(
            [
                f"{PREFIX}{n:06d}",
                bank.code,
                f"{PREFIX}HT{n:06d}",
                "250000.00",
                "5.8",
                date(2020, 7, 10),
                date(2021, 7, 10),
                6,
                2,
            ]
        )
    folder = tempfile.mkdtemp(prefix="bench-import-")
    path = os.path.join(folder, "loans.xlsx")
    book.save(path)
    return {"path": path, "user_id": user.pk, "rows": rows}


def reset() -> None:
    """Undo one measurement: its loans and events gone, the applications approved again."""
    from loans.choices import ApplicationStatus
    from loans.models import Application, ApplicationEvent, Loan

    Loan.objects.filter(program__code__startswith=PREFIX).delete()
    ApplicationEvent.objects.filter(application__reference__startswith=PREFIX).delete()
    Application.objects.filter(reference__startswith=PREFIX).update(
        status=ApplicationStatus.BANK_APPROVED
    )


def cleanup() -> None:
    from django.contrib.auth import get_user_model

    from loans.models import Applicant, Application, Bank, Enterprise, Program, Unit

    reset()
    applications = Application.objects.filter(reference__startswith=PREFIX)
    applicant_ids = list(applications.values_list("applicant_id", flat=True))
    enterprise_ids = list(applications.values_list("enterprise_id", flat=True))
    applications.delete()
    Applicant.objects.filter(pk__in=applicant_ids).delete()
    Enterprise.objects.filter(pk__in=enterprise_ids).delete()
    Program.objects.filter(code__startswith=PREFIX).delete()
    Unit.objects.filter(code__startswith=PREFIX).delete()
    Bank.objects.filter(code__startswith=PREFIX).delete()
    get_user_model().objects.filter(username__startswith=PREFIX).delete()


# --- the two variants -------------------------------------------------------------------------


def run_ours(path: str, user_id: int) -> int:
    from django.contrib.auth import get_user_model

    from loans.resources import LoanResource
    from loans.services.imports import load_xlsx, row_messages, run_import

    user = get_user_model().objects.get(pk=user_id)
    content = Path(path).read_bytes()
    dataset = load_xlsx(content)
    result = run_import(LoanResource(user=user), dataset, user=user, dry_run=False)
    messages = row_messages(result)
    if messages:
        raise SystemExit(f"import refused the benchmark file: {messages[:3]}")
    return result.totals["new"]


def run_baseline(path: str, user_id: int) -> int:
    import openpyxl

    from loans.models import Application, Loan

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = book.active.iter_rows(values_only=True)
    next(rows)
    rows = list(rows)
    applications = {
        a.reference: a
        for a in Application.objects.filter(reference__in=[r[0] for r in rows]).only(
            "pk", "reference", "program_id", "unit_id", "bank_id", "review_channel", "loan_type"
        )
    }
    loans = []
    for ref, _bank, contract, principal, rate, start, end, jobs, members in rows:
        application = applications[ref]
        amount = Decimal(principal)
        loans.append(
            Loan(
                application_id=application.pk,
                program_id=application.program_id,
                unit_id=application.unit_id,
                bank_id=application.bank_id,
                contract_number=contract,
                principal=amount,
                subsidised_principal=amount,
                annual_rate=Decimal(rate),
                review_channel=application.review_channel,
                loan_type=application.loan_type,
                disbursed_on=start.date(),
                maturity_on=end.date(),
                jobs_created=jobs,
                new_union_members=members,
            )
        )
    book.close()
    Loan.objects.bulk_create(loans)
    return len(loans)


VARIANTS = {"ours": run_ours, "baseline": run_baseline}


def timed(variant: str, data: dict) -> tuple[float, int, int]:
    with common.QueryCounter() as queries:
        start = time.perf_counter()
        count = VARIANTS[variant](data["path"], data["user_id"])
        seconds = time.perf_counter() - start
    reset()
    if count != data["rows"]:
        raise SystemExit(f"{variant} wrote {count} loans, expected {data['rows']}")
    return seconds, queries.count, count


def child(variant: str, data: dict) -> None:
    """In a fresh process: run the variant once and print its peak memory above the start."""
    common.setup()
    with common.PeakMemory() as peak:
        VARIANTS[variant](data["path"], data["user_id"])
    print(json.dumps({"peak_mib": peak.mib}))


def peak_memory(variant: str, data: dict) -> float:
    output = subprocess.run(
        [sys.executable, __file__, "--child", variant, "--data", json.dumps(data)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    ).stdout
    from_child = json.loads(output.strip().splitlines()[-1])["peak_mib"]
    reset()
    return round(from_child, 1)


def measure(*, rows: int = 10_000) -> list[dict]:
    """Ours and the baseline on the same file: best of 3 seconds, queries, peak memory."""
    common.setup()
    data = prepare(rows)
    try:
        best = {v: None for v in VARIANTS}
        for _ in range(REPEATS):
            for variant in VARIANTS:  # interleaved
                seconds, queries, count = timed(variant, data)
                if best[variant] is None or seconds < best[variant][0]:
                    best[variant] = (seconds, queries, count)
        results = []
        for variant in VARIANTS:
            seconds, queries, count = best[variant]
            results.append(
                {
                    "task": TASK if rows == 10_000 else f"loan import {rows:,} rows",
                    "variant": variant,
                    "seconds": round(seconds, 3),
                    "queries": queries,
                    "peak_mib": peak_memory(variant, data),
                    "rows": count,
                }
            )
        return results
    finally:
        cleanup()
        folder = os.path.dirname(data["path"])
        Path(data["path"]).unlink(missing_ok=True)
        os.rmdir(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--child", choices=sorted(VARIANTS))
    parser.add_argument("--data")
    args = parser.parse_args()
    if args.child:
        child(args.child, json.loads(args.data))
        return
    results = measure(rows=args.rows)
    print(f"peak memory: {common.MEMORY_METHOD}")
    print(f"{'task':<26}{'variant':<10}{'seconds':>9}{'queries':>9}{'peak MiB':>10}{'rows':>8}")
    for r in results:
        print(
            f"{r['task']:<26}{r['variant']:<10}{r['seconds']:>9.3f}{r['queries']:>9}"
            f"{r['peak_mib']:>10.1f}{r['rows']:>8}"
        )
    ours, base = results
    print(f"ours / baseline time: {ours['seconds'] / base['seconds']:.2f}x")


if __name__ == "__main__":
    main()
