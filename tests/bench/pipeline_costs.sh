# What the stores cost per event in a pipeline run (sourced by pipeline.sh,
# pipeline_profile.sh and notifier/bench_notifier.sh; issue 19's third target):
#   costs_enable              after qy_start_pg: pg_stat_statements loaded, planning tracked (PostgreSQL restarted once),
#                             autovacuum looking every second (below)
#   costs_start PORT…         before the load: zero Redis's commandstats and pg_stat_statements, note Redis's CPU
#   costs_print EVENTS PORT…  after it: one line per Redis, then PostgreSQL's, each divided by EVENTS
#   costs_commands EVENTS PORT… each Redis's commands (INFO commandstats): calls, µs per call and per event
#   costs_statements EVENTS N PostgreSQL's N costliest statements, each's calls, time, rows, plans and planning per event
#   costs_indexes EVENTS      the indexes the run wrote and never read (each costs every insert, and every
#                             update that is not HOT), with the rows written to their tables per event
#   costs_pg_cpu              each live PostgreSQL process's CPU seconds, named by its connection (below)
#   s_costs_redis_cpu PORT    a Redis's CPU seconds so far (INFO cpu)
# Redis CPU is the server's own (INFO cpu, user + system, every thread), so
# it includes what commandstats does not see (the network, Lua's set-up);
# commandstats' times are wall-clock and swell when the CPU is shared, so
# only its counts are used.
# PostgreSQL time is pg_stat_statements' execution time of every statement
# (the wait for a CPU excluded): a floor of what it costs; its planning time
# is printed beside it (track_planning).
# A run starts on empty tables and lasts seconds. PostgreSQL plans a prepared
# statement once its first executions are done (a generic plan) and plans it
# again only when the table is analysed; with autovacuum's default minute
# between looks, a flat-out run is over before the first ANALYZE, and every
# batch runs plans made for tables of a few rows: moderation's read before
# it records read every violation of the brand per violation (the brand's
# first index matched as well as the member's on a table of a few rows;
# 35 µs of PostgreSQL per event, docs/benchmarks.md). An installation that
# has run a minute has statistics; autovacuum looking every second gives a
# run the same within a second of a table's first rows.
costs_enable () {
    psql "$QY_PG_DSN" -qc "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" \
        -c "ALTER SYSTEM SET autovacuum_naptime = 1" >/dev/null
    qy_as_pg "$(qy_pg_bin)/pg_ctl" -D "$QY_RUN/pg" -w restart >/dev/null
    # Planning counted too: a prepared statement PostgreSQL plans afresh at every execution
    # (a custom plan each time) costs that planning per call, which execution time hides.
    psql "$QY_PG_DSN" -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
        -c "ALTER SYSTEM SET pg_stat_statements.track_planning = on" -c "SELECT pg_reload_conf ()" >/dev/null
}

s_costs_redis_cpu () {
    redis-cli -p "$1" INFO cpu | tr -d '\r' | awk -F: '$1 == "used_cpu_sys" || $1 == "used_cpu_user" { s += $2 } END { printf "%.6f\n", s }'
}

# Each live PostgreSQL process's CPU seconds (/proc: utime + stime, in clock ticks), named by its
# connection's application_name (the services': qy-ingest, qy-moderation …) or else its backend
# type (autovacuum worker, walwriter, checkpointer …; the postmaster: postmaster). What exited
# before the end of the run (an autovacuum worker) is not counted.
costs_pg_cpu () {
    local tck names pm pid ticks name
    tck=$(getconf CLK_TCK) pm=$(head -1 "$QY_RUN/pg/postmaster.pid")
    names=$(psql "$QY_PG_DSN" -qAtF' ' -c "SELECT pid, replace (coalesce (nullif (application_name, ''), backend_type), ' ', '_')
                                         FROM pg_stat_activity WHERE pid <> pg_backend_pid ()" 2>/dev/null || true)
    for pid in $pm $(pgrep -P "$pm"); do
        # the fields after the command's closing parenthesis: utime and stime are the 12th and 13th
        ticks=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }') || continue
        [ -n "$ticks" ] || continue
        name=$(awk -v p="$pid" '$1 == p { print $2 }' <<<"$names")
        [ "$pid" != "$pm" ] || name=postmaster
        echo "${name:-other} $(awk -v t="$ticks" -v h="$tck" 'BEGIN { print t / h }')"
    done
}

