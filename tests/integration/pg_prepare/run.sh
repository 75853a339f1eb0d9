#!/usr/bin/env bash
# Prepared statements (pg.prepare, common/src/qy_pg.c): by default a service runs each statement
# it repeats on a connection as a prepared statement (PostgreSQL logs "execute qyN"); with
# pg.prepare = false it never prepares (only "execute <unnamed>"), for a pooler in transaction
# mode. Ingest archives the events either way. Then pg_recover.c: a prepared statement that stops
# serving (a column added under it: 0A000; DISCARD ALL: 26000) costs the caller nothing outside a
# transaction, fails only the transaction it happened in, and is deallocated afterwards.
source "$(dirname "$0")/../lib.sh"
it_servers
"$QYCTL" brand create acme "Acme" >/dev/null
psql "$QY_PG_DSN" -qc "ALTER SYSTEM SET log_statement = 'all'" -c "SELECT pg_reload_conf ()" >/dev/null
LOG=$QY_RUN/pg/server.log
now=$(date +%s)

# A bus for ingest to pass events to (ingest takes nothing while it has no bus to send to).
P_mf=$(qy_free_port); H_bus=$(qy_free_port)
QY_BUS_HOPS="moderation=tcp://127.0.0.1:$P_mf>tcp://127.0.0.1:$(qy_free_port)" QY_HTTP_BIND=127.0.0.1 QY_HTTP_PORT=$H_bus \
    qy_start bus "$QY_BUILD/services/bus/qy-bus"
qy_wait_health bus "$H_bus"

start_ingest () {
    local http; http=$(qy_free_port)
    export QY_INGEST_ENDPOINT="tcp://127.0.0.1:$(qy_free_port)"
    QY_INGEST_ZMQ_GATEWAY=$QY_INGEST_ENDPOINT QY_INGEST_ZMQ_OUT="tcp://127.0.0.1:$P_mf" \
        QY_INGEST_GATEWAY_HTTP=false QY_HTTP_BIND=127.0.0.1 QY_HTTP_PORT=$http qy_start ingest "$QY_BUILD/services/ingest/qy-ingest"
    qy_wait_health ingest "$http"
}
stop_ingest () {
    kill -TERM "$QY_PID_ingest"
    for _ in $(seq 100); do kill -0 "$QY_PID_ingest" 2>/dev/null || return 0; sleep 0.1; done
    it_fail "ingest did not stop"
}
# send PREFIX: three requests of two chat messages each
send () {
    for b in 1 2 3; do
        for i in 1 2; do
            echo "{\"brand\":\"acme\",\"msg_id\":\"$1-$b-$i\",\"group\":\"room1\",\"member\":\"u$i\",\"kind\":\"text\",\"text\":\"大家好\",\"event_time_us\":$((now * 1000000 + b * 10 + i))}"
        done | "$QYCTL" send - >/dev/null
    done
}
archived () { psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM messages WHERE msg_id LIKE '$1-%'"; }

start_ingest
send on
stop_ingest
it_eq "archived with prepared statements" "$(archived on)" 6
it_eq "prepared statements executed" "$([ "$(grep -c 'LOG:  execute qy[0-9]' "$LOG")" -gt 0 ] && echo yes || echo no)" yes

mark=$(wc -l < "$LOG")
QY_INGEST_PG_PREPARE=false start_ingest
send off
stop_ingest
it_eq "archived without" "$(archived off)" 6
it_eq "unnamed statements only" "$(tail -n +"$((mark + 1))" "$LOG" | grep -c 'LOG:  execute qy[0-9]' || true) $([ "$(tail -n +"$((mark + 1))" "$LOG" | grep -c 'LOG:  execute <unnamed>')" -gt 0 ] && echo some || echo none)" "0 some"

if "$QY_BUILD/tests/integration/qy_test_pg_recover" "$QY_PG_DSN" > "$QY_RUN/pg_recover.out" 2>&1; then
    it_eq "stale prepared statements recovered" ok ok
else
    cat "$QY_RUN/pg_recover.out"
    it_fail "stale prepared statements (pg_recover)"
fi
it_done
