#!/bin/sh
# Let the read-only role qy_grafana (migration 085) log in, with the
# password of the secret grafana_pg_password: run by compose's grafana-role
# job before Grafana starts, again at every `up` (a changed secret takes
# effect). The connection is libpq's environment (PGHOST, PGUSER,
# PGDATABASE; the owner's password from /run/secrets/pg_password). psql
# reads the new password from the file itself, so it is on no command line.
set -eu
pw_file=${QY_GRAFANA_PG_PASSWORD_FILE:-/run/secrets/grafana_pg_password}
[ -s "$pw_file" ] || { echo "grafana-role: $pw_file is missing or empty" >&2; exit 1; }
if [ -z "${PGPASSWORD:-}" ] && [ -r /run/secrets/pg_password ]; then
    PGPASSWORD=$(cat /run/secrets/pg_password)
    export PGPASSWORD
fi
psql -X -q -v ON_ERROR_STOP=1 -v pwfile="$pw_file" <<'SQL'
\set pw `cat :'pwfile'`
ALTER ROLE qy_grafana WITH LOGIN PASSWORD :'pw';
SQL
echo "grafana-role: qy_grafana may log in"