declare -A COSTS_CPU0
costs_start () {
    local p
    for p in "$@"; do
        redis-cli -p "$p" CONFIG RESETSTAT >/dev/null
        COSTS_CPU0[$p]=$(s_costs_redis_cpu "$p")
    done
    psql "$QY_PG_DSN" -qAtc "SELECT pg_stat_statements_reset (), pg_stat_reset ()" >/dev/null
}

costs_print () {
    local events=$1 p; shift
    for p in "$@"; do
        local cpu; cpu=$(s_costs_redis_cpu "$p")
        redis-cli -p "$p" INFO commandstats | tr -d '\r' | awk -F'[:,=]' -v e="$events" -v p="$p" \
            -v cpu="$(echo "($cpu - ${COSTS_CPU0[$p]}) * 1000000" | bc -l)" '
            /^cmdstat_/ { calls += $3; if ($1 ~ /^cmdstat_(eval|evalsha|fcall)$/) lua += $3 }
            END { printf "  redis :%s  CPU %.1f us/event  %.2f commands/event (scripts\x27 own included)  %.2f script calls/event\n",
                         p, cpu / e, calls / e, lua / e }'
    done
    psql "$QY_PG_DSN" -qAt -c "SELECT coalesce (sum (total_exec_time), 0) * 1000, coalesce (sum (calls), 0),
                                      coalesce (sum (total_plan_time), 0) * 1000, coalesce (sum (plans), 0) FROM pg_stat_statements" \
        | awk -F'|' -v e="$events" '{ printf "  postgresql  %.1f us/event executing  %.3f statements/event  %.1f us/event planning  %.3f plans/event\n",
                                             $1 / e, $2 / e, $3 / e, $4 / e }'
}

#  Which Redis command costs what per event (issue 19 target 3), costliest
#  first: calls per event, commandstats' µs per call and per event. Its
#  times are wall-clock inside the command (they swell when the CPU is
#  shared) and leave out reading, parsing and replying, which INFO cpu's
#  total holds: the total's split, not a second total.
costs_commands () {
    local events=$1 p; shift
    for p in "$@"; do
        redis-cli -p "$p" INFO commandstats | tr -d '\r' | awk -F'[:,=]' -v e="$events" -v p="$p" '
            /^cmdstat_/ { printf "%s %s %s\n", substr ($1, 9), $3, $5 }' | sort -k3,3nr | head -n 20 \
            | awk -v e="$events" -v p="$p" '{ printf "    redis :%s %-12s %6.2f calls/event %5.2f us/call %6.2f us/event\n", p, $1, $2 / e, $3 / $2, $3 / e }'
    done
}

#  Which statement costs what per event (issue 19 target 4: what grows with the number of groups).
costs_statements () {
    local events=$1 n=$2
    psql "$QY_PG_DSN" -qAtF $'\t' -c "SELECT calls, total_exec_time, rows, plans, total_plan_time,
                                              left (regexp_replace (query, '\s+', ' ', 'g'), 90)
                                       FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT $n" \
        | awk -F'\t' -v e="$events" '{ printf "    %7.3f calls/event %7.1f us/event %7.3f rows/event %7.3f plans/event %6.1f us/event planning  %s\n",
                                               $1 / e, $2 * 1000 / e, $3 / e, $4 / e, $5 * 1000 / e, $6 }'
}

#  An index nobody reads during a day is pure write cost: every insert into
#  its table, and every update that changes one of its columns (or its
#  predicate's), adds an entry. A run is one kind of day (no console, no
#  housekeeping): read the list as candidates, and find every reader before
#  dropping one.
costs_indexes () {
    local events=$1
    psql "$QY_PG_DSN" -qAtF $'\t' -c "
        SELECT i.relname, i.indexrelname, t.n_tup_ins, t.n_tup_upd - t.n_tup_hot_upd
        FROM pg_stat_user_indexes i JOIN pg_stat_user_tables t USING (relid)
        WHERE i.idx_scan = 0 AND t.n_tup_ins + t.n_tup_upd > 0
        ORDER BY t.n_tup_ins + t.n_tup_upd - t.n_tup_hot_upd DESC, 1, 2" \
        | awk -F'\t' -v e="$events" '{ printf "    unread index %-40s on %-28s %6.3f inserts/event %6.3f non-HOT updates/event\n", $2, $1, $3 / e, $4 / e }'
}
