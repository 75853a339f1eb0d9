//  qy_pg_pipeline (common/src/qy_pg.c) against a real PostgreSQL (argv[1] is
//  its DSN): several statements sent with one sync, each result given to
//  its own step, in one round trip.
//
//    results   each step gets its own result, kept or not, first run
//              (unnamed) and later runs (prepared statements);
//    errors    a failing step is reported (ok false, its SQLSTATE, one log
//              line with its context), the steps after it do not run and
//              nothing of the pipeline's transaction is applied;
//    BEGIN     a pipeline that opens a transaction leaves it open for the
//              next pipeline to commit, invisible to others until then;
//    stale     a prepared statement a migration made stale fails its
//              pipeline (0A000) and the retry succeeds;
//    lost      a connection lost mid-pipeline: false, no result kept,
//              nothing applied, and the next call reconnects;
//    generic   qy_pg_run_generic: the statement's prepared form runs its
//              generic plan every time and is never planned afresh, the
//              session's plan_cache_mode is as before afterwards (after a
//              failure too);
//    name      the connection carries the application name given by
//              qy_pg_application_default, unless its DSN names one.
//
//  Prints one line per check and exits 1 when any fails.
#include "qy/pg.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_failed;

static void s_check (const char *what, bool ok)
{
    printf ("%s: %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        s_failed = 1;
}

//  A statement on another session: the test's setup, or a reader that sees
//  only what is committed. Its first value as an integer.
static long s_other (PGconn *other, const char *sql)
{
    PGresult *r = PQexec (other, sql);
    if (PQresultStatus (r) != PGRES_COMMAND_OK && PQresultStatus (r) != PGRES_TUPLES_OK) {
        fprintf (stderr, "setup failed: %s: %s", sql, PQresultErrorMessage (r));
        exit (2);
    }
    long v = PQntuples (r) > 0 ? atol (PQgetvalue (r, 0, 0)) : 0;
    PQclear (r);
    return v;
}

static void s_clear (qy_pg_step_t *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        PQclear (steps [i].res);
        steps [i].res = NULL;
    }
}

//  Step i's single value, "" when it has none.
static const char *s_value (const qy_pg_step_t *step)
{
    return step->res && PQntuples (step->res) == 1 ? PQgetvalue (step->res, 0, 0) : "";
}

//  Three reads of different shapes around a write whose result is not kept:
//  each value must come back to the step that asked for it.
static void s_results (qy_pg_t *pg, PGconn *other, int run)
{
    char a [16], c [16], what [96];
    snprintf (a, sizeof (a), "a%d", run);
    snprintf (c, sizeof (c), "c%d", run);
    const char *pa [] = { a }, *pc [] = { c }, *pn [] = { "2", "3" };
    qy_pg_step_t s [] = {
        { .context = "read a", .sql = "SELECT $1::text", .nparams = 1, .params = pa, .keep = true },
        { .context = "write", .sql = "INSERT INTO qy_p (v) VALUES (1)", .keep = false },
        { .context = "read sum", .sql = "SELECT $1::int + $2::int, 'x'", .nparams = 2, .params = pn, .keep = true },
        { .context = "read c", .sql = "SELECT $1::text AS c", .nparams = 1, .params = pc, .keep = true },
    };
    int64_t trips = qy_pg_round_trips (pg);
    bool ok = qy_pg_pipeline (pg, s, 4);
    snprintf (what, sizeof (what), "run %d: every step ok", run);
    s_check (what, ok && s [0].ok && s [1].ok && s [2].ok && s [3].ok);
    snprintf (what, sizeof (what), "run %d: each result to its own step", run);
    s_check (what, strcmp (s_value (&s [0]), a) == 0 && !s [1].res && strcmp (s_value (&s [2]), "5") == 0
                   && s [2].res && PQnfields (s [2].res) == 2 && strcmp (s_value (&s [3]), c) == 0);
    //  The first run is one round trip; the second prepares its four
    //  plannable statements first (once per connection); later ones are one.
    int64_t want = run == 2 ? 5 : 1;
    snprintf (what, sizeof (what), "run %d: %lld round trip(s)", run, (long long) want);
    s_check (what, qy_pg_round_trips (pg) - trips == want);
    snprintf (what, sizeof (what), "run %d: the write committed", run);
    s_check (what, s_other (other, "SELECT count (*) FROM qy_p") == run);
    s_clear (s, 4);
}

