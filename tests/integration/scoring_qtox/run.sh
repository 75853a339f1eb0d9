#!/usr/bin/env bash
# Scoring on a real chat log: 273 days of the #qtox IRC channel replayed as
# one group through the running services (ingest → moderation → scoring →
# campaign), judged as of the log's own end (eval.event_clock). The report
# must agree with what awk computes from the same file, independently:
# messages per speaker, the top-10 % share, joins, members who never spoke,
# and daily active counts. msg and action are messages; join is a join;
# quit and part are leaves; nick, notice and other lines are not sent.
source "$(dirname "$0")/../lib.sh"
DATA=${QY_SHARED_DATA:-$IT_CASE/../../../../shared/data}/activity/qtox_events.tsv
# Without the data a developer's run skips; CI must not pass without it.
if [ ! -r "$DATA" ]; then
    [ "${CI:-}" = true ] && { echo "FAIL: $DATA not readable (CI=true needs ../shared/data)"; exit 1; }
    echo "SKIP: $DATA not readable"; exit 0
fi
it_servers
# Days in the log's own zone: the brand's offset is 0 and times are read as UTC.
"$QYCTL" brand create qtox "qTox IRC" --tz 0 >/dev/null
"$QYCTL" group create qtox qtox "#qtox" >/dev/null
export QY_SCORING_ROLLUP_INTERVAL_MS=300 QY_SCORING_EVAL_INTERVAL_MS=1000 QY_SCORING_EVAL_EVENT_CLOCK=true
qy_start_services "$QY_BUILD"

