#!/usr/bin/env bash
# qy_pg_pipeline (common/src/qy_pg.c): statements sent in libpq's pipeline mode with one sync, one
# round trip for all. pg_pipeline.c checks against a real PostgreSQL that each result reaches its
# own step, that a failing step is reported and undoes its transaction, that BEGIN and COMMIT may
# span two pipelines, that a stale prepared statement fails only its pipeline, and that a
# connection lost mid-pipeline is handled as a lost connection; that qy_pg_run_generic runs a
# statement's generic plan without ever planning it afresh, leaving the session's plan mode as it
# was; and that a connection carries the application name its process gave (a DSN's own wins).
# Here: the failures are logged with
# their context and SQLSTATE, as qy_pg_run logs them; then moderation's record phase and ingest's
# transaction use it.
source "$(dirname "$0")/../lib.sh"
it_servers
out=$QY_RUN/pg_pipeline.out
if "$QY_BUILD/tests/integration/qy_test_pg_pipeline" "$QY_PG_DSN" > "$out" 2> "$QY_RUN/pg_pipeline.log"; then
    it_eq "pipelines (pg_pipeline.c)" ok ok
else
    cat "$out" "$QY_RUN/pg_pipeline.log"
    it_fail "pipelines (pg_pipeline.c)"
fi
logged () { grep -c "msg=\"postgres error\" context=$1 sqlstate=$2 " "$QY_RUN/pg_pipeline.log" || true; }
it_eq "the division by zero logged with its step's context" "$(logged divide 22012)" 1
it_eq "the duplicate keys logged, each with its own context" "$(logged duplicate 23505)" 2
it_eq "the stale statement logged" "$(logged shape 0A000)" 1
it_eq "the lost connection logged" "$(grep -c 'msg="postgres pipeline broken" context=write error="connection lost"' "$QY_RUN/pg_pipeline.log" || true)" 1
it_eq "steps that never ran, and the session's end, are not logged as errors" \
    "$(grep -c 'context=write two\|context=commit \|context=terminate' "$QY_RUN/pg_pipeline.log" || true)" 0

# Moderation's record phase through the running services: a batch with violations and a
# customer's question costs two round trips (BEGIN, the member locks and the read; then the new
# rows, the questions and COMMIT), a batch of a question alone one. Prepared statements off, so
# that no PREPARE adds a round trip; the first batch (the brand's rules loaded) not counted.
"$QYCTL" brand create acme "Acme" >/dev/null
"$QYCTL" store create acme s1 "一号店" >/dev/null
for g in room1 room2; do "$QYCTL" group create acme $g "群 $g" --store s1 >/dev/null; done
"$QYCTL" rules load acme >/dev/null
QY_MODERATION_PG_PREPARE=false QY_INGEST_PG_PREPARE=false qy_start_services "$QY_BUILD"
M=$QY_HTTP_moderation1
q () { psql "$QY_PG_DSN" -qAtc "$1"; }
ev () {   # ev MSG GROUP MEMBER TEXT [ROLE]
    printf '{"brand":"acme","msg_id":"%s","group":"%s","member":"%s","nickname":"%s","kind":"text","text":"%s","role":"%s","event_time_us":%d}\n' \
        "$1" "$2" "$3" "$3" "$4" "${5:-member}" "$(( $(date +%s%N) / 1000 ))"
}
judged () { [ "$(qy_metric "$M" qy_moderation_events_total)" -ge "$1" ]; }
ev hello room1 u0 "大家好" | "$QYCTL" send - >/dev/null
it_wait "the first batch judged" judged 1
trips0=$(qy_metric "$M" qy_moderation_pg_round_trips_total) batches0=$(qy_metric "$M" qy_moderation_batches_total)
{
    ev ad1 room1 spam1 "加我微信 abc12345 有优惠"
    ev ad2 room2 spam2 "加我vx领取优惠券 13912345678"
    ev ad3 room1 spam3 "找我拿货 微信号 hjk77777"
    ev ask1 room2 u1 "请问这款面霜还有货吗？"
    ev ans1 room2 staff1 "有的亲，下单就发" staff
} | "$QYCTL" send - >/dev/null
it_wait "the violations' batch judged" judged 6
ev ask2 room1 u2 "会员价什么时候恢复呢" | "$QYCTL" send - >/dev/null
it_wait "the question's batch judged" judged 7
trips=$(( $(qy_metric "$M" qy_moderation_pg_round_trips_total) - trips0 ))
batches=$(( $(qy_metric "$M" qy_moderation_batches_total) - batches0 ))
it_eq "violations recorded" "$(q "SELECT string_agg (msg_id, ' ' ORDER BY msg_id) FROM violations WHERE msg_id LIKE 'ad%'")" "ad1 ad2 ad3"
it_eq "the questions recorded, the first answered" \
    "$(q "SELECT string_agg (msg_id || ':' || (answered_at IS NOT NULL), ' ' ORDER BY msg_id) FROM moderation_questions")" "ask1:true ask2:false"
