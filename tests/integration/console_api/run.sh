#!/usr/bin/env bash
# The console's HTTP API (services/console, docs/api.md) against a real
# PostgreSQL, connected as qy_console:
#   1. every endpoint for every role (expected/matrix.txt): the 401s, the
#      404s of another store's group, member, message and violation, the
#      403s of a mutation outside the role, a reviewer's queue-only world;
#   2. what each role sees (groups lists by scope, CSV with a BOM);
#   3. login limits (lockout per login and per address), CSRF, sessions
#      shared by two replicas, logout;
#   4. API tokens: role-scoped, revocable, expiring, never shown again;
#   5. bad input: malformed JSON, a huge body, invalid UTF-8 → clear JSON
#      error, and the service still up;
#   6. an overturn lifts the strike and the mute and teaches the model as
#      qyctl does; archive search finds a Chinese phrase, highlights it and
#      is audited; tags and positioning are set and audited;
#   7. security headers; SIGTERM; the console refuses a role that
#      bypasses row-level security.
source "$(dirname "$0")/../lib.sh"
source "$IT_CASE/setup.sh"
it_eq "password from argv refused" "$("$Q" user create acme eve --role hq --password x 2>&1 | head -1)" "qyctl: unknown option --password for 'user create'"

rc=0; QY_CONSOLE_PG_DSN="$QY_PG_DSN" QY_CONSOLE_CONSOLE_PORT=0 timeout 10 "$QY_BUILD/services/console/qy-console" \
    >"$QY_RUN/owner.log" 2>&1 || rc=$?
it_eq "refuses the owner role" "$rc $(grep -c 'bypasses row-level security' "$QY_RUN/owner.log")" "2 1"
start_console console1
start_console console2
U="http://127.0.0.1:$PORT_console1"

# login USER [PORT]: a cookie jar per user, its CSRF token in $QY_RUN/USER.csrf
login () {
    curl -s -c "$QY_RUN/$1.jar" -H 'Content-Type: application/json' -d "{\"login\":\"$1\",\"password\":\"$PW\"}" \
        "$U/api/v1/session" | jq -r '.csrf // empty' > "$QY_RUN/$1.csrf"
    [ -s "$QY_RUN/$1.csrf" ]
}
# api USER METHOD PATH [BODY]: prints the status, then the body, on one line each
api () {
    local user=$1 method=$2 path=$3 body=${4:-}
    local args=(-s -o "$QY_RUN/body" -w '%{http_code}' -X "$method" -b "$QY_RUN/$user.jar")
    [ "$method" = GET ] || args+=(-H "X-CSRF-Token: $(cat "$QY_RUN/$user.csrf")" -H 'Content-Type: application/json')
    [ -n "$body" ] && args+=(--data-binary "$body")
    curl "${args[@]}" "$U$path"; echo; cat "$QY_RUN/body"
}
body () { api "$@" | tail -n +2; }
status () { api "$@" | head -1; }
items () { api "$1" GET "$2" | tail -n +2 | jq -r '[.items[] | .code] | join(",")'; }

it_eq "no session: 401" "$(curl -s -o /dev/null -w '%{http_code}' "$U/api/v1/groups")" 401
for u in root hq1 reg1 st1 rev1 ohq; do login $u || it_fail "login $u"; done

# ---- 2. what each scope sees
it_eq "hq sees the brand's groups" "$(items hq1 /api/v1/groups)" room1,room2,room3
it_eq "region sees its region's" "$(items reg1 /api/v1/groups)" room1,room2
it_eq "store sees its own" "$(items st1 /api/v1/groups)" room1
it_eq "other brand sees its own" "$(items ohq /api/v1/groups)" oroom
it_eq "admin sees every brand" "$(items root '/api/v1/groups?sort=code')" oroom,room1,room2,room3
it_eq "admin as one brand" "$(items root '/api/v1/groups?brand=other')" oroom
it_eq "filter and sort" "$(items hq1 '/api/v1/groups?state=healthy&sort=-code')" room2,room1
it_eq "pages" "$(api hq1 GET '/api/v1/groups?limit=2' | tail -n +2 | jq -c '[.next, .total, (.items | length)]')" '["2",3,2]'
it_eq "bad sort" "$(api hq1 GET '/api/v1/groups?sort=password' | tail -n +2 | jq -r .error)" \
    "bad parameter sort: want code, name, store, health, size, state, type, activity or created (- for descending)"
curl -s -b "$QY_RUN/st1.jar" "$U/api/v1/groups.csv" > "$QY_RUN/groups.csv"
it_eq "CSV starts with a BOM" "$(head -c 3 "$QY_RUN/groups.csv" | od -An -tx1 | tr -d ' ')" efbbbf
it_eq "CSV: Chinese header, the store's group" "$(tail -c +4 "$QY_RUN/groups.csv" | cut -d, -f1-3 | tr -d '\r' | paste -sd'|')" "群编号,群名称,门店|room1,群1,s1"

