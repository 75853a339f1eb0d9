//  What ingest archived but has not handed on to the chain yet. An event
//  is marked handed on (message_ids.handed_on) once it went to the bus;
//  one killed between its commit and its send stays unmarked, and ingest
//  (this replica or another, after a restart) re-sends it from the archive
//  once it is older than the grace. No operator and no --since: a crash
//  at any point leaves either a mark or an event to re-send. Sending twice
//  is safe, every stage being idempotent by (brand, message id); losing a
//  mark (PostgreSQL away) only means one more re-send.
#include "ingest.h"
#include "qy/archive.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>

struct ingest_handon_t {
    qy_pg_t *pg;
    qy_pg_cols_t sent;        //  (brand id, msg id) sent and not marked yet
};

ingest_handon_t *ingest_handon_new (qy_pg_t *pg)
{
    ingest_handon_t *self = qy_calloc (1, sizeof (*self));
    self->pg = pg;
    qy_pg_cols_init (&self->sent, 2);
    return self;
}

void ingest_handon_destroy (ingest_handon_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_handon_t *self = *self_p;
    ingest_handon_flush (self);
    qy_pg_cols_free (&self->sent);
    free (self);
    *self_p = NULL;
}

void ingest_handon_sent (ingest_handon_t *self, int64_t brand_id, const char *msg_id)
{
    qy_pg_cols_row (&self->sent);
    qy_pg_cols_int (&self->sent, 0, brand_id);
    qy_pg_cols_text (&self->sent, 1, msg_id);
}

int ingest_handon_flush (ingest_handon_t *self)
{
    if (!self->sent.nrows)
        return 0;
    const char *p [2];
    qy_pg_cols_params (&self->sent, p);
    bool ok = qy_pg_run (self->pg, "handed on",
        "UPDATE message_ids i SET handed_on = true FROM unnest ($1::bigint[], $2::text[]) AS v (b, m) "
        "WHERE i.brand_id = v.b AND i.msg_id = v.m AND NOT i.handed_on", 2, p, NULL);
    if (!ok)
        qy_log_warn ("handed-on marks not recorded, the events will be re-sent (harmless) events=%zu", self->sent.nrows);
    qy_pg_cols_free (&self->sent);
    qy_pg_cols_init (&self->sent, 2);
    return ok ? 0 : -1;
}

PGresult *ingest_handon_owed (ingest_handon_t *self, long grace_s, long limit)
{
    char grace [24], lim [24];
    qy_snprintf (grace, sizeof (grace), "%ld", grace_s);
    qy_snprintf (lim, sizeof (lim), "%ld", limit);
    const char *p [] = { grace, lim };
    PGresult *res = NULL;
    if (!qy_pg_run (self->pg, "owed events",
            QY_ARCHIVE_COLUMNS QY_ARCHIVE_FROM
            "JOIN (SELECT brand_id, msg_id, event_time FROM message_ids WHERE NOT handed_on "
            "      AND ingest_time < now () - $1::bigint * interval '1 second' ORDER BY ingest_time LIMIT $2::bigint) i "
            "  ON m.brand_id = i.brand_id AND m.msg_id = i.msg_id AND m.event_time = i.event_time "
            "ORDER BY m.ingest_time, m.event_time", 2, p, &res))
        return NULL;
    return res;
}
