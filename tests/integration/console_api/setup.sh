#!/usr/bin/env bash
# Sourced by console_api/run.sh and tests/browser/run.sh (after lib.sh):
# PostgreSQL and Redis, two brands (acme: regions north with s1 and s2,
# south with s3, a group per store; other: o1, oroom), the rows of
# seed.sql, and users of every role with the password $PW; then the
# console as qy_console (start_console NAME sets PORT_<NAME>).
it_servers
q () { psql "$QY_PG_DSN" -qAtc "$1"; }
Q=$QYCTL
"$Q" brand create acme "Acme" >/dev/null
"$Q" brand create other "Other" >/dev/null
"$Q" region create acme north "北区" >/dev/null
"$Q" region create acme south "南区" >/dev/null
"$Q" store create acme s1 "一号店" --region north >/dev/null
"$Q" store create acme s2 "二号店" --region north >/dev/null
"$Q" store create acme s3 "三号店" --region south >/dev/null
"$Q" store create other o1 "别家店" >/dev/null
for g in 1 2 3; do "$Q" group create acme room$g "群$g" --store s$g >/dev/null; done
"$Q" group create other oroom "别家群" --store o1 >/dev/null
"$Q" rules load acme >/dev/null
psql "$QY_PG_DSN" -q -v ON_ERROR_STOP=1 -f "$(dirname "${BASH_SOURCE[0]}")/seed.sql" >/dev/null
PW=correct-horse-1
for u in "acme hq1 hq" "acme reg1 region --region north" "acme st1 store --store s1" "acme rev1 reviewer --store s1" \
         "other ohq hq" "- root admin"; do
    set -- $u
    echo "$PW" | "$Q" user create "$1" "$2" --role "$3" "${@:4}" >/dev/null
done
q "ALTER ROLE qy_console LOGIN" >/dev/null     # the deployment gives it LOGIN and a password
CON_DSN="host=127.0.0.1 port=$QY_PG_PORT dbname=qunyun user=qy_console"
start_console () {   # start_console NAME → sets PORT_<NAME>
    local port; port=$(qy_free_port)
    QY_CONSOLE_PG_DSN="$CON_DSN" QY_CONSOLE_CONSOLE_PORT=$port QY_CONSOLE_CONSOLE_BIND=127.0.0.1 QY_HTTP_PORT=0 \
    QY_CONSOLE_LOGIN_ADDRESS_THRESHOLD=10 QY_CONSOLE_CONSOLE_PROXY=127.0.0.1 qy_start "$1" "$QY_BUILD/services/console/qy-console"
    qy_wait_health "$1" "$port"
    eval "PORT_$1=$port"
}