# ---- 1. every endpoint for every role
ROOM1_MSG=$(curl -s -b "$QY_RUN/hq1.jar" "$U/api/v1/search?group=room1&limit=1" | jq -r '.items[0].id')
ROOM3_MSG=$(curl -s -b "$QY_RUN/hq1.jar" "$U/api/v1/search?group=room3&limit=1" | jq -r '.items[0].id')
V1=$(q "SELECT id FROM violations WHERE msg_id = 'room1-m2'")
V3=$(q "SELECT id FROM violations WHERE msg_id = 'room3-m2'")
DL=$(q "SELECT id FROM dead_letters LIMIT 1")
CAMPAIGN_DOC='{"brand":"acme","group_guards":{"room1":{"quiet_start":"12:00","quiet_end":"13:00"}},
  "campaigns":[{"name":"daily-sop","trigger":{"type":"schedule","dates":["2025-11-20"]},
                "steps":[{"at":"08:00","template":"早上好"},{"best_time":true,"promotional":true,"template":"限时福利"}]}]}'
ENDPOINTS="GET:/api/v1/session GET:/api/v1/overview GET:/api/v1/stores GET:/api/v1/groups GET:/api/v1/groups.csv
GET:/api/v1/groups/room1 GET:/api/v1/groups/room1/profile GET:/api/v1/groups/room3 GET:/api/v1/groups/room3/profile
GET:/api/v1/members/u1 GET:/api/v1/members/u3 GET:/api/v1/search?q=优惠券 GET:/api/v1/messages/$ROOM1_MSG
GET:/api/v1/messages/$ROOM3_MSG GET:/api/v1/queue GET:/api/v1/campaigns GET:/api/v1/channels GET:/api/v1/rules
GET:/api/v1/deliveries GET:/api/v1/deadletters GET:/api/v1/audit GET:/api/v1/tokens GET:/api/v1/nothing
PATCH:/api/v1/groups/room1 PATCH:/api/v1/groups/room3 POST:/api/v1/queue/decide#$V1 POST:/api/v1/queue/decide#$V3
POST:/api/v1/deadletters/$DL/resolve POST:/api/v1/deadletters/$DL/replay DELETE:/api/v1/groups/room1
GET:/api/v1/tasks GET:/api/v1/tasks/101 GET:/api/v1/tasks/103 GET:/api/v1/tasks/report
POST:/api/v1/tasks/101/done POST:/api/v1/tasks/103/done POST:/api/v1/rules/backtest POST:/api/v1/rules
POST:/api/v1/campaigns/validate POST:/api/v1/campaigns/daily/pause POST:/api/v1/campaigns/apply
GET:/api/v1/campaigns/report"
: > "$QY_RUN/actual/matrix.txt"
for e in $ENDPOINTS; do
    method=${e%%:*}; path=${e#*:}; vid=${path#*#}; path=${path%%#*}
    line=$(printf '%-7s %-28s' "$method" "$(echo "$path" | sed "s|$ROOM1_MSG|ROOM1_MSG|; s|$ROOM3_MSG|ROOM3_MSG|; s|/$DL/|/DL/|")")
    for u in root hq1 reg1 st1 rev1 ohq; do
        body=""
        case $path in
            */groups/*) body='{"tags":["新品"]}' ;;
            */decide) body="{\"ids\":[$vid],\"decision\":\"confirm\",\"reason\":\"matrix\"}"
                      q "UPDATE violations SET status = 'open' WHERE id = $vid" ;;
            */resolve) body='{"reason":"matrix"}'; q "UPDATE dead_letters SET resolved_at = NULL WHERE id = $DL" ;;
            */replay) q "UPDATE dead_letters SET resolved_at = NULL WHERE id = $DL" ;;
            */validate|*/apply) body="$CAMPAIGN_DOC" ;;
            */pause) body='{}' ;;
            */backtest) body=$(jq -Rsc '{rules: ., days: 1}' "$QY_ROOT/services/moderation/judge/default_rules.tsv") ;;
            */rules) body=$(grep -E '^(name|ad.trade)\b' "$QY_ROOT/services/moderation/judge/default_rules.tsv" | jq -Rsc '{rules: .}') ;;
            */done) body='{"note":"matrix"}'; q "UPDATE staff_tasks SET state = 'open', closed_at = NULL WHERE id IN (101, 103)" ;;
        esac
        p=$path; [ "$u" = root ] && p="$path$([ "${path#*\?}" = "$path" ] && echo '?' || echo '&')brand=acme"
        line="$line $(printf '%-4s' "$(status $u "$method" "$p" "$body")")"
    done
    echo "$line" | sed 's/ *$//' >> "$QY_RUN/actual/matrix.txt"
done
it_expect matrix

# ---- staff tasks: lists by scope and state, evidence, done by note, the report
ids () { body "$1" GET "$2" | jq -r '[.items[].id] | join(",")'; }
it_eq "tasks: the store's, every state" "$(ids st1 '/api/v1/tasks?state=all')" 102,101
it_eq "tasks: hq's open ones" "$(ids hq1 /api/v1/tasks)" 103,101
it_eq "tasks: overdue" "$(ids hq1 '/api/v1/tasks?state=overdue') $(body hq1 GET '/api/v1/tasks?state=overdue' | jq -r '.items[0].overdue')" "101 true"
it_eq "tasks: done" "$(ids hq1 '/api/v1/tasks?state=done')" 102
it_eq "tasks: by store, by assignee, by kind" "$(ids hq1 '/api/v1/tasks?store=s3&state=all') $(ids hq1 '/api/v1/tasks?assignee=boss1&state=all') $(ids hq1 '/api/v1/tasks?kind=post&state=all')" "103 102,101 102"
it_eq "tasks: pages" "$(body hq1 GET '/api/v1/tasks?state=all&limit=2' | jq -c '[.total, .next, (.items | length)]') $(ids hq1 '/api/v1/tasks?state=all&limit=2&after=2')" '[3,"2",2] 101'
it_eq "tasks: bad state" "$(api hq1 GET '/api/v1/tasks?state=lost' | jq -rs '"\(.[0]) \(.[1].error)"')" "400 bad parameter state: want open, overdue, done, closed, all or one task state"
it_eq "tasks: bad limit" "$(status hq1 GET '/api/v1/tasks?limit=0')" 400
t101=$(body st1 GET /api/v1/tasks/101)
it_eq "task: its violation and message" "$(echo "$t101" | jq -r '[.kind, .group, .store, .violation.category, .message.msg_id, .message.text] | join(" ")')" "recall_warn room1 s1 ad ad1 加我微信 wx88776655 领优惠券"
it_eq "task: the message opens in the archive" "$(body st1 GET "/api/v1/messages/$(echo "$t101" | jq -r .message.id)" | jq -r .msg_id)" ad1
it_eq "task: a post's campaign step" "$(body st1 GET /api/v1/tasks/102 | jq -r '[.campaign_step.campaign, .campaign_step.status, .close_evidence] | join(" ")')" "daily sent wecom_sends sent msgid=m1"
it_eq "task: bad id" "$(status st1 GET /api/v1/tasks/abc)" 400
it_eq "done: a note is required" "$(api st1 POST /api/v1/tasks/101/done '{"note":""}' | jq -rs '"\(.[0]) \(.[1].error)"')" '400 send {"note": "what was done"} (1–1000 bytes)'
it_eq "done by note" "$(body st1 POST /api/v1/tasks/101/done '{"note":"已在手机上撤回"}' | jq -c .)" '{"id":101,"state":"done_by_note"}'
it_eq "done by note: the row" "$(q "SELECT state || ' ' || closed_by || ' ' || note || ' ' || close_evidence || ' ' || (closed_at IS NOT NULL) FROM staff_tasks WHERE id = 101")" "done_by_note console:st1 已在手机上撤回 note: 已在手机上撤回 true"
it_eq "done by note: audited" "$(q "SELECT actor || ' ' || object_id || ' ' || (detail ->> 'note') FROM audit_log WHERE action = 'task.done_by_note' ORDER BY id DESC LIMIT 1")" "console:st1 101 已在手机上撤回"
it_eq "done twice" "$(api st1 POST /api/v1/tasks/101/done '{"note":"again"}' | jq -rs '"\(.[0]) \(.[1].error)"')" "409 task 101 is done_by_note, not open"
it_eq "done: not found" "$(status st1 POST /api/v1/tasks/99999/done '{"note":"x"}')" 404
"$Q" tasks report acme --format json > "$QY_RUN/tasks-report.json"
norm () { jq -S -c '[.[] | with_entries(.value |= tostring)]'; }
it_eq "report: qyctl's figures per store" "$(body hq1 GET /api/v1/tasks/report | jq .stores | norm)" "$(jq '."staff tasks per store"' "$QY_RUN/tasks-report.json" | norm)"
it_eq "report: qyctl's figures per staff member" "$(body hq1 GET /api/v1/tasks/report | jq .staff | norm)" "$(jq '."staff tasks per staff member (group owner)"' "$QY_RUN/tasks-report.json" | norm)"
it_eq "report: the store's own" "$(body st1 GET /api/v1/tasks/report | jq -c '[.stores[] | [.store, .kind, .tasks, .completion_pct]]')" '[["s1","post",1,100],["s1","recall_warn",1,100]]'
it_eq "the notices' link opens the pages" "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$U/tasks/101")" "200 text/html; charset=utf-8"

