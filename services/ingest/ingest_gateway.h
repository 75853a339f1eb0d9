//  The main-loop side of the HTTP front door (ingest_gateway.c): group
//  changes, reconcile, answers.
#ifndef INGEST_GATEWAY_H
#define INGEST_GATEWAY_H
#include <stdint.h>
#include "ingest.h"
#include "ingest_http.h"
#include "qy/pg.h"

//  Before the batch is written: apply the job's group changes and, for a
//  snapshot or a dismissal, reconcile against the archive (adding events).
//  Returns 0, or -1 when PostgreSQL failed (answer 503).
int ingest_gateway_prepare (qy_pg_t *pg, int64_t brand_id, ingest_req_t *req);
//  After the batch committed: write the answer for a job whose events got
//  results[0 .. req->n_events).
void ingest_gateway_answer (ingest_job_t *job, const ingest_result_t *results);
//  Answer an error (status, JSON error naming field, Retry-After seconds).
void ingest_gateway_error (ingest_job_t *job, unsigned status, const char *error, const char *field,
                           unsigned retry_after_s);
#endif
