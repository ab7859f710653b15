"""Fill the benchmark database with 1,000,000 loans over 15 units and 5 years, with COPY.

Every loan has its own application, applicant and enterprise (4,000,000 rows in all), under one
program ("bench-2021") with a quota for each of the 15 units; every tenth loan is a renewal of
the loan before it. Rows are generated in Python and streamed to PostgreSQL with
``COPY … FROM STDIN`` in batches (never the ORM), with foreign-key triggers off for the fill
(``session_replication_role = replica``: the generated rows are consistent by construction).

Idempotent: it does nothing when the program already has its loans; ``--reset`` deletes the
program's rows and fills again. ``--loans N`` fills fewer (for a quick try).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gonghui_bench \
        .venv/bin/python benchmarks/fill.py [--reset]
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta

import common

PROGRAM_CODE = "bench-2021"
UNIT_PREFIX = "bench-u"
BANK_PREFIX = "bench-b"
CITY_USER = "bench-city"
LOANS = 1_000_000
UNITS = 15
BANKS = 5
FIRST_DAY = date(2021, 1, 1)
LAST_DAY = date(2025, 12, 31)
LAST_MONTH = date(2025, 12, 1)  # the month the snapshot benchmark builds
BATCH = 100_000
TOTAL_TASK = 250_000 * LOANS  # 元

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶"
GIVEN = "明华强军平芳娜敏静丽伟勇磊洋艳杰娟涛超秀英霞刚桂兰玉萍红鹏飞辉健波宁海燕丹俊峰"
TRADES = ("商贸", "餐饮", "农业科技", "服装", "电子", "物流", "食品", "家居", "汽修", "软件")
SECTIONS = ("F", "H", "C", "A", "G", "I", "O", "L")  # none of the default excluded sections
AMOUNTS = tuple(range(50_000, 500_001, 10_000))
ONLINE_RATES = ("3.8500", "4.3500", "4.7500")
OFFLINE_RATES = ("4.3500", "5.2000", "5.8000")
LOAN_TYPES = ("credit", "guaranteed", "mortgage")


def _program_id(cursor) -> int | None:
    cursor.execute("SELECT id FROM loans_program WHERE code = %s", [PROGRAM_CODE])
    row = cursor.fetchone()
    return row[0] if row else None


def _loan_count(cursor, program_id: int) -> int:
    cursor.execute("SELECT count(*) FROM loans_loan WHERE program_id = %s", [program_id])
    return cursor.fetchone()[0]


def reset(cursor, program_id: int) -> None:
    """Delete the program's generated rows (and the snapshots built from them)."""
    print("deleting the previous fill …", flush=True)
    cursor.execute("SET session_replication_role = replica")
    cursor.execute(
        "DELETE FROM reports_monthlysnapshotrow WHERE snapshot_id IN "
        "(SELECT id FROM reports_monthlysnapshot WHERE program_id = %s)",
        [program_id],
    )
    cursor.execute("DELETE FROM reports_monthlysnapshot WHERE program_id = %s", [program_id])
    cursor.execute(
        "CREATE TEMP TABLE bench_old ON COMMIT DROP AS SELECT applicant_id, enterprise_id "
        "FROM loans_application WHERE program_id = %s",
        [program_id],
    )
    cursor.execute("DELETE FROM loans_loan WHERE program_id = %s", [program_id])
    cursor.execute("DELETE FROM loans_application WHERE program_id = %s", [program_id])
    cursor.execute("DELETE FROM loans_applicant WHERE id IN (SELECT applicant_id FROM bench_old)")
    cursor.execute("DELETE FROM loans_enterprise WHERE id IN (SELECT enterprise_id FROM bench_old)")
    cursor.execute("DELETE FROM quotas_quota WHERE program_id = %s", [program_id])
    cursor.execute("DELETE FROM loans_program WHERE id = %s", [program_id])
    cursor.execute("SET session_replication_role = DEFAULT")


