"""Audit trail costs (issue 8): seed_demo with and without history, and the read side.

    .venv/bin/python benchmarks/audit.py [--runs 1]

Each measurement runs in a fresh child process on its own throwaway SQLite file in a
temporary folder (never a shared database):
1. ``seed_demo`` on a migrated, empty database, with history on and with it switched off
   (``SIMPLE_HISTORY_ENABLED=False``), then the rerun that must create nothing — its
   historical row count must not move;
2. on the seeded (history on) database: the city staff's ``/audit/`` search across every
   historical table (first page and its count, then one record type and one record), and
   the timeline of the application and the loan with the most historical rows.

Prints a Markdown table of wall-clock times (seeding: best of ``--runs``; reads: best of 3
after one warm-up call) and the row counts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child(mode: str) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gonghui.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from io import StringIO

    from django.apps import apps
    from django.core.management import call_command
    from django.db.models import Count
    from django.test.utils import override_settings

    call_command("migrate", verbosity=0)

    def history_rows() -> int:
        return sum(
            m.objects.count() for m in apps.get_models() if m.__name__.startswith("Historical")
        )

    result: dict = {}
    with override_settings(SIMPLE_HISTORY_ENABLED=mode == "history"):
        started = time.perf_counter()
        call_command("seed_demo", stdout=StringIO())
        result["seed"] = time.perf_counter() - started
        result["history_rows"] = history_rows()
        started = time.perf_counter()
        call_command("seed_demo", stdout=StringIO())
        result["reseed"] = time.perf_counter() - started
        result["history_rows_after_rerun"] = history_rows()
    if mode != "history":
        return result

    from accounts.audit import application_timeline, decorate, loan_timeline, search_history
    from loans.models import Application, Loan

    def timed(name, work):
        work()  # warm: the first query of a process pays for connection and SQL compilation
        times = []
        for _ in range(3):
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
        result[name] = min(times)

    def first_page(**filters):
        rows = search_history(**filters)
        decorate(list(rows[:50]))
        rows.count()

    busiest = (
        Application.history.values("id").annotate(n=Count("history_id")).order_by("-n").first()
    )
    loan = Loan.history.values("id").annotate(n=Count("history_id")).order_by("-n").first()
    timed("search_all", first_page)
    timed("search_type", lambda: first_page(kind="application"))
    timed("search_record", lambda: first_page(kind="application", record_id=busiest["id"]))
    application = Application.objects.get(pk=busiest["id"])
    timed("timeline_application", lambda: application_timeline(application))
    timed("timeline_loan", lambda: loan_timeline(Loan.objects.get(pk=loan["id"])))
    return result


def _run(mode: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder}/audit.sqlite3",
            "DEBUG": "1",
        }
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--child", choices=["history", "plain"])
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child)))
        return
    runs = {mode: [_run(mode) for _ in range(args.runs)] for mode in ("plain", "history")}
    best = {mode: {k: min(r[k] for r in rs) for k in rs[0]} for mode, rs in runs.items()}
    plain, history = best["plain"], best["history"]
    print("| measure | without history | with history |")
    print("|---|---|---|")
    print(f"| seed_demo (s) | {plain['seed']:.2f} | {history['seed']:.2f} |")
    print(f"| seed_demo rerun (s) | {plain['reseed']:.2f} | {history['reseed']:.2f} |")
    print(f"| historical rows after seed | {plain['history_rows']} | {history['history_rows']} |")
    print(
        f"| historical rows after rerun | {plain['history_rows_after_rerun']} "
        f"| {history['history_rows_after_rerun']} |"
    )
    for key, label in (
        ("search_all", "/audit/ all types, page 1 + count (ms)"),
        ("search_type", "/audit/ applications, page 1 + count (ms)"),
        ("search_record", "/audit/ one application (ms)"),
        ("timeline_application", "busiest application timeline (ms)"),
        ("timeline_loan", "busiest loan timeline (ms)"),
    ):
        print(f"| {label} | — | {history[key] * 1000:.1f} |")


if __name__ == "__main__":
    main()
