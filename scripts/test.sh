#!/usr/bin/env bash
# Test suite: the install step of scripts/run.sh, then pytest on 2 workers (pytest-xdist).
# Arguments go to pytest after the defaults, so they can narrow or override them:
#   scripts/test.sh tests/test_settings.py      make test TEST_ARGS="tests/loans -n 0"
# Runs on SQLite with tasks in-process; set DATABASE_URL / REDIS_URL (as .ci/run does) to run
# on PostgreSQL and Redis; pytest-django creates and drops its own test databases.
# The browser tests (tests/browser, Playwright) drive Debian's /usr/bin/chromium: when it or a
# Chinese font is missing and we are root on a machine with apt-get, it is installed first
# (no `playwright install`: the machine needs no internet beyond the Debian mirror).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ensure_chromium() {
  local missing=()
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  if ! { command -v fc-list >/dev/null && fc-list ':lang=zh' family | grep -q .; }; then
    missing+=(fonts-noto-cjk)
  fi
  ((${#missing[@]})) || return 0
  if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    echo "Installing ${missing[*]} for the browser tests (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 \
      chromium fonts-noto-cjk >/dev/null
  else
    echo "warning: ${missing[*]} missing and not installable here (needs root and apt-get);" \
      "the browser tests in tests/browser will fail: apt-get install chromium fonts-noto-cjk" >&2
  fi
}

ensure_chromium
bash scripts/run.sh --install-only
exec .venv/bin/pytest -q -p no:cacheprovider -n "${PYTEST_WORKERS:-2}" "$@"
