#!/usr/bin/env bash
# Back up the PostgreSQL database named by DATABASE_URL in pg_dump's custom format (-Fc:
# compressed, restorable table by table with pg_restore).
#   DATABASE_URL=postgres://gonghui:...@127.0.0.1:5432/gonghui scripts/backup.sh [FILE]
# FILE defaults to backups/gonghui-<UTC time>.dump. Prints the file's path. Uploaded files
# (MEDIA_ROOT) are not in the database: back that directory up alongside (docs/operations.md).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/pg_common.sh"
require_postgres_url

output=${1:-backups/$(database_of "$DATABASE_URL")-$(date -u +%Y%m%dT%H%M%SZ).dump}
mkdir -p "$(dirname "$output")"
umask 077  # the dump holds personal data: readable by its owner only

pg_dump --format=custom --compress=6 --no-password --file="$output.partial" \
  --dbname="$DATABASE_URL"
mv "$output.partial" "$output"  # a dump that stopped half-way never looks complete
echo "$output"
