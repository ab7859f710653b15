# Shared by backup.sh, restore.sh and check_backup.sh (sourced, not run).
# DATABASE_URL (postgres://user:password@host:port/name, as the application reads it) names
# the server and database; libpq's tools take the URL as it is.

require_postgres_url() {
  local url=${DATABASE_URL:-}
  if [[ $url != postgres://* && $url != postgresql://* ]]; then
    echo "$(basename "$0"): DATABASE_URL must be a postgres:// URL (it is '${url:-unset}')" >&2
    exit 2
  fi
}

# url_for_database URL NAME: the same server and credentials, another database.
url_for_database() {
  local url=${1%%\?*} name=$2
  echo "${url%/*}/$name"
}

database_of() {  # database_of URL: its database name
  local url=${1%%\?*}
  echo "${url##*/}"
}

database_exists() {  # database_exists URL NAME
  [[ "$(psql "$(url_for_database "$1" postgres)" -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$2'")" == 1 ]]
}

valid_database_name() {
  [[ $1 =~ ^[a-z_][a-z0-9_]{0,62}$ ]]
}
