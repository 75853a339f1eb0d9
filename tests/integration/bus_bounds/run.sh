#!/usr/bin/env bash
# What a peer says cannot make the bus hold more than its bound, or lose what it owes another
# (bus_bounds.c). A bus with zmq.hwm 100 (its hop's queue bound: 200 events): a replica claiming
# 2^32 - 1 events of credit and more, never saying done, is sent at most the bound, and the hop's
# credit gauge stays within it; when it goes, an honest replica gets all 400 messages, each once.
# A second bus: its table of 256 senders full but for five slots of senders with work in the hop,
# an outlet's messages done while new senders arrive are each still acknowledged to it.
source "$(dirname "$0")/../lib.sh"
front=$(qy_free_port) back=$(qy_free_port) http=$(qy_free_port)
QY_BUS_ZMQ_HWM=100 QY_BUS_HOPS="moderation=tcp://127.0.0.1:$front>tcp://127.0.0.1:$back" QY_HTTP_BIND=127.0.0.1 \
    QY_HTTP_PORT=$http qy_start bus "$QY_BUILD/services/bus/qy-bus"
qy_wait_health bus "$http"
T=$QY_BUILD/tests/integration/qy_test_bus_bounds
"$T" credit "tcp://127.0.0.1:$front" "tcp://127.0.0.1:$back" 200 > "$QY_RUN/credit.out" 2>&1 || it_fail "bus_bounds credit"
cat "$QY_RUN/credit.out"
it_eq "the hop's credit gauge within its bound" "$(( $(qy_metric "$http" qy_bus_credit) <= 200 ))" 1
it_eq "owed after the honest replica's done (qy_bus_owed)" "$(qy_metric "$http" qy_bus_owed)" 0

front=$(qy_free_port) back=$(qy_free_port) http=$(qy_free_port)
QY_BUS_HOPS="moderation=tcp://127.0.0.1:$front>tcp://127.0.0.1:$back" QY_HTTP_BIND=127.0.0.1 QY_HTTP_PORT=$http \
    qy_start bus2 "$QY_BUILD/services/bus/qy-bus"
qy_wait_health bus2 "$http"
"$T" senders "tcp://127.0.0.1:$front" "tcp://127.0.0.1:$back" > "$QY_RUN/senders.out" 2>&1 || it_fail "bus_bounds senders"
cat "$QY_RUN/senders.out"
it_eq "the bus, still running" "$(kill -0 "$QY_PID_bus2" 2>/dev/null && echo yes || echo no)" yes
it_done
