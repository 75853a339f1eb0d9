//  One turn of ingest's loop (ingest_turn.c): the ZeroMQ batches and HTTP
//  jobs taken this turn are archived in one transaction, answered only
//  after it committed, and the accepted events handed on to the outbox.
#ifndef INGEST_TURN_H
#define INGEST_TURN_H
#include <stddef.h>
#include "ingest.h"
#include "ingest_http.h"
#include "ingest_keys.h"
#include "ingest_outbox.h"
#include "qy/metrics.h"
#include "qy/pg.h"

//  ingest's counters, registered once by ingest_metrics_init.
typedef struct {
    qy_metric_t *accepted, *duplicate, *rejected, *batches, *malformed, *busy, *retry, *commit, *round_trips, *http_busy,
                *resent, *refused_unknown, *refused_revoked, *refused_brand;
} ingest_metrics_t;
void ingest_metrics_init (ingest_metrics_t *m);

//  What a turn works with; all borrowed.
typedef struct {
    ingest_store_t  *store;
    qy_pg_t         *pg;
    void            *router;         //  the ZeroMQ door's socket, for answers
    ingest_outbox_t *outbox;
    const ingest_keys_t *keys;       //  the door's CURVE keys; NULL: a plain door
    const ingest_metrics_t *m;
} ingest_turn_t;

//  A batch taken from the ZeroMQ door (ingest_door.h).
typedef struct ingest_door_req_t ingest_door_req_t;

//  Sort the HTTP jobs taken this turn: a bad envelope is dead-lettered and
//  answered 400; a job is refused 429 while moderation is behind, 503 when
//  PostgreSQL fails (those go to answered); the rest are moved to the
//  front of jobs. Returns how many are to be written.
size_t ingest_turn_prepare_jobs (ingest_turn_t *t, ingest_job_t **jobs, size_t n, ingest_job_t **answered,
                                 size_t *nanswered);
//  Archive ZeroMQ batches reqs[0..nreqs) (those with a batch) and HTTP
//  jobs[0..njobs) in one transaction, answer them and hand on what was
//  accepted.
void ingest_turn_handle (ingest_turn_t *t, ingest_door_req_t *reqs, int nreqs, ingest_job_t **jobs,
                         size_t njobs);
#endif
