#!/usr/bin/env bash
# Bad input never stops the bus, the one process every hop goes through (docs/architecture.md,
# "Owed work" and "Acknowledged sends" for the words): 3,000 messages of random frames shaped like
# the hop's words on its back, 3,000 more on its front (bus_garbage.c), then a real outlet's 20
# events reach a replica and its done comes back to the outlet as acknowledgements. The bus is
# still running, answers /readyz, owes nothing and counted at least those 20 acknowledged. The
# garbage's many goodbyes are each counted, but logged a bounded number of times (qy_log_limited),
# the last line saying how many it left out.
source "$(dirname "$0")/../lib.sh"
front=$(qy_free_port) back=$(qy_free_port) http=$(qy_free_port)
QY_BUS_HOPS="moderation=tcp://127.0.0.1:$front>tcp://127.0.0.1:$back" QY_HTTP_BIND=127.0.0.1 QY_HTTP_PORT=$http \
    qy_start bus "$QY_BUILD/services/bus/qy-bus"
qy_wait_health bus "$http"
pid=$QY_PID_bus
if "$QY_BUILD/tests/integration/qy_test_bus_garbage" "tcp://127.0.0.1:$front" "tcp://127.0.0.1:$back" > "$QY_RUN/bus_garbage.out" 2>&1; then
    cat "$QY_RUN/bus_garbage.out"
else
    cat "$QY_RUN/bus_garbage.out"
    it_fail "bus_garbage"
fi
it_eq "the bus, still running" "$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)" yes
it_eq "the bus's /readyz" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/readyz")" 200
it_eq "events owed after the replica's done (qy_bus_owed)" "$(qy_metric "$http" qy_bus_owed)" 0
it_eq "at least the 20 acknowledged (qy_bus_acked_total)" "$(( $(qy_metric "$http" qy_bus_acked_total) >= 20 ))" 1
byes=$(qy_metric "$http" qy_bus_goodbyes_total) lines=$(grep -c "a replica said goodbye" "$QY_RUN/logs/bus.log" || true)
it_eq "goodbyes counted, more than a log's burst" "$(( byes > 3 * 10 ))" 1
it_eq "goodbye lines at most two bursts ($lines for $byes)" "$(( lines >= 1 && lines <= 2 * 10 ))" 1
it_eq "a goodbye line says how many were left out" "$(grep "a replica said goodbye" "$QY_RUN/logs/bus.log" | grep -c "unlogged_before=")" "$lines"
it_done