//  A step that fails: the ones before it ran, it did not, the ones after it
//  did not run, and nothing of the transaction was applied.
static void s_errors (qy_pg_t *pg, PGconn *other)
{
    long before = s_other (other, "SELECT count (*) FROM qy_p");
    const char *p0 [] = { "0" };
    qy_pg_step_t s [] = {
        { .context = "write one", .sql = "INSERT INTO qy_p (v) VALUES (10)" },
        { .context = "divide", .sql = "SELECT 1 / $1::int", .nparams = 1, .params = p0, .keep = true },
        { .context = "write two", .sql = "INSERT INTO qy_p (v) VALUES (11)" },
        { .context = "read", .sql = "SELECT 'after'", .keep = true },
    };
    bool ok = qy_pg_pipeline (pg, s, 4);
    s_check ("a failing step fails the pipeline", !ok);
    s_check ("the step before it ran, the failing one and those after did not",
             s [0].ok && !s [1].ok && !s [2].ok && !s [3].ok);
    s_check ("the failing step's SQLSTATE (22012)", strcmp (qy_pg_last_sqlstate (pg), "22012") == 0);
    s_check ("no result kept for steps that did not run", !s [1].res && !s [3].res);
    s_check ("nothing of the transaction applied", s_other (other, "SELECT count (*) FROM qy_p") == before);
    s_check ("still connected", qy_pg_ok (pg));
    //  Unique violation in the last step: the earlier write is undone too.
    qy_pg_step_t u [] = {
        { .context = "write three", .sql = "INSERT INTO qy_p (v) VALUES (12)" },
        { .context = "duplicate", .sql = "INSERT INTO qy_u (k) VALUES (1), (1)" },
    };
    s_check ("a constraint in the last step fails it (23505)",
             !qy_pg_pipeline (pg, u, 2) && u [0].ok && !u [1].ok && strcmp (qy_pg_last_sqlstate (pg), "23505") == 0);
    s_check ("and undoes the step before it", s_other (other, "SELECT count (*) FROM qy_p") == before);
    qy_pg_step_t again [] = { { .context = "read", .sql = "SELECT 'again'", .keep = true } };
    s_check ("the next pipeline runs", qy_pg_pipeline (pg, again, 1) && strcmp (s_value (&again [0]), "again") == 0
                                       && qy_pg_last_sqlstate (pg) [0] == 0);
    s_clear (again, 1);
}

//  BEGIN in one pipeline, COMMIT in the next: the caller's transaction.
static void s_transaction (qy_pg_t *pg, PGconn *other)
{
    long before = s_other (other, "SELECT count (*) FROM qy_p");
    qy_pg_step_t a [] = {
        { .context = "begin", .sql = "BEGIN" },
        { .context = "write", .sql = "INSERT INTO qy_p (v) VALUES (20)" },
        { .context = "count", .sql = "SELECT count (*) FROM qy_p", .keep = true },
    };
    s_check ("BEGIN, write, read in one pipeline", qy_pg_pipeline (pg, a, 3) && atol (s_value (&a [2])) == before + 1);
    s_check ("the transaction stays open", PQtransactionStatus (qy_pg_conn (pg)) == PQTRANS_INTRANS);
    s_check ("others do not see it yet", s_other (other, "SELECT count (*) FROM qy_p") == before);
    qy_pg_step_t b [] = {
        { .context = "write", .sql = "INSERT INTO qy_p (v) VALUES (21)" },
        { .context = "commit", .sql = "COMMIT" },
    };
    s_check ("write, COMMIT in the next", qy_pg_pipeline (pg, b, 2));
    s_check ("both writes committed", s_other (other, "SELECT count (*) FROM qy_p") == before + 2);
    s_clear (a, 3);
    //  A failure inside the caller's transaction: the caller rolls back.
    qy_pg_step_t c [] = {
        { .context = "begin", .sql = "BEGIN" },
        { .context = "write", .sql = "INSERT INTO qy_p (v) VALUES (22)" },
        { .context = "duplicate", .sql = "INSERT INTO qy_u (k) VALUES (2), (2)" },
        { .context = "commit", .sql = "COMMIT" },
    };
    s_check ("a failure before COMMIT fails the pipeline", !qy_pg_pipeline (pg, c, 4) && !c [3].ok);
    s_check ("and leaves the transaction failed", PQtransactionStatus (qy_pg_conn (pg)) == PQTRANS_INERROR);
    qy_pg_step_t r [] = { { .context = "rollback", .sql = "ROLLBACK" } };
    s_check ("ROLLBACK", qy_pg_pipeline (pg, r, 1));
    s_check ("nothing of it applied", s_other (other, "SELECT count (*) FROM qy_p") == before + 2);
}

//  A migration makes a prepared statement stale: that pipeline fails, the retry does not.
static void s_stale (qy_pg_t *pg, PGconn *other)
{
    qy_pg_step_t s [] = { { .context = "shape", .sql = "SELECT * FROM qy_p WHERE v = 20", .keep = true } };
    for (int i = 0; i < 2; i++) {
        qy_pg_pipeline (pg, s, 1);
        s_clear (s, 1);
    }
    s_other (other, "ALTER TABLE qy_p ADD COLUMN w int DEFAULT 7");
    s_check ("a stale prepared statement fails its pipeline (0A000)",
             !qy_pg_pipeline (pg, s, 1) && strcmp (qy_pg_last_sqlstate (pg), "0A000") == 0);
    s_check ("the retry has the new shape", qy_pg_pipeline (pg, s, 1) && s [0].res && PQnfields (s [0].res) == 2);
    s_clear (s, 1);
}