# ---- rules: a proposed rule set tried on the archive, as qyctl moderation backtest does
grep -v '^ad.wechat_id' "$QY_ROOT/services/moderation/judge/default_rules.tsv" > "$QY_RUN/proposed.tsv"
bt=$(body hq1 POST /api/v1/rules/backtest "$(jq -Rsc '{rules: ., days: 1, examples: 5}' "$QY_RUN/proposed.tsv")")
"$Q" moderation backtest acme --days 1 --rules "$QY_RUN/proposed.tsv" --examples 5 --format json > "$QY_RUN/backtest.json"
it_eq "backtest: the WeChat id no longer flagged" "$(echo "$bt" | jq -c '[.rules[] | select(.rule == "ad.wechat_id") | .hits_now, .proposed] + [.changed[0].msg_id]')" '[1,0,"ad1"]'
it_eq "backtest: qyctl's figures" "$(echo "$bt" | jq -c '[.rules, .verdict_changes, .changed, .summary.messages]')" \
    "$(jq -c '[.rules, .verdict_changes, .changed, .summary.messages]' "$QY_RUN/backtest.json")"
it_eq "backtest: audited with the user" "$(q "SELECT (detail ->> 'messages') || ' ' || actor FROM audit_log WHERE action = 'rules.backtest' AND actor = 'console:hq1' ORDER BY id DESC LIMIT 1")" "$(echo "$bt" | jq -r .summary.messages) console:hq1"
it_eq "backtest: a bad rule row" "$(api hq1 POST /api/v1/rules/backtest '{"rules":"only-a-name\n"}' | jq -rs '"\(.[0]) \(.[1].error | split(":")[0])"')" "400 rules"
it_eq "backtest: no rules" "$(status hq1 POST /api/v1/rules/backtest '{"days":3}') $(status hq1 POST /api/v1/rules/backtest '{"rules":"x","days":400}')" "400 400"

