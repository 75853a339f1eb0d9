//  A fixed pool of PostgreSQL connections as qy_console, one per request
//  in flight: the HTTP threads take one, run the request's transaction on
//  it and give it back. A broken connection is reset when next taken.
#include "console_int.h"
#include "qy/log.h"
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct console_db_t {
    char           *dsn;
    int             n;
    PGconn        **conns;
    bool           *busy;
    pthread_mutex_t lock;
    pthread_cond_t  freed;
};

console_db_t *console_db_new (const char *dsn, int n)
{
    console_db_t *self = qy_calloc (1, sizeof (*self));
    self->dsn = qy_strdup (dsn);
    self->n = n;
    self->conns = qy_calloc ((size_t) n, sizeof (PGconn *));
    self->busy = qy_calloc ((size_t) n, sizeof (bool));
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->freed, NULL);
    return self;
}

void console_db_destroy (console_db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    console_db_t *self = *self_p;
    for (int i = 0; i < self->n; i++)
        if (self->conns [i])
            PQfinish (self->conns [i]);
    pthread_mutex_destroy (&self->lock);
    pthread_cond_destroy (&self->freed);
    free (self->conns);
    free (self->busy);
    free (self->dsn);
    free (self);
    *self_p = NULL;
}

//  Connected (or reconnected) slot i; NULL when PostgreSQL cannot be reached.
static PGconn *s_connect (console_db_t *self, int i)
{
    PGconn *c = self->conns [i];
    if (c && PQstatus (c) == CONNECTION_OK)
        return c;
    if (c)
        PQfinish (c);
    c = self->conns [i] = PQconnectdb (self->dsn);
    if (PQstatus (c) != CONNECTION_OK) {
        qy_log_warn ("postgres connect failed error=%s", PQerrorMessage (c));
        return NULL;
    }
    PQclear (PQexec (c, "SET application_name = 'qy-console'"));
    return c;
}

PGconn *console_db_take (console_db_t *self, int *slot)
{
    struct timespec until;
    clock_gettime (CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock (&self->lock);
    int i = -1;
    while (i < 0) {
        for (int k = 0; k < self->n && i < 0; k++)
            if (!self->busy [k])
                i = k;
        if (i < 0 && pthread_cond_timedwait (&self->freed, &self->lock, &until)) {
            pthread_mutex_unlock (&self->lock);
            return NULL;
        }
    }
    self->busy [i] = true;
    pthread_mutex_unlock (&self->lock);
    PGconn *c = s_connect (self, i);
    if (!c) {
        console_db_give (self, i);
        return NULL;
    }
    *slot = i;
    return c;
}

void console_db_give (console_db_t *self, int slot)
{
    if (slot < 0)
        return;
    //  A connection left inside a transaction must not carry the scope of
    //  one request into the next.
    PGconn *c = self->conns [slot];
    if (c && PQtransactionStatus (c) != PQTRANS_IDLE)
        PQclear (PQexec (c, "ROLLBACK"));
    pthread_mutex_lock (&self->lock);
    self->busy [slot] = false;
    pthread_cond_signal (&self->freed);
    pthread_mutex_unlock (&self->lock);
}

bool console_db_up (console_db_t *self)
{
    int slot = -1;
    PGconn *c = console_db_take (self, &slot);
    bool up = false;
    if (c) {
        PGresult *res = PQexec (c, "SELECT 1");
        up = PQresultStatus (res) == PGRES_TUPLES_OK;
        PQclear (res);
        console_db_give (self, slot);
    }
    return up;
}
