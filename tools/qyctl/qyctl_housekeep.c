//  qyctl housekeep: data retention (docs/operations.md, "Retention").
//    housekeep [--dry-run] [--every SECONDS] [--archive-days N] [--deliveries-days N]
//              [--deadletters-days N] [--jobs-days N] [--stats-days N]
//              [--complaints-days N] [--questions-days N] [--tasks-days N]
//
//  What the services write and never read again after a while is removed,
//  in small batches so that the services go on meanwhile:
//    * the message archive: day partitions older than archive-days, dropped
//      whole (replay, backtest and reports reach no further back);
//    * deliveries done (delivered or dead) older than deliveries-days lose
//      their payload and error text; the row stays as a tombstone of its
//      idempotency key, so that replaying an old event never posts it
//      again, until the archive it could be replayed from is gone too;
//    * dead letters closed (replayed or resolved) longer than
//      deadletters-days; open ones are kept until someone acts;
//    * campaign jobs over (sent, blocked, expired, cancelled) and due more
//      than jobs-days ago, with their contacts; once-per-group jobs (period
//      g) stay, they are what keeps a group from getting the step again;
//    * per-member daily statistics older than stats-days (daily group
//      statistics, with their hours, violations and the audit log are
//      kept: the ladder and the reports read them);
//    * customers' complaints (their excerpt is a customer's words) and
//      questions older than complaints-days / questions-days, and staff
//      tasks closed longer than tasks-days; open tasks stay until closed.
//  0 days keeps that kind forever. Defaults come from QY_RETENTION_<KIND>_DAYS,
//  else 365, 30, 90, 90, 400, 400, 400 and 400. Runs under an advisory lock: a second
//  housekeeper waits for its next turn. --dry-run counts what would go and
//  changes nothing. --every runs again after that many seconds until
//  SIGTERM (the compose file's housekeeper). Each run is written to the
//  audit log with what it removed.
#include "qyctl.h"
#include "qy/util.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_BATCH "5000"
#define S_LOCK  "7340040"           //  pg_try_advisory_lock key of the housekeeper

static volatile sig_atomic_t s_stop;
static void s_on_signal (int sig)
{
    (void) sig;
    s_stop = 1;
}

typedef struct {
    long archive, deliveries, deadletters, jobs, stats, complaints, questions, tasks;
    bool dry;
} s_policy_t;

static long s_days (const char *opt, const char *env, const char *def)
{
    const char *v = qyctl_opt (opt, getenv (env) ? getenv (env) : def);
    return qyctl_long (opt, v, 0, 36500);
}

//  Run one statement that changes rows; under --dry-run inside a
//  transaction rolled back, so that what it would do is counted exactly
//  and nothing changes. The statement returns (changed, next cursor).
static PGresult *s_step (const s_policy_t *pol, const char *sql, int n, const char *const *p)
{
    if (pol->dry)
        PQclear (qyctl_exec ("BEGIN", 0, NULL));
    PGresult *res = qyctl_exec (sql, n, p);
    if (pol->dry)
        PQclear (qyctl_exec ("ROLLBACK", 0, NULL));
    return res;
}

//  A pass over a table in the order of its one-column primary key, a batch
//  at a time (each its own statement: no long transaction, no long lock).
//  change is "DELETE FROM t x USING b WHERE x.pk = b.pk AND …" or an UPDATE
//  of the same form, ending in RETURNING 1; $1 is the cutoff, $2 the cursor.
static long s_keyset (const s_policy_t *pol, const char *table, const char *pk, const char *start,
                      const char *change, const char *cutoff)
{
    char *sql = qy_printf ("WITH b AS (SELECT %s AS pk FROM %s WHERE %s > $2 ORDER BY %s LIMIT " S_BATCH "), "
                           "c AS (%s) SELECT (SELECT count (*) FROM c), (SELECT max (pk) FROM b)",
                           pk, table, pk, pk, change);
    char *cursor = qy_strdup (start);
    long total = 0;
    qyctl_progress_t progress;
    qyctl_progress_start (&progress, table, 0);
    while (!s_stop) {
        const char *p [] = { cutoff, cursor };
        PGresult *res = s_step (pol, sql, 2, p);
        total += atol (PQgetvalue (res, 0, 0));
        qyctl_progress (&progress, total);
        bool more = !PQgetisnull (res, 0, 1);
        free (cursor);
        cursor = qy_strdup (PQgetvalue (res, 0, 1));
        PQclear (res);
        if (!more)
            break;
    }
    qyctl_progress_end (&progress);
    free (cursor);
    free (sql);
    return total;
}

