#!/usr/bin/env bash
# The Grafana dashboards (deploy/grafana, issue 21 §3) against a real run:
# after the foundation's traffic every dashboard file is valid JSON (jq);
# every PromQL expression parses (promtool check rules) and names only
# metrics and labels the bus, the five services and Redis's and
# PostgreSQL's exporters really export (their /metrics scraped now); every SQL query (panels and the brand variable,
# Grafana's macros substituted) runs on the migrated database as the
# read-only role qy_grafana, after deploy/grafana/set-role-password.sh gave
# it its login; the brand-health queries find the brand's rows; the role
# reads no member's words. Every query is listed verbatim in
# docs/dashboards.md, every title and metric named in docs/operations.md.
# check.py holds the extraction.
source "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$IT_CASE/../../.." && pwd)
DASH=$ROOT/deploy/grafana/dashboards
command -v promtool >/dev/null || { echo "promtool is not installed (QY_PACKAGES: prometheus)"; exit 1; }
for x in prometheus-redis-exporter prometheus-postgres-exporter; do
    command -v $x >/dev/null || { echo "$x is not installed (QY_PACKAGES)"; exit 1; }
done
for f in "$DASH"/*.json; do jq -e 'type == "object" and (.panels | length > 0)' "$f" >/dev/null || it_fail "$f: not valid JSON or no panels"; done
it_eq "dashboards" "$(ls "$DASH"/*.json | wc -l)" 5

it_servers
it_gateway --token gw-secret
F=$IT_CASE/../foundation
source "$F/setup.sh"
export QY_SCORING_ROLLUP_INTERVAL_MS=300 QY_SCORING_EVAL_INTERVAL_MS=300
qy_start_services "$QY_BUILD"
"$QYCTL" send "$F/events.jsonl" --batch 50 > /dev/null
"$QYCTL" send --garbage > /dev/null
for hop in "$QY_P_mf" "$QY_P_sf" "$QY_P_cf"; do "$QYCTL" send --garbage --push "tcp://127.0.0.1:$hop" > /dev/null; done
gw_done () { [ "$(it_gateway_stat unique)" -ge 6 ]; }
it_wait "6 deliveries at the gateway (as in foundation)" gw_done
rolled () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT (SELECT count (*) FROM daily_group_stats) * (SELECT count (*) FROM group_health) * (SELECT count (*) FROM group_states)")" -ge 1 ]; }
it_wait "a roll-up and an evaluation" rolled

# Redis's and PostgreSQL's exporters, as compose runs them (PostgreSQL's as
# qy_monitor, given its login by the same script), for the board of both.
printf '%s' "monitor-test-password" > "$QY_RUN/pg_monitor_password"
PGHOST=127.0.0.1 PGPORT=$QY_PG_PORT PGUSER=qunyun PGDATABASE=qunyun \
    sh "$ROOT/deploy/grafana/set-role-password.sh" qy_monitor "$QY_RUN/pg_monitor_password" > /dev/null || it_fail "set-role-password.sh qy_monitor"
P_rx=$(qy_free_port); P_px=$(qy_free_port)
qy_start redis-exporter prometheus-redis-exporter -redis.addr "redis://127.0.0.1:$QY_REDIS_PORT" -web.listen-address "127.0.0.1:$P_rx"
DATA_SOURCE_URI="127.0.0.1:$QY_PG_PORT/qunyun?sslmode=disable" DATA_SOURCE_USER=qy_monitor DATA_SOURCE_PASS_FILE=$QY_RUN/pg_monitor_password \
    qy_start postgres-exporter prometheus-postgres-exporter --web.listen-address "127.0.0.1:$P_px"
it_wait "redis exporter" curl -fs "http://127.0.0.1:$P_rx/metrics"
it_wait "postgres exporter" curl -fs "http://127.0.0.1:$P_px/metrics"
it_eq "the exporters reach Redis and PostgreSQL" \
    "$(curl -fs "http://127.0.0.1:$P_rx/metrics" | grep -c '^redis_up 1') $(curl -fs "http://127.0.0.1:$P_px/metrics" | grep -c '^pg_up 1')" "1 1"

# PromQL: against what every service exports now.
for s in bus ingest moderation1 scoring1 campaign notifier; do
    eval "port=\$QY_HTTP_$s"
    curl -fs "http://127.0.0.1:$port/metrics"
done > "$QY_RUN/scrape.txt"
curl -fs "http://127.0.0.1:$P_rx/metrics" "http://127.0.0.1:$P_px/metrics" >> "$QY_RUN/scrape.txt"
python3 "$IT_CASE/check.py" promql "$DASH" "$QY_RUN/scrape.txt" "$QY_RUN/rules.yml" "$ROOT/docs/operations.md" "$ROOT/docs/dashboards.md" \
    || it_fail "dashboards' PromQL (above)"
# The check has teeth: a panel naming a metric or a label nobody exports fails it.
mkdir -p "$QY_RUN/bad"; cp "$DASH"/*.json "$QY_RUN/bad/"
jq '.panels[0].targets[0].expr = "sum by (hopp) (qy_bus_credits)"' "$DASH/queues.json" > "$QY_RUN/bad/queues.json"
bad=$(python3 "$IT_CASE/check.py" promql "$QY_RUN/bad" "$QY_RUN/scrape.txt" "$QY_RUN/bad.yml" "$ROOT/docs/operations.md" "$ROOT/docs/dashboards.md" || true)
it_eq "an unknown metric and label are caught" "$(printf '%s\n' "$bad" | grep -c 'qy_bus_credits is exported by no service\|label hopp is on no exported series')" 2
promtool check rules "$QY_RUN/rules.yml" > "$QY_RUN/promtool.txt" 2>&1 || { cat "$QY_RUN/promtool.txt"; it_fail "promtool check rules: the dashboards' PromQL does not parse"; }

# SQL: as the read-only role, logged in through the script compose runs.
printf '%s' "grafana-test-password" > "$QY_RUN/grafana_pg_password"
QY_GRAFANA_PG_PASSWORD_FILE=$QY_RUN/grafana_pg_password PGHOST=127.0.0.1 PGPORT=$QY_PG_PORT PGUSER=qunyun PGDATABASE=qunyun \
    sh "$ROOT/deploy/grafana/set-role-password.sh" > /dev/null || it_fail "set-role-password.sh"
it_eq "qy_grafana may log in, with a password" \
    "$(psql "$QY_PG_DSN" -qAtc "SELECT rolcanlogin, rolpassword IS NOT NULL, rolsuper, rolcreaterole FROM pg_authid WHERE rolname = 'qy_grafana'")" "t|t|f|f"
# The role's SCRAM verifier is the one of the secret file's password.
scram_ok=$(psql "$QY_PG_DSN" -qAtc "SELECT rolpassword FROM pg_authid WHERE rolname = 'qy_grafana'" | python3 -c '
import base64, hashlib, hmac, re, sys
m = re.match(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", sys.stdin.read().strip())
salted = hashlib.pbkdf2_hmac("sha256", sys.argv[1].encode(), base64.b64decode(m[2]), int(m[1]))
stored = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
print(bool(m) and base64.b64encode(stored).decode() == m[3])' "$(cat "$QY_RUN/grafana_pg_password")")
it_eq "qy_grafana's password is the secret's" "$scram_ok" True
GDSN="host=127.0.0.1 port=$QY_PG_PORT dbname=qunyun user=qy_grafana"
mkdir -p "$QY_RUN/sql"
python3 "$IT_CASE/check.py" sql "$DASH" "$QY_RUN/sql" "$ROOT/docs/dashboards.md" || it_fail "dashboards' SQL (above)"
n=0
for f in "$QY_RUN"/sql/*.sql; do
    what=$(head -1 "$f" | cut -c4-)
    if ! rows=$(psql "$GDSN" -X -v ON_ERROR_STOP=1 -qAt -f "$f" 2>"$QY_RUN/sql.err"); then
        it_fail "$what: $(cat "$QY_RUN/sql.err")"; continue
    fi
    n=$((n + 1))
    echo "     $what: $(printf '%s' "$rows" | grep -c '') rows"
    # The brand's board reads rows the run made: the brand, its groups
    # rolled up and evaluated, its violations, deliveries and dead letters.
    case $what in brand-health.json:*) [ -n "$rows" ] || it_fail "$what: no rows for brand acme" ;; esac
done
it_eq "every SQL query ran as qy_grafana" "$n" "$(ls "$QY_RUN"/sql/*.sql | wc -l)"
# What the role must not read.
for q in "SELECT excerpt FROM violations" "SELECT payload FROM deliveries" "SELECT gateway_token FROM brands" \
         "SELECT payload FROM dead_letters" "SELECT user_id FROM members" "INSERT INTO daily_group_stats SELECT * FROM daily_group_stats LIMIT 0"; do
    psql "$GDSN" -X -qAtc "$q" >/dev/null 2>&1 && it_fail "qy_grafana may run: $q"
done
# What it reads still, every brand's: the hours, a view over the days since migration 132.
it_eq "qy_grafana reads the groups' hours" "$(psql "$GDSN" -X -qAtc "SELECT count (*) FROM hourly_group_stats")" \
    "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM hourly_group_stats")"
it_done
