#!/usr/bin/env bash
# Scoring asked to stop while it holds a batch it cannot count (its Redis is
# away) and more events wait in its socket: it drops neither. After a few
# seconds' grace the events are set aside as dead letters ("not counted:
# Redis unavailable at shutdown"), to be replayed onto the scoring hop once
# Redis is back.
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

# The first event is the batch scoring2 holds, retrying Redis; the other four
# wait queued in its socket: both are set aside, the queue even though the
# batch in hand used the whole grace.
now=$(date +%s)
for i in 1 2 3 4 5; do
    echo "{\"brand\":\"sd\",\"msg_id\":\"sd-$i\",\"group\":\"room1\",\"member\":\"u$i\",\"kind\":\"text\",\"text\":\"大家好\",\"event_time_us\":$(( (now - 10 + i) * 1000000 ))}"
done > "$QY_RUN/events.jsonl"
judged () { [ "$(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total)" -ge "$1" ]; }
head -1 "$QY_RUN/events.jsonl" | "$QYCTL" send - > "$QY_RUN/acks.jsonl"
it_wait "moderation to pass the first event on" judged 1
sleep 1     # scoring2 has taken it and is retrying Redis
tail -n +2 "$QY_RUN/events.jsonl" | "$QYCTL" send - >> "$QY_RUN/acks.jsonl"
it_wait "moderation to pass the others on" judged 5
sleep 1     # queued in scoring2's socket

kill -TERM "$QY_PID_scoring2"
for _ in $(seq 100); do kill -0 "$QY_PID_scoring2" 2>/dev/null || break; sleep 0.1; done
it_eq "scoring2 stopped" "$(kill -0 "$QY_PID_scoring2" 2>/dev/null && echo running || echo stopped)" stopped
it_eq "the uncounted batch, set aside" \
    "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) || ' ' || min (reason) FROM dead_letters WHERE service = 'scoring' AND brand_code = 'sd'")" \
    "5 not counted: Redis unavailable at shutdown"
it_done
