#!/usr/bin/env bash
# notifier at the edges of a send (services/notifier/main.c, notifier_store.c):
#   1. a lost lease: while a send is out, another replica takes the row (simulated: its attempt
#      moves on); this send's failure then changes nothing (the row stays the other's), and the
#      delivery still arrives once when that lease runs out;
#   2. a 2xx whose body comes after the request timeout is delivered (not sent again);
#   3. a destination paused by an operator holds deliveries that draw from no token bucket;
#   4. a key with a control character (it would split the Idempotency-Key header) is set aside;
#   5. a lease shorter than twice the request timeout is refused at start;
#   6. Redis loses everything (a restart without persistence, FLUSHALL) between two claims:
#      the buckets start full again, nothing waits on a watch or a pause that is gone, and the
#      post goes (the takes are plain commands, notifier_take.c; tests/integration/notifier_limits
#      compares them with the script they replaced).
source "$(dirname "$0")/../lib.sh"
it_servers
Q=$QYCTL
row () { psql "$QY_PG_DSN" -qAtc "SELECT status || ' ' || attempts FROM deliveries WHERE key = '$1'"; }
it_sim simL --delay-ms 2000 --fail-first 1
it_sim simS --slow-body-first 1 --slow-body-ms 4000
it_sim simP
"$Q" brand create lima Lima --gateway-url "http://127.0.0.1:$P_simL/v1/deliveries" >/dev/null
"$Q" brand create slow Slow --gateway-url "http://127.0.0.1:$P_simS/v1/deliveries" >/dev/null
"$Q" brand create papa Papa --gateway-url "http://127.0.0.1:$P_simP/v1/deliveries" >/dev/null

export QY_NOTIFIER_LIMIT_GATEWAY=off QY_NOTIFIER_LEASE_S=5 QY_NOTIFIER_HTTP_TIMEOUT_MS=2500 QY_NOTIFIER_RETRY_BASE_MS=100 QY_NOTIFIER_POLL_MS=50
it_notifier_bus

# 5. refused at start (before anything else runs)
rc=0; QY_NOTIFIER_HTTP_TIMEOUT_MS=3000 QY_HTTP_PORT=$(qy_free_port) timeout 20 "$QY_BUILD/services/notifier/qy-notifier" \
    > "$QY_RUN/refused.log" 2>&1 || rc=$?
it_eq "a lease under twice the timeout refused" "$rc $(grep -c 'lease must be at least twice the request timeout' "$QY_RUN/refused.log")" "2 1"

H_notifier=$(qy_free_port)
QY_HTTP_PORT=$H_notifier qy_start notifier "$QY_BUILD/services/notifier/qy-notifier"
qy_wait_health notifier "$H_notifier"
LOG=$QY_RUN/logs/notifier.log

# 1. a lost lease
echo '{"key":"lease-1","brand":"lima","kind":"post","text":"hello","source":"campaign:test"}' | "$Q" gateway push - >/dev/null
sending () { [ "$(row lease-1)" = "sending 1" ]; }
it_wait "lease-1 out" sending
psql "$QY_PG_DSN" -qc "UPDATE deliveries SET attempts = attempts + 1 WHERE key = 'lease-1'" >/dev/null   # another replica's claim
lost () { grep 'msg="lease lost: outcome retry not recorded' "$LOG" | grep -q ' delivery=lease-1 '; }
it_wait "the stale outcome dropped" lost
it_eq "the row is still the other claim's" "$(row lease-1)" "sending 2"
delivered () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT status FROM deliveries WHERE key = '$1'")" = delivered ]; }
it_wait "lease-1 delivered after the lease ran out" delivered lease-1
it_eq "lease-1 at the gateway once" "$(it_sim_stat "$P_simL" unique) $(it_sim_stat "$P_simL" duplicates) $(it_sim_stat "$P_simL" failed)" "1 0 1"
it_eq "no dead letter" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM dead_letters")" 0
it_eq "lease_lost metric" "$(curl -fs "http://127.0.0.1:$H_notifier/metrics" | awk '$1 == "qy_notifier_lease_lost_total" {print $2}')" 1

# 2. a slow body after a 200
echo '{"key":"slow-1","brand":"slow","kind":"post","text":"hello","source":"campaign:test"}' | "$Q" gateway push - >/dev/null
it_wait "slow-1 delivered" delivered slow-1
sleep 3     # a retry would reach the gateway here
it_eq "slow-1: one attempt, status 200" "$(psql "$QY_PG_DSN" -qAtc "SELECT attempts || ' ' || http_status FROM deliveries WHERE key = 'slow-1'")" "1 200"
it_eq "slow-1 sent once" "$(it_sim_stat "$P_simS" requests) $(it_sim_stat "$P_simS" duplicates)" "1 0"

# 3. a pause holds deliveries without buckets (limit.gateway off; actions have no other)
"$Q" gateway pause "http://127.0.0.1:$P_simP/v1/deliveries" 4 >/dev/null
echo '{"key":"pause-1","brand":"papa","kind":"action","action":"recall","member":"u1","source":"moderation"}' | "$Q" gateway push - >/dev/null
held () { psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM deliveries WHERE key = 'pause-1' AND status = 'pending' AND last_error = 'destination paused'" | grep -qx 1; }
it_wait "pause-1 held by the pause" held
it_eq "nothing sent while paused" "$(it_sim_stat "$P_simP" requests)" 0
it_wait "pause-1 delivered after the pause" delivered pause-1

# 4. a key with a CR LF
printf '{"key":"bad\\r\\nX-Injected: 1","brand":"papa","kind":"post","text":"x","source":"campaign:test"}\n' | "$Q" gateway push - >/dev/null
aside () { psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM dead_letters WHERE service = 'notifier' AND reason LIKE '%control characters%'" | grep -qx 1; }
it_wait "the bad key set aside" aside
it_eq "never recorded as a delivery" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM deliveries WHERE key LIKE 'bad%'")" 0

# 6. Redis emptied (lima's post draws from the api.post bucket)
redis-cli -p "$QY_REDIS_PORT" FLUSHALL >/dev/null
echo '{"key":"flush-1","brand":"lima","kind":"post","text":"hello","source":"campaign:test"}' | "$Q" gateway push - >/dev/null
it_wait "flush-1 delivered after FLUSHALL" delivered flush-1
it_eq "flush-1: one attempt, status 200" "$(psql "$QY_PG_DSN" -qAtc "SELECT attempts || ' ' || http_status FROM deliveries WHERE key = 'flush-1'")" "1 200"
it_done
