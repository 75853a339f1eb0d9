#!/usr/bin/env bash
# The notifier's claim (notifier_store_claim) on a real PostgreSQL: claims of every size up to the
# cap take that many due deliveries, most urgent first, brands taking turns, none twice; and the
# claim is planned once per connection (qy_pg_run_generic), not at every claim as PostgreSQL's
# default plan mode would for its LIMIT $1 (half a millisecond of planning per claim).
source "$(dirname "$0")/../lib.sh"
it_servers
out=$QY_RUN/notifier_claim.out
"$QY_BUILD/tests/integration/qy_test_notifier_claim" "$QY_PG_DSN" > "$out" 2>&1 || { cat "$out"; it_fail "notifier_claim"; }
grep -E '^(ok|FAIL|claim plans|put back|insert taking|claim after)' "$out"
it_eq "claims checked" "$(grep -c '^ok' "$out")" 11
it_done