# ---- rules saved after the backtest, as qyctl rules load --file stores them: a weight and a
# dictionary entry changed; checked whole first (nothing stored when a row is wrong); audited
printf 'name\tkind\tcategory\tweight\tpattern\n' > "$QY_RUN/save.tsv"
grep '^ad.trade' "$QY_ROOT/services/moderation/judge/default_rules.tsv" | awk -F'\t' -v OFS='\t' '{$4 = "0.75"; $5 = $5 "\\n代购"; print}' >> "$QY_RUN/save.tsv"
saved=$(body hq1 POST /api/v1/rules "$(jq -Rsc '{rules: .}' "$QY_RUN/save.tsv")")
it_eq "rules saved" "$(echo "$saved" | jq -c .)" '{"saved":1,"rules":["ad.trade"]}'
it_eq "the rule as saved" "$(q "SELECT weight || ' ' || (pattern LIKE E'%\\n代购') FROM rules r JOIN brands b ON b.id = r.brand_id WHERE b.code = 'acme' AND r.name = 'ad.trade'")" "0.75 true"
it_eq "the other brand's rule untouched" "$(q "SELECT weight FROM rules r JOIN brands b ON b.id = r.brand_id WHERE b.code = 'other' AND r.name = 'ad.trade'")" 0.25
it_eq "rules save audited" "$(q "SELECT actor || ' ' || (detail ->> 'rules') FROM audit_log WHERE action = 'rules.save' ORDER BY id DESC LIMIT 1")" 'console:hq1 ["ad.trade"]'
printf 'name\tkind\tcategory\tweight\tpattern\nad.trade\tkeyword\tad\t0.1\tx\nbad.one\tregex\tad\t1\t(unclosed\n' > "$QY_RUN/bad.tsv"
it_eq "a rule set the judge rejects: 400, nothing stored" "$(status hq1 POST /api/v1/rules "$(jq -Rsc '{rules: .}' "$QY_RUN/bad.tsv")") $(q "SELECT weight FROM rules r JOIN brands b ON b.id = r.brand_id WHERE b.code = 'acme' AND r.name = 'ad.trade'")" "400 0.75"
it_eq "rules save: a bad row, no rules" "$(status hq1 POST /api/v1/rules '{"rules":"only-a-name\n"}') $(status hq1 POST /api/v1/rules '{}')" "400 400"
it_eq "rules save: no CSRF token" "$(curl -s -o /dev/null -w '%{http_code}' -b "$QY_RUN/hq1.jar" -H 'Content-Type: application/json' -d '{"rules":"x"}' "$U/api/v1/rules")" 403

# ---- campaigns: a definition checked whole as qyctl campaign apply --dry-run does; pause, resume
it_eq "campaign definition checked" "$(body hq1 POST /api/v1/campaigns/validate "$CAMPAIGN_DOC" | jq -c .)" \
    '{"ok":true,"written":false,"campaigns":[{"name":"daily-sop","trigger":"schedule","steps":2,"enabled":true}]}'
echo "$CAMPAIGN_DOC" | jq -c '.campaigns[0].steps[1].at = "09:00"' > "$QY_RUN/bad-campaign.json"
cerr () { api hq1 POST /api/v1/campaigns/validate "$1" | jq -rs '"\(.[0]) \(.[1].error)"'; }
it_eq "campaign: the parser's error, as qyctl says it" "$(cerr "$(cat "$QY_RUN/bad-campaign.json")")" \
    "400 $("$Q" campaign apply "$QY_RUN/bad-campaign.json" --dry-run 2>&1 | sed "s|^qyctl: $QY_RUN/bad-campaign.json: ||")"
it_eq "campaign: unknown key" "$(cerr '{"brand":"acme","campaign":[]}')" '400 unknown key "campaign" (brand, guards, group_guards, campaigns)'
it_eq "campaign: another brand" "$(cerr '{"brand":"other"}')" '400 brand: "other" is not the brand this console user works in (acme)'
it_eq "campaign: a group not in the brand" "$(cerr '{"brand":"acme","group_guards":{"oroom":{}}}')" "400 group_guards.oroom: no such group"
it_eq "campaign: defined twice" "$(cerr "$(echo "$CAMPAIGN_DOC" | jq -c '.campaigns += .campaigns')")" '400 campaign "daily-sop" is defined twice'
body hq1 POST /api/v1/campaigns/validate "$(echo "$CAMPAIGN_DOC" | jq -c '.campaigns[0].name = "only-checked"')" >/dev/null
it_eq "campaign: nothing written" "$(q "SELECT count (*) FROM campaigns WHERE name = 'only-checked'")" 0
# Applied as qyctl campaign apply writes it (the matrix above applied it already once per role allowed).
it_eq "campaign applied" "$(q "SELECT enabled::text || ' ' || version || ' ' || trigger FROM campaigns WHERE name = 'daily-sop'") $(q "SELECT g.code || ' ' || (c.settings ->> 'quiet_start') FROM campaign_guards c JOIN groups g ON g.id = c.group_id")" \
    "true 1 schedule room1 12:00"
