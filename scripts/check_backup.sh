#!/usr/bin/env bash
# Prove that backups restore: dump the database of DATABASE_URL with scripts/backup.sh,
# restore the file into a new database with scripts/restore.sh, and compare the row count of
# every table of the two. Exit 0 when all match, 1 otherwise.
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/gonghui scripts/check_backup.sh
#   ... scripts/check_backup.sh --seed   # first build <name>_bk_src: migrate + seed_demo
# The restored database (and with --seed the source) is dropped afterwards (--keep keeps).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/pg_common.sh
require_postgres_url

seed=0
keep=0
for arg in "$@"; do
  case $arg in
    --seed) seed=1 ;;
    --keep) keep=1 ;;
    *) echo "usage: $0 [--seed] [--keep]" >&2; exit 2 ;;
  esac
done

admin_url=$(url_for_database "$DATABASE_URL" postgres)
base=$(database_of "$DATABASE_URL")
source_url=$DATABASE_URL
restored="${base}_bk_$(date -u +%Y%m%d%H%M%S)"
workdir=$(mktemp -d)

cleanup() {
  rm -rf "$workdir"
  if ((keep == 0)); then
    psql "$admin_url" -q -c "DROP DATABASE IF EXISTS \"$restored\"" 2>/dev/null || true
    if ((seed == 1)); then
      psql "$admin_url" -q -c "DROP DATABASE IF EXISTS \"${base}_bk_src\"" 2>/dev/null || true
    fi
  fi
}
trap cleanup EXIT

if ((seed == 1)); then
  source_url=$(url_for_database "$DATABASE_URL" "${base}_bk_src")
  PGOPTIONS="-c client_min_messages=warning" \
    psql "$admin_url" -q -c "DROP DATABASE IF EXISTS \"${base}_bk_src\""
  psql "$admin_url" -q -c "CREATE DATABASE \"${base}_bk_src\""
  echo "== seeding ${base}_bk_src (migrate + seed_demo)"
  # Without REDIS_URL: tasks the seeding triggers run in-process, none waits in a queue.
  DEBUG=1 DATABASE_URL=$source_url env -u REDIS_URL .venv/bin/python manage.py migrate --noinput -v 0
  DEBUG=1 DATABASE_URL=$source_url env -u REDIS_URL .venv/bin/python manage.py seed_demo >/dev/null
fi

count_rows() {  # count_rows URL: "table count" per line, every table of the public schema
  local url=$1 table
  for table in $(psql "$url" -tAc \
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"); do
    echo "$table $(psql "$url" -tAc "SELECT count(*) FROM \"$table\"")"
  done
}

echo "== backup of $(database_of "$source_url")"
started=$(date +%s%N)
dump=$(DATABASE_URL=$source_url scripts/backup.sh "$workdir/check.dump")
backup_ms=$((($(date +%s%N) - started) / 1000000))
echo "dump: $(du -h "$dump" | cut -f1) in ${backup_ms} ms"

echo "== restore into $restored"
started=$(date +%s%N)
DATABASE_URL=$source_url scripts/restore.sh "$dump" "$restored"
restore_ms=$((($(date +%s%N) - started) / 1000000))
echo "restore: ${restore_ms} ms"

echo "== row counts (source / restored)"
export LC_ALL=C  # join needs both lists sorted the way it compares
count_rows "$source_url" | sort >"$workdir/source.txt"
count_rows "$(url_for_database "$DATABASE_URL" "$restored")" | sort >"$workdir/restored.txt"
join -a1 -a2 -e MISSING -o 0,1.2,2.2 "$workdir/source.txt" "$workdir/restored.txt" \
  >"$workdir/joined.txt"

tables=0
rows=0
mismatches=0
while read -r table source_count restored_count; do
  tables=$((tables + 1))
  if [[ $source_count == "$restored_count" ]]; then
    mark=ok
    rows=$((rows + source_count))
  else
    mark=MISMATCH
    mismatches=$((mismatches + 1))
  fi
  printf '%-45s %8s %8s  %s\n' "$table" "$source_count" "$restored_count" "$mark"
done <"$workdir/joined.txt"

echo "== $tables tables, $rows rows, $mismatches mismatches"
if ((tables == 0 || mismatches > 0)); then
  echo "check_backup: FAILED" >&2
  exit 1
fi
echo "check_backup: OK"
