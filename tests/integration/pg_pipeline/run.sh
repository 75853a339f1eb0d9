#!/usr/bin/env bash
# qy_pg_pipeline (common/src/qy_pg.c): statements sent in libpq's pipeline mode with one sync, one
# round trip for all. pg_pipeline.c checks against a real PostgreSQL that each result reaches its
# own step, that a failing step is reported and undoes its transaction, that BEGIN and COMMIT may
# span two pipelines, that a stale prepared statement fails only its pipeline, and that a
# connection lost mid-pipeline is handled as a lost connection. Here: the failures are logged with
# their context and SQLSTATE, as qy_pg_run logs them.
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
it_done
