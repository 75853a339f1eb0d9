#!/usr/bin/env bash
# Dead letters replayed from the console (POST /api/v1/deadletters/<id>/replay,
# services/console/console_replay.c) with the effect of `qyctl deadletters
# replay`, the pipeline running:
#   1. scoring: an event its count script rejected (a corrupted Redis key)
#      is pushed back onto the scoring hop once the key is fixed, and
#      scoring counts it;
#   2. notifier: a delivery that ran out of attempts is requeued and
#      delivered exactly once;
#   3. ingest: events of a brand that did not exist yet are accepted once
#      it exists (by the platform admin: the rows name no brand id), are
#      archived, and a second replay is a duplicate that changes nothing;
#   4. an event that bypassed ingest is 409 and stays open; an unreachable
#      hop is recorded as a failed attempt and the row stays open;
#   5. roles: a store user is 403, another brand's HQ 404 (its row does not
#      exist for it), no CSRF token 403; every attempt is audited.
source "$(dirname "$0")/../lib.sh"
it_replay_chain "store create acme s1 一号店" "group create acme room1 一号群 --store s1"
Q=$QYCTL
cat > "$QY_RUN/events.jsonl" <<JSON
{"brand":"late","msg_id":"l1","group":"late-room","member":"u1","kind":"text","text":"大家好","event_time_us":${now}000000}
{"brand":"acme","msg_id":"s1","group":"room1","member":"u4","kind":"text","text":"今天的活动几点开始","event_time_us":${now}000003}
JSON
"$Q" send "$QY_RUN/events.jsonl" >/dev/null
"$Q" send --garbage --push "tcp://127.0.0.1:$QY_P_mf" >/dev/null
echo '{"key":"post-1","brand":"acme","kind":"post","text":"周末会员日","source":"campaign:test"}' \
    | "$Q" gateway push - --endpoint "tcp://127.0.0.1:$QY_P_nf" >/dev/null
settled () { [ "$(sql "SELECT count (*) FROM dead_letters")" -ge 5 ]; }
it_wait "5 dead letters" settled
it_eq "post-1 dead" "$(sql "SELECT status FROM deliveries WHERE key = 'post-1'")" dead

# ---- the console, with the doors it replays through
PW=correct-horse-1
for u in "acme hq1 hq" "acme st1 store --store s1" "other ohq hq" "- root admin"; do
    set -- $u
    echo "$PW" | "$Q" user create "$1" "$2" --role "$3" "${@:4}" >/dev/null
done
sql "ALTER ROLE qy_console LOGIN" >/dev/null
port=$(qy_free_port)
dead_front="tcp://127.0.0.1:$(qy_free_port)"
QY_CONSOLE_PG_DSN="host=127.0.0.1 port=$QY_PG_PORT dbname=qunyun user=qy_console" QY_CONSOLE_CONSOLE_PORT=$port \
QY_CONSOLE_CONSOLE_BIND=127.0.0.1 QY_HTTP_PORT=0 QY_CONSOLE_REPLAY_INGEST="$QY_INGEST_ENDPOINT" \
QY_CONSOLE_REPLAY_MODERATION="tcp://127.0.0.1:$QY_P_mf" QY_CONSOLE_REPLAY_SCORING="tcp://127.0.0.1:$QY_P_sf" \
QY_CONSOLE_REPLAY_CAMPAIGN="$dead_front" QY_CONSOLE_REPLAY_TIMEOUT_MS=1000 \
    qy_start console "$QY_BUILD/services/console/qy-console"
qy_wait_health console "$port"
U="http://127.0.0.1:$port"
login () {
    curl -s -c "$QY_RUN/$1.jar" -H 'Content-Type: application/json' -d "{\"login\":\"$1\",\"password\":\"$PW\"}" \
        "$U/api/v1/session" | jq -r '.csrf // empty' > "$QY_RUN/$1.csrf"
    [ -s "$QY_RUN/$1.csrf" ]
}
for u in hq1 st1 ohq root; do login $u || it_fail "login $u"; done
# replay USER ID [csrf|nocsrf]: the status, a space, and the body's done and result
replay () {
    local h=(-H "X-CSRF-Token: $(cat "$QY_RUN/$1.csrf")")
    [ "${3:-}" = nocsrf ] && h=()
    curl -s -o "$QY_RUN/body" -w '%{http_code}' -X POST -b "$QY_RUN/$1.jar" "${h[@]}" "$U/api/v1/deadletters/$2/replay"
    echo " $(jq -r 'if .error then .error else "\(.done) \(.result)" end' "$QY_RUN/body")"
}
s1=$(dl id scoring s1); post=$(dl id notifier post-1); l1=$(dl id ingest l1); junk=$(dl id moderation no-brand-id)

