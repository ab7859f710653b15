#!/usr/bin/env bash
# Restore a pg_dump custom-format file into a NEW database on the server of DATABASE_URL.
#   DATABASE_URL=postgres://gonghui:...@127.0.0.1:5432/gonghui scripts/restore.sh FILE NEW_NAME
# Refuses a database that already exists, so it cannot overwrite the live one; the restore
# runs in a single transaction and stops at the first error (nothing half-restored stays).
# Switching the application over is a separate step: point DATABASE_URL at NEW_NAME and
# restart (docs/operations.md).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/pg_common.sh"
require_postgres_url

if (($# != 2)); then
  echo "usage: $0 DUMP_FILE NEW_DATABASE_NAME" >&2
  exit 2
fi
dump=$1
name=$2
if [[ ! -r $dump ]]; then
  echo "restore: cannot read $dump" >&2
  exit 2
fi
if ! valid_database_name "$name"; then
  echo "restore: '$name' is not a plain database name (a-z, 0-9, _)" >&2
  exit 2
fi
if database_exists "$DATABASE_URL" "$name"; then
  echo "restore: database $name already exists; choose a new name" >&2
  exit 1
fi

target=$(url_for_database "$DATABASE_URL" "$name")
psql "$(url_for_database "$DATABASE_URL" postgres)" -q -v ON_ERROR_STOP=1 \
  -c "CREATE DATABASE \"$name\""
if ! pg_restore --no-owner --no-acl --single-transaction --exit-on-error --no-password \
  --dbname="$target" "$dump"; then
  echo "restore: pg_restore failed; dropping the incomplete database $name" >&2
  psql "$(url_for_database "$DATABASE_URL" postgres)" -q -c "DROP DATABASE \"$name\""
  exit 1
fi
echo "restored $dump into $name"