def _reference_rows(cursor) -> tuple[int, list[int], list[int]]:
    """The program, units, banks (get-or-create by code) → (program id, unit ids, bank ids)."""
    now = datetime.now(UTC)
    unit_ids, bank_ids = [], []
    for n in range(1, UNITS + 1):
        cursor.execute(
            "INSERT INTO loans_unit (code, name, city, kind, sort_order)"
            " VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name RETURNING id",
            [f"{UNIT_PREFIX}{n:02d}", f"基准县{n:02d}", "基准市", "county", 100 + n],
        )
        unit_ids.append(cursor.fetchone()[0])
    for n in range(1, BANKS + 1):
        cursor.execute(
            "INSERT INTO loans_bank (code, name, short_name, offers_online_review,"
            " offers_offline_review, webhook_url, webhook_secret)"
            " VALUES (%s, %s, %s, true, true, '', '')"
            " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name RETURNING id",
            [f"{BANK_PREFIX}{n}", f"基准银行{n}基准市分行", f"基准银行{n}"],
        )
        bank_ids.append(cursor.fetchone()[0])
    cursor.execute(
        "INSERT INTO loans_program (code, name, city, year, is_active, target_amount, term_months,"
        " rate_cap_online, rate_cap_offline, limit_general, limit_model_worker,"
        " limit_epidemic_relative, require_union_membership, max_enterprise_age_years, min_jobs,"
        " excluded_industries, interest_share, interest_loan_types, premium_rate, premium_share,"
        " premium_loan_types, allocation_pool, provincial_amount, floor_ratio, cap_ratio,"
        " mobilise_deadline, recommend_deadline, disburse_deadline, max_days_per_stage,"
        " created_at, updated_at) VALUES (%s, %s, '基准市', 2021, true, 150000000000.00, 12,"
        " 4.75, 5.80, 300000.00, 500000.00, 500000.00, true, 5, 5,"
        ' \'["E", "K", "P", "8051", "9013", "90"]\', 100.00,'
        ' \'["credit", "guaranteed", "mortgage"]\', 0, 0, \'[]\', 800000.00, 0.00, 80.00,'
        " 120.00, '2021-05-30', '2021-06-30', '2021-07-30', 10, %s, %s) RETURNING id",
        [PROGRAM_CODE, "基准测试贷款项目（五年）", now, now],
    )
    program_id = cursor.fetchone()[0]
    for n, unit_id in enumerate(unit_ids, start=1):
        cursor.execute(
            "INSERT INTO quotas_quota (program_id, unit_id, task_amount) VALUES (%s, %s, %s)",
            [program_id, unit_id, _task(n)],
        )
    return program_id, unit_ids, bank_ids


def _task(n: int) -> str:
    """Unit n's quota: its share (weight n of 120) of a bit more than the subsidised total the
    fill produces (~225,000 元 a loan), so completion rates land near 90 %."""
    return f"{TOTAL_TASK * n // sum(range(1, UNITS + 1))}.00"


def _next_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
    return cursor.fetchone()[0]


def _copy(cursor, table: str, columns: str, buffer: io.StringIO) -> None:
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)  # text format, \N = NULL


APPLICANT_COLUMNS = (
    "id, name, id_number, hukou, address, mobile, is_model_worker, is_epidemic_relative,"
    " founder_class, is_union_member, union_name, resume, created_at, updated_at,"
    " id_number_hash, id_tail"
)
ENTERPRISE_COLUMNS = (
    "id, name, credit_code, legal_representative, address, employees, licence_date,"
    " industry_section, industry_code, is_emerging, annual_output, situation, created_at,"
    " updated_at"
)
APPLICATION_COLUMNS = (
    "id, reference, channel, status, borrower_class, amount, term_months, purpose, purpose_other,"
    " applied_on, review_channel, approved_amount, approved_rate, loan_type, decision_reason,"
    " decided_at, consent_subsidy_amount, consented_at, status_changed_at, created_at,"
    " updated_at, applicant_id, created_by_id, bank_id, enterprise_id, program_id, unit_id"
)
LOAN_COLUMNS = (
    "id, contract_number, principal, subsidised_principal, leveraged_amount, annual_rate,"
    " review_channel, loan_type, disbursed_on, maturity_on, jobs_created, new_union_members,"
    " status, settled_on, created_at, updated_at, application_id, bank_id, created_by_id,"
    " renewal_of_id, program_id, unit_id"
)


