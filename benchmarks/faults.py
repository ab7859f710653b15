"""Fault drills: PostgreSQL restarted under load; a worker killed mid-task.

    .venv/bin/python benchmarks/faults.py db-restart [--seconds 24]
    .venv/bin/python benchmarks/faults.py worker-killed

``worker-killed`` is described in :func:`worker_killed`. ``db-restart``:

Runs against a private PostgreSQL cluster (initdb'd in a temporary folder on port 5499, run
as the ``postgres`` user) so restarting it disturbs nothing else on the machine. It:
1. creates the cluster and a database, migrates it, loads the demo data, issues a bank token;
2. starts gunicorn with production settings and persistent connections (``CONN_MAX_AGE=60``);
3. runs reader threads (``GET /api/v1/loans/``) and one writer thread that posts interest
   repayments, each with its own ``Idempotency-Key``, retrying a failed post with the same key
   until it is accepted — as the bank's client is told to;
4. a third of the way in, stops PostgreSQL for a few seconds and starts it again;
5. reports every response by phase (before, outage, after) and checks: no response is a 500
   or a traceback (the outage gives 503s or refused connections), requests succeed again
   after the restart without restarting the app (same gunicorn master), and the repayments in
   the database are exactly the accepted ones — none lost, none doubled — by count and by sum.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_BIN = (
    Path("/usr/lib/postgresql")
    / (
        sorted(os.listdir("/usr/lib/postgresql"))[-1]
        if Path("/usr/lib/postgresql").exists()
        else ""
    )
    / "bin"
)
PG_PORT = 5499
HOST, PORT = "127.0.0.1", 8766
INTEREST = Decimal("1.23")


def as_postgres(*command: str) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *command], check=True, capture_output=True, text=True)


class PrivateCluster:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="gonghui-faults-"))
        self.data = self.folder / "data"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")

    def create(self) -> None:
        as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "gonghui"],
            check=True,
        )

    def start(self) -> None:
        as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "log"),
            "-o",
            f"-p {PG_PORT} -k {self.folder} -c listen_addresses=127.0.0.1",
            "-w",
            "start",
        )

    def stop(self) -> None:
        as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def manage(*args: str, env: dict) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def request(method: str, path: str, headers: dict, body: bytes | None = None):
    """(status, body) or ("refused", "") when the connection fails."""
    try:
        connection = http.client.HTTPConnection(HOST, PORT, timeout=15)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    except OSError:
        return "refused", ""


def shell(code: str, env: dict) -> str:
    return manage("shell", "--no-imports", "-c", code, env=env).strip()


def db_restart(options) -> int:
    cluster = PrivateCluster()
    cluster.create()
    url = f"postgres://postgres@127.0.0.1:{PG_PORT}/gonghui"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": "fault-drill-only-" + "x" * 50,
        "FIELD_ENCRYPTION_KEY": "YmVuY2htYXJrLW9ubHkta2V5LTAxMjM0NTY3ODlhYmM=",
        "PII_HASH_KEY": "fault-drill-only-pii-hash-key-0123456789abcdef",
        "ALLOWED_HOSTS": HOST,
        "SECURE_SSL_REDIRECT": "0",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "CRITICAL",
    }
    env.pop("REDIS_URL", None)
    server = None
    try:
        manage("migrate", "--noinput", env=env)
        manage("seed_demo", env=env)
        manage("collectstatic", "--noinput", env=env)
        token = manage("issue_api_token", "bank", "--days", "1", env=env).strip()
        loan_id = int(
            shell(
                "from accounts.models import Profile; from loans.models import Loan;"
                "bank = Profile.objects.get(user__username='bank').bank;"
                "print(Loan.objects.filter(bank=bank, status='active').order_by('id')[0].id)",
                env,
            )
        )
        count_sum = (
            "from django.db.models import Count, Sum; from loans.models import Repayment;"
            "a = Repayment.objects.aggregate(n=Count('id'), s=Sum('interest_amount'));"
            "print(a['n'], a['s'])"
        )
        before_n, before_s = shell(count_sum, env).split()
        server = subprocess.Popen(
            [
                str(Path(PYTHON).with_name("gunicorn")),
                "gonghui.wsgi",
                "--bind",
                f"{HOST}:{PORT}",
                "--workers",
                "3",
                "--log-level",
                "critical",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=(cluster.folder / "gunicorn.log").open("w"),
        )
        deadline = time.monotonic() + 30
        while request("GET", "/api/v1/programs/", {})[0] == "refused":
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)

        headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        start = time.monotonic()
        outage = [None, None]
        seen: list[tuple[float, object, str]] = []
        accepted: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def note(status, body):
            with lock:
                seen.append((time.monotonic() - start, status, body[:200]))

        def reader():
            while not stop.is_set():
                note(*request("GET", "/api/v1/loans/", headers))

        def writer():
            body = json.dumps(
                {"repaid_on": time.strftime("%Y-%m-%d"), "interest_amount": str(INTEREST)}
            ).encode()
            while not stop.is_set():
                key = str(uuid.uuid4())
                while True:  # retry the same key until the union's side accepted it
                    status, text = request(
                        "POST",
                        f"/api/v1/loans/{loan_id}/repayment/",
                        {**headers, "Content-Type": "application/json", "Idempotency-Key": key},
                        body,
                    )
                    note(status, text)
                    if status == 201:
                        accepted.append(key)
                        break
                    if status not in (503, "refused") or stop.is_set():
                        break
                    time.sleep(0.2)
                time.sleep(0.05)

        threads = [threading.Thread(target=reader) for _ in range(3)]
        threads.append(threading.Thread(target=writer))
        for thread in threads:
            thread.start()
        time.sleep(options.seconds / 3)
        outage[0] = time.monotonic() - start
        cluster.stop()
        time.sleep(4)
        cluster.start()
        outage[1] = time.monotonic() - start
        time.sleep(options.seconds * 2 / 3 - 4)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        master_alive = server.poll() is None
        after_n, after_s = shell(count_sum, env).split()
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        cluster.remove()

    def phase(t: float) -> str:
        if t < outage[0]:
            return "before"
        return "outage" if t < outage[1] + 1 else "after"

    counts: Counter = Counter((phase(t), status) for t, status, _ in seen)
    tracebacks = [body for _, _, body in seen if "Traceback" in body]
    after_ok = [s for t, s, _ in seen if t > outage[1] + 3]
    added_n = int(after_n) - int(before_n)
    added_s = Decimal(after_s) - Decimal(before_s if before_s != "None" else "0")
    print(f"\nPostgreSQL stopped {outage[0]:.1f}–{outage[1]:.1f} s into a {options.seconds} s run")
    print("| phase | status | responses |\n|---|---|---:|")
    for (name, status), number in sorted(counts.items(), key=lambda item: str(item[0])):
        print(f"| {name} | {status} | {number} |")
    print(
        f"\nrepayments accepted by the API: {len(accepted)}; added in the database: {added_n} "
        f"(interest {added_s}, expected {INTEREST * len(accepted)}); gunicorn master alive: "
        f"{master_alive}; 500s: {sum(1 for _, s, _ in seen if s == 500)}; "
        f"tracebacks in bodies: {len(tracebacks)}"
    )
    failures = []
    if any(status == 500 for _, status, _ in seen) or tracebacks:
        failures.append("a request failed with a 500 or a traceback")
    if not after_ok or any(status != 200 and status != 201 for status in after_ok):
        failures.append("requests did not all succeed once PostgreSQL was back")
    if not master_alive:
        failures.append("the app had to restart")
    if added_n != len(accepted) or added_s != INTEREST * len(accepted):
        failures.append("repayments lost or doubled")
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


REDIS_PORT = 6399
MONTH = "2024-01-01"  # built by the task for day 2024-02-02; the demo data has no snapshot of it


def worker_killed(options) -> int:
    """A worker killed (SIGKILL) in the middle of the monthly snapshot, then a fresh worker.

    The drill holds an exclusive lock on the snapshot rows so the task is caught mid-way
    (inside its transaction, after it started writing), kills the worker, releases the
    lock, and checks that no partial snapshot is left; then it starts another worker and
    waits for Redis to redeliver the unacknowledged task (acks_late, visibility timeout 8 s
    here) and checks that exactly one complete snapshot per active program was stored.
    """
    import psycopg2

    cluster = PrivateCluster()
    cluster.create()
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{PG_PORT}/gonghui",
        "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "CELERY_VISIBILITY_TIMEOUT": "8",
        "DEBUG": "0",
        "SECRET_KEY": "fault-drill-only-" + "x" * 50,
        "FIELD_ENCRYPTION_KEY": "YmVuY2htYXJrLW9ubHkta2V5LTAxMjM0NTY3ODlhYmM=",
        "PII_HASH_KEY": "fault-drill-only-pii-hash-key-0123456789abcdef",
        "ALLOWED_HOSTS": HOST,
        "LOG_LEVEL": "WARNING",
    }
    workers: list[subprocess.Popen] = []
    log = (cluster.folder / "worker.log").open("w")

    def start_worker(name: str) -> subprocess.Popen:
        worker = subprocess.Popen(
            [
                str(Path(PYTHON).with_name("celery")),
                "-A",
                "gonghui",
                "worker",
                "--pool",
                "solo",
                "-n",
                f"{name}@drill",
                "--without-mingle",
                "--without-gossip",
                "-l",
                "WARNING",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=log,
            stderr=log,
        )
        workers.append(worker)
        return worker

    counts = (
        "from django.db.models import Count, Sum;"
        "from loans.models import Program; from reports.models import MonthlySnapshot as S, "
        "MonthlySnapshotRow as R;"
        f"s = S.objects.filter(month='{MONTH}');"
        f"r = R.objects.filter(snapshot__month='{MONTH}')"
        ".aggregate(n=Count('id'), a=Sum('amount'));"
        "print(s.count(), r['n'], r['a'], Program.objects.filter(is_active=True).count())"
    )
    watcher = locker = None
    try:
        manage("migrate", "--noinput", env=env)
        manage("seed_demo", env=env)
        dsn = f"host=127.0.0.1 port={PG_PORT} user=postgres dbname=gonghui"
        watcher = psycopg2.connect(dsn)
        watcher.autocommit = True
        locker = psycopg2.connect(dsn)
        locker.cursor().execute("LOCK TABLE reports_monthlysnapshotrow IN ACCESS EXCLUSIVE MODE")

        first = start_worker("first")
        shell(
            "from reports.tasks import build_monthly_snapshots as task;"
            "task.apply_async(kwargs={'day': '2024-02-02'})",
            env,
        )
        deadline = time.monotonic() + 60
        waiting = 0
        while not waiting and time.monotonic() < deadline:
            time.sleep(0.2)
            with watcher.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query ILIKE '%%reports_monthlysnapshotrow%%'"
                )
                waiting = cursor.fetchone()[0]
        if not waiting:
            raise SystemExit("the snapshot task never reached the locked table")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        locker.rollback()  # release the lock: the killed worker's transaction is gone
        time.sleep(1)
        after_kill = shell(counts, env).split()

        # Kombu restores unacknowledged messages older than the visibility timeout when a
        # worker starts (then only every 100 s): restart the worker as a supervisor would.
        time.sleep(10)
        start_worker("second")
        deadline = time.monotonic() + 90
        after_retry = after_kill
        while time.monotonic() < deadline:
            after_retry = shell(counts, env).split()
            if after_retry[0] == after_retry[3]:
                break
            time.sleep(2)
        time.sleep(3)  # a late second delivery would show up as a second snapshot
        final = shell(counts, env).split()
    finally:
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(timeout=20)
        for connection in (watcher, locker):
            if connection is not None:
                connection.close()
        redis.terminate()
        redis.wait(timeout=10)
        log.close()
        worker_log = (cluster.folder / "worker.log").read_text(errors="replace")
        cluster.remove()

    programs = int(final[3])
    print(f"\nsnapshot of {MONTH[:7]} (active programs: {programs})")
    print("| moment | snapshots | rows | amount |\n|---|---:|---:|---:|")
    for moment, values in (("worker killed mid-task", after_kill), ("after the redelivery", final)):
        print(f"| {moment} | {values[0]} | {values[1]} | {values[2]} |")
    failures = []
    if after_kill[:2] != ["0", "0"]:
        failures.append("a partial snapshot was left by the killed worker")
    if int(final[0]) != programs or final[1] in ("0", "None"):
        failures.append("the redelivered task did not store one complete snapshot per program")
    for failure in failures:
        print(f"FAILED: {failure}")
    if failures:
        print("worker log (last lines):", *worker_log.splitlines()[-30:], sep="\n")
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("drill", choices=["db-restart", "worker-killed"])
    parser.add_argument("--seconds", type=int, default=24)
    options = parser.parse_args()
    if not PG_BIN.exists():
        raise SystemExit(f"PostgreSQL server binaries not found under {PG_BIN}")
    sys.exit({"db-restart": db_restart, "worker-killed": worker_killed}[options.drill](options))


if __name__ == "__main__":
    main()
