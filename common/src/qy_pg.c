#include "qy/pg.h"
#include "qy/log.h"
#include "qy/util.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

//  Statements run a second time on a connection are prepared there and
//  executed by name from then on: PostgreSQL parses and plans them once per
//  connection instead of on every call (the services run the same few
//  dozen statements millions of times). Dynamic SQL seen once costs a slot
//  and nothing else; past S_CACHE_MAX distinct texts nothing more is
//  prepared. It can be turned off (for a pooler in transaction
//  mode, which cannot keep a session's prepared statements): `pg.prepare`.
#define S_CACHE_MAX 256
#define S_STALE_MAX 8
typedef struct {
    char     *sql;
    uint64_t  hash;
    int       seen;         //  times run on this connection
    char      name [16];    //  prepared as this ("qyN"), or ""
} s_stmt_t;

static bool s_prepare_default = true;
static char s_application [64];

struct qy_pg_t {
    char    *dsn;
    PGconn  *conn;
    bool     prepare;
    s_stmt_t stmts [S_CACHE_MAX];
    int      nstmts, names;
    char     stale [S_STALE_MAX][16];   //  to deallocate once no transaction is open
    int      nstale;
    bool     ok;
    int64_t  next_try_us;
    int      backoff_ms;
    char     sqlstate [6];      //  of the last statement that failed ("" when it did not reach PostgreSQL)
    int64_t  round_trips;
};

qy_pg_t *qy_pg_new (const char *dsn)
{
    qy_pg_t *self = qy_calloc (1, sizeof (*self));
    self->dsn = qy_strdup (dsn);
    self->backoff_ms = 100;
    self->prepare = s_prepare_default;
    return self;
}

void qy_pg_prepare_default (bool on)
{
    s_prepare_default = on;
}

void qy_pg_application_default (const char *name)
{
    qy_strlcpy (s_application, name ? name : "", sizeof (s_application));
}

static void s_forget_statements (qy_pg_t *self)
{
    for (int i = 0; i < self->nstmts; i++)
        free (self->stmts [i].sql);
    self->nstmts = 0;
    self->names = 0;
    self->nstale = 0;
}

//  Deallocate the statements a failed transaction could not, now that none
//  is open (each fails harmlessly when it is already gone).
static void s_drop_stale (qy_pg_t *self)
{
    while (self->nstale > 0 && PQtransactionStatus (self->conn) == PQTRANS_IDLE) {
        char drop [32];
        snprintf (drop, sizeof (drop), "DEALLOCATE %s", self->stale [--self->nstale]);
        PQclear (PQexec (self->conn, drop));
        self->round_trips++;
    }
}

void qy_pg_destroy (qy_pg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    qy_pg_t *self = *self_p;
    if (self->conn)
        PQfinish (self->conn);
    s_forget_statements (self);
    free (self->dsn);
    free (self);
    *self_p = NULL;
}

static void s_down (qy_pg_t *self, const char *why)
{
    if (self->ok)
        qy_log_warn ("postgres unavailable error=%s", why);
    self->ok = false;
    if (self->conn) {
        PQfinish (self->conn);
        self->conn = NULL;
    }
    s_forget_statements (self);     //  they lived on that connection
    self->next_try_us = qy_mono_us () + (int64_t) self->backoff_ms * 1000;
    self->backoff_ms = self->backoff_ms * 2 > 5000 ? 5000 : self->backoff_ms * 2;
}

bool qy_pg_connect (qy_pg_t *self)
{
    if (self->conn && PQstatus (self->conn) == CONNECTION_OK)
        return true;
    if (self->conn)
        s_down (self, PQerrorMessage (self->conn));
    if (qy_mono_us () < self->next_try_us)
        return false;
    //  The DSN expanded as PQconnectdb would; a fallback name yields to
    //  an application_name the DSN sets itself.
    const char *keys [] = { "dbname", "fallback_application_name", NULL };
    const char *values [] = { self->dsn, s_application [0] ? s_application : NULL, NULL };
    self->conn = PQconnectdbParams (keys, values, 1);
    if (PQstatus (self->conn) != CONNECTION_OK) {
        char why [256];
        qy_strlcpy (why, PQerrorMessage (self->conn), sizeof (why));
        for (char *p = why; *p; p++)
            if (*p == '\n' || *p == '"')
                *p = ' ';
        if (!self->ok && self->backoff_ms == 100)
            qy_log_warn ("postgres connect failed error=%s", why);
        s_down (self, why);
        return false;
    }
    PQsetNoticeProcessor (self->conn, NULL, NULL);
    PQclear (PQexec (self->conn, "SET client_min_messages = warning"));
    qy_log_info ("postgres connected");
    self->ok = true;
    self->backoff_ms = 100;
    return true;
}