it_eq "campaign apply audited" "$(q "SELECT count (*) FROM audit_log WHERE action = 'campaign.apply' AND actor IN ('console:hq1', 'console:root') AND object_id = 'daily-sop'") $(q "SELECT count (*) FROM audit_log WHERE action = 'campaign.guards' AND actor = 'console:hq1' AND object_id = 'room1'")" "2 1"
q "INSERT INTO campaign_jobs (brand_id, campaign_id, step, group_id, period, due_at, status, delivery_key, text)
   SELECT c.brand_id, c.id, 1, g.id, 'd9', now () + interval '1 day', 'pending', 'cj-pending', '早上好'
   FROM campaigns c JOIN groups g ON g.brand_id = c.brand_id AND g.code = 'room1' WHERE c.name = 'daily-sop'"
CHANGED=$(echo "$CAMPAIGN_DOC" | jq -c '.campaigns[0].steps[0].template = "早上好！"')
it_eq "re-planning must be asked for" "$(api hq1 POST /api/v1/campaigns/apply "$CHANGED" | jq -rs '"\(.[0]) \(.[1].error)"')" \
    "409 these campaigns have 1 planned step not yet sent, which applying re-plans: send ?replan=yes"
it_eq "applied with replan=yes" "$(body hq1 POST '/api/v1/campaigns/apply?replan=yes' "$CHANGED" | jq -c '.campaigns[0] | [.created, .version, .replanned]') $(q "SELECT count (*) FROM campaign_jobs WHERE delivery_key = 'cj-pending'")" \
    '[false,2,true] 0'
it_eq "campaign apply: a bad definition writes nothing" "$(status hq1 POST /api/v1/campaigns/apply "$(cat "$QY_RUN/bad-campaign.json")") $(q "SELECT version FROM campaigns WHERE name = 'daily-sop'")" "400 2"
it_eq "campaign paused" "$(body hq1 POST /api/v1/campaigns/daily/pause '{}' | jq -c .) $(q "SELECT enabled FROM campaigns WHERE name = 'daily'")" '{"name":"daily","enabled":false} f'
it_eq "campaign resumed" "$(body hq1 POST /api/v1/campaigns/daily/resume '{}' | jq -r .enabled) $(q "SELECT enabled FROM campaigns WHERE name = 'daily'")" "true t"
it_eq "campaign pause audited" "$(q "SELECT string_agg (x, ',' ORDER BY id) FROM (SELECT id, action || ' ' || object_id AS x FROM audit_log
                                 WHERE actor = 'console:hq1' AND action LIKE 'campaign.%able' ORDER BY id DESC LIMIT 2) l")" \
    "campaign.disable daily,campaign.enable daily"
it_eq "campaign: unknown" "$(status hq1 POST /api/v1/campaigns/nothing/pause '{}')" 404

# ---- 3. CSRF, sessions across replicas, logout
csrf_status () { curl -s -o /dev/null -w '%{http_code}' -X PATCH -b "$QY_RUN/hq1.jar" "$@" -d '{"positioning":"福利"}' "$U/api/v1/groups/room1"; }
it_eq "mutation without CSRF token" "$(csrf_status)" 403
it_eq "mutation with a wrong CSRF token" "$(csrf_status -H 'X-CSRF-Token: 0000')" 403
it_eq "mutation with the token" "$(csrf_status -H "X-CSRF-Token: $(cat "$QY_RUN/hq1.csrf")")" 200
it_eq "positioning set" "$(q "SELECT positioning || ' ' || array_to_string (tags, ',') FROM groups WHERE code = 'room1'")" "福利 新品"
it_eq "audited with the user" "$(q "SELECT actor || ' ' || (detail ->> 'positioning') FROM audit_log WHERE action = 'group.update' ORDER BY id DESC LIMIT 1")" "console:hq1 福利"
it_eq "the session works on the other replica" "$(curl -s -b "$QY_RUN/st1.jar" "http://127.0.0.1:$PORT_console2/api/v1/groups" | jq -r '.items[0].code')" room1
login reg1
api reg1 DELETE /api/v1/session >/dev/null
it_eq "after logout" "$(status reg1 GET /api/v1/groups)" 401
it_eq "logout audited" "$(q "SELECT count (*) FROM audit_log WHERE action = 'session.logout' AND object_id = 'reg1'")" 1
it_eq "in the route's one transaction" "$(cat "$QY_RUN"/logs/console*.log | grep -c 'already a transaction in progress' || true)" 0
# A login needs no CSRF token, so it is taken only as application/json: another site's form
# (text/plain, its body JSON) cannot log a visitor into an account of the site's choosing.
it_eq "a login posted as text/plain from another origin" "$(curl -s -D "$QY_RUN/plain.h" -o /dev/null -w '%{http_code}' \
    -H 'Content-Type: text/plain' -H 'Origin: https://evil.example' -d "{\"login\":\"reg1\",\"password\":\"$PW\"}" "$U/api/v1/session") $(grep -ci '^set-cookie' "$QY_RUN/plain.h")" "415 0"