it_eq "at most two round trips a batch, and fewer than one per statement" \
    "$([ "$batches" -ge 2 ] && [ "$trips" -le $(( 2 * batches )) ] && [ "$trips" -ge 2 ] && echo yes || echo "no: $trips in $batches batches")" yes

# Ingest's transaction through the same running services: BEGIN, the archive and COMMIT in one
# round trip when no event can change a membership (members already seen in their groups), and
# in two when one can (BEGIN and the archive, whose answer says which events are new; then the
# join and COMMIT). Every statement was its own round trip before.
I=$QY_HTTP_ingest
ingest_trips () {   # ingest_trips LINES…: "ROUND_TRIPS in COMMITS" for sending them as one batch
    local t0 c0 n=$(( $(qy_metric "$M" qy_moderation_events_total) + $# ))
    t0=$(qy_metric "$I" qy_ingest_pg_round_trips_total) c0=$(qy_metric "$I" qy_ingest_commit_seconds_count)
    printf '%s\n' "$@" | "$QYCTL" send - >/dev/null
    it_wait "the batch judged" judged "$n"
    echo "$(( $(qy_metric "$I" qy_ingest_pg_round_trips_total) - t0 )) in $(( $(qy_metric "$I" qy_ingest_commit_seconds_count) - c0 ))"
}
it_eq "known members' chat: one round trip" "$(ingest_trips "$(ev chat1 room1 u0 "今天天气不错")" "$(ev chat2 room1 u2 "谢谢")")" "1 in 1"
join=$(printf '{"brand":"acme","msg_id":"join1","group":"room2","member":"u2","kind":"join","event_time_us":%d}' "$(( $(date +%s%N) / 1000 ))")
it_eq "a join: two round trips" "$(ingest_trips "$join" "$(ev chat3 room1 u0 "好的")")" "2 in 1"
it_eq "the join recorded" "$(q "SELECT count (*) FROM memberships m JOIN groups g ON g.id = m.group_id JOIN members u ON u.id = m.member_id
                                WHERE g.code = 'room2' AND u.user_id = 'u2' AND m.joined_at IS NOT NULL")" 1
it_eq "every message archived once" "$(q "SELECT count (*), count (DISTINCT msg_id) FROM messages WHERE msg_id IN ('chat1', 'chat2', 'chat3', 'join1')")" "4|4"

# Moderation's finished marks go with the next batch's Redis round trip, or on their own once no
# event waits: the last batch's are there too, and every mark's key expires.
BID=$(q "SELECT id FROM brands WHERE code = 'acme'")
R () { redis-cli -p "$QY_REDIS_PORT" "$@"; }
keys=$(R --scan --pattern "md:ids:{b:$BID}:*")
it_eq "every judged message marked finished" "$(for k in $keys; do R SMEMBERS "$k"; done | sort | paste -sd' ')" \
    "ad1 ad2 ad3 ans1 ask1 ask2 chat1 chat2 chat3 hello join1"
it_eq "the marks expire" "$(for k in $keys; do R TTL "$k"; done | awk '$1 <= 0 { bad++ } END { print bad + 0 }')" 0
it_done