def fill(cursor, loans: int) -> None:
    from gonghui.pii import keyed_hash
    from loans.models import Applicant

    encrypt = Applicant._meta.get_field("id_number").get_prep_value
    program_id, unit_ids, bank_ids = _reference_rows(cursor)
    rng = random.Random(20211)
    # Units of unequal size (weights 1..15), like real counties.
    unit_weights = list(range(1, UNITS + 1))
    days = (LAST_DAY - FIRST_DAY).days + 1
    stamp = "2026-01-01 08:00:00+08"
    first = {
        t: _next_id(cursor, t)
        for t in ("loans_applicant", "loans_enterprise", "loans_application", "loans_loan")
    }
    cursor.execute("SET session_replication_role = replica")
    done = 0
    previous_disbursed = previous_unit = previous_bank = None
    while done < loans:
        size = min(BATCH, loans - done)
        applicants, enterprises, applications, rows = (io.StringIO() for _ in range(4))
        pending_loans: list[list[str]] = []
        for i in range(done, done + size):
            renewal = i % 10 == 9
            if renewal:
                unit_id, bank_id = previous_unit, previous_bank
                disbursed = previous_disbursed + timedelta(days=365)
            else:
                unit_id = rng.choices(unit_ids, unit_weights)[0]
                bank_id = bank_ids[rng.randrange(BANKS)]
                # Loans that will be renewed start early enough for the renewal to fit.
                span = days - 366 if i % 10 == 8 else days
                disbursed = FIRST_DAY + timedelta(days=rng.randrange(span))
            maturity = disbursed + timedelta(days=365)
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
            principal = rng.choice(AMOUNTS)
            subsidised = min(principal, 300_000)
            online = rng.random() < 0.5
            rate = rng.choice(ONLINE_RATES if online else OFFLINE_RATES)
            loan_type = LOAN_TYPES[rng.randrange(3)]
            applicant_id = first["loans_applicant"] + i
            enterprise_id = first["loans_enterprise"] + i
            application_id = first["loans_application"] + i
            loan_id = first["loans_loan"] + i
            # Stored as the portal stores them: encrypted, with the keyed hash and the tail.
            id_number = f"990000{i:011d}X"
            applicants.write(
                f"{applicant_id}\t{name}\t{encrypt(id_number)}\t基准市\t\t"
                f"{encrypt(f'139{i:08d}')}\tf\tf\tother\tt"
                f"\t基准县总工会\t\t{stamp}\t{stamp}\t{keyed_hash(id_number)}\t{id_number[-4:]}\n"
            )
            trade = TRADES[i % len(TRADES)]
            enterprises.write(
                f"{enterprise_id}\t基准市{name}{trade}有限公司{i}\t91BENCH{i:011d}\t{name}\t"
                f"\t{5 + i % 20}\t{disbursed - timedelta(days=400)}\t{SECTIONS[i % 8]}\t"
                f"\t{'t' if i % 17 == 0 else 'f'}\t0.00\t\t{stamp}\t{stamp}\n"
            )
            applied = disbursed - timedelta(days=20)
            channel = "online" if online else "offline"
            applications.write(
                f"{application_id}\tBENCH-{i:07d}\tunion_referral\tdisbursed\tgeneral"
                f"\t{principal}.00\t12\tproduction\t\t{applied}\t{channel}\t{principal}.00"
                f"\t{rate}\t{loan_type}\t\t{stamp}\t\\N\t\\N\t{stamp}\t{stamp}\t{stamp}"
                f"\t{applicant_id}\t\\N\t{bank_id}\t{enterprise_id}\t{program_id}\t{unit_id}\n"
            )
            if i % 10 == 8:
                status, settled = "renewed", str(maturity)
            elif maturity <= LAST_DAY:
                status, settled = "repaid", str(maturity)
            else:
                status, settled = "active", "\\N"
            pending_loans.append(
                [
                    str(loan_id),
                    f"BENCH-HT-{i:07d}",
                    f"{principal}.00",
                    f"{subsidised}.00",
                    f"{principal - subsidised}.00",
                    rate,
                    channel,
                    loan_type,
                    str(disbursed),
                    str(maturity),
                    str(5 + rng.randrange(26)),
                    str(rng.randrange(11)),
                    status,
                    settled,
                    stamp,
                    stamp,
                    str(application_id),
                    str(bank_id),
                    "\\N",
                    str(loan_id - 1) if renewal else "\\N",
                    str(program_id),
                    str(unit_id),
                ]
            )
            previous_disbursed, previous_unit, previous_bank = disbursed, unit_id, bank_id
        for row in pending_loans:
            rows.write("\t".join(row) + "\n")
        _copy(cursor, "loans_applicant", APPLICANT_COLUMNS, applicants)
        _copy(cursor, "loans_enterprise", ENTERPRISE_COLUMNS, enterprises)
        _copy(cursor, "loans_application", APPLICATION_COLUMNS, applications)
        _copy(cursor, "loans_loan", LOAN_COLUMNS, rows)
        done += size
        print(f"  {done:,} loans copied", flush=True)
    cursor.execute("SET session_replication_role = DEFAULT")
    for table in ("loans_applicant", "loans_enterprise", "loans_application", "loans_loan"):
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )


def ensure_city_user():
    """The city-staff account the export benchmark exports as (every unit, full names)."""
    from django.contrib.auth import get_user_model

    from accounts.choices import Role
    from accounts.services import assign_role

    user, created = get_user_model().objects.get_or_create(username=CITY_USER)
    if created:
        user.set_unusable_password()
        user.save()
        assign_role(user=user, role=Role.CITY_STAFF)
    return user


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reset", action="store_true", help="delete the fill and fill again")
    parser.add_argument("--loans", type=int, default=LOANS)
    args = parser.parse_args(argv)
    common.setup()
    ensure_city_user()
    connection = common.raw_connection()
    try:
        with connection, connection.cursor() as cursor:
            program_id = _program_id(cursor)
            if program_id is not None and not args.reset:
                count = _loan_count(cursor, program_id)
                print(f"already filled: {count:,} loans in {PROGRAM_CODE} (use --reset to refill)")
                return 0
            start = time.perf_counter()
            if program_id is not None:
                reset(cursor, program_id)
            fill(cursor, args.loans)
        with connection.cursor() as cursor:
            connection.autocommit = True
            for table in ("loans_applicant", "loans_enterprise", "loans_application", "loans_loan"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        print(f"filled {args.loans:,} loans in {time.perf_counter() - start:.1f} s")
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
