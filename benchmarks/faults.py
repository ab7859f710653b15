"""Fault drills: PostgreSQL restarted under load; a worker killed mid-task; Redis stopped.

    .venv/bin/python benchmarks/faults.py db-restart [--seconds 24]
    .venv/bin/python benchmarks/faults.py worker-killed
    .venv/bin/python benchmarks/faults.py redis-stopped [--seconds 36]
    .venv/bin/python benchmarks/faults.py all [--quick] [--timeout 780]

Every drill runs against private servers so it disturbs nothing else on the machine: a
PostgreSQL cluster initdb'd in a temporary folder on port 5499 (run as the ``postgres``
user), Redis on port 6399 without persistence, gunicorn on 8766. The cluster is prepared
once (migrate, ``seed_demo``, collectstatic) and each drill works on its own copy of that
database. ``all`` runs the three drills in turn and exits 1 if any check of any drill
failed; ``--quick`` shortens the load phases (each drill still crosses its fault with load
before, during and after it). Whatever happens — a failed check, an exception, SIGTERM, the
overall ``--timeout`` — every process started here (each in its own process group) is
stopped and the temporary folders are deleted.

``worker-killed`` is described in :func:`worker_killed`, ``redis-stopped`` in
:func:`redis_stopped`. ``db-restart``:

1. starts gunicorn with production settings and persistent connections (``CONN_MAX_AGE=60``);
2. runs reader threads (``GET /api/v1/loans/``) and one writer thread that posts interest
   repayments, each with its own ``Idempotency-Key``, retrying a failed post with the same key
   until it is accepted — as the bank's client is told to;
3. a third of the way in, stops PostgreSQL for a few seconds and starts it again;
4. reports every response by phase (before, outage, after) and checks: no response is a 500
   or a traceback (the outage gives 503s or refused connections), requests succeed again
   after the restart without restarting the app (same gunicorn master), and the repayments in
   the database are exactly the accepted ones — none lost, none doubled — by count and by sum.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import common

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
REDIS_PORT = 6399
HOST, PORT = "127.0.0.1", 8766
INTEREST = Decimal("1.23")
TEMPLATE_DB = "gonghui_template"
# Settings every drill's processes share: production (DEBUG=0), throwaway keys.
BASE_ENV = common.production_env("fault-drill", HOST)


class DrillTimeout(Exception):
    """The overall --timeout ran out: the drill is abandoned and cleaned up."""


class Terminated(BaseException):
    """SIGTERM (e.g. CI's ``timeout``): unwind through every ``finally`` and clean up."""


def as_postgres(*command: str, check: bool = True) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, *command], check=check, capture_output=True, text=True, timeout=120
    )


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((HOST, port)) == 0


# Everything started here, so the last ``finally`` can stop what a drill's own cleanup missed
# (e.g. SIGTERM between a Popen and the assignment of its result).
STARTED: list[subprocess.Popen] = []
FOLDERS: list[Path] = []


def spawn(command: list[str], **options) -> subprocess.Popen:
    """Popen in a new session (its own process group), remembered for the final cleanup."""
    process = subprocess.Popen(command, start_new_session=True, **options)
    STARTED.append(process)
    return process


def temp_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    FOLDERS.append(folder)
    return folder


def stop_processes() -> None:
    """Stop every process started here that still runs, newest first."""
    for process in reversed(STARTED):
        stop_group(process, grace=10)


def remove_folders() -> None:
    for folder in FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)


