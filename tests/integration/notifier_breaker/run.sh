#!/usr/bin/env bash
# A gateway that takes posts but answers after notifier's timeout opens its circuit (three failures
# in a row, breaker.failures 3), and the circuit's one trial is usually such a retry, which notifier
# settles by asking the gateway (it arrived) instead of posting it again. That answer is the trial's
# outcome: the circuit closes, and a post pushed later is delivered. (Before, the trial's outcome
# was never told to the breaker: every later delivery to the gateway was held as "circuit open"
# for good, none sent, none dead-lettered.)
source "$(dirname "$0")/../lib.sh"
it_servers
Q=$QYCTL
it_sim sim --late-first 3 --late-ms 2500
"$Q" brand create acme Acme --gateway-url "http://127.0.0.1:$P_sim/v1/deliveries" >/dev/null
export QY_NOTIFIER_LIMIT_GATEWAY=off QY_NOTIFIER_HTTP_TIMEOUT_MS=1000 QY_NOTIFIER_POLL_MS=50
export QY_NOTIFIER_BREAKER_FAILURES=3 QY_NOTIFIER_BREAKER_OPEN_MS=2000
it_notifier_bus
H_notifier=$(qy_free_port)
QY_HTTP_PORT=$H_notifier qy_start notifier "$QY_BUILD/services/notifier/qy-notifier"
qy_wait_health notifier "$H_notifier"
for i in 1 2 3; do echo "{\"key\":\"late-$i\",\"brand\":\"acme\",\"kind\":\"post\",\"text\":\"hi\",\"source\":\"campaign:test\"}"; done \
    | "$Q" gateway push - >/dev/null
late () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM deliveries WHERE key LIKE 'late-%' AND status = 'delivered'")" = 3 ]; }
it_wait "the three late ones delivered" late
echo '{"key":"later","brand":"acme","kind":"post","text":"hi","source":"campaign:test"}' | "$Q" gateway push - >/dev/null
later () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT status FROM deliveries WHERE key = 'later'")" = delivered ]; }
it_wait "a post pushed after them delivered" later
it_eq "the circuit opened on the way" "$(qy_metric "$H_notifier" 'qy_notifier_held_total{why="circuit_open"}' | awk '{print ($1 >= 1)}')" 1
it_eq "each posted once" "$(it_sim_stat "$P_sim" unique) $(it_sim_stat "$P_sim" duplicates)" "4 0"
it_done
