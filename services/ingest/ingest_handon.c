//  What ingest archived but has not handed on to the chain yet. Each
//  archived batch leaves a row of ingest_owed per brand (written by the
//  archive's statement, ingest_store.c), deleted here once the bus
//  acknowledged every event of it (ingest_outbox.c counts them). One
//  killed between its commit and its sends leaves the row, and ingest
//  (this replica or another, after a restart) re-sends its events from
//  the archive once it is older than the grace. No operator and no
//  --since: a crash at any point leaves either no row or events to re-send.
//  Sending twice is safe, every stage being idempotent by (brand, message
//  id); losing a deletion (PostgreSQL away) only means one more re-send.
//  A row per batch, not a mark per event: marking each event was an
//  UPDATE of its message_ids row, 15 % of PostgreSQL's time per event
//  (migration 127).
#include "ingest.h"
#include "qy/archive.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>

struct ingest_handon_t {
    qy_pg_t *pg;
    qy_pg_cols_t done;        //  owed rows whose events all went, not deleted yet
};

ingest_handon_t *ingest_handon_new (qy_pg_t *pg)
{
    ingest_handon_t *self = qy_calloc (1, sizeof (*self));
    self->pg = pg;
    qy_pg_cols_init (&self->done, 1);
    return self;
}

void ingest_handon_destroy (ingest_handon_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_handon_t *self = *self_p;
    ingest_handon_flush (self);
    qy_pg_cols_free (&self->done);
    free (self);
    *self_p = NULL;
}

void ingest_handon_done (ingest_handon_t *self, int64_t owed)
{
    qy_pg_cols_row (&self->done);
    qy_pg_cols_int (&self->done, 0, owed);
}

int ingest_handon_flush (ingest_handon_t *self)
{
    if (!self->done.nrows)
        return 0;
    const char *p [1];
    qy_pg_cols_params (&self->done, p);
    bool ok = qy_pg_run (self->pg, "handed on", "DELETE FROM ingest_owed WHERE id = ANY ($1::bigint[])", 1, p, NULL);
    if (!ok)
        qy_log_warn ("handed-on batches not recorded, their events will be re-sent (harmless) batches=%zu",
                     self->done.nrows);
    qy_pg_cols_free (&self->done);
    qy_pg_cols_init (&self->done, 1);
    return ok ? 0 : -1;
}

PGresult *ingest_handon_owed (ingest_handon_t *self, long grace_s, long limit, qy_pg_cols_t *mine)
{
    char grace [24], lim [24];
    qy_snprintf (grace, sizeof (grace), "%ld", grace_s);
    qy_snprintf (lim, sizeof (lim), "%ld", limit);
    const char *p [3] = { grace, lim };
    qy_pg_cols_params (mine, p + 2);
    PGresult *res = NULL;
    //  Whole rows, oldest first, while the events before them are fewer
    //  than limit: a row re-sent in part would be deleted with the rest of
    //  its events never sent. This ingest's own rows on their way are left
    //  out in the statement, so a backlog of them never fills the limit.
    if (!qy_pg_run (self->pg, "owed events",
            QY_ARCHIVE_COLUMNS ", i.id " QY_ARCHIVE_FROM
            "JOIN (SELECT o.id, o.brand_id, o.ingest_time, x.msg_id, x.event_time "
            "      FROM (SELECT id, brand_id, ingest_time, msg_ids, event_times, "
            "                   sum (cardinality (msg_ids)) OVER (ORDER BY ingest_time, id) - cardinality (msg_ids) AS before "
            "            FROM ingest_owed WHERE ingest_time < now () - $1::bigint * interval '1 second' "
            "              AND id <> ALL ($3::bigint[])) o "
            "      CROSS JOIN LATERAL unnest (o.msg_ids, o.event_times) AS x (msg_id, event_time) "
            "      WHERE o.before < $2::bigint) i "
            "  ON m.brand_id = i.brand_id AND m.msg_id = i.msg_id AND m.event_time = i.event_time "
            "ORDER BY i.ingest_time, i.id, m.event_time", 3, p, &res))
        return NULL;
    return res;
}

int64_t ingest_handon_owed_row (const PGresult *res, int r)
{
    return qy_pg_int (res, r, PQnfields (res) - 1);
}