//  Rows matching cond, removed a batch at a time (tables without a
//  one-column key; the rows that go are the oldest, at the heap's start).
static long s_batches (const s_policy_t *pol, const char *table, const char *cond, const char *cutoff)
{
    const char *p [] = { cutoff };
    if (pol->dry) {
        char *count = qy_printf ("SELECT count (*) FROM %s WHERE %s", table, cond);
        PGresult *res = qyctl_exec (count, 1, p);
        long n = atol (PQgetvalue (res, 0, 0));
        PQclear (res);
        free (count);
        return n;
    }
    char *sql = qy_printf ("WITH c AS (DELETE FROM %s WHERE ctid = ANY (ARRAY (SELECT ctid FROM %s WHERE %s LIMIT " S_BATCH
                           ")) RETURNING 1) SELECT count (*) FROM c", table, table, cond);
    long total = 0;
    qyctl_progress_t progress;
    qyctl_progress_start (&progress, table, 0);
    while (!s_stop) {
        PGresult *res = qyctl_exec (sql, 1, p);
        long n = atol (PQgetvalue (res, 0, 0));
        PQclear (res);
        total += n;
        qyctl_progress (&progress, total);
        if (n < atol (S_BATCH))
            break;
    }
    qyctl_progress_end (&progress);
    free (sql);
    return total;
}

