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
    self->conn = PQconnectdb (self->dsn);
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
        const char *state = qy_pg_sqlstate (res);
        if (PQresultStatus (res) == PGRES_FATAL_ERROR && (!strcmp (state, "0A000") || !strcmp (state, "26000"))
            && PQstatus (self->conn) == CONNECTION_OK) {
            if (self->nstale < S_STALE_MAX)
                memcpy (self->stale [self->nstale++], st->name, sizeof (st->name));
            st->name [0] = 0;
            st->seen = 0;
            if (PQtransactionStatus (self->conn) == PQTRANS_IDLE) {
                s_drop_stale (self);
                PQclear (res);
                res = PQexecParams (self->conn, sql, nparams, NULL, params, NULL, NULL, 0);
                self->round_trips++;
            }
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

bool qy_pg_run (qy_pg_t *self, const char *context, const char *sql, int nparams,
                const char *const *params, PGresult **res)
{
    self->sqlstate [0] = 0;
    PGresult *r = qy_pg_exec (self, sql, nparams, params);
    if (!r)
        return false;
    ExecStatusType st = PQresultStatus (r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        qy_strlcpy (self->sqlstate, qy_pg_sqlstate (r), sizeof (self->sqlstate));
        char why [512];
        qy_strlcpy (why, PQresultErrorMessage (r), sizeof (why));
        for (char *p = why; *p; p++)
            if (*p == '\n' || *p == '"')
                *p = ' ';
        qy_log_error ("postgres error context=%s sqlstate=%s error=%s", context, qy_pg_sqlstate (r), why);
        PQclear (r);
        return false;
    }
    if (res)
        *res = r;
    else
        PQclear (r);
    return true;
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