headers=$(curl -s -D - -o /dev/null -c /dev/null -H 'Content-Type: application/json' -d "{\"login\":\"reg1\",\"password\":\"$PW\"}" "$U/api/v1/session")
echo "$headers" | grep -i '^set-cookie:' | grep -q 'HttpOnly; SameSite=Strict' && echo "ok   cookie HttpOnly, SameSite=Strict" || it_fail "cookie flags: $headers"
csp=$(curl -s -D - -o /dev/null "$U/" | grep -i '^content-security-policy:')
echo "$csp" | grep -q "script-src 'self';" && ! echo "$csp" | grep -q unsafe && echo "ok   CSP without inline script" || it_fail "CSP: $csp"
it_eq "nosniff" "$(curl -s -D - -o /dev/null "$U/api/v1/groups" | grep -ci '^x-content-type-options: nosniff')" 1

# ---- 4. API tokens
tok=$(api hq1 POST /api/v1/tokens '{"name":"bi","days":7}' | tail -n +2)
T=$(echo "$tok" | jq -r .token); TID=$(echo "$tok" | jq -r .id)
bearer () { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "${@:2}"; }
it_eq "token reads groups" "$(curl -s -H "Authorization: Bearer $T" "$U/api/v1/groups" | jq -r '.items | length')" 3
it_eq "token mutates without a CSRF token" "$(bearer "$T" -X PATCH -d '{"tags":["api"]}' "$U/api/v1/groups/room2")" 200
it_eq "token kept hashed" "$(q "SELECT count (*) FROM console_tokens WHERE token_sha256 = encode (sha256 ('$T'), 'hex')") $(q "SELECT count (*) FROM console_tokens WHERE token_sha256 = '$T'")" "1 0"
it_eq "the list never shows a token" "$(api hq1 GET /api/v1/tokens | tail -n +2 | jq -r '.items[0] | has("token")')" false
it_eq "a token makes no tokens" "$(bearer "$T" -X POST -d '{"name":"x"}' "$U/api/v1/tokens")" 403
rtok=$(api hq1 POST /api/v1/tokens '{"name":"review-bot","role":"reviewer"}' | tail -n +2 | jq -r .token)
it_eq "reviewer token: groups" "$(bearer "$rtok" "$U/api/v1/groups")" 403
it_eq "reviewer token: queue" "$(bearer "$rtok" "$U/api/v1/queue")" 200
it_eq "store user cannot mint an hq token" "$(status st1 POST /api/v1/tokens '{"name":"x","role":"hq"}')" 403
api hq1 DELETE "/api/v1/tokens/$TID" >/dev/null
it_eq "revoked token" "$(bearer "$T" "$U/api/v1/groups")" 401
q "UPDATE console_tokens SET expires_at = now () - interval '1 second' WHERE name = 'review-bot'" >/dev/null
it_eq "expired token" "$(bearer "$rtok" "$U/api/v1/queue")" 401
ctok=$("$Q" user token st1 --name cli --days 1 | awk '{print $2}')
it_eq "qyctl user token" "$(curl -s -H "Authorization: Bearer $ctok" "$U/api/v1/groups" | jq -r '.items[0].code')" room1
# A new password (what an operator does after a leak) ends the user's sessions and revokes its tokens.
echo "$PW" | "$Q" user create acme pw1 --role store --store s1 >/dev/null
login pw1
ptok=$("$Q" user token pw1 --name leaked --days 1 | awk '{print $2}')
it_eq "before the new password: session, token" "$(status pw1 GET /api/v1/groups) $(bearer "$ptok" "$U/api/v1/groups")" "200 200"
echo "another-horse-2" | "$Q" user passwd pw1 >/dev/null
it_eq "after it: session, token" "$(status pw1 GET /api/v1/groups) $(bearer "$ptok" "$U/api/v1/groups")" "401 401"

# ---- 5. bad input: a clear JSON error each time, the service stays up
# err CURL-ARGS…: "STATUS ERROR" up to the error's first colon
err () {
    local code; code=$(curl -s -o "$QY_RUN/err.json" -w '%{http_code}' -b "$QY_RUN/hq1.jar" -H "X-CSRF-Token: $(cat "$QY_RUN/hq1.csrf")" "$@")
    echo "$code $(jq -r .error "$QY_RUN/err.json" | cut -d: -f1)"
}
it_eq "malformed JSON" "$(err -X PATCH -d '{"tags":[' "$U/api/v1/groups/room1")" "400 malformed JSON at line 1 column 9"
it_eq "not an object" "$(err -X PATCH -d '[1]' "$U/api/v1/groups/room1")" "400 the body must be a JSON object"
head -c 200000 /dev/zero | tr '\0' 'a' > "$QY_RUN/huge"
it_eq "huge body" "$(err -X PATCH --data-binary @"$QY_RUN/huge" "$U/api/v1/groups/room1")" "413 request body over 65536 bytes"
printf '{"tags":["\xff\xfe"]}' > "$QY_RUN/bad-utf8"
it_eq "invalid UTF-8 in JSON" "$(err -X PATCH --data-binary @"$QY_RUN/bad-utf8" "$U/api/v1/groups/room1")" "400 malformed JSON at line 1 column 10"
it_eq "invalid UTF-8 in the query" "$(err "$U/api/v1/search?q=%FF%FE")" "400 the URL or a query parameter is not valid UTF-8"
it_eq "wrong types" "$(err -X PATCH -d '{"tags":[1,2]}' "$U/api/v1/groups/room1")" "400 tags"
it_eq "bad date" "$(err "$U/api/v1/search?from=yesterday-ish")" "400 bad parameter"
it_eq "bad token id" "$(err -X DELETE "$U/api/v1/tokens/abc")" "400 bad parameter"
it_eq "still healthy" "$(curl -s -o /dev/null -w '%{http_code}' "$U/health")" 200