# ---- 5. roles and CSRF first: nothing changes
it_eq "store user: 403" "$(replay st1 "$s1")" "403 not allowed for role store"
it_eq "other brand: 404" "$(replay ohq "$s1")" "404 no such open dead letter"
it_eq "no CSRF token: 403" "$(replay hq1 "$s1" nocsrf | cut -d' ' -f1)" 403
it_eq "hq of acme cannot see late's row (no brand id)" "$(replay hq1 "$l1")" "404 no such open dead letter"
it_eq "s1 untouched" "$(dl "replays || ' ' || (replayed_at IS NULL)::int" scoring s1)" "0 1"

# ---- 4. what cannot succeed
# (set aside under the brand's code only, as the event named no brand id: the
# platform admin's to see)
it_eq "hq cannot see a row without brand id" "$(replay hq1 "$junk")" "404 no such open dead letter"
it_eq "bypassed ingest: 409" "$(replay root "$junk")" \
    "409 not replayable: the event did not come through ingest (no brand_id); send it to ingest"
it_eq "junk untouched" "$(dl "replays" moderation no-brand-id)" 0

# ---- 1. scoring: fixed, replayed, counted
R DEL "sc:w:{g:$room1}:$day" >/dev/null
it_eq "s1 replayed" "$(replay hq1 "$s1")" "200 true pushed to the scoring hop"
counted () { [ "$(R SISMEMBER "sc:ids:{g:$room1}:$day" s1) $(R HLEN "sc:m:{g:$room1}:$day")" = "1 1" ]; }
it_wait "s1 counted by scoring" counted
it_eq "s1 marked replayed" "$(dl "state || ' ' || replays" scoring s1)" "replayed 1"
it_eq "s1 again: pushed, counted once" "$(replay hq1 "$s1")" "200 true pushed to the scoring hop"
sleep 1
it_eq "still counted once" "$(R HLEN "sc:m:{g:$room1}:$day") $(R SCARD "sc:ids:{g:$room1}:$day")" "1 1"

# ---- 4. an unreachable hop: a failed attempt, recorded, the row open
sql "UPDATE dead_letters SET service = 'campaign' WHERE id = $s1" >/dev/null
it_eq "unreachable hop" "$(replay hq1 "$s1")" "200 false send to $dead_front failed: the hop did not take it in time"
it_eq "s1 open after the failed send" "$(dl "state || ' ' || replays" campaign s1)" "open 3"
sql "UPDATE dead_letters SET service = 'scoring' WHERE id = $s1" >/dev/null

# ---- 2. notifier: requeued, delivered once
it_eq "post-1 requeued" "$(replay hq1 "$post")" "200 true requeued"
delivered () { [ "$(sql "SELECT status FROM deliveries WHERE key = 'post-1'")" = delivered ]; }
it_wait "post-1 delivered" delivered
it_eq "post-1 again: nothing to do" "$(replay hq1 "$post")" "200 true nothing to do: the delivery is delivered"
it_eq "post-1 at the gateway once" "$(it_gateway_stat unique) $(it_gateway_stat duplicates)" "1 0"

# ---- 3. ingest: the brand created, the admin replays late's event
"$Q" brand create late Late >/dev/null
accepted () { [ "$(replay root "$l1")" = "200 true accepted by ingest" ]; }
it_wait "l1 accepted by ingest (once ingest forgot the brand was unknown)" accepted
it_eq "l1 archived" "$(sql "SELECT string_agg (m.msg_id, ' ') FROM messages m JOIN brands b ON b.id = m.brand_id WHERE b.code = 'late'")" l1
it_eq "l1 again: duplicate" "$(replay root "$l1")" "200 true duplicate: ingest already has it"
it_eq "l1 archived once" "$(sql "SELECT count (*) FROM messages WHERE msg_id = 'l1'")" 1

# ---- resolved rows are not replayed
sql "UPDATE dead_letters SET resolved_at = now () WHERE id = $junk" >/dev/null
it_eq "resolved: 404" "$(replay root "$junk")" "404 no such open dead letter"

# ---- every attempt audited with who made it and what happened
it_eq "audit" "$(sql "SELECT string_agg (actor || ' ' || (detail->>'done') || ' ' || regexp_replace (detail->>'result', '127\.0\.0\.1:[0-9]+', 'HOST'), '|' ORDER BY id)
                      FROM audit_log WHERE action = 'deadletter.replay' AND detail->>'result' NOT LIKE 'rejected again%'
                      AND detail->>'result' NOT LIKE 'ingest did not%'")" \
    "console:hq1 true pushed to the scoring hop|console:hq1 true pushed to the scoring hop|console:hq1 false send to tcp://HOST failed: the hop did not take it in time|console:hq1 true requeued|console:hq1 true nothing to do: the delivery is delivered|console:root true accepted by ingest|console:root true duplicate: ingest already has it"
it_done
