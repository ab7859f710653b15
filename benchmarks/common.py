"""Shared helpers of the benchmark scripts: Django setup, the safety guard, measuring.

Run the scripts from the repository root against a PostgreSQL database whose name contains
"bench", e.g.::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gonghui_bench \
        .venv/bin/python benchmarks/run.py

Peak memory is measured in a fresh subprocess per measurement (:class:`PeakMemory`): the
kernel's high-water mark of resident memory (VmHWM), reset just before the work, minus the
resident set size then, so Django's own start-up is not counted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
MEMORY_METHOD = (
    "peak RSS of a fresh subprocess per measurement (VmHWM reset before the work − RSS then)"
)

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))


@dataclass
class Measurement:
    """One timed run of one variant of one task (the row format bench_import also returns)."""

    task: str
    variant: str  # "ours" | "baseline"
    seconds: float
    queries: int
    peak_mib: float
    rows: int
    cpu_seconds: float | None = None  # this process's CPU time (not the database server's)

    def as_dict(self) -> dict:
        return asdict(self)


# Keys for benchmark databases only (production requires its own; see README).
BENCH_FIELD_KEY = "YmVuY2htYXJrLW9ubHkta2V5LTAxMjM0NTY3ODlhYmM="
BENCH_HASH_KEY = "benchmark-only-pii-hash-key-0123456789abcdef"


def setup() -> None:
    """Configure Django for a benchmark and refuse anything but a PostgreSQL bench database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gonghui.settings")
    # Benchmarks run with DEBUG off (no query log growing in memory); the key only signs
    # nothing here, it just lets the settings load.
    os.environ.setdefault("SECRET_KEY", "benchmark-only-key-not-used-for-anything-real-0123456789")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", BENCH_FIELD_KEY)
    os.environ.setdefault("PII_HASH_KEY", BENCH_HASH_KEY)
    import django

    django.setup()
    guard()


def guard() -> None:
    from django.db import connection

    engine = connection.settings_dict["ENGINE"]
    name = str(connection.settings_dict.get("NAME") or "")
    if "postgresql" not in engine:
        sys.exit(f"refusing to run: benchmarks need PostgreSQL, DATABASE_URL points at {engine}")
    if "bench" not in name:
        sys.exit(f"refusing to run: database name {name!r} does not contain 'bench'")


def raw_connection():
    """A psycopg2 connection of its own (for baselines and COPY), same settings as Django's."""
    import psycopg2
    from django.db import connection

    s = connection.settings_dict
    return psycopg2.connect(
        dbname=s["NAME"],
        user=s.get("USER") or None,
        password=s.get("PASSWORD") or None,
        host=s.get("HOST") or None,
        port=s.get("PORT") or None,
    )


def _status_mib(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"{field} not in /proc/self/status")


class PeakMemory:
    """The peak resident memory of the work in the ``with`` block, above the RSS before it.

    The kernel's high-water mark (VmHWM) is reset on entry by writing 5 to
    /proc/self/clear_refs and read on exit. (``ru_maxrss`` would not do: it counts the
    process's whole life, Django's start-up included, and survives exec, so a child started
    from a large parent would report the parent's size.)
    """

    mib: float = 0.0

    def __enter__(self) -> PeakMemory:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        self._before = _status_mib("VmRSS")
        return self

    def __exit__(self, *exc) -> None:
        self.mib = max(_status_mib("VmHWM") - self._before, 0.0)


class QueryCounter:
    """Counts the SQL statements Django sends (a server-side cursor counts once)."""

    def __init__(self) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self._context = CaptureQueriesContext(connection)

    def __enter__(self) -> QueryCounter:
        from django.db import reset_queries

        reset_queries()  # a full log (9,000 queries) would capture nothing
        self._context.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._context.__exit__(*exc)

    @property
    def count(self) -> int:
        return len(self._context.captured_queries)


def measure_here(work: Callable[[], tuple[int, int]]) -> dict:
    """Time ``work`` in this process; it returns (rows, queries). For child processes."""
    with PeakMemory() as peak:
        start, cpu_start = time.perf_counter(), time.process_time()
        rows, queries = work()
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "queries": queries,
        "rows": rows,
        "peak_mib": peak.mib,
    }


