#!/bin/sh
# Make the secrets docker-compose.yml reads (once, before the first `up`):
#   secrets/pg_password  PostgreSQL's password (POSTGRES_PASSWORD_FILE)
#   secrets/pg_dsn       the services' DSN with it (QY_PG_DSN_FILE)
#   secrets/console_db_password, secrets/console_dsn: the console's role
#                        (qy_console, bound by row-level security) and its DSN
#   secrets/wecom.key    the master key the WeCom connector and `qyctl wecom
#                        set` seal brands' WeCom secrets with (64 hex digits)
#   secrets/grafana_admin_password, secrets/grafana_pg_password,
#   secrets/pg_monitor_password
#                        Grafana's admin login, its read-only role's and
#                        PostgreSQL's exporter's passwords (profile monitoring)
# Run from the repository root. An existing secret is kept (delete both
# files to make new ones; PostgreSQL keeps the password it was first given).
# The folder is the owner's alone; the files are readable by every user
# because compose mounts them as they are and the services run as uid 10001.
set -eu
dir=${1:-secrets}
mkdir -p "$dir"
chmod 700 "$dir"
if [ -s "$dir/pg_password" ]; then
    echo "$dir/pg_password exists: kept"
else
    pw=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s' "$pw" > "$dir/pg_password"
    printf 'host=postgres port=5432 dbname=qunyun user=qunyun password=%s' "$pw" > "$dir/pg_dsn"
    chmod 444 "$dir/pg_password" "$dir/pg_dsn"
    echo "made $dir/pg_password and $dir/pg_dsn"
fi
if [ -s "$dir/wecom.key" ]; then
    echo "$dir/wecom.key exists: kept (a new key would make every sealed secret unreadable)"
else
    od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$dir/wecom.key"
    chmod 444 "$dir/wecom.key"
    echo "made $dir/wecom.key"
fi
if [ -s "$dir/console_db_password" ]; then
    echo "$dir/console_db_password exists: kept"
else
    pw=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s' "$pw" > "$dir/console_db_password"
    printf 'host=postgres port=5432 dbname=qunyun user=qy_console password=%s' "$pw" > "$dir/console_dsn"
    chmod 444 "$dir/console_db_password" "$dir/console_dsn"
    echo "made $dir/console_db_password and $dir/console_dsn"
fi
for f in grafana_admin_password grafana_pg_password pg_monitor_password; do
    if [ -s "$dir/$f" ]; then
        echo "$dir/$f exists: kept"
    else
        od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > "$dir/$f"
        chmod 444 "$dir/$f"
        echo "made $dir/$f"
    fi
done