bool qy_pg_ok (qy_pg_t *self)
{
    return self->ok && self->conn && PQstatus (self->conn) == CONNECTION_OK;
}

PGconn *qy_pg_conn (qy_pg_t *self)
{
    return qy_pg_connect (self) ? self->conn : NULL;
}

bool qy_pg_listen (qy_pg_t *self, const char *channel)
{
    if (!qy_pg_connect (self))
        return false;
    char *ident = PQescapeIdentifier (self->conn, channel, strlen (channel));
    char sql [160];
    snprintf (sql, sizeof (sql), "LISTEN %s", ident ? ident : "\"\"");
    PQfreemem (ident);
    PGresult *r = PQexec (self->conn, sql);
    bool ok = PQresultStatus (r) == PGRES_COMMAND_OK;
    PQclear (r);
    return ok;
}

//  Only plannable statements are prepared (not BEGIN, SET, LISTEN …).
static bool s_preparable (const char *sql)
{
    while (isspace ((unsigned char) *sql))
        sql++;
    static const char *verbs [] = { "SELECT", "INSERT", "UPDATE", "DELETE", "WITH" };
    for (size_t i = 0; i < sizeof (verbs) / sizeof (verbs [0]); i++) {
        size_t n = strlen (verbs [i]);
        if (strncasecmp (sql, verbs [i], n) == 0 && !isalnum ((unsigned char) sql [n]))
            return true;
    }
    return false;
}

//  The statement's slot on this connection, prepared on its second run;
//  NULL to run it unnamed.
static s_stmt_t *s_statement (qy_pg_t *self, const char *sql, int nparams)
{
    if (!self->prepare || !s_preparable (sql))
        return NULL;
    uint64_t h = 14695981039346656037ULL;
    for (const char *p = sql; *p; p++)
        h = (h ^ (unsigned char) *p) * 1099511628211ULL;
    s_stmt_t *st = NULL;
    for (int i = 0; i < self->nstmts && !st; i++)
        if (self->stmts [i].hash == h && strcmp (self->stmts [i].sql, sql) == 0)
            st = &self->stmts [i];
    if (!st) {
        if (self->nstmts == S_CACHE_MAX)
            return NULL;
        st = &self->stmts [self->nstmts++];
        *st = (s_stmt_t) { qy_strdup (sql), h, 0, "" };
    }
    //  Not in a failed transaction: the prepare would only fail there.
    if (!st->name [0] && ++st->seen >= 2 && PQtransactionStatus (self->conn) != PQTRANS_INERROR) {
        //  A fresh name each time: one dropped in a failed transaction may linger.
        char name [16];
        snprintf (name, sizeof (name), "qy%d", ++self->names);
        PGresult *r = PQprepare (self->conn, name, sql, nparams, NULL);
        self->round_trips++;
        if (PQresultStatus (r) == PGRES_COMMAND_OK)
            memcpy (st->name, name, sizeof (name));
        else
            st->seen = 0;           //  refused (a syntax error, an aborted transaction): unnamed, where errors are reported
        PQclear (r);
    }
    return st->name [0] ? st : NULL;
}

//  A prepared statement that no longer serves (0A000, 26000: see qy_pg_exec)
//  is forgotten, to be deallocated once no transaction is open. True when
//  res says so.
static bool s_stale (qy_pg_t *self, s_stmt_t *st, const PGresult *res)
{
    const char *state = qy_pg_sqlstate (res);
    if (PQresultStatus (res) != PGRES_FATAL_ERROR || (strcmp (state, "0A000") && strcmp (state, "26000"))
        || PQstatus (self->conn) != CONNECTION_OK)
        return false;
    if (self->nstale < S_STALE_MAX)
        memcpy (self->stale [self->nstale++], st->name, sizeof (st->name));
    st->name [0] = 0;
    st->seen = 0;
    return true;
}