# ---- 6. overturn through the queue, as qyctl does; search; audit
VAD=$(q "SELECT id FROM violations WHERE msg_id = 'ad1'")
queue_ad=$(api st1 GET /api/v1/queue | tail -n +2 | jq -c ".items[] | select(.id == $VAD) | [.segments[] | select(.hit) | .t]")
it_eq "queue: the evidence span" "$queue_ad" '["wx88776655"]'
res=$(api st1 POST /api/v1/queue/decide "{\"ids\":[$VAD],\"decision\":\"overturn\",\"reason\":\"误判：店员转述\"}" | tail -n +2)
it_eq "overturned, strike and mute lifted, model taught" "$(echo "$res" | jq -c '.items[0] | [.result, .strike_lifted, .lifted_mute, .model, (.model_version > 0)]')" '["overturned",true,true,"ad",true]'
it_eq "violation row" "$(q "SELECT status || ' ' || decided_by || ' ' || decision_reason FROM violations WHERE id = $VAD")" "overturned console:st1 误判：店员转述"
it_eq "model version written" "$(q "SELECT count (*) || ' ' || max (examples) || ' ' || max (created_by) FROM moderation_models")" "1 1 console:st1"
it_eq "audited as qyctl audits" "$(q "SELECT actor || ' ' || (detail ->> 'lifted_mute') FROM audit_log WHERE action = 'violation.overturn'")" "console:st1 true"
it_eq "overturned twice" "$(api st1 POST /api/v1/queue/decide "{\"ids\":[$VAD],\"decision\":\"overturn\",\"reason\":\"again\"}" | tail -n +2 | jq -r '.items[0].result')" already
hits=$(api st1 GET "/api/v1/search?q=优惠券" | tail -n +2)
it_eq "store search: its own group's hits" "$(echo "$hits" | jq -r '[.items[].group] | unique | join(",")')" room1
it_eq "the phrase highlighted" "$(echo "$hits" | jq -r '[.items[0].segments[] | select(.hit) | .t] | join(",")')" 优惠券
it_eq "hq search: every store" "$(api hq1 GET "/api/v1/search?q=优惠券" | tail -n +2 | jq -r '[.items[].group] | unique | join(",")')" room1,room2,room3
it_eq "search audited" "$(q "SELECT actor || ' ' || (detail ->> 'q') || ' ' || (detail ->> 'hits') FROM audit_log WHERE action = 'archive.search' AND actor = 'console:st1' ORDER BY id DESC LIMIT 1")" "console:st1 优惠券 2"
n0=$(q "SELECT count (*) FROM audit_log WHERE action = 'archive.open' AND actor = 'console:st1'")
it_eq "open a message" "$(body st1 GET "/api/v1/messages/$ROOM1_MSG" | jq -r '.group + " " + .user_id')" "room1 u1"
it_eq "message opened audited" "$(q "SELECT count (*) FROM audit_log WHERE action = 'archive.open' AND actor = 'console:st1'")" "$((n0 + 1))"
it_eq "overview" "$(api hq1 GET '/api/v1/overview?days=7' | tail -n +2 | jq -c '[(.trend | length), .states.healthy, .states.zombie, .cards.today.messages, (.alerts | length)]')" '[7,2,1,30,1]'
login reg1 || it_fail "login reg1 again"
it_eq "overview trend of a store: its groups' roll-ups (store-day totals)" \
    "$(body st1 GET '/api/v1/overview?days=7' | jq -c '[.trend[].messages] | add') $(body reg1 GET '/api/v1/overview?days=7' | jq -c '[.trend[].messages] | add')" \
    "$(q "SELECT sum (messages) FROM daily_group_stats d JOIN groups g ON g.id = d.group_id WHERE g.code = 'room1' AND d.day > (now () + interval '8 hours')::date - 7") $(q "SELECT sum (messages) FROM daily_group_stats d JOIN groups g ON g.id = d.group_id WHERE g.code IN ('room1', 'room2') AND d.day > (now () + interval '8 hours')::date - 7")"
it_eq "SOP compliance of s1 (2 sent of 3 due, 1 excused)" "$(body hq1 GET '/api/v1/overview?days=7' | jq -r '.stores[] | select(.code == "s1") | .sop_compliance')" 66.7
it_eq "campaign posts in the group profile" "$(body st1 GET /api/v1/groups/room1/profile | jq -r '[.posts[].text] | join(",")')" "早安,早安"
"$Q" moderation dict acme add ad 代购 >/dev/null
it_eq "rules with lists and policies" "$(body hq1 GET /api/v1/rules | jq -c '[(.items | length > 10), .lists[0].value, (.policies | length)]')" '[true,"代购",0]'
it_eq "overviews kept per scope (cache)" "$(body st1 GET /api/v1/overview | jq '.stores | length') $(body hq1 GET /api/v1/overview | jq '.stores | length') $(body st1 GET /api/v1/overview | jq '.stores | length')" "1 3 1"
it_eq "group profile" "$(api st1 GET /api/v1/groups/room1/profile | tail -n +2 | jq -c '[(.days | length), .members[0].user_id, (.messages | length) > 0, .standing.key]')" '[30,"u1",true,1]'
it_eq "member profile" "$(api st1 GET /api/v1/members/u1 | tail -n +2 | jq -c '[.groups[0].code, (.violations | length), .strikes]')" '["room1",6,0]'
# WeCom 1:1 contacts (docs/wecom.md) on the profile, through the store's row-level policy.
q "INSERT INTO contacts (brand_id, staff, member_id, added_at, deleted_at, deleted_by, changed_at)
   SELECT m.brand_id, 'zhang', m.id, now () - interval '2 days', now () - interval '1 day', 'customer', now ()
   FROM members m JOIN brands b ON b.id = m.brand_id AND b.code = 'acme' WHERE m.user_id = 'u1'" >/dev/null
