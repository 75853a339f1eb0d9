#!/usr/bin/env bash
# notifier killed with deliveries in flight (issue 18): a delivery notifier was sending when it
# died is not posted twice. Its row stays 'sending' until the lease runs out; the notifier that
# takes it then asks the gateway first (GET {gateway_url}/{key}, docs/gateway.md): 200, it arrived,
# and is recorded delivered without a second post; 404, it did not, and is sent.
#   alpha's gateway takes each delivery at once and answers slowly: killed meanwhile, all arrived;
#   bravo's gateway dies too before it took them (it waits 4 s first), and comes back empty:
#   none arrived;
#   charlie's gateway (notifier not killed) takes each and answers after notifier's timeout: the
#   retry asks first too, and nothing is posted twice.
# Each delivery reaches its gateway exactly once. (Before, each was posted again when the lease
# ran out: 27 deliveries posted twice in the issue's run at saturation.)
source "$(dirname "$0")/../lib.sh"
it_servers
Q=$QYCTL
it_sim simA --slow-body-first 100 --slow-body-ms 4000
it_sim simB --delay-ms 4000
it_sim simC --late-first 3 --late-ms 8000
"$Q" brand create alpha Alpha --gateway-url "http://127.0.0.1:$P_simA/v1/deliveries" >/dev/null
"$Q" brand create bravo Bravo --gateway-url "http://127.0.0.1:$P_simB/v1/deliveries" >/dev/null
"$Q" brand create charlie Charlie --gateway-url "http://127.0.0.1:$P_simC/v1/deliveries" >/dev/null
export QY_NOTIFIER_LIMIT_GATEWAY=off QY_NOTIFIER_LEASE_S=12 QY_NOTIFIER_HTTP_TIMEOUT_MS=6000 QY_NOTIFIER_POLL_MS=50
it_notifier_bus
H_notifier=$(qy_free_port)
QY_HTTP_PORT=$H_notifier qy_start notifier "$QY_BUILD/services/notifier/qy-notifier"
qy_wait_health notifier "$H_notifier"

for b in alpha bravo; do
    for i in 1 2 3; do
        echo "{\"key\":\"$b-$i\",\"brand\":\"$b\",\"kind\":\"post\",\"text\":\"hello $i\",\"source\":\"campaign:test\"}"
    done
done | "$Q" gateway push - >/dev/null
sending () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM deliveries WHERE status = 'sending'")" = 6 ]; }
it_wait "six deliveries out" sending
arrived () { [ "$(it_sim_stat "$P_simA" unique)" = 3 ]; }
it_wait "alpha's three at its gateway" arrived
it_eq "bravo's gateway had taken none yet" "$(it_sim_stat "$P_simB" unique)" 0
kill -KILL "$QY_PID_simB" "$QY_PID_notifier"; echo "ok   notifier killed with six deliveries in flight, bravo's gateway too"
gone () { ! kill -0 "$QY_PID_simB" 2>/dev/null; }
it_wait "bravo's gateway gone" gone
sleep 0.5       # its port free again
qy_start simB2 "$QY_BUILD/tools/gatewaysim/qy-gatewaysim" --port "$P_simB" --log "$QY_RUN/simB2.jsonl"
it_wait "bravo's gateway back" curl -fs "http://127.0.0.1:$P_simB/stats"
QY_HTTP_PORT=$H_notifier qy_start notifier2 "$QY_BUILD/services/notifier/qy-notifier"
qy_wait_health notifier2 "$H_notifier"
delivered () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM deliveries WHERE status = 'delivered'")" = 6 ]; }
it_wait "all six delivered after the lease ran out" delivered
sleep 1
it_eq "alpha: each once, the gateway asked" "$(it_sim_stat "$P_simA" unique) $(it_sim_stat "$P_simA" duplicates) $(it_sim_stat "$P_simA" asked)" "3 0 3"
it_eq "bravo: each once, the gateway asked" "$(it_sim_stat "$P_simB" unique) $(it_sim_stat "$P_simB" duplicates) $(it_sim_stat "$P_simB" asked)" "3 0 3"
echo '{"key":"charlie-1","brand":"charlie","kind":"post","text":"hi","source":"campaign:test"}
{"key":"charlie-2","brand":"charlie","kind":"post","text":"hi","source":"campaign:test"}
{"key":"charlie-3","brand":"charlie","kind":"post","text":"hi","source":"campaign:test"}' | "$Q" gateway push - >/dev/null
charlie () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM deliveries WHERE key LIKE 'charlie-%' AND status = 'delivered'")" = 3 ]; }
it_wait "charlie's three delivered after their timeouts" charlie
it_eq "charlie: each once, the gateway asked" "$(it_sim_stat "$P_simC" unique) $(it_sim_stat "$P_simC" duplicates) $(it_sim_stat "$P_simC" asked)" "3 0 3"
it_eq "notifier's answers (arrived, not arrived)" "$(qy_metric "$H_notifier" 'qy_notifier_asked_total{answer="arrived"}') $(qy_metric "$H_notifier" 'qy_notifier_asked_total{answer="not_arrived"}')" "6 3"
it_done
