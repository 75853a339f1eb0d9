#!/bin/sh
# Make the secrets docker-compose.yml reads (once, before the first `up`):
#   secrets/pg_password  PostgreSQL's password (POSTGRES_PASSWORD_FILE)
#   secrets/pg_dsn       the services' DSN with it (QY_PG_DSN_FILE)
#   secrets/console_db_password, secrets/console_dsn: the console's role
#                        (qy_console, bound by row-level security) and its DSN
#   secrets/wecom.key    the master key the WeCom connector and `qyctl wecom
#                        set` seal brands' WeCom secrets with (64 hex digits)
#   secrets/gateway.key  the master key ingest and `qyctl gateway credential`
#                        seal gateways' HMAC secrets with (64 hex digits)
#   secrets/ingest_curve.key  ingest's CURVE secret key for its ZeroMQ door
#                        (Z85; its public key: `qyctl gatekey public`)
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
# rand BYTES: that many random bytes as hex.
rand () { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
# password_and_dsn NAME DSN USER: a password in NAME and a DSN holding it in DSN.
password_and_dsn () {
    if [ -s "$dir/$1" ]; then echo "$dir/$1 exists: kept"; return; fi
    pw=$(rand 24)
    printf '%s' "$pw" > "$dir/$1"
    printf 'host=postgres port=5432 dbname=qunyun user=%s password=%s' "$3" "$pw" > "$dir/$2"
    chmod 444 "$dir/$1" "$dir/$2"
    echo "made $dir/$1 and $dir/$2"
}
password_and_dsn pg_password pg_dsn qunyun
password_and_dsn console_db_password console_dsn qy_console
for f in wecom.key gateway.key; do
    if [ -s "$dir/$f" ]; then
        echo "$dir/$f exists: kept (a new key would make every sealed secret unreadable)"
    else
        rand 32 > "$dir/$f"
        chmod 444 "$dir/$f"
        echo "made $dir/$f"
    fi
done
# curve_secret: a CURVE secret key in Z85 (any 32 random bytes are one).
curve_secret () {
    od -An -N32 -tu1 /dev/urandom | awk '
        { for (i = 1; i <= NF; i++) b [n++] = $i }
        END { a = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
              for (g = 0; g < 8; g++) {
                  v = 0; for (j = 0; j < 4; j++) v = v * 256 + b [g * 4 + j]
                  s = ""; for (k = 0; k < 5; k++) { s = substr (a, v % 85 + 1, 1) s; v = int (v / 85) }
                  printf "%s", s
              } }'
}
if [ -s "$dir/ingest_curve.key" ]; then
    echo "$dir/ingest_curve.key exists: kept (a new key needs every gateway to learn ingest's new public key)"
else
    curve_secret > "$dir/ingest_curve.key"
    chmod 444 "$dir/ingest_curve.key"
    echo "made $dir/ingest_curve.key"
fi
for f in grafana_admin_password grafana_pg_password pg_monitor_password; do
    if [ -s "$dir/$f" ]; then
        echo "$dir/$f exists: kept"
    else
        rand 24 > "$dir/$f"
        chmod 444 "$dir/$f"
        echo "made $dir/$f"
    fi
done