# The events, as JSON lines for qyctl send (jq escapes the text).
jq -Rrc --argjson dummy 0 '
    split("\t") as $f | select($f[0] != "timestamp_local") |
    ($f[2]) as $e | select($e == "msg" or $e == "action" or $e == "join" or $e == "quit" or $e == "part") |
    {brand: "qtox", group: "qtox", member: $f[3], nickname: $f[3],
     msg_id: ("q" + ($f[0] | gsub("[-T:]"; "")) + "-" + $f[3] + "-" + $e),
     event_time_us: (($f[0] + "Z") | fromdateiso8601 | . * 1000000),
     kind: (if $e == "join" then "join" elif ($e == "quit" or $e == "part") then "leave" else "text" end)}
    + (if $e == "msg" or $e == "action" then {text: (if ($f[4] // "") == "" then "." else $f[4] end)} else {} end)
' "$DATA" > "$QY_RUN/events.jsonl"
# Two lines with the same second, nick and event would share an id: number repeats.
awk -F'"msg_id":"' '{ split($2, a, "\""); id = a[1]; n[id]++; if (n[id] > 1) sub("\"msg_id\":\"" id "\"", "\"msg_id\":\"" id "-" n[id] "\""); print }' \
    "$QY_RUN/events.jsonl" > "$QY_RUN/events2.jsonl"
SENT=$(wc -l < "$QY_RUN/events2.jsonl")
it_eq "distinct message ids" "$(grep -o '"msg_id":"[^"]*"' "$QY_RUN/events2.jsonl" | sort -u | wc -l)" "$SENT"

# Send in chunks; a chunk ingest refuses (backpressure) is sent again.
split -l 2000 "$QY_RUN/events2.jsonl" "$QY_RUN/chunk."
for c in "$QY_RUN"/chunk.*; do
    for try in $(seq 60); do
        "$QYCTL" send "$c" --batch 2000 --timeout-ms 60000 > "$c.ack" || true
        if [ "$(jq -r '.ok' "$c.ack" 2>/dev/null | sort -u)" = "true" ]; then break; fi
        sleep 1
    done
done
ACCEPTED=$(cat "$QY_RUN"/chunk.*.ack | jq -r '.results[] | select(.status != "rejected") | .msg_id' | sort -u | wc -l)
it_eq "events accepted" "$ACCEPTED" "$SENT"

# Independent figures from the file (awk only).
awk -F'\t' 'NR > 1 && ($3 == "msg" || $3 == "action") { n[$4]++ }
            END { for (k in n) print k "," n[k] }' "$DATA" | LC_ALL=C sort > "$QY_RUN/expect_speakers.txt"
MSGS=$(awk -F, '{ s += $2 } END { print s }' "$QY_RUN/expect_speakers.txt")
SPEAKERS=$(wc -l < "$QY_RUN/expect_speakers.txt")
TOP10=$(sort -t, -k2,2nr "$QY_RUN/expect_speakers.txt" | awk -F, -v n="$SPEAKERS" '
    BEGIN { k = int (n / 10); if (k * 10 < n) k++ } NR <= k { t += $2 } { s += $2 } END { printf "%.4f\n", t / s }')
JOINS=$(awk -F'\t' 'NR > 1 && $3 == "join"' "$DATA" | wc -l)
NICKS=$(awk -F'\t' 'NR > 1 && ($3 == "msg" || $3 == "action" || $3 == "join" || $3 == "quit" || $3 == "part") { print $4 }' "$DATA" | sort -u | wc -l)
NEVER=$((NICKS - SPEAKERS))
awk -F'\t' 'NR > 1 && ($3 == "msg" || $3 == "action") { d = substr ($1, 1, 10); if (!((d, $4) in seen)) { seen[d, $4] = 1; a[d]++ } }
            END { for (d in a) print d "," a[d] }' "$DATA" | sort > "$QY_RUN/expect_daily.txt"
echo "awk: messages=$MSGS speakers=$SPEAKERS top10=$TOP10 joins=$JOINS nicks=$NICKS never_spoke=$NEVER days=$(wc -l < "$QY_RUN/expect_daily.txt")"

# Wait for the chain and for an evaluation that has seen every member and message.
counted () { [ "$(qy_metric "$QY_HTTP_scoring1" qy_scoring_events_total)" -ge "$SENT" ]; }
it_wait "scoring to count every event" counted
settled () {
    [ "$(psql "$QY_PG_DSN" -qAtc "SELECT coalesce (sum (messages), 0) FROM daily_group_stats WHERE brand_id = (SELECT id FROM brands WHERE code = 'qtox')")" = "$MSGS" ] &&
    [ "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) || ':' || coalesce (sum (messages), 0) FROM member_scores WHERE brand_id = (SELECT id FROM brands WHERE code = 'qtox')")" = "$NICKS:$MSGS" ]
}
it_wait "roll-ups and an evaluation of every member" settled
W=(--group qtox --since 2016-06-01 --until 2017-02-28 --format csv)

"$QYCTL" report members qtox "${W[@]}" | awk -F, 'NR > 1 && $8 > 0 { print $2 "," $8 }' | LC_ALL=C sort > "$QY_RUN/got_speakers.txt"
if diff -q "$QY_RUN/expect_speakers.txt" "$QY_RUN/got_speakers.txt" >/dev/null; then echo "ok   messages per speaker ($SPEAKERS speakers)"
else it_fail "messages per speaker differ"; diff "$QY_RUN/expect_speakers.txt" "$QY_RUN/got_speakers.txt" | head; fi

"$QYCTL" report groups qtox "${W[@]}" --view speech > "$QY_RUN/speech.csv"
col () { awk -F, -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i } NR == 2 { print $k }' "$1"; }
it_eq "speakers" "$(col "$QY_RUN/speech.csv" speakers)" "$SPEAKERS"
it_eq "messages" "$(col "$QY_RUN/speech.csv" messages)" "$MSGS"
it_eq "top-10 % share" "$(col "$QY_RUN/speech.csv" top10_share)" "$TOP10"
it_eq "members who never spoke" "$(col "$QY_RUN/speech.csv" never_spoke)" "$NEVER"
it_eq "members seen" "$(col "$QY_RUN/speech.csv" members)" "$NICKS"

"$QYCTL" report groups qtox "${W[@]}" --view daily > "$QY_RUN/daily.csv"
it_eq "joins" "$(awk -F, 'NR > 1 { s += $5 } END { print s }' "$QY_RUN/daily.csv")" "$JOINS"
awk -F, 'NR > 1 && $4 > 0 { print $2 "," $4 }' "$QY_RUN/daily.csv" | sort > "$QY_RUN/got_daily.txt"
if diff -q "$QY_RUN/expect_daily.txt" "$QY_RUN/got_daily.txt" >/dev/null; then echo "ok   daily active counts ($(wc -l < "$QY_RUN/got_daily.txt") days)"
else it_fail "daily active counts differ"; diff "$QY_RUN/expect_daily.txt" "$QY_RUN/got_daily.txt" | head; fi

# The evaluation as of the log's end: a group state, and members in the contract table only while in the group.
it_eq "group evaluated" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM group_states gs JOIN groups g ON g.id = gs.group_id WHERE g.code = 'qtox' AND gs.state IN ('growing','healthy','declining','zombie')")" 1
it_eq "member_states holds members in the group only" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM member_states s JOIN member_scores m USING (group_id, member_id) WHERE NOT m.in_group")" 0
"$QYCTL" report groups qtox --group qtox --since 2016-06-01 --until 2017-02-28 | tail -4
"$QYCTL" report members qtox --group qtox --since 2016-06-01 --until 2017-02-28 --limit 5
it_done