//  The server ends the session in the middle of a pipeline.
static void s_lost (qy_pg_t *pg, PGconn *other)
{
    long before = s_other (other, "SELECT count (*) FROM qy_p");
    qy_pg_step_t s [] = {
        { .context = "write", .sql = "INSERT INTO qy_p (v) VALUES (30)" },
        { .context = "read", .sql = "SELECT 'before'", .keep = true },
        { .context = "terminate", .sql = "SELECT pg_terminate_backend (pg_backend_pid ())", .keep = true },
        { .context = "write", .sql = "INSERT INTO qy_p (v) VALUES (31)" },
    };
    s_check ("a connection lost mid-pipeline fails it", !qy_pg_pipeline (pg, s, 4));
    s_check ("no step ok, no result kept", !s [0].ok && !s [1].ok && !s [1].res && !s [2].res && !s [3].ok);
    s_check ("the handle is down", !qy_pg_ok (pg));
    s_check ("nothing of it applied", s_other (other, "SELECT count (*) FROM qy_p") == before);
    usleep (300 * 1000);        //  past the first backoff
    qy_pg_step_t again [] = { { .context = "read", .sql = "SELECT 'back'", .keep = true } };
    s_check ("the next pipeline reconnects", qy_pg_pipeline (pg, again, 1) && strcmp (s_value (&again [0]), "back") == 0);
    s_clear (again, 1);
}

//  One value of a statement on the handle's own session ("" on failure).
static char *s_own (qy_pg_t *pg, const char *sql)
{
    PGresult *r = NULL;
    char *v = strdup (qy_pg_run (pg, "own", sql, 0, NULL, &r) && PQntuples (r) == 1 ? PQgetvalue (r, 0, 0) : "");
    PQclear (r);
    return v;
}

static void s_generic (qy_pg_t *pg)
{
    const char *sql = "SELECT count (*) FROM (SELECT v FROM qy_p ORDER BY v LIMIT $1) x";
    const char *p [] = { "2" };
    bool same = true;
    for (int i = 0; i < 6; i++) {
        PGresult *r = NULL;
        same = same && qy_pg_run_generic (pg, "generic", sql, 1, p, &r) && strcmp (PQgetvalue (r, 0, 0), "2") == 0;
        PQclear (r);
    }
    s_check ("a generic run returns the statement's rows", same);
    char *plans = s_own (pg, "SELECT generic_plans || ' ' || custom_plans FROM pg_prepared_statements "
                             "WHERE statement = 'SELECT count (*) FROM (SELECT v FROM qy_p ORDER BY v LIMIT $1) x'");
    //  The first run goes unnamed (qy_pg prepares a statement's second run).
    s_check ("its prepared form ran its generic plan each time, no custom plan", strcmp (plans, "5 0") == 0);
    free (plans);
    char *mode = s_own (pg, "SHOW plan_cache_mode");
    s_check ("plan_cache_mode is the session's again", strcmp (mode, "auto") == 0);
    free (mode);
    s_check ("a failing generic run fails", !qy_pg_run_generic (pg, "generic", "SELECT 1 / ($1::int - 1)", 1,
                                                                (const char *[]) { "1" }, NULL)
                                            && strcmp (qy_pg_last_sqlstate (pg), "22012") == 0);
    mode = s_own (pg, "SHOW plan_cache_mode");
    s_check ("after a failure too", strcmp (mode, "auto") == 0);
    free (mode);
}

static void s_name (qy_pg_t *pg, const char *dsn)
{
    char *app = s_own (pg, "SHOW application_name");
    s_check ("the application name given", strcmp (app, "qy-pipeline-test") == 0);
    free (app);
    char *own_dsn = malloc (strlen (dsn) + 32);
    sprintf (own_dsn, "%s application_name=mine", dsn);
    qy_pg_t *mine = qy_pg_new (own_dsn);
    app = s_own (mine, "SHOW application_name");
    s_check ("a DSN's own application name wins", strcmp (app, "mine") == 0);
    free (app);
    qy_pg_destroy (&mine);
    free (own_dsn);
}

int main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: pg_pipeline DSN\n");
        return 2;
    }
    PGconn *other = PQconnectdb (argv [1]);
    if (PQstatus (other) != CONNECTION_OK) {
        fprintf (stderr, "connect: %s", PQerrorMessage (other));
        return 2;
    }
    s_other (other, "DROP TABLE IF EXISTS qy_p, qy_u");
    s_other (other, "CREATE TABLE qy_p (v int)");
    s_other (other, "CREATE TABLE qy_u (k int PRIMARY KEY)");
    qy_pg_prepare_default (true);
    qy_pg_application_default ("qy-pipeline-test");
    qy_pg_t *pg = qy_pg_new (argv [1]);
    qy_pg_step_t none [1];
    s_check ("an empty pipeline", qy_pg_pipeline (pg, none, 0));
    for (int run = 1; run <= 3; run++)
        s_results (pg, other, run);
    s_errors (pg, other);
    s_transaction (pg, other);
    s_stale (pg, other);
    s_lost (pg, other);
    s_generic (pg);
    s_name (pg, argv [1]);
    qy_pg_destroy (&pg);
    s_other (other, "DROP TABLE qy_p, qy_u");
    PQfinish (other);
    return s_failed;
}
