#!/usr/bin/env bash
# ingest's duplicates and what it did not hand on (issue 18, migrations 087 and 127, ingest_handon.c):
#   1. the same gateway message ids re-sent with another msgtime (a day earlier) are answered
#      duplicate and stored once (the archive's key includes the event time: they were stored
#      twice, and judged and counted twice);
#   2. ingest killed between its commit and its send leaves events archived that nothing
#      downstream saw. That state is made here as a crash leaves it: 200 archived events (message
#      ids no stage has seen) whose batches' rows are still owed (two rows of 100). ingest re-sends
#      them from the archive by itself, with no operator: every one is judged and counted, the
#      metric says so, and the rows are gone once the bus acknowledged every event of them;
#   3. a real kill -9 of ingest under load, restarted: every archived event counted once;
#   4. acknowledged later than the grace (moderation stopped for a while), nothing is re-sent:
#      what was acknowledged is recorded before the archive is searched for what was not. Before,
#      an acknowledgement and a search in the same turn re-sent the whole batch (judged twice).
source "$(dirname "$0")/../lib.sh"
it_demo_chain 1 1
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
load () {
    "$QY_BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand demo --stores 4 --groups 2 --members 40 \
        --dup-rate 0 --seed 5 "$@"
}
counted () { [ "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" = "$(sql "SELECT count (*) FROM messages")" ]; }

# 1. re-sent ids, another msgtime
load --messages 600 --run same --day-offset -1 > "$QY_RUN/first.out"
load --messages 600 --run same --day-offset -2 > "$QY_RUN/again.out"
first=$(sed -n 's/.*accepted=\([0-9]*\).*/\1/p' "$QY_RUN/first.out")
it_eq "re-sent with another msgtime: answered" "$(sed -n 's/.*\(accepted=[0-9]* duplicate=[0-9]*\).*/\1/p' "$QY_RUN/again.out")" \
    "accepted=0 duplicate=$first"
it_eq "archived once per message id" "$(sql "SELECT count (*) || ' ' || count (DISTINCT msg_id) FROM messages")" "$first $first"
it_wait "the first send counted" counted
it_eq "counted once" "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" "$first"

# 2. archived, never handed on (as a crash between commit and send leaves it)
sql "WITH c AS (INSERT INTO messages (brand_id, event_time, msg_id, group_id, store_id, member_id, kind, role, text, extra, ingest_time)
                SELECT brand_id, event_time, msg_id || '-lost', group_id, store_id, member_id, kind, role, text, extra,
                       now () - interval '1 minute'
                FROM messages WHERE kind NOT IN ('join', 'leave', 'rename') ORDER BY msg_id LIMIT 200
                RETURNING brand_id, msg_id, event_time, ingest_time),
          i AS (INSERT INTO message_ids (brand_id, msg_id, event_time, ingest_time)
                SELECT brand_id, msg_id, event_time, ingest_time FROM c RETURNING brand_id, msg_id, event_time, ingest_time)
     INSERT INTO ingest_owed (brand_id, ingest_time, msg_ids, event_times)
     SELECT brand_id, min (ingest_time), array_agg (msg_id), array_agg (event_time)
     FROM (SELECT *, row_number () OVER (ORDER BY msg_id) % 2 AS half FROM i) x GROUP BY brand_id, half" >/dev/null
it_eq "owed rows made" "$(sql "SELECT count (*) || ' ' || sum (cardinality (msg_ids)) FROM ingest_owed WHERE msg_ids [1] LIKE '%-lost'")" "2 200"
it_wait "the 200 events re-sent and counted" counted
it_eq "re-sent by ingest (metric)" "$(qy_metric "$QY_HTTP_ingest" qy_ingest_resent_total)" 200
# Marked once the bus acknowledged them (finished to the end of the chain), just after counting.
owed_none () { [ "$(sql "SELECT count (*) FROM ingest_owed")" = 0 ]; }
it_wait "nothing left owed" owed_none
judged () { [ "$(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total)" -ge $((first + 200)) ]; }
it_wait "the 200 judged" judged
grep -q 'level=warn.*msg="archived events not handed on, re-sent from the archive" .* count=200' "$QY_RUN/logs/ingest.log" \
    && echo "ok   logged" || it_fail "no log line for the re-send"

# 3. kill -9 under load, restart
load --messages 6000 --run killed --rate 3000 > "$QY_RUN/killed.out" 2>&1 &
loadgen=$!
sleep 1
kill -KILL "$QY_PID_ingest"
sleep 1
QY_HTTP_PORT=$QY_HTTP_ingest qy_start ingest2 "$QY_BUILD/services/ingest/qy-ingest"
qy_wait_health ingest2 "$QY_HTTP_ingest"
wait "$loadgen" || true
it_wait "everything archived counted after the kill" counted
it_eq "counted once after the kill" "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" "$(sql "SELECT count (*) FROM messages")"
it_wait "nothing left owed after the kill" owed_none

# 4. acknowledged past the grace: a search every 100 ms, a grace of 1 s, moderation stopped 2 s
kill -TERM "$QY_PID_ingest2"; wait "$QY_PID_ingest2" 2>/dev/null || true
QY_INGEST_RESEND_GRACE_S=1 QY_INGEST_RESEND_INTERVAL_MS=100 QY_HTTP_PORT=$QY_HTTP_ingest \
    qy_start ingest3 "$QY_BUILD/services/ingest/qy-ingest"
qy_wait_health ingest3 "$QY_HTTP_ingest"
judged=$(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total)
total=0
for round in 1 2 3; do
    kill -STOP "$QY_PID_moderation1"
    load --messages 200 --batch 50 --run "late$round" > "$QY_RUN/late$round.out" 2>&1
    sleep 2
    kill -CONT "$QY_PID_moderation1"
    total=$((total + $(sed -n 's/.*accepted=\([0-9]*\).*/\1/p' "$QY_RUN/late$round.out")))
    it_wait "round $round counted" counted
    it_wait "round $round: nothing left owed" owed_none
done
sleep 1
it_eq "acknowledged late: nothing re-sent" "$(qy_metric "$QY_HTTP_ingest" qy_ingest_resent_total)" 0
it_eq "acknowledged late: judged once" "$(( $(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total) - judged ))" "$total"
it_done
