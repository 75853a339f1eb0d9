#!/usr/bin/env bash
# The console in a real browser (console.test.mjs): Debian's chromium,
# playwright-core pinned by package-lock.json (npm ci; no browser is ever
# downloaded), a version that runs on Debian 12's nodejs (18). The same brands,
# users and archive as the console_api case.
# Screenshots are kept in BUILD/browser-shots.
source "$(dirname "$0")/../integration/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
# Debian's npm conflicts with a nodejs that ships its own; install it only when missing.
command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends npm >/dev/null; }
[ -x /usr/bin/chromium ] || { echo "FAIL: /usr/bin/chromium missing (QY_PACKAGES has it: run qy_install_deps)"; exit 1; }
# Debian 12's nodejs is 18: the pinned playwright-core must run on it, whatever node this machine
# has (1.62 and later want 20, and a machine with a newer node would not notice).
engines=$(jq -r '.packages["node_modules/playwright-core"].engines.node' "$HERE/package-lock.json")
[[ $engines =~ ^\>=([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -le 18 ] \
    || { echo "FAIL: the pinned playwright-core wants node $engines; Debian 12 has 18"; exit 1; }
(cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
source "$HERE/../integration/console_api/setup.sh"
psql "$QY_PG_DSN" -q -v ON_ERROR_STOP=1 -f "$HERE/../integration/console_api/extra.sql" >/dev/null
start_console console
SHOTS=$QY_BUILD/browser-shots
rm -rf "$SHOTS"; mkdir -p "$SHOTS" "$QY_RUN/profile"
CONSOLE_URL="http://127.0.0.1:$PORT_console" LOGIN=st1 PASSWORD=$PW SHOTS=$SHOTS PROFILE=$QY_RUN/profile HQ_LOGIN=hq1 \
    node "$HERE/console.test.mjs" || it_fail "browser steps"
it_eq "confirmed in PostgreSQL by the store user" "$(q "SELECT status || ' ' || decided_by || ' ' || decision_reason FROM violations WHERE msg_id = 'ad1'")" \
    "confirmed console:st1 确认广告"
it_eq "task closed by the store user" "$(q "SELECT state || ' ' || closed_by || ' ' || note FROM staff_tasks WHERE id = 101")" \
    "done_by_note console:st1 已在手机上撤回"
it_eq "rules saved by hq1 from the page" "$(q "SELECT (pattern LIKE E'%\\n第2条消息') || ' ' || (SELECT actor FROM audit_log WHERE action = 'rules.save' ORDER BY id DESC LIMIT 1)
                                           FROM rules r JOIN brands b ON b.id = r.brand_id WHERE b.code = 'acme' AND r.name = 'fraud.keyword'")" "true console:hq1"
it_eq "campaign applied and paused by hq1" "$(q "SELECT enabled FROM campaigns WHERE name = 'browser-sop'")" f
it_eq "screenshots" "$(ls "$SHOTS" | grep -c '^[1-9]-.*\.png$')" 9