//  The cutoff of a kind kept `days` days, as a timestamp PostgreSQL reads.
static void s_cutoff (long days, char *buf, size_t len)
{
    PGresult *res;
    char d [16];
    qy_snprintf (d, sizeof (d), "%ld", days);
    const char *p [] = { d };
    res = qyctl_exec ("SELECT (now () - $1::int * interval '1 day')::text", 1, p);
    qy_snprintf (buf, len, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
}

//  What a run did: the JSON line (the compose housekeeper's log), or with
//  --format table|csv those figures as a table.
static void s_report (const char *detail)
{
    const char *format = qyctl_opt ("format", NULL);
    if (!format || strcmp (format, "json") == 0)
        printf ("%s\n", detail);
    else {
        char *rows = qy_printf ("[%s]", detail);
        PGresult *res = qyctl_json_table (rows, "dry_run bool, archive_partitions bigint, archive_rows bigint, delivery_payloads bigint, "
                                          "delivery_tombstones bigint, dead_letters bigint, campaign_jobs bigint, "
                                          "member_day_stats bigint, complaints bigint, "
                                          "questions bigint, staff_tasks bigint, login_failures bigint, interrupted bool");
        qyctl_print (res, format);
        PQclear (res);
        free (rows);
    }
    fflush (stdout);
}

static void s_run (const s_policy_t *pol)
{
    PGresult *res = qyctl_exec ("SELECT pg_try_advisory_lock (" S_LOCK ")", 0, NULL);
    bool mine = PQgetvalue (res, 0, 0) [0] == 't';
    PQclear (res);
    if (!mine) {
        printf ("housekeep: another housekeeper is running; nothing done\n");
        fflush (stdout);
        return;
    }
    char cut [64];
    long partitions = 0, archived_rows = 0, cleared = 0, tombstones = 0, letters = 0, jobs = 0, member_days = 0;
    long complaints = 0, questions = 0, tasks = 0, logins = 0;
    if (pol->archive) {
        s_cutoff (pol->archive, cut, sizeof (cut));
        const char *p [] = { cut };
        //  Whole UTC days before the cutoff's day: rows counted from the catalogue's estimate.
        res = qyctl_exec ("SELECT count (*), coalesce (sum (greatest (c.reltuples, 0)), 0)::bigint FROM pg_inherits i "
                          "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'messages'::regclass "
                          "AND c.relname ~ '^messages_[0-9]{8}$' "
                          "AND to_date (substr (c.relname, 10), 'YYYYMMDD') < ($1::timestamptz AT TIME ZONE 'UTC')::date", 1, p);
        partitions = atol (PQgetvalue (res, 0, 0));
        archived_rows = atol (PQgetvalue (res, 0, 1));
        PQclear (res);
        if (!pol->dry && partitions)
            PQclear (qyctl_exec ("SELECT qy_drop_partitions_before (($1::timestamptz AT TIME ZONE 'UTC')::date)", 1, p));
    }
    //  Passes in key order: how long each kind is kept, and what goes.
    const struct {
        long        days;
        const char *table, *pk, *start, *change;
        long       *out;
    } passes [] = {
        //  Tombstones outlive their payload until nothing could replay them.
        { pol->archive, "deliveries", "key", "",
          "DELETE FROM deliveries x USING b WHERE x.key = b.pk AND x.status IN ('delivered', 'dead') "
          "AND x.created_at < $1::timestamptz RETURNING 1", &tombstones },
        { pol->deliveries, "deliveries", "key", "",
          "UPDATE deliveries x SET payload = '{}', last_error = NULL FROM b WHERE x.key = b.pk "
          "AND x.status IN ('delivered', 'dead') AND x.created_at < $1::timestamptz AND x.payload <> '{}' RETURNING 1", &cleared },
        { pol->deadletters, "dead_letters", "id", "0",
          "DELETE FROM dead_letters x USING b WHERE x.id = b.pk AND x.state <> 'open' "
          "AND coalesce (x.resolved_at, x.replayed_at) < $1::timestamptz RETURNING 1", &letters },
        { pol->jobs, "campaign_jobs", "id", "0",
          "DELETE FROM campaign_jobs x USING b WHERE x.id = b.pk AND x.status <> 'pending' AND x.period <> 'g' "
          "AND x.due_at < $1::timestamptz RETURNING 1", &jobs },
        { pol->questions, "moderation_questions", "id", "0",
          "DELETE FROM moderation_questions x USING b WHERE x.id = b.pk AND x.asked_at < $1::timestamptz RETURNING 1",
          &questions },
        { pol->tasks, "staff_tasks", "id", "0",
          "DELETE FROM staff_tasks x USING b WHERE x.id = b.pk AND x.closed_at < $1::timestamptz "
          "AND x.state NOT IN ('open', 'reminded', 'escalated') RETURNING 1", &tasks },
        //  A console login failure counts for an hour; its row stays until
        //  here, so names tried by a stranger do not pile up for ever.
        { 1, "console_login_failures", "key", "",
          "DELETE FROM console_login_failures x USING b WHERE x.key = b.pk AND x.last_at < $1::timestamptz "
          "AND (x.locked_until IS NULL OR x.locked_until < now ()) RETURNING 1", &logins },
    };
    for (size_t k = 0; k < QY_ARRAY_LEN (passes) && !s_stop; k++)
        if (passes [k].days) {
            s_cutoff (passes [k].days, cut, sizeof (cut));
            *passes [k].out = s_keyset (pol, passes [k].table, passes [k].pk, passes [k].start, passes [k].change, cut);
        }
    if (pol->stats && !s_stop) {
        s_cutoff (pol->stats, cut, sizeof (cut));
        member_days = s_batches (pol, "daily_member_stats", "day < $1::timestamptz::date", cut);
    }
    if (pol->complaints && !s_stop) {
        s_cutoff (pol->complaints, cut, sizeof (cut));
        complaints = s_batches (pol, "complaints", "event_time < $1::timestamptz", cut);
    }
    char *detail = qy_printf ("{\"dry_run\":%s,\"archive_partitions\":%ld,\"archive_rows\":%ld,\"delivery_payloads\":%ld,"
                              "\"delivery_tombstones\":%ld,\"dead_letters\":%ld,\"campaign_jobs\":%ld,"
                              "\"member_day_stats\":%ld,\"complaints\":%ld,"
                              "\"questions\":%ld,\"staff_tasks\":%ld,\"login_failures\":%ld,\"interrupted\":%s}",
                              pol->dry ? "true" : "false", partitions, archived_rows, cleared, tombstones, letters, jobs,
                              member_days, complaints, questions, tasks, logins, s_stop ? "true" : "false");
    s_report (detail);
    if (!pol->dry)
        qyctl_audit_detail (0, "housekeep", "retention", NULL, detail);
    free (detail);
    PQclear (qyctl_exec ("SELECT pg_advisory_unlock (" S_LOCK ")", 0, NULL));
}

int qyctl_housekeep (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    if (qyctl_arg (0))
        qyctl_usage_error ("these arguments do not go together");
    s_policy_t pol = {
        .archive     = s_days ("--archive-days", "QY_RETENTION_ARCHIVE_DAYS", "365"),
        .deliveries  = s_days ("--deliveries-days", "QY_RETENTION_DELIVERIES_DAYS", "30"),
        .deadletters = s_days ("--deadletters-days", "QY_RETENTION_DEADLETTERS_DAYS", "90"),
        .jobs        = s_days ("--jobs-days", "QY_RETENTION_JOBS_DAYS", "90"),
        .stats       = s_days ("--stats-days", "QY_RETENTION_STATS_DAYS", "400"),
        .complaints  = s_days ("--complaints-days", "QY_RETENTION_COMPLAINTS_DAYS", "400"),
        .questions   = s_days ("--questions-days", "QY_RETENTION_QUESTIONS_DAYS", "400"),
        .tasks       = s_days ("--tasks-days", "QY_RETENTION_TASKS_DAYS", "400"),
        .dry         = qyctl_flag ("dry-run"),
    };
    long every = qyctl_long ("--every", qyctl_opt ("every", "0"), 0, 7 * 86400);
    if (!pol.dry)
        qyctl_confirm ("housekeep removes what is past its retention days (--dry-run counts it)");
    signal (SIGTERM, s_on_signal);
    signal (SIGINT, s_on_signal);
    do {
        s_run (&pol);
        for (long s = 0; s < every && !s_stop; s++)
            sleep (1);
    } while (every && !s_stop);
    return 0;
}

static const qyctl_option_t s_housekeep_opts [] = {
    { "dry-run",          QYCTL_FLAG,  NULL, "count what would go; change nothing (needs no --yes)" },
    { "every",            QYCTL_VALUE, "S",  "run again every S seconds until SIGTERM" },
    { "archive-days",     QYCTL_VALUE, "N",  "keep the message archive N days (365)" },
    { "deliveries-days",  QYCTL_VALUE, "N",  "keep done deliveries' payloads N days (30)" },
    { "deadletters-days", QYCTL_VALUE, "N",  "keep closed dead letters N days (90)" },
    { "jobs-days",        QYCTL_VALUE, "N",  "keep campaign jobs over N days (90)" },
    { "stats-days",       QYCTL_VALUE, "N",  "keep per-member daily statistics N days (400)" },
    { "complaints-days",  QYCTL_VALUE, "N",  "keep customers' complaints N days (400)" },
    { "questions-days",   QYCTL_VALUE, "N",  "keep customers' questions and their answers N days (400)" },
    { "tasks-days",       QYCTL_VALUE, "N",  "keep staff tasks closed N days (400)" },
    { NULL }
};
const qyctl_command_t qyctl_housekeep_commands [] = {
    { "housekeep", "", 0, 0, s_housekeep_opts, "data retention: remove what is past its days (0 keeps forever)", QYCTL_CONFIRM },
    { NULL }
};
