//  qy_pg's prepared statements when they stop serving (common/src/qy_pg.c),
//  against a real PostgreSQL (argv[1] is its DSN):
//
//    0A000  a table changed under a prepared statement whose result shape it
//           fixed ("cached plan must not change result type"): outside a
//           transaction the call still succeeds, with the new shape;
//    26000  the session's prepared statements were dropped (DISCARD ALL, as
//           a pooler does): the call still succeeds;
//    inside a transaction the 0A000 fails that transaction (PostgreSQL
//           gives no way round it); after the caller's ROLLBACK the retry
//           succeeds, the stale statement is deallocated, and the statement
//           is prepared again on its next repeat.
//
//  Prints one line per check and exits 1 when any fails.
#include "qy/pg.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_failed;

static void s_check (const char *what, bool ok)
{
    printf ("%s: %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        s_failed = 1;
}

//  Run sql on a separate connection (another session: a migration).
static void s_other (PGconn *other, const char *sql)
{
    PGresult *r = PQexec (other, sql);
    if (PQresultStatus (r) != PGRES_COMMAND_OK && PQresultStatus (r) != PGRES_TUPLES_OK) {
        fprintf (stderr, "setup failed: %s: %s", sql, PQresultErrorMessage (r));
        exit (2);
    }
    PQclear (r);
}

//  Columns of SELECT * FROM qy_t (the shape the prepared plan fixed), or -1
//  on an error, whose SQLSTATE goes into state.
static int s_columns (qy_pg_t *pg, char state [6])
{
    PGresult *r = qy_pg_exec (pg, "SELECT * FROM qy_t WHERE a = $1", 1, (const char *[]) { "1" });
    int n = -1;
    state [0] = 0;
    if (r && PQresultStatus (r) == PGRES_TUPLES_OK && PQntuples (r) == 1)
        n = PQnfields (r);
    else if (r)
        snprintf (state, 6, "%s", qy_pg_sqlstate (r));
    PQclear (r);
    return n;
}

//  Prepared statements of this session that are s_columns' statement (the
//  text of this query does not contain it).
static int s_prepared (qy_pg_t *pg)
{
    PGresult *r = qy_pg_exec (pg, "SELECT count (*) FROM pg_prepared_statements"
                                  " WHERE strpos (statement, 'WHERE a = ' || chr (36) || '1') > 0", 0, NULL);
    int n = r && PQresultStatus (r) == PGRES_TUPLES_OK ? atoi (PQgetvalue (r, 0, 0)) : -1;
    PQclear (r);
    return n;
}

static bool s_simple (qy_pg_t *pg, const char *sql)
{
    PGresult *r = qy_pg_exec (pg, sql, 0, NULL);
    bool ok = r && PQresultStatus (r) == PGRES_COMMAND_OK;
    PQclear (r);
    return ok;
}

int main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: pg_recover DSN\n");
        return 2;
    }
    PGconn *other = PQconnectdb (argv [1]);
    if (PQstatus (other) != CONNECTION_OK) {
        fprintf (stderr, "connect: %s", PQerrorMessage (other));
        return 2;
    }
    s_other (other, "DROP TABLE IF EXISTS qy_t");
    s_other (other, "CREATE TABLE qy_t (a int)");
    s_other (other, "INSERT INTO qy_t VALUES (1)");

    qy_pg_prepare_default (true);
    qy_pg_t *pg = qy_pg_new (argv [1]);
    char state [6];
    s_check ("first run", s_columns (pg, state) == 1);
    s_check ("second run", s_columns (pg, state) == 1);
    s_check ("prepared on its second run", s_prepared (pg) == 1);

    //  0A000 outside a transaction.
    s_other (other, "ALTER TABLE qy_t ADD COLUMN b int DEFAULT 7");
    s_check ("after a column is added: the new shape, no error", s_columns (pg, state) == 2);
    s_check ("the stale statement is deallocated", s_prepared (pg) == 0);
    s_check ("prepared again on its second run", s_columns (pg, state) == 2 && s_columns (pg, state) == 2
             && s_prepared (pg) == 1);

    //  26000: the session's statements are gone (it was prepared just above).
    s_check ("DISCARD ALL", s_simple (pg, "DISCARD ALL"));
    s_check ("after DISCARD ALL: no error", s_columns (pg, state) == 2);
    s_check ("prepared again after DISCARD ALL", s_columns (pg, state) == 2 && s_columns (pg, state) == 2
             && s_prepared (pg) == 1);

    //  0A000 inside a transaction: that transaction fails, its retry does not.
    s_check ("BEGIN", s_simple (pg, "BEGIN"));
    s_other (other, "ALTER TABLE qy_t ADD COLUMN c int DEFAULT 8");
    int n = s_columns (pg, state);
    s_check ("in a transaction the change fails it (0A000)", n == -1 && strcmp (state, "0A000") == 0);
    s_check ("ROLLBACK", s_simple (pg, "ROLLBACK"));
    s_check ("the retry: no error, the new shape", s_columns (pg, state) == 3);
    s_check ("the stale statement is deallocated once the transaction is over", s_prepared (pg) == 0);
    s_check ("prepared again after the transaction", s_columns (pg, state) == 3 && s_columns (pg, state) == 3
             && s_prepared (pg) == 1);

    qy_pg_destroy (&pg);
    s_other (other, "DROP TABLE qy_t");
    PQfinish (other);
    return s_failed;
}