PGresult *qy_pg_exec (qy_pg_t *self, const char *sql, int nparams, const char *const *params)
{
    if (!qy_pg_connect (self))
        return NULL;
    if (self->nstale)
        s_drop_stale (self);
    s_stmt_t *st = s_statement (self, sql, nparams);
    PGresult *res;
    self->round_trips++;
    if (st) {
        res = PQexecPrepared (self->conn, st->name, nparams, params, NULL, NULL, 0);
        //  The prepared statement no longer serves: a table changed under
        //  a statement whose result shape it fixed (0A000, a migration while
        //  running), or it is gone (26000: DISCARD ALL, a pooler). Forget it
        //  and, outside a transaction, run this one unnamed; inside one the
        //  transaction has failed and the caller retries it. The stale one
        //  is deallocated once no transaction is open (past S_STALE_MAX
        //  pending, the connection's end does it).
        if (s_stale (self, st, res) && PQtransactionStatus (self->conn) == PQTRANS_IDLE) {
            s_drop_stale (self);
            PQclear (res);
            res = PQexecParams (self->conn, sql, nparams, NULL, params, NULL, NULL, 0);
            self->round_trips++;
        }
    }
    else
        res = PQexecParams (self->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQstatus (self->conn) != CONNECTION_OK) {
        PQclear (res);
        s_down (self, "connection lost");
        return NULL;
    }
    return res;
}

//  A statement PostgreSQL refused: its SQLSTATE kept, one log line.
static void s_refused (qy_pg_t *self, const char *context, const PGresult *r)
{
    qy_strlcpy (self->sqlstate, qy_pg_sqlstate (r), sizeof (self->sqlstate));
    char why [512];
    qy_strlcpy (why, PQresultErrorMessage (r), sizeof (why));
    for (char *p = why; *p; p++)
        if (*p == '\n' || *p == '"')
            *p = ' ';
    qy_log_error ("postgres error context=%s sqlstate=%s error=%s", context, qy_pg_sqlstate (r), why);
}

bool qy_pg_run (qy_pg_t *self, const char *context, const char *sql, int nparams,
                const char *const *params, PGresult **res)
{
    self->sqlstate [0] = 0;
    PGresult *r = qy_pg_exec (self, sql, nparams, params);
    if (!r)
        return false;
    ExecStatusType st = PQresultStatus (r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        s_refused (self, context, r);
        PQclear (r);
        return false;
    }
    if (res)
        *res = r;
    else
        PQclear (r);
    return true;
}

//  One step's results, up to the NULL that ends them: false when the connection
//  went on the way (ok says whether the step itself succeeded). A
//  step after a failed one comes back PGRES_PIPELINE_ABORTED (not run).
static bool s_step_result (qy_pg_t *self, qy_pg_step_t *step, s_stmt_t *st)
{
    PGresult *r = PQgetResult (self->conn);
    if (!r)
        return false;       //  no result where one was owed: the connection went
    ExecStatusType status = PQresultStatus (r);
    step->ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    if (status == PGRES_FATAL_ERROR) {
        if (st)
            s_stale (self, st, r);
        //  A FATAL one ends the session (terminated, shut down): the lost
        //  connection is what gets said, as qy_pg_exec says it.
        const char *severity = PQresultErrorField (r, PG_DIAG_SEVERITY_NONLOCALIZED);
        if (PQstatus (self->conn) == CONNECTION_OK && !(severity && strcmp (severity, "ERROR")))
            s_refused (self, step->context, r);
    }
    if (step->ok && step->keep)
        step->res = r;
    else
        PQclear (r);
    //  The NULL that ends this step's results (a lost connection may
    //  repeat its error instead: stop there).
    while (PQstatus (self->conn) == CONNECTION_OK && (r = PQgetResult (self->conn)))
        PQclear (r);
    return PQstatus (self->conn) == CONNECTION_OK;
}

//  Send every step and the sync (libpq holds them and sends at the sync;
//  in blocking mode it reads what the server answers meanwhile, so a long
//  pipeline cannot deadlock on full socket buffers). False when one could
//  not be sent.
static bool s_pipeline_send (qy_pg_t *self, qy_pg_step_t *steps, s_stmt_t **st, size_t n)
{
    if (PQenterPipelineMode (self->conn) != 1)
        return false;
    for (size_t i = 0; i < n; i++) {
        int sent = st [i] ? PQsendQueryPrepared (self->conn, st [i]->name, steps [i].nparams, steps [i].params,
                                                 NULL, NULL, 0)
                          : PQsendQueryParams (self->conn, steps [i].sql, steps [i].nparams, NULL, steps [i].params,
                                               NULL, NULL, 0);
        if (sent != 1)
            return false;
    }
    return PQpipelineSync (self->conn) == 1;
}

