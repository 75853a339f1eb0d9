#!/bin/sh
# set-role-password.sh [ROLE PASSWORD_FILE]: let a read-only role log in
# with the password in that file (by default qy_grafana, migration 085, and
# the secret grafana_pg_password). Run by compose's grafana-role job before
# Grafana and the exporters start, for qy_grafana and qy_monitor (086), at
# every `up`, so a changed secret takes effect. The connection is libpq's
# environment (PGHOST, PGUSER, PGDATABASE; the owner's password from
# /run/secrets/pg_password). psql reads the new password from the file
# itself, so it is on no command line.
set -eu
role=${1:-qy_grafana}
pw_file=${2:-${QY_GRAFANA_PG_PASSWORD_FILE:-/run/secrets/grafana_pg_password}}
[ -s "$pw_file" ] || { echo "grafana-role: $pw_file is missing or empty" >&2; exit 1; }
if [ -z "${PGPASSWORD:-}" ] && [ -r /run/secrets/pg_password ]; then
    PGPASSWORD=$(cat /run/secrets/pg_password)
    export PGPASSWORD
fi
psql -X -q -v ON_ERROR_STOP=1 -v role="$role" -v pwfile="$pw_file" <<'SQL'
\set pw `cat :'pwfile'`
ALTER ROLE :"role" WITH LOGIN PASSWORD :'pw';
SQL
echo "grafana-role: $role may log in"
