#!/usr/bin/env bash
# Test suite: the install step of scripts/run.sh, then pytest on 2 workers (pytest-xdist).
# Arguments go to pytest after the defaults, so they can narrow or override them:
#   scripts/test.sh tests/test_settings.py      make test TEST_ARGS="tests/loans -n 0"
# Runs on SQLite with tasks in-process; set DATABASE_URL / REDIS_URL (as .ci/run does) to run
# on PostgreSQL and Redis; pytest-django creates and drops its own test databases.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/run.sh --install-only
exec .venv/bin/pytest -q -p no:cacheprovider -n "${PYTEST_WORKERS:-2}" "$@"
