#!/usr/bin/env bash
# What a peer says cannot make the bus lose what it owes another (bus_bounds.c): its table of 256
# senders full but for five slots of senders with work in the hop, an outlet's messages done while
# new senders arrive are each still acknowledged to it.
source "$(dirname "$0")/../lib.sh"
T=$QY_BUILD/tests/integration/qy_test_bus_bounds
front=$(qy_free_port) back=$(qy_free_port) http=$(qy_free_port)
QY_BUS_HOPS="moderation=tcp://127.0.0.1:$front>tcp://127.0.0.1:$back" QY_HTTP_BIND=127.0.0.1 QY_HTTP_PORT=$http \
    qy_start bus2 "$QY_BUILD/services/bus/qy-bus"
qy_wait_health bus2 "$http"
"$T" senders "tcp://127.0.0.1:$front" "tcp://127.0.0.1:$back" > "$QY_RUN/senders.out" 2>&1 || it_fail "bus_bounds senders"
cat "$QY_RUN/senders.out"
it_eq "the bus, still running" "$(kill -0 "$QY_PID_bus2" 2>/dev/null && echo yes || echo no)" yes
it_done
