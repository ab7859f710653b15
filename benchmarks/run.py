"""Run every benchmark against the filled database and print one table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gonghui_bench \\
        .venv/bin/python benchmarks/run.py [--repeats 3]

Fill first with ``benchmarks/fill.py`` (once; it is idempotent). Each task runs "ours" and its
bare baseline interleaved, every run in a fresh subprocess, and keeps the best time of the
repeats; the loan import (``bench_import.py``, when present) measures itself the same way.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import common


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args(argv)
    common.setup()

    from fill import PROGRAM_CODE

    from loans.models import Loan

    loans = Loan.objects.filter(program__code=PROGRAM_CODE).count()
    if loans == 0:
        sys.exit("the benchmark database is empty: run benchmarks/fill.py first")

    import bench_export
    import bench_snapshot

    started = time.perf_counter()
    results: list = []
    results += bench_snapshot.measure(repeats=args.repeats)
    results += bench_export.measure(repeats=args.repeats)
    if not args.skip_import and (common.BENCH_DIR / "bench_import.py").exists():
        import bench_import

        results += bench_import.measure(rows=10_000)

    load = os.getloadavg()
    print()
    print(
        f"{loans:,} loans in the database; ours and baseline interleaved, best of "
        f"{args.repeats}; peak memory: {common.MEMORY_METHOD}, highest of the runs; "
        f"{os.cpu_count()} CPUs, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}; "
        f"took {time.perf_counter() - started:.0f} s."
    )
    print()
    common.print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