def child_main(variants: dict[str, Callable[..., Callable[[], tuple[int, int]]]]) -> None:
    """Entry of a child process: ``script.py --child VARIANT [--rows N]`` prints one JSON line.

    ``variants[VARIANT](rows=N)`` prepares (untimed) and returns the work to time, which
    returns (rows handled, SQL statements sent).
    """
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--child", required=True, choices=sorted(variants))
    parser.add_argument("--rows", type=int, default=0)
    args = parser.parse_args()
    setup()
    import django.test.utils  # noqa: F401 - imported before the work so it is not measured
    from django.db import connection

    connection.ensure_connection()
    work = variants[args.child](rows=args.rows)
    result = measure_here(work)
    print("RESULT " + json.dumps(result))


def run_child(script: str, variant: str, *, rows: int = 0) -> dict:
    """Run one measurement in a fresh interpreter and return its JSON result."""
    command = [sys.executable, str(BENCH_DIR / script), "--child", variant, "--rows", str(rows)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=os.environ.copy())
    if done.returncode != 0:
        raise RuntimeError(f"{script} {variant} failed:\n{done.stdout}\n{done.stderr}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def interleaved(
    task: str, script: str, *, rows: int = 0, repeats: int = 3, verbose: bool = True
) -> list[Measurement]:
    """ours, baseline, ours, baseline, … each in a fresh process; best time of ``repeats``.

    The peak memory reported is the highest of the repeats (the conservative figure).
    """
    results: dict[str, list[dict]] = {"ours": [], "baseline": []}
    for attempt in range(repeats):
        for variant in ("ours", "baseline"):
            result = run_child(script, variant, rows=rows)
            results[variant].append(result)
            if verbose:
                print(
                    f"  {task} [{variant} #{attempt + 1}] {result['seconds']:.3f} s, "
                    f"{result['peak_mib']:.1f} MiB, {result['rows']} rows",
                    file=sys.stderr,
                )
    return [
        Measurement(
            task=task,
            variant=variant,
            seconds=min(r["seconds"] for r in runs),
            queries=runs[0]["queries"],
            peak_mib=max(r["peak_mib"] for r in runs),
            rows=runs[0]["rows"],
            cpu_seconds=min(r["cpu_seconds"] for r in runs),
        )
        for variant, runs in results.items()
    ]


def _cpu(record: dict | None) -> str:
    value = (record or {}).get("cpu_seconds")
    return f"{value:.3f}" if value is not None else "—"


def print_table(measurements: list[Measurement | dict], *, out=None) -> None:
    """task | ours s | baseline s | ratio | queries | peak MiB ours | peak MiB baseline, then
    the client process's CPU seconds (steadier than wall time on a busy machine)."""
    out = out or sys.stdout
    by_task: dict[str, dict[str, dict]] = {}
    for m in measurements:
        record = m.as_dict() if isinstance(m, Measurement) else dict(m)
        by_task.setdefault(record["task"], {})[record["variant"]] = record
    print(
        "| task | ours s | baseline s | ratio | queries (ours/baseline) | peak MiB ours "
        "| peak MiB baseline | CPU s ours | CPU s baseline | CPU ratio |",
        file=out,
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|", file=out)
    for task, pair in by_task.items():
        ours, base = pair.get("ours"), pair.get("baseline")
        if not ours or not base:
            continue
        ratio = ours["seconds"] / base["seconds"] if base["seconds"] else float("nan")
        cpu_ratio = "—"
        # Below 50 ms of client CPU (work done by the server) the ratio means nothing.
        if ours.get("cpu_seconds") is not None and (base.get("cpu_seconds") or 0) >= 0.05:
            cpu_ratio = f"{ours['cpu_seconds'] / base['cpu_seconds']:.2f}×"
        print(
            f"| {task} | {ours['seconds']:.3f} | {base['seconds']:.3f} | {ratio:.2f}× "
            f"| {ours['queries']}/{base['queries']} | {ours['peak_mib']:.1f} "
            f"| {base['peak_mib']:.1f} | {_cpu(ours)} | {_cpu(base)} | {cpu_ratio} |",
            file=out,
        )


def production_env(label: str, host: str) -> dict[str, str]:
    """Environment of a server run with production settings (DEBUG off) and throwaway keys,
    for the load test and the fault drills; ``label`` names the run in the secret key."""
    return {
        "DEBUG": "0",
        "SECRET_KEY": f"{label}-only-" + "x" * 50,
        "FIELD_ENCRYPTION_KEY": "YmVuY2htYXJrLW9ubHkta2V5LTAxMjM0NTY3ODlhYmM=",
        "PII_HASH_KEY": f"{label}-only-pii-hash-key-0123456789abcdef",
        "ALLOWED_HOSTS": host,
        "SECURE_SSL_REDIRECT": "0",
    }