bool qy_pg_pipeline (qy_pg_t *self, qy_pg_step_t *steps, size_t n)
{
    self->sqlstate [0] = 0;
    for (size_t i = 0; i < n; i++) {
        steps [i].ok = false;
        steps [i].res = NULL;
    }
    if (n == 0)
        return true;
    if (!qy_pg_connect (self))
        return false;
    if (self->nstale)
        s_drop_stale (self);
    //  Prepared before the pipeline starts (PQprepare waits for its
    //  answer, which pipeline mode forbids): a statement's second run on
    //  this connection costs that one round trip more, once.
    s_stmt_t **st = qy_calloc (n, sizeof (s_stmt_t *));
    for (size_t i = 0; i < n; i++)
        st [i] = s_statement (self, steps [i].sql, steps [i].nparams);
    self->round_trips++;
    bool up = s_pipeline_send (self, steps, st, n);
    for (size_t i = 0; up && i < n; i++)
        up = s_step_result (self, &steps [i], st [i]);
    PGresult *sync = up ? PQgetResult (self->conn) : NULL;
    up = sync && PQresultStatus (sync) == PGRES_PIPELINE_SYNC && PQexitPipelineMode (self->conn) == 1;
    PQclear (sync);
    free (st);
    bool all = up;
    for (size_t i = 0; i < n; i++)
        all = all && steps [i].ok;
    if (up)
        return all;
    //  Lost on the way (or out of step with the server, which only a
    //  fresh connection puts right): nothing kept, as qy_pg_exec.
    qy_log_warn ("postgres pipeline broken context=%s error=%s", steps [0].context,
                 PQstatus (self->conn) == CONNECTION_OK ? "out of step" : "connection lost");
    for (size_t i = 0; i < n; i++) {
        PQclear (steps [i].res);
        steps [i].res = NULL;
        steps [i].ok = false;
    }
    s_down (self, "connection lost");
    return false;
}

bool qy_pg_run_generic (qy_pg_t *self, const char *context, const char *sql, int nparams,
                        const char *const *params, PGresult **res)
{
    qy_pg_step_t steps [3] = {
        { .context = context, .sql = "SET plan_cache_mode = force_generic_plan" },
        { .context = context, .sql = sql, .nparams = nparams, .params = params, .keep = res != NULL },
        { .context = context, .sql = "RESET plan_cache_mode" },
    };
    bool ok = qy_pg_pipeline (self, steps, QY_ARRAY_LEN (steps));
    if (ok && res)
        *res = steps [1].res;
    else
        PQclear (steps [1].res);
    return ok;
}

int64_t qy_pg_round_trips (const qy_pg_t *self)
{
    return self->round_trips;
}

const char *qy_pg_last_sqlstate (const qy_pg_t *self)
{
    return self->sqlstate;
}

bool qy_pg_input_at_fault (const char *sqlstate)
{
    static const char *s_classes [] = { "22", "23", "54" };
    if (!sqlstate || strlen (sqlstate) != 5)
        return false;
    for (size_t i = 0; i < QY_ARRAY_LEN (s_classes); i++)
        if (strncmp (sqlstate, s_classes [i], 2) == 0)
            return true;
    return false;
}

const char *qy_pg_sqlstate (const PGresult *res)
{
    const char *s = res ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

int64_t qy_pg_int (const PGresult *res, int r, int c)
{
    if (PQgetisnull (res, r, c))
        return 0;
    return strtoll (PQgetvalue (res, r, c), NULL, 10);
}

PGresult *qy_pg_conn_exec (PGconn *conn, const char *sql, int nparams, const char *const *params, char *err, size_t errlen)
{
    PGresult *res = PQexecParams (conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus (res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    qy_snprintf (err, errlen, "%s", PQresultErrorMessage (res));
    err [strcspn (err, "\n")] = 0;
    PQclear (res);
    return NULL;
}
