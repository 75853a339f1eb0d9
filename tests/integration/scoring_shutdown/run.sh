#!/usr/bin/env bash
# Scoring asked to stop while it holds a batch it cannot count (its Redis is
# away): it does not drop the batch. After a few seconds' grace the events
# are set aside as dead letters ("not counted: Redis unavailable at
# shutdown"), to be replayed onto the scoring hop once Redis is back.
source "$(dirname "$0")/../lib.sh"
it_servers
"$QYCTL" brand create sd "Shutdown" >/dev/null
"$QYCTL" group create sd room1 "会员群" >/dev/null
qy_start_services "$QY_BUILD"
# The running replica makes way for one whose Redis is not there.
kill -TERM "$QY_PID_scoring1"
for _ in $(seq 100); do kill -0 "$QY_PID_scoring1" 2>/dev/null || break; sleep 0.1; done
QY_REDIS_PORT=$(qy_free_port) QY_HTTP_PORT=$(qy_free_port) qy_start scoring2 "$QY_BUILD/services/scoring/qy-scoring"
sleep 1

now=$(date +%s)
for i in 1 2 3 4 5; do
    echo "{\"brand\":\"sd\",\"msg_id\":\"sd-$i\",\"group\":\"room1\",\"member\":\"u$i\",\"kind\":\"text\",\"text\":\"大家好\",\"event_time_us\":$(( (now - 10 + i) * 1000000 ))}"
done > "$QY_RUN/events.jsonl"
"$QYCTL" send "$QY_RUN/events.jsonl" > "$QY_RUN/acks.jsonl"
judged () { [ "$(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total)" -ge 5 ]; }
it_wait "moderation to pass the events on" judged
sleep 1     # scoring2 has taken them and is retrying Redis

kill -TERM "$QY_PID_scoring2"
for _ in $(seq 100); do kill -0 "$QY_PID_scoring2" 2>/dev/null || break; sleep 0.1; done
it_eq "scoring2 stopped" "$(kill -0 "$QY_PID_scoring2" 2>/dev/null && echo running || echo stopped)" stopped
it_eq "the uncounted batch, set aside" \
    "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) || ' ' || min (reason) FROM dead_letters WHERE service = 'scoring' AND brand_code = 'sd'")" \
    "5 not counted: Redis unavailable at shutdown"
it_done
