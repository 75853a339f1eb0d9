#!/usr/bin/env bash
# The staff task loop under a backlog (docs/tasks.md): the same N
# deliveries as bench_notifier.sh (four in five recalls about 2,000
# members, one in five posts into 200 groups) for a brand on WeCom's
# official API. Recalls become tasks (never sent), posts are sent and
# become tasks; every task is handed over to its group's owner by a notice
# through the edge. Prints the time until every task was recorded, until
# every hand-over notice was delivered, then, with every task open and
# 100,000 messages in the archive, how long one evidence pass takes and how
# long closing half the posts on wecom_sends takes. Not a test: it prints
# numbers.
#   bash tests/bench/notifier/bench_tasks.sh BUILD_DIR [N]
set -euo pipefail
source "$(dirname "$0")/../../../tools/lib/env.sh"
qy_script_args 2 "$@"
BUILD=$(cd "${1:?usage: bench_tasks.sh BUILD_DIR [N]}" && pwd)
N=${2:-20000}
source "$(dirname "$0")/../lib.sh"
bench_setup tasks "$BUILD" 200
count () { psql "$QY_PG_DSN" -qAtc "$1"; }
# Official, every group with an owner (as the snapshots would say), the members known.
count "INSERT INTO brand_edges (brand_id, capability) SELECT id, 'official' FROM brands WHERE code = 'bench';
       INSERT INTO members (brand_id, user_id, nickname) SELECT b.id, 'u' || i, '会员' || i FROM brands b, generate_series (0, 1999) i WHERE b.code = 'bench';
       INSERT INTO members (brand_id, user_id, nickname) SELECT b.id, 'owner' || i, '店员' || i FROM brands b, generate_series (1, 200) i WHERE b.code = 'bench';
       INSERT INTO memberships (brand_id, group_id, member_id, role, joined_at)
         SELECT g.brand_id, g.id, m.id, 'owner', now () - interval '30 days' FROM groups g
         JOIN members m ON m.brand_id = g.brand_id AND m.user_id = 'owner' || substr (g.code, 2)" >/dev/null
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
    if (i % 5)
        printf "{\"key\":\"a%d\",\"brand\":\"bench\",\"kind\":\"action\",\"group\":\"g%d\",\"action\":\"recall\",\"member\":\"u%d\",\"reason\":\"ad\",\"source\":\"moderation\",\"event_id\":\"m%d\"}\n", i, i % 200 + 1, i % 2000, i
    else
        printf "{\"key\":\"p%d\",\"brand\":\"bench\",\"kind\":\"post\",\"group\":\"g%d\",\"text\":\"早上好\",\"source\":\"campaign:bench\"}\n", i, i % 200 + 1 }' \
    > "$QY_RUN/deliveries.jsonl"
P_nf=$(qy_free_port); P_nb=$(qy_free_port)
export QY_BUS_HOPS="notifier=tcp://127.0.0.1:$P_nf>tcp://127.0.0.1:$P_nb" QY_HTTP_BIND=127.0.0.1
export QY_NOTIFIER_ZMQ_IN="tcp://127.0.0.1:$P_nb" QY_NOTIFIER_ENDPOINT="tcp://127.0.0.1:$P_nf"
export QY_NOTIFIER_LIMIT_GATEWAY=600000/60 QY_NOTIFIER_LIMIT_API_POST=600000/60 QY_NOTIFIER_LIMIT_API_ALERT=600000/60 \
       QY_NOTIFIER_LIMIT_GROUP=30000/60 QY_NOTIFIER_LIMIT_MEMBER=3000/60 QY_NOTIFIER_TASKS_POLL_MS=200 QY_NOTIFIER_TASKS_EVIDENCE_MS=1000 QY_NOTIFIER_TASKS_BATCH=1000
H_bus=$(qy_free_port); QY_HTTP_PORT=$H_bus qy_start bus "$BUILD/services/bus/qy-bus"; qy_wait_health bus "$H_bus"
H_n=$(qy_free_port); QY_HTTP_PORT=$H_n qy_start notifier "$BUILD/services/notifier/qy-notifier"; qy_wait_health notifier "$H_n"
T0=$(date +%s%N)
"$QYCTL" gateway push "$QY_RUN/deliveries.jsonl" >/dev/null
while [ "$(count "SELECT count (*) FROM staff_tasks")" -lt "$N" ]; do sleep 0.05; done
T1=$(date +%s%N)
while [ "$(count "SELECT count (*) FROM deliveries WHERE status = 'delivered' AND source = 'tasks'")" -lt "$N" ]; do sleep 0.1; done
T2=$(date +%s%N)
ms () { echo $(( ($1 - T0) / 1000000 )); }
echo "tasks: $N recorded $(ms "$T1") ms after the first push; every hand-over notice delivered after $(ms "$T2") ms" \
     "($(( N * 1000 / ($(ms "$T2") > 0 ? $(ms "$T2") : 1) )) tasks/s)"
echo "sent to the edge: $(curl -fs "http://127.0.0.1:$GW_PORT/stats" | jq -c .by), actions recorded as deliveries: $(count "SELECT count (*) FROM deliveries WHERE kind = 'action'")"
# With everything open: the archive, then a notifier whose passes are timed (qy_notifier_tasks_pass_seconds).
kill -TERM "$(awk '$3 == "notifier" {print $2}' "$QY_RUN/pids")"; sleep 1
count "SELECT qy_ensure_partition (current_date);
       INSERT INTO messages (brand_id, event_time, msg_id, group_id, member_id, kind, text)
       SELECT b.id, now () - (i % 3600) * interval '1 second', 'x' || i, g.id, m.id, 'text', 'hello'
       FROM generate_series (1, 100000) i JOIN brands b ON b.code = 'bench'
       JOIN groups g ON g.brand_id = b.id AND g.code = 'g' || (i % 200 + 1)
       JOIN members m ON m.brand_id = b.id AND m.user_id = 'u' || (i % 2000); ANALYZE" >/dev/null
H_n=$(qy_free_port); QY_HTTP_PORT=$H_n qy_start notifier2 "$BUILD/services/notifier/qy-notifier"; qy_wait_health notifier2 "$H_n"
sleep 3
T3=$(date +%s%N)
count "INSERT INTO wecom_sends (brand_id, delivery_key, msgid, chat_id, owner_userid, status, sent_at)
       SELECT brand_id, delivery_key, 'msg' || id, 'g', 'o', 'sent', now () FROM staff_tasks WHERE kind = 'post' AND id % 2 = 0" >/dev/null
half=$(count "SELECT count (*) FROM staff_tasks WHERE kind = 'post' AND id % 2 = 0")
while [ "$(count "SELECT count (*) FROM staff_tasks WHERE state = 'done'")" -lt "$half" ]; do sleep 0.05; done
T4=$(date +%s%N)
echo "with $N tasks open and 100,000 archived messages: $half posts closed on wecom_sends $(( (T4 - T3) / 1000000 )) ms after the rows were written (evidence looked for every second)"
echo "one pass (evidence, then the ladder) over the open tasks, seconds:"
curl -fs "http://127.0.0.1:$H_n/metrics" | grep '^qy_notifier_tasks_pass_seconds'
