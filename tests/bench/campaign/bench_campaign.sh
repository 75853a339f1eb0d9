#!/usr/bin/env bash
# How fast campaign plans and sends one SOP step to many groups: N groups
# (default 2000), one scheduled step due a few seconds after start; prints
# the planning time, how long after the due time the last job was sent, the
# send rate, and when notifier had delivered all of them to the gateway
# simulator. Not a test: it prints numbers.
#   bash tests/bench/campaign/bench_campaign.sh BUILD_DIR [GROUPS]
set -euo pipefail
source "$(dirname "$0")/../../../tools/lib/env.sh"
qy_script_args 2 "$@"
BUILD=$(cd "${1:?usage: bench_campaign.sh BUILD_DIR [GROUPS]}" && pwd)
N=${2:-2000}
source "$(dirname "$0")/../lib.sh"
bench_setup campaign "$BUILD" "$N"
# Due at 10:00 local (+08:00) today; the campaign clock starts at 09:59:50.
L0=$(( ($(date +%s) + 8 * 3600) / 86400 * 86400 - 8 * 3600 ))
DAY=$(date -u -d @$(( L0 + 8 * 3600 )) +%F)
cat > "$QY_RUN/def.json" <<JSON
{ "brand": "bench", "guards": { "promo_per_day": 5 },
  "campaigns": [ { "name": "bench", "trigger": { "type": "schedule", "dates": ["$DAY"] },
                   "steps": [ { "at": "10:00", "template": "{group}：早上好" } ] } ] }
JSON
"$QYCTL" campaign apply "$QY_RUN/def.json" --yes >/dev/null
START=$(date +%s)
export QY_CAMPAIGN_CLOCK_OFFSET_S=$(( L0 + 10 * 3600 - 10 - START ))
export QY_CAMPAIGN_PLAN_INTERVAL_MS=1000 QY_CAMPAIGN_RUN_INTERVAL_MS=100
qy_start_services "$BUILD"
due_wall=$(( START + 10 ))
count () { psql "$QY_PG_DSN" -qAtc "$1"; }
while [ "$(count "SELECT count (*) FROM campaign_jobs")" -lt "$N" ]; do sleep 0.05; done
echo "planned $N jobs $(( $(date +%s) - START )) s after start (due at +10 s)"
while [ "$(count "SELECT count (*) FROM campaign_jobs WHERE status = 'sent'")" -lt "$N" ]; do sleep 0.05; done
sent_ms=$(( $(date +%s%N) / 1000000 - due_wall * 1000 ))
span=$(count "SELECT round (extract (epoch FROM max (sent_at) - min (sent_at)) * 1000) FROM campaign_jobs")
echo "all $N sent ${sent_ms} ms after they fell due; first to last send: ${span} ms ($(( N * 1000 / (span > 0 ? span : 1) )) jobs/s)"
while [ "$(curl -fs "http://127.0.0.1:$GW_PORT/stats" | jq -r .unique)" -lt "$N" ]; do sleep 0.1; done
echo "all $N delivered to the gateway $(( $(date +%s%N) / 1000000 - due_wall * 1000 )) ms after they fell due"
