#!/usr/bin/env bash
# The bus counts credit in events, not messages (docs/architecture.md, "Packs"): an outlet sends
# 200 events as four packs (64, 64, 64, 8) onto a hop, and a replica with 100 events of credit is
# sent two packs (128 events) and then nothing until it gives more (bus_credit.c); the hop's
# metrics count events (qy_bus_sent_total, qy_bus_acked_total: 200 each once the replica said done,
# nothing owed).
source "$(dirname "$0")/../lib.sh"
front=$(qy_free_port) back=$(qy_free_port) http=$(qy_free_port)
QY_BUS_HOPS="moderation=tcp://127.0.0.1:$front>tcp://127.0.0.1:$back" QY_HTTP_BIND=127.0.0.1 QY_HTTP_PORT=$http \
    qy_start bus "$QY_BUILD/services/bus/qy-bus"
qy_wait_health bus "$http"
if "$QY_BUILD/tests/integration/qy_test_bus_credit" "tcp://127.0.0.1:$front" "tcp://127.0.0.1:$back" > "$QY_RUN/bus_credit.out" 2>&1; then
    cat "$QY_RUN/bus_credit.out"
else
    cat "$QY_RUN/bus_credit.out"
    it_fail "bus_credit"
fi
it_eq "events the hop sent (qy_bus_sent_total)" "$(qy_metric "$http" qy_bus_sent_total)" 200
acked () { [ "$(qy_metric "$http" qy_bus_acked_total)" = 200 ]; }
it_wait "the hop's acknowledgements" acked
it_eq "events the hop acknowledged (qy_bus_acked_total)" "$(qy_metric "$http" qy_bus_acked_total)" 200
it_eq "events owed (qy_bus_owed)" "$(qy_metric "$http" qy_bus_owed)" 0
it_done
