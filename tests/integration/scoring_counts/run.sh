#!/usr/bin/env bash
# The scoring library's Redis and PostgreSQL sides, case by case
# (scoring_counts.c): a batch of many brands; events older than the counter
# window; roll-ups that write a round of group-days with one statement per
# table, never write a day over with fewer events and never
# let one refused group-day hold back the others; expiry of group keys made
# late in a day; a leave handled before its join; a batch retry that does
# not run a rejected event again; the evaluation renewing silent members,
# folding old join cohorts, dropping groups whose keys are gone, and
# recording a state only once its signal went out; rounds that evaluate
# only the groups the roll-up marked, with a full sweep every few rounds.
source "$(dirname "$0")/../lib.sh"
it_servers
"$QYCTL" brand create sc "Scoring" --tz 0 >/dev/null
for i in 1 2 3 4 5 6 7 8; do "$QYCTL" group create sc "g$i" "群$i" >/dev/null; done
q () { psql "$QY_PG_DSN" -qAtc "$1"; }
BID=$(q "SELECT id FROM brands WHERE code = 'sc'")
mapfile -t G < <(q "SELECT id FROM groups WHERE brand_id = $BID ORDER BY code")
if "$QY_BUILD/tests/integration/qy_test_scoring_counts" "$QY_REDIS_PORT" "$QY_PG_DSN" "$BID" "${G[@]}" \
        > "$QY_RUN/scoring_counts.out" 2>&1; then
    grep -c '^ok' "$QY_RUN/scoring_counts.out" | sed 's/^/ok   checks passed: /'
else
    grep -v 'level=info' "$QY_RUN/scoring_counts.out"
    it_fail "scoring_counts"
fi
it_done