it_eq "member profile: contacts" "$(api st1 GET /api/v1/members/u1 | tail -n +2 | jq -c '[.contacts[] | [.staff, .deleted_by]]')" '[["zhang","customer"]]'

# ---- the health history of room1 (three days), and campaign measurement: a member's reply 20
# minutes after the post of cj-1 and a purchase credited to it; per step and variant, and SOP
# compliance per store, as qyctl campaign report
psql "$QY_PG_DSN" -q -v ON_ERROR_STOP=1 -f "$IT_CASE/extra.sql" >/dev/null
it_eq "group profile: the health score and its parts by day" \
    "$(body hq1 GET '/api/v1/groups/room1/profile?days=7' | jq -c '[.health[] | [.health, .active_ratio, .state]]')" '[[60,0.5,"healthy"],[65,0.6,"healthy"],[70,0.7,"healthy"]]'
it_eq "group profile: the window" "$(body hq1 GET '/api/v1/groups/room1/profile?days=2' | jq -c '[.health[].health]')" '[65,70]'
rep=$(body hq1 GET '/api/v1/campaigns/report?days=30')
it_eq "report: per step and variant" "$(echo "$rep" | jq -c '[.steps[] | select(.campaign == "daily") | .sent, .blocked, .replies_1h, .conversions, .revenue_cents]')" '[2,1,1,1,1990]'
it_eq "report: SOP per store" "$(echo "$rep" | jq -c '[.stores[] | [.store, .due, .done, .excused, .missed, .compliance_pct]]')" '[["s1",4,2,1,1,66.7]]'
"$Q" campaign report acme --since "$(date -u -d '30 days ago' +%F)" --format json > "$QY_RUN/campaign-report.json"
norm='[.[] | [.campaign, .step, .variant, .sent, .delivered, .blocked, .replies_1h, .conversions, .revenue_cents] | map(tostring)]'
it_eq "report: qyctl's figures" "$(echo "$rep" | jq -c ".steps | $norm")" "$(jq -c ".[\"per step and variant\"] | $norm" "$QY_RUN/campaign-report.json")"
it_eq "report: a region sees its stores, a store user none" "$(body reg1 GET /api/v1/campaigns/report | jq -c '[.stores[].store]') $(status st1 GET /api/v1/campaigns/report) $(status hq1 GET '/api/v1/campaigns/report?days=0')" '["s1"] 403 400'
it_eq "report: another brand sees nothing of acme's" "$(body ohq GET /api/v1/campaigns/report | jq -c '[.steps, .stores]')" '[[],[]]'

# ---- 3. login limits (last: they lock this address)
wrong () { curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "{\"login\":\"$1\",\"password\":\"${2:-wrong-password}\"}" "$U/api/v1/session"; }
codes=""; for _ in 1 2 3 4 5 6; do codes="$codes$(wrong hq1) "; done
it_eq "five failures, then locked" "$codes" "401 401 401 401 401 429 "
it_eq "locked even with the right password" "$(wrong hq1 "$PW")" 429
it_eq "another login from the same address" "$(wrong ohq "$PW")" 200
codes=""; for i in 1 2 3 4 5 6; do codes="$codes$(wrong nobody$i) "; done   # 5 + 5 failures
it_eq "the address locked after 10 failures" "$codes" "401 401 401 401 401 429 "
it_eq "the address locked for every login" "$(wrong ohq "$PW")" 429
# Behind the reverse proxy (console.proxy = 127.0.0.1) X-Forwarded-For names the client.
it_eq "another client behind the proxy" "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 192.0.2.7' \
    -H 'Content-Type: application/json' -d "{\"login\":\"ohq\",\"password\":\"$PW\"}" "$U/api/v1/session")" 200
it_eq "lockout in the log" "$(grep -c 'msg="login locked" key=addr:127.0.0.1' "$QY_RUN/logs/console1.log" "$QY_RUN/logs/console2.log" | awk -F: '{s += $2} END {print (s >= 1)}')" 1

# ---- 7. SIGTERM
kill -TERM "$QY_PID_console2"
for _ in $(seq 50); do kill -0 "$QY_PID_console2" 2>/dev/null || break; sleep 0.1; done
it_eq "stopped on SIGTERM" "$(kill -0 "$QY_PID_console2" 2>/dev/null && echo running || echo stopped) $(grep -c 'requests drained' "$QY_RUN/logs/console2.log")" "stopped 1"
