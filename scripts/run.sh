#!/usr/bin/env bash
# Development server: create .venv if missing, install requirements-dev.txt when they
# changed, then with DEBUG=1 migrate, load the demo data and serve http://127.0.0.1:8000/.
#
#   scripts/run.sh                 install, migrate, seed_demo, runserver (make run)
#   scripts/run.sh --install-only  only the install step (make install; scripts/test.sh, .ci/run)
#
# Variables: PYTHON (interpreter that creates .venv, default python3),
# RUN_ADDR (default 127.0.0.1:8000). Without DATABASE_URL / REDIS_URL the data is in
# db.sqlite3 and Celery tasks run in-process.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv
STAMP="$VENV/.installed"
PYTHON=${PYTHON:-python3}

ensure_venv() {
  if [[ ! -x "$VENV/bin/python" ]]; then
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "error: $PYTHON is missing or older than Python 3.11; set PYTHON=/path/to/python3.11" >&2
      exit 1
    fi
    echo "Creating $VENV with $("$PYTHON" --version)"
    "$PYTHON" -m venv "$VENV"
    rm -f "$STAMP"
  fi
  if [[ ! -f "$STAMP" || requirements.txt -nt "$STAMP" || requirements-dev.txt -nt "$STAMP" ]]; then
    echo "Installing requirements-dev.txt into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    touch "$STAMP"
  fi
}

ensure_venv
if [[ "${1:-}" == "--install-only" ]]; then
  exit 0
fi

export DEBUG=1
"$VENV/bin/python" manage.py migrate --noinput
"$VENV/bin/python" manage.py seed_demo
exec "$VENV/bin/python" manage.py runserver "${RUN_ADDR:-127.0.0.1:8000}"