def stop_group(process: subprocess.Popen | None, grace: float = 20) -> None:
    """SIGTERM a process started with its own session (and its children), then SIGKILL."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class PrivateCluster:
    def __init__(self) -> None:
        self.folder = temp_folder("gonghui-faults-")
        self.data = self.folder / "data"
        self.token = ""  # the bank officer's API token, issued in the template database
        self.loan_id = 0  # an active loan of that bank
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")

    def create(self) -> None:
        as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()
        self.createdb(TEMPLATE_DB)

    def createdb(self, name: str, template: str | None = None) -> str:
        """Create a database (a copy of ``template``); returns its URL."""
        extra = ["-T", template] if template else []
        subprocess.run(
            ["createdb", "-h", HOST, "-p", str(PG_PORT), "-U", "postgres", *extra, name],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return f"postgres://postgres@{HOST}:{PG_PORT}/{name}"

    def query(self, database: str, sql: str, params=()) -> tuple:
        """One row of ``sql`` (autocommit; cheaper than a Django shell per figure)."""
        import psycopg2

        connection = psycopg2.connect(host=HOST, port=PG_PORT, user="postgres", dbname=database)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchone()
        finally:
            connection.close()

    def running(self) -> bool:
        status = as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status", check=False)
        return status.returncode == 0

    def start(self) -> None:
        as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "log"),
            "-o",
            f"-p {PG_PORT} -k {self.folder} -c listen_addresses={HOST}",
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        if self.data.exists():
            try:
                self.stop()
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
                    self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRedis:
    """redis-server on REDIS_PORT, no persistence: a restart starts empty (queue lost too)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen | None = None

    def ping(self) -> bool:
        try:
            with socket.create_connection((HOST, REDIS_PORT), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        self.process = spawn(
            [
                "redis-server",
                "--port",
                str(REDIS_PORT),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=(self.folder / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while not self.ping():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"redis-server did not start:\n{tail(self.folder / 'redis.log')}")
            time.sleep(0.1)

    def stop(self) -> None:
        stop_group(self.process, grace=10)


def manage(*args: str, env: dict, timeout: float = 300) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    ).stdout


def drill_env(url: str, **extra: str) -> dict:
    env = {**os.environ, **BASE_ENV, "DATABASE_URL": url, **extra}
    if "REDIS_URL" not in extra:
        env.pop("REDIS_URL", None)
    return env


def prepare(cluster: PrivateCluster) -> None:
    """Create the cluster and the template database every drill copies (~40 s, once)."""
    started = time.monotonic()
    cluster.create()
    env = drill_env(f"postgres://postgres@{HOST}:{PG_PORT}/{TEMPLATE_DB}", LOG_LEVEL="WARNING")
    # collectstatic needs no database: it runs beside migrate and seed_demo.
    collect = spawn(
        [PYTHON, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        manage("migrate", "--noinput", env=env)
        manage("seed_demo", env=env)
        cluster.token, loan_id = shell(
            "import io; from django.core.management import call_command;"
            "from accounts.models import Profile; from loans.models import Loan;"
            "out = io.StringIO();"
            "call_command('issue_api_token', 'bank', '--days', '1', stdout=out);"
            "bank = Profile.objects.get(user__username='bank').bank;"
            "loan = Loan.objects.filter(bank=bank, status='active').order_by('id')[0];"
            "print(out.getvalue().strip(), loan.id)",
            env,
        ).split()
        cluster.loan_id = int(loan_id)
        _, errors = collect.communicate(timeout=300)
    finally:
        if collect.poll() is None:
            collect.kill()
            collect.wait()
    if collect.returncode:
        raise SystemExit(f"collectstatic failed:\n{errors}")
    print(f"prepared the private cluster in {time.monotonic() - started:.0f} s", flush=True)


def fetch(method: str, path: str, headers: dict, body: bytes | None = None):
    """(status, body, headers) or ("refused", "", {}) when the connection fails."""
    try:
        connection = http.client.HTTPConnection(HOST, PORT, timeout=15)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
        return response.status, text, dict(response.getheaders())
    except OSError:
        return "refused", "", {}


def request(method: str, path: str, headers: dict, body: bytes | None = None):
    """(status, body) or ("refused", "") when the connection fails."""
    status, text, _ = fetch(method, path, headers, body)
    return status, text


def shell(code: str, env: dict) -> str:
    return manage("shell", "--no-imports", "-c", code, env=env).strip()


def start_gunicorn(env: dict, log: Path) -> subprocess.Popen:
    if port_in_use(PORT):  # else the drill would measure whatever server answers there
        raise SystemExit(f"port {PORT} is in use by another process")
    server = spawn(
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
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    deadline = time.monotonic() + 60
    while request("GET", "/api/v1/programs/", {})[0] == "refused":
        if time.monotonic() > deadline or server.poll() is not None:
            stop_group(server)
            raise SystemExit(f"gunicorn did not start:\n{tail(log)}")
        time.sleep(0.2)
    if server.poll() is not None:
        raise SystemExit(f"gunicorn exited (another server on port {PORT}?):\n{tail(log)}")
    return server


def start_worker(env: dict, name: str, log, level: str = "WARNING") -> subprocess.Popen:
    return spawn(
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
            level,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )


def repayment_writer(
    loan_id: int,
    headers: dict,
    stop: threading.Event,
    note,
    accepted: list,
    in_doubt: list,
    pause: float = 0.05,
):
    """Post interest repayments, each with its own Idempotency-Key, retrying a 503 or a
    refused connection with the same key until accepted (as the bank's client is told to).

    A 409 (the key's first request still counts as running: it was cut off by the outage)
    leaves that key in doubt — stored or not — and the writer goes on with a new one."""
    body = json.dumps(
        {"repaid_on": time.strftime("%Y-%m-%d"), "interest_amount": str(INTEREST)}
    ).encode()
    while not stop.is_set():
        key = str(uuid.uuid4())
        while True:
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
            if status == 409:
                in_doubt.append(key)
                break
            if status not in (503, "refused") or stop.is_set():
                break
            time.sleep(0.2)
        time.sleep(pause)


def db_restart(options, cluster: PrivateCluster) -> int:
    url = cluster.createdb("drill_db_restart", template=TEMPLATE_DB)
    env = drill_env(url, CONN_MAX_AGE="60", LOG_LEVEL="CRITICAL")
    server = None
    threads: list[threading.Thread] = []
    stop = threading.Event()
    try:
        token, loan_id = cluster.token, cluster.loan_id
        count_sum = "SELECT count(*), coalesce(sum(interest_amount), 0) FROM loans_repayment"
        before_n, before_s = cluster.query("drill_db_restart", count_sum)
        server = start_gunicorn(env, cluster.folder / "gunicorn.log")

        headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        start = time.monotonic()
        outage = [None, None]
        seen: list[tuple[float, object, str]] = []
        accepted: list[str] = []
        in_doubt: list[str] = []
        lock = threading.Lock()

        def note(status, body):
            with lock:
                seen.append((time.monotonic() - start, status, body[:200]))

        def reader():
            while not stop.is_set():
                note(*request("GET", "/api/v1/loans/", headers))

        threads = [threading.Thread(target=reader, daemon=True) for _ in range(3)]
        threads.append(
            threading.Thread(
                target=repayment_writer,
                args=(loan_id, headers, stop, note, accepted, in_doubt),
                daemon=True,
            )
        )
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
        after_n, after_s = cluster.query("drill_db_restart", count_sum)
    finally:
        stop.set()
        stop_group(server)
        if not cluster.running():  # an exception between stop and start
            cluster.start()

    def phase(t: float) -> str:
        if t < outage[0]:
            return "before"
        return "outage" if t < outage[1] + 1 else "after"

    counts: Counter = Counter((phase(t), status) for t, status, _ in seen)
    tracebacks = [body for _, _, body in seen if "Traceback" in body]
    after_ok = [s for t, s, _ in seen if t > outage[1] + 3]
    added_n, added_s = after_n - before_n, after_s - before_s
    print(f"\nPostgreSQL stopped {outage[0]:.1f}–{outage[1]:.1f} s into a {options.seconds} s run")
    print("| phase | status | responses |\n|---|---|---:|")
    for (name, status), number in sorted(counts.items(), key=lambda item: str(item[0])):
        print(f"| {name} | {status} | {number} |")
    print(
        f"\nrepayments accepted by the API: {len(accepted)}; added in the database: {added_n} "
        f"(interest {added_s}, expected {INTEREST * len(accepted)}); keys left in doubt by a "
        f"409: {len(in_doubt)}; gunicorn master alive: "
        f"{master_alive}; 500s: {sum(1 for _, s, _ in seen if s == 500)}; "
        f"tracebacks in bodies: {len(tracebacks)}"
    )
    failures = []
    if any(status == 500 for _, status, _ in seen) or tracebacks:
        failures.append("a request failed with a 500 or a traceback")
    # 409 answers a retry whose key the outage left "running" (see repayment_writer).
    if not after_ok or any(status not in (200, 201, 409) for status in after_ok):
        failures.append("requests did not all succeed once PostgreSQL was back")
    if not master_alive:
        failures.append("the app had to restart")
    # Each accepted key is one row; a key in doubt is one row or none, never two.
    if (
        not accepted
        or not len(accepted) <= added_n <= len(accepted) + len(in_doubt)
        or added_s != INTEREST * added_n
    ):
        failures.append("repayments lost or doubled (or none accepted)")
    for failure in failures:
        print(f"FAILED: {failure}")
    if failures:
        print("gunicorn log (last lines):", tail(cluster.folder / "gunicorn.log"), sep="\n")
    return 1 if failures else 0


MONTH = "2024-01-01"  # built by the task for day 2024-02-02; the demo data has no snapshot of it


def worker_killed(options, cluster: PrivateCluster) -> int:
    """A worker killed (SIGKILL) in the middle of the monthly snapshot, then a fresh worker.

    The drill holds an exclusive lock on the snapshot rows so the task is caught mid-way
    (inside its transaction, after it started writing), kills the worker, releases the
    lock, and checks that no partial snapshot is left; then it starts another worker and
    waits for Redis to redeliver the unacknowledged task (acks_late, visibility timeout 8 s
    here) and checks that exactly one complete snapshot per active program was stored.
    """
    import psycopg2
    from celery import Celery

    database = "drill_worker_killed"
    url = cluster.createdb(database, template=TEMPLATE_DB)
    folder = temp_folder("gonghui-faults-redis-")
    redis = PrivateRedis(folder)
    env = drill_env(
        url,
        REDIS_URL=f"redis://{HOST}:{REDIS_PORT}/0",
        CELERY_VISIBILITY_TIMEOUT="8",
        LOG_LEVEL="WARNING",
    )
    workers: list[subprocess.Popen] = []
    log = (folder / "worker.log").open("w")

    counts_sql = (
        "SELECT (SELECT count(*) FROM reports_monthlysnapshot WHERE month = %(m)s),"
        " count(r.id), sum(r.amount),"
        " (SELECT count(*) FROM loans_program WHERE is_active)"
        " FROM reports_monthlysnapshotrow r JOIN reports_monthlysnapshot s"
        " ON s.id = r.snapshot_id WHERE s.month = %(m)s"
    )

    def counts() -> list[str]:
        return [str(value) for value in cluster.query(database, counts_sql, {"m": MONTH})]

    watcher = locker = None
    try:
        redis.start()
        dsn = f"host={HOST} port={PG_PORT} user=postgres dbname={database}"
        watcher = psycopg2.connect(dsn)
        watcher.autocommit = True
        locker = psycopg2.connect(dsn)
        locker.cursor().execute("LOCK TABLE reports_monthlysnapshotrow IN ACCESS EXCLUSIVE MODE")

        first = start_worker(env, "first", log)
        workers.append(first)
        sender = Celery("drill", broker=env["REDIS_URL"], set_as_current=False)
        sender.send_task("reports.tasks.build_monthly_snapshots", kwargs={"day": "2024-02-02"})
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
        after_kill = counts()

        # Kombu restores unacknowledged messages older than the visibility timeout when a
        # worker starts (then only every 100 s): restart the worker as a supervisor would.
        time.sleep(10)
        workers.append(start_worker(env, "second", log))
        deadline = time.monotonic() + 90
        after_retry = after_kill
        while time.monotonic() < deadline:
            after_retry = counts()
            if after_retry[0] == after_retry[3]:
                break
            time.sleep(2)
        time.sleep(3)  # a late second delivery would show up as a second snapshot
        final = counts()
    finally:
        for worker in workers:
            stop_group(worker)
        for connection in (watcher, locker):
            if connection is not None:
                connection.close()
        redis.stop()
        log.close()
        worker_log = tail(folder / "worker.log")
        shutil.rmtree(folder, ignore_errors=True)

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
        print("worker log (last lines):", worker_log, sep="\n")
    return 1 if failures else 0


# --- Redis stopped ----------------------------------------------------------------------------

EXPORT_PROGRAM = "jgd-2020"
TOTALS = {  # what is compared before and after the drill, by raw SQL
    "loans": "SELECT count(*), coalesce(sum(principal), 0) FROM loans_loan",
    "applications": "SELECT count(*), 0 FROM loans_application",
    "repayments": "SELECT count(*), coalesce(sum(interest_amount), 0) FROM loans_repayment",
    "export jobs": (
        "SELECT count(*), count(*) FILTER (WHERE status = 'done') FROM reports_exportjob"
    ),
    "outbox messages": (
        "SELECT count(*), count(*) FILTER (WHERE done_at IS NOT NULL) FROM reports_outboxmessage"
    ),
}


def staff_session(username: str, password: str) -> dict:
    """Log in through the login form as a browser would; the cookies."""
    status, page, headers = fetch("GET", "/accounts/login/", {})
    jar = cookies_of(headers)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if status != 200 or not match:
        raise SystemExit(f"login page: HTTP {status}")
    body = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": match[1]})
    status, _, headers = fetch(
        "POST",
        "/accounts/login/",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_header(jar)},
        body.encode(),
    )
    jar.update(cookies_of(headers))
    if status != 302 or "sessionid" not in jar:
        raise SystemExit(f"login as {username} failed: HTTP {status}")
    return jar


def cookies_of(headers: dict) -> dict:
    jar = {}
    for name, value in headers.items():  # http.client folds repeated Set-Cookie with ", "
        if name.lower() == "set-cookie":
            for cookie in re.findall(r"(?:^|, )([A-Za-z_]+)=([^;]*)", value):
                jar[cookie[0]] = cookie[1]
    return jar


def cookie_header(jar: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def redis_stopped(options, cluster: PrivateCluster) -> int:
    """Redis stopped under load: the portal keeps serving, export jobs queue, then run once.

    1. A private Redis (6399, no persistence), gunicorn with production settings on it
       (``REDIS_URL``, not eager), a Celery worker, and a beat stand-in: a thread of this
       script that sends ``sweep-outbox`` and ``record-worker-heartbeat`` to the broker every
       few seconds, as beat does every minute;
    2. load from threads: city staff pages (loan and application lists, 公示名单), the bank's
       ``GET /api/v1/loans/``, interest repayments posted with an ``Idempotency-Key``, and
       ``/healthz`` every second; one export job (公示名单 → Excel) is started before;
    3. Redis is stopped (SIGTERM) for a while; during it more export jobs are started, and
       their status page must say pending (the outbox message is stored, its publish failed);
    4. Redis is started again, empty (its queue is gone: only the outbox remembers the jobs);
       the sweep publishes the pending messages once they pass its 30 s grace, the worker
       reconnects and runs them.

    Checks: no 500 or traceback; every page, API read and write during the outage succeeded;
    every export request was accepted (a redirect to its job), each job ends done with its
    file downloadable, and ran exactly once (the worker's results); ``/healthz`` said
    ``redis`` failed during the outage and was ok again after; loans, applications and
    repayments by count and sum: nothing lost, nothing doubled.
    """
    import psycopg2
    from celery import Celery

    url = cluster.createdb("drill_redis_stopped", template=TEMPLATE_DB)
    folder = temp_folder("gonghui-faults-redis-")
    redis = PrivateRedis(folder)
    broker = f"redis://{HOST}:{REDIS_PORT}/0"
    media = folder / "media"
    env = drill_env(
        url, REDIS_URL=broker, CONN_MAX_AGE="60", MEDIA_ROOT=str(media), LOG_LEVEL="WARNING"
    )
    worker_log_path = folder / "worker.log"
    log = worker_log_path.open("w")
    server = worker = database = None
    stop = threading.Event()
    threads: list[threading.Thread] = []
    beat = Celery("drill-beat", broker=broker, set_as_current=False)
    beat.conf.broker_connection_retry_on_startup = False
    ticks: Counter = Counter()

    def totals() -> dict:
        with database.cursor() as cursor:
            result = {}
            for name, sql in TOTALS.items():
                cursor.execute(sql)
                result[name] = cursor.fetchone()
        return result

    def beat_tick() -> None:
        """What beat sends every minute, sent every ``tick`` seconds; fails while Redis is down."""
        try:
            with beat.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
                for task in ("reports.tasks.sweep_outbox", "gonghui.health.record_heartbeat"):
                    beat.send_task(task, connection=conn, retry=False)
            ticks["sent"] += 1
        except Exception:  # the broker is down: beat's send fails the same way
            ticks["failed"] += 1

    try:
        redis.start()
        database = psycopg2.connect(
            f"host={HOST} port={PG_PORT} user=postgres dbname=drill_redis_stopped"
        )
        database.autocommit = True
        token, loan_id = cluster.token, cluster.loan_id
        worker = start_worker(env, "drill", log, level="INFO")
        server = start_gunicorn(env, folder / "gunicorn.log")
        before = totals()

        # Healthy first: the worker is up and has recorded its heartbeat.
        deadline = time.monotonic() + 60
        while True:
            beat_tick()
            if request("GET", "/healthz", {})[0] == 200:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"/healthz never said ok:\n{tail(worker_log_path)}")
            time.sleep(1)

        jar = staff_session("city", "demo-city-2020")
        bank = {"Authorization": f"Token {token}", "Accept": "application/json"}
        start = time.monotonic()
        outage = [float("inf"), float("inf")]
        seen: list[tuple[float, str, object, str]] = []
        health: list[tuple[float, object, list, float]] = []  # answered, status, failed, sent
        down = [float("inf"), float("inf")]  # Redis surely down: stop returned, start called
        exports: list[dict] = []
        accepted: list[str] = []
        in_doubt: list[str] = []
        lock = threading.Lock()

        def phase(t: float) -> str:
            if t < outage[0]:
                return "before"
            return "outage" if t <= outage[1] else "after"

        def noter(kind: str):
            def note(status, body):
                with lock:
                    seen.append((time.monotonic() - start, kind, status, body[:300]))

            return note

        def pages():
            paths = (
                "/loans/",
                "/applications/",
                f"/reports/announcement/?program={EXPORT_PROGRAM}",
            )
            note = noter("page (city staff)")
            for number in itertools.count():
                if stop.is_set():
                    return
                status, body = request("GET", paths[number % 3], {"Cookie": cookie_header(jar)})
                note(status, body)

        def api_reads():
            note = noter("API read (bank)")
            while not stop.is_set():
                note(*request("GET", "/api/v1/loans/", bank))
                stop.wait(0.25)  # the bank's reads and writes stay under its 600/min throttle

        def healthz():
            while not stop.is_set():
                sent = time.monotonic() - start
                status, body = request("GET", "/healthz", {})
                try:
                    failed = json.loads(body).get("failed", [])
                except ValueError:
                    failed = ["unreadable"]
                with lock:
                    health.append((time.monotonic() - start, status, failed, sent))
                stop.wait(1)

        def beat_standin():
            while not stop.wait(options.tick):
                beat_tick()

        threads = [
            threading.Thread(target=target, daemon=True)
            for target in (pages, pages, api_reads, healthz, beat_standin)
        ]
        threads.append(
            threading.Thread(
                target=repayment_writer,
                args=(
                    loan_id,
                    bank,
                    stop,
                    noter("API write (repayment)"),
                    accepted,
                    in_doubt,
                    0.15,
                ),
                daemon=True,
            )
        )
        for thread in threads:
            thread.start()

        def start_export() -> None:
            """POST the 公示名单 export form as the page does; remember the job it made."""
            _, page, _ = fetch(
                "GET",
                f"/reports/announcement/?program={EXPORT_PROGRAM}",
                {"Cookie": cookie_header(jar)},
            )
            match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            body = urlencode(
                {"program": EXPORT_PROGRAM, "csrfmiddlewaretoken": match[1] if match else ""}
            ).encode()
            status, text, headers = fetch(
                "POST",
                "/exports/start/announcement/",
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": cookie_header(jar),
                },
                body,
            )
            at = time.monotonic() - start
            noter("export start (POST)")(status, text)
            job = re.search(r"/exports/(\d+)/$", headers.get("Location", ""))
            exports.append(
                {"at": at, "status": status, "job": int(job[1]) if job else None, "queued": None}
            )

        def job_status(job_id: int) -> str:
            status, body = request(
                "GET", f"/exports/{job_id}/status/", {"Cookie": cookie_header(jar)}
            )
            try:
                return json.loads(body)["status"] if status == 200 else f"HTTP {status}"
            except (ValueError, KeyError):
                return "unreadable"

        time.sleep(options.seconds / 6)
        start_export()
        time.sleep(options.seconds / 6)

        outage[0] = time.monotonic() - start
        redis.stop()
        down[0] = time.monotonic() - start
        length = options.seconds / 3
        for _ in range(3):  # jobs started at the beginning, the middle and the end of it
            time.sleep(length / 4)
            start_export()
        time.sleep(length / 4)
        # Still down: the outage's jobs are pending for the user and in the outbox.
        for export in exports[1:]:
            export["queued"] = job_status(export["job"]) if export["job"] else "no job"
        with database.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM reports_outboxmessage WHERE done_at IS NULL "
                "AND dispatched_at IS NULL AND key = ANY(%s)",
                ([f"export-job:{e['job']}" for e in exports[1:] if e["job"]],),
            )
            pending_in_outbox = cursor.fetchone()[0]
        down[1] = time.monotonic() - start
        redis.start()
        outage[1] = time.monotonic() - start

        # The sweep publishes them once they are 30 s old (its grace for the on-commit publish).
        deadline = time.monotonic() + 90
        while True:
            states = {e["job"]: job_status(e["job"]) for e in exports if e["job"]}
            done = all(state in ("done", "failed") for state in states.values())
            if done and time.monotonic() - start > outage[1] + options.seconds / 3:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(1)
        # Healthy again: wait for the heartbeat in the new (empty) Redis, bounded.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with lock:
                if health and health[-1][1] == 200 and health[-1][0] > outage[1]:
                    break
            time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        # A late second delivery would show as a second 'done' result: give it a moment.
        time.sleep(2)
        downloads = {}
        for job_id in states:
            status, body, _ = fetch(
                "GET", f"/exports/{job_id}/download/", {"Cookie": cookie_header(jar)}
            )
            downloads[job_id] = status if body.startswith("PK") else f"{status}, not a workbook"
        files = sorted(p.name for p in (media / "exports").glob("job-*"))
        after = totals()
        master_alive = server.poll() is None
        worker_alive = worker.poll() is None
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
        stop_group(server)
        stop_group(worker)
        redis.stop()
        log.close()
        if database is not None:
            database.close()
        worker_log = worker_log_path.read_text(errors="replace")
        gunicorn_log = tail(folder / "gunicorn.log")
        shutil.rmtree(folder, ignore_errors=True)

    runs = re.findall(
        r"run_outbox_message\[[0-9a-f-]+\] succeeded in [0-9.]+s: '(\w+)'", worker_log
    )
    export_runs = Counter(runs)
    jobs = [e["job"] for e in exports if e["job"]]
    during = exports[1:]
    counts: Counter = Counter((phase(t), kind, status) for t, kind, status, _ in seen)
    health_counts: Counter = Counter(
        (phase(t), status, ",".join(failed) or "-") for t, status, failed, _ in health
    )
    tracebacks = [body for *_, body in seen if "Traceback" in body]
    outage_bad = [
        (kind, status)
        for t, kind, status, _ in seen
        if phase(t) == "outage" and status not in (200, 201, 302)
    ]
    print(
        f"\nRedis stopped {outage[0]:.1f}–{outage[1]:.1f} s into the run; "
        f"beat stand-in every {options.tick} s: {ticks['sent']} sent, {ticks['failed']} failed"
    )
    print("| phase | request | status | responses |\n|---|---|---|---:|")
    for (name, kind, status), number in sorted(counts.items(), key=lambda i: str(i[0])):
        print(f"| {name} | {kind} | {status} | {number} |")
    print("\n| phase | /healthz | failed | responses |\n|---|---|---|---:|")
    for (name, status, failed), number in sorted(health_counts.items(), key=lambda i: str(i[0])):
        print(f"| {name} | {status} | {failed} | {number} |")
    print("\n| export job | started at s | POST | status during the outage | end | download |")
    print("|---|---:|---|---|---|---|")
    for export in exports:
        job = export["job"]
        print(
            f"| {job} | {export['at']:.1f} | {export['status']} | {export['queued'] or '-'} "
            f"| {states.get(job, '-')} | {downloads.get(job, '-')} |"
        )
    print("\n| table | before | after |\n|---|---|---|")
    for name in TOTALS:
        print(
            f"| {name} | {before[name][0]}, {before[name][1]} "
            f"| {after[name][0]}, {after[name][1]} |"
        )
    added_n = after["repayments"][0] - before["repayments"][0]
    added_s = after["repayments"][1] - before["repayments"][1]
    print(
        f"\nrepayments accepted by the API: {len(accepted)}; added in the database: {added_n} "
        f"(interest {added_s}, expected {INTEREST * len(accepted)}); export files: {len(files)}; "
        f"export runs by the worker: {dict(export_runs)}; outage's jobs pending in the outbox "
        f"while Redis was down: {pending_in_outbox}/{len(during)}; gunicorn master alive: "
        f"{master_alive}; worker alive: {worker_alive}"
    )

    failures = []
    if any(status == 500 for _, _, status, _ in seen) or tracebacks:
        failures.append("a request failed with a 500 or a traceback")
    if outage_bad:
        failures.append(f"requests failed during the outage: {Counter(outage_bad)}")
    if not any(phase(t) == "outage" and s == 201 for t, k, s, _ in seen if k.startswith("API w")):
        failures.append("no repayment was accepted during the outage")
    if not any(phase(t) == "outage" and s == 200 for t, k, s, _ in seen if k.startswith("page")):
        failures.append("no page was served during the outage")
    if len(jobs) != len(exports) or any(e["status"] != 302 for e in exports):
        failures.append("an export request was not accepted")
    if any(e["queued"] != "pending" for e in during) or pending_in_outbox != len(during):
        failures.append("the outage's export jobs were not pending in the outbox")
    if any(states.get(job) != "done" or downloads.get(job) != 200 for job in jobs):
        failures.append("an export job did not end done with its file")
    if files != sorted(f"job-{job}.xlsx" for job in jobs):
        failures.append("export files are not one per job")
    if export_runs.get("done", 0) != len(jobs):
        failures.append("export jobs did not run exactly once each")
    if after["export jobs"] != (
        before["export jobs"][0] + len(jobs),
        before["export jobs"][1] + len(jobs),
    ):
        failures.append("export jobs lost or doubled")
    if after["outbox messages"][0] != after["outbox messages"][1]:
        failures.append("outbox messages left pending")
    # Asked and answered while Redis was surely down (the edges of the outage may see a
    # Redis shutting down, or the new empty one without a heartbeat yet: "worker" failed).
    outage_health = [(s, f) for t, s, f, sent in health if down[0] < sent and t < down[1]]
    if not outage_health or any(s != 503 or "redis" not in f for s, f in outage_health):
        failures.append("/healthz did not report redis failed during the outage")
    if not health or health[-1][1] != 200:
        failures.append("/healthz was not ok after Redis came back")
    if not accepted or added_n != len(accepted) or added_s != INTEREST * len(accepted):
        failures.append("repayments lost or doubled (or none accepted)")
    for name in ("loans", "applications"):
        if after[name] != before[name]:
            failures.append(f"{name} changed")
    if not (master_alive and worker_alive):
        failures.append("gunicorn or the worker died")
    for failure in failures:
        print(f"FAILED: {failure}")
    if failures:
        print("worker log (last lines):", *worker_log.splitlines()[-30:], sep="\n")
        print("gunicorn log (last lines):", gunicorn_log, sep="\n")
    return 1 if failures else 0


# --- running them ----------------------------------------------------------------------------

DRILLS = {"db-restart": db_restart, "worker-killed": worker_killed, "redis-stopped": redis_stopped}
QUICK = {"db-restart": 15, "redis-stopped": 24}  # --seconds under --quick
FULL = {"db-restart": 24, "redis-stopped": 36}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("drill", choices=[*DRILLS, "all"])
    parser.add_argument(
        "--seconds",
        type=int,
        help="load before, during and after the fault (db-restart 24 s, redis-stopped 36 s; "
        "redis-stopped then waits for the jobs)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="shorter load: 15 s and 24 s (CI runs all --quick)"
    )
    parser.add_argument("--tick", type=float, default=3, help="beat stand-in period, seconds")
    parser.add_argument(
        "--timeout", type=int, default=780, help="stop everything after this many seconds"
    )
    options = parser.parse_args()
    if not PG_BIN.exists():
        raise SystemExit(f"PostgreSQL server binaries not found under {PG_BIN}")
    busy = [port for port in (PG_PORT, REDIS_PORT, PORT) if port_in_use(port)]
    if busy:
        raise SystemExit(f"ports in use (another drill running?): {busy}")

    def give_up(signum, frame):
        if signum == signal.SIGALRM:
            raise DrillTimeout(f"the drills did not finish within {options.timeout} s")
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated(signum)

    signal.signal(signal.SIGALRM, give_up)
    signal.signal(signal.SIGTERM, give_up)
    signal.alarm(options.timeout)
    names = list(DRILLS) if options.drill == "all" else [options.drill]
    results: dict[str, object] = {}
    started = time.monotonic()
    cluster = PrivateCluster()
    try:
        prepare(cluster)
        for name in names:
            print(f"\n## {name}", flush=True)
            drill_started = time.monotonic()
            seconds = options.seconds or (QUICK if options.quick else FULL).get(name)
            try:
                results[name] = DRILLS[name](
                    argparse.Namespace(**{**vars(options), "seconds": seconds}), cluster
                )
            except DrillTimeout:
                results[name] = "timed out"
                raise
            except (Exception, SystemExit) as error:  # one broken drill does not stop the rest
                print(f"FAILED: {name} raised {error!r}")
                results[name] = "error"
            print(f"({name}: {time.monotonic() - drill_started:.0f} s)", flush=True)
    except DrillTimeout as error:
        print(f"FAILED: {error}")
    except Terminated:
        print("FAILED: terminated (SIGTERM); cleaning up")
        results["terminated"] = True
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut this short
        stop_processes()
        cluster.remove()  # before its folder goes: pg_ctl needs the data directory
        remove_folders()
    print(f"\n## summary ({time.monotonic() - started:.0f} s)")
    for name in names:
        outcome = results.get(name, "not run")
        print(f"- {name}: {'ok' if outcome == 0 else 'FAILED' if outcome == 1 else outcome}")
    sys.exit(0 if all(results.get(name) == 0 for name in names) else 1)


if __name__ == "__main__":
    main()
