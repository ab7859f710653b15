"""Load test: the bank API and the staff list pages under gunicorn on PostgreSQL, with wrk.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gonghui_load \\
        .venv/bin/python benchmarks/load.py [--seconds 15] [--connections 8] [--workers 3]

What it does, all on loopback and bounded in time (about 2 minutes with the defaults):
1. migrates the database (its name must contain "load" or "bench": it is written to), loads
   the demo data (``seed_demo``; a second run reuses it) and collects the static files;
2. issues an API token to the demo bank officer and logs the city staff user in over HTTP,
   so both kinds of client authenticate as they do in production;
3. starts gunicorn with production settings (DEBUG off, the bank throttle still running at a
   rate the load cannot reach) plus one bare DRF endpoint, ``/bare/`` (no auth, no query):
   the baseline every other row is compared with, measured in the same run;
4. drives each endpoint with ``wrk --latency`` and prints requests/s, its ratio to the bare
   endpoint, latency percentiles and the error rate (non-2xx responses and socket errors over
   all requests);
5. counts the loans and sums their principal before and after: a read-only load must leave
   them exactly as they were.

Needs ``wrk`` (``apt-get install wrk``). Prints a Markdown table (the README's copy).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import common

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST, PORT = "127.0.0.1", 8765


def manage(*args: str, env: dict) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def wait_until_up(deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(HOST, PORT, timeout=2)
            connection.request("GET", "/bare/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 30 s")


def cookies_of(response: http.client.HTTPResponse) -> dict[str, str]:
    jar = {}
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]
    return jar


def staff_session(username: str, password: str) -> str:
    """Log in through the login form as a browser would; return the Cookie header."""
    connection = http.client.HTTPConnection(HOST, PORT, timeout=10)
    connection.request("GET", "/accounts/login/")
    response = connection.getresponse()
    page = response.read().decode()
    jar = cookies_of(response)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    connection.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
            "Referer": f"http://{HOST}:{PORT}/accounts/login/",
        },
    )
    response = connection.getresponse()
    response.read()
    jar.update(cookies_of(response))
    if response.status != 302 or "sessionid" not in jar:
        raise SystemExit(f"login as {username} failed: HTTP {response.status}")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def check_status(path: str, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection(HOST, PORT, timeout=10)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    return response.status


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> dict:
    def ms(text: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
        return float(number) * UNITS[unit]

    percentiles = {
        p: ms(v) for p, v in re.findall(r"^\s+(50|90|99)(?:\.0+)?%\s+(\S+)", output, re.M)
    }
    total = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in socket.groups()) if socket else 0
    )
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "total": total,
        "errors": errors,
        "p50": percentiles.get("50"),
        "p90": percentiles.get("90"),
        "p99": percentiles.get("99"),
    }


def run_wrk(path: str, headers: dict[str, str], *, seconds: int, connections: int) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        [*command, f"http://{HOST}:{PORT}{path}"], capture_output=True, text=True, check=True
    ).stdout
    return parse_wrk(output)


def loan_totals(env: dict) -> str:
    return manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.db.models import Count, Sum; from loans.models import Loan, Repayment;"
        "a = Loan.objects.aggregate(n=Count('id'), s=Sum('principal'));"
        "print(a['n'], a['s'], Repayment.objects.count())",
        env=env,
    ).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=15, help="per endpoint (default 15)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    options = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    name = urlsplit(url).path.lstrip("/")
    if not url.startswith(("postgres://", "postgresql://")) or not (
        "load" in name or "bench" in name
    ):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database whose name has 'load' in it")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")

    env = {
        **os.environ,
        **common.production_env("load-test", HOST),
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)  # reads only: no task is enqueued, no broker needed
    subprocess.run(
        ["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True, check=False
    )
    manage("migrate", "--noinput", env={**env, "DEBUG": "1"})
    manage("seed_demo", env={**env, "DEBUG": "1"})
    manage("collectstatic", "--noinput", env=env)  # the manifest production pages need
    token = manage("issue_api_token", "bank", "--days", "1", env=env).strip()
    before = loan_totals(env)

    server_env = {**env, "DJANGO_SETTINGS_MODULE": "load_settings"}
    server = subprocess.Popen(
        [
            str(Path(PYTHON).with_name("gunicorn")),
            "gonghui.wsgi",
            "--pythonpath",
            f"{ROOT},{ROOT / 'benchmarks'}",
            "--bind",
            f"{HOST}:{PORT}",
            "--workers",
            str(options.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=server_env,
        start_new_session=True,
    )
    try:
        wait_until_up(time.monotonic() + 30)
        bank = {"Authorization": f"Token {token}", "Accept": "application/json"}
        staff = {"Cookie": staff_session("city", "demo-city-2020")}
        targets = [
            ("bare DRF endpoint (baseline)", "/bare/", {}),
            ("API: loans list (bank)", "/api/v1/loans/", bank),
            ("API: applications list (bank)", "/api/v1/applications/", bank),
            ("API: subsidy claims (bank)", "/api/v1/subsidy-claims/", bank),
            ("page: application list (city staff)", "/applications/", staff),
            ("page: loan list (city staff)", "/loans/", staff),
        ]
        for label, path, headers in targets:
            status = check_status(path, headers)
            if status != 200:
                raise SystemExit(f"{label}: GET {path} answered {status}, not 200")
        rows = []
        for label, path, headers in targets:
            run_wrk(path, headers, seconds=2, connections=options.connections)  # warm up
            measured = run_wrk(
                path, headers, seconds=options.seconds, connections=options.connections
            )
            rows.append((label, path, *measured.values()))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    after = loan_totals(env)

    bare_rps = rows[0][2]
    print(
        f"\ngunicorn {options.workers} sync workers, wrk 1 thread {options.connections} "
        f"connections, {options.seconds} s per endpoint, PostgreSQL, DEBUG off "
        f"({os.cpu_count()} CPUs shared by server and load generator)\n"
    )
    print("| endpoint | path | req/s | × bare | p50 ms | p90 ms | p99 ms | requests | errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, path, rps, total, errors, p50, p90, p99 in rows:
        print(
            f"| {label} | `{path}` | {rps:,.0f} | {rps / bare_rps:.2f} | {p50:.1f} | "
            f"{p90:.1f} | {p99:.1f} | {total:,} | {errors / max(total, 1):.2%} |"
        )
    print(f"\nloans, principal, repayments before: {before}; after: {after}")
    if before != after:
        raise SystemExit("the data changed under a read-only load")


if __name__ == "__main__":
    main()
