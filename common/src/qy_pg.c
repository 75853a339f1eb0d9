#include "qy/pg.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

struct qy_pg_t {
    char    *dsn;
    PGconn  *conn;
    bool     ok;
    int64_t  next_try_us;
    int      backoff_ms;
    char     sqlstate [6];      //  of the last statement that failed ("" when it did not reach PostgreSQL)
};

qy_pg_t *qy_pg_new (const char *dsn)
{
    qy_pg_t *self = qy_calloc (1, sizeof (*self));
    self->dsn = qy_strdup (dsn);
    self->backoff_ms = 100;
    return self;
}

void qy_pg_destroy (qy_pg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    qy_pg_t *self = *self_p;
    if (self->conn)
        PQfinish (self->conn);
    free (self->dsn);
    free (self);
    *self_p = NULL;
}

static void s_down (qy_pg_t *self, const char *why)
{
    if (self->ok)
        qy_log_warn ("postgres unavailable error=\"%s\"", why);
    self->ok = false;
    if (self->conn) {
        PQfinish (self->conn);
        self->conn = NULL;
    }
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
            qy_log_warn ("postgres connect failed error=\"%s\"", why);
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

PGresult *qy_pg_exec (qy_pg_t *self, const char *sql, int nparams, const char *const *params)
{
    if (!qy_pg_connect (self))
        return NULL;
    PGresult *res = PQexecParams (self->conn, sql, nparams, NULL, params, NULL, NULL, 0);
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
        qy_log_error ("postgres error context=%s sqlstate=%s error=\"%s\"", context, qy_pg_sqlstate (r), why);
        PQclear (r);
        return false;
    }
    if (res)
        *res = r;
    else
        PQclear (r);
    return true;
}

const char *qy_pg_last_sqlstate (const qy_pg_t *self)
{
    return self->sqlstate;
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
