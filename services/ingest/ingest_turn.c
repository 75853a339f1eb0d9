//  One turn: ZeroMQ batches and HTTP jobs land in the same transaction,
//  are answered only after it committed, and the accepted events are
//  handed on to moderation through the outbox.
#include "ingest_turn.h"
#include "ingest_door.h"
#include "ingest_gateway.h"
#include "qy/deadletter.h"
#include "qy/log.h"
#include "qy/service.h"
#include "qy/util.h"
#include <stdlib.h>

void ingest_metrics_init (ingest_metrics_t *m)
{
    m->accepted  = qy_counter ("qy_ingest_events_total{status=\"accepted\"}", "events by outcome");
    m->duplicate = qy_counter ("qy_ingest_events_total{status=\"duplicate\"}", "events by outcome");
    m->rejected  = qy_counter ("qy_ingest_events_total{status=\"rejected\"}", "events by outcome");
    m->batches   = qy_counter ("qy_ingest_batches_total", "gateway batches answered");
    m->malformed = qy_counter ("qy_ingest_malformed_batches_total", "batches that could not be decoded");
    m->busy      = qy_counter ("qy_ingest_busy_total", "batches refused with retry_after because moderation is behind");
    m->retry     = qy_counter ("qy_ingest_storage_retry_total", "batches answered retry because PostgreSQL failed");
    m->commit    = qy_histogram ("qy_ingest_commit_seconds", "time to archive one transaction");
    m->round_trips = qy_counter ("qy_ingest_pg_round_trips_total", "PostgreSQL round trips of the turns that wrote "
                                                                   "(look-ups, archive, memberships, commit): their waits");
    m->http_busy = qy_counter ("qy_ingest_http_busy_total", "HTTP requests refused 429 because moderation is behind");
    m->resent    = qy_counter ("qy_ingest_resent_total", "archived events re-sent because they were not handed on "
                                                        "(ingest died between its commit and its send)");
    m->refused_unknown = qy_counter ("qy_ingest_gateway_refused_total{reason=\"unknown_key\"}",
                                     "ZeroMQ gateway connections and batches refused by CURVE key");
    m->refused_revoked = qy_counter ("qy_ingest_gateway_refused_total{reason=\"revoked_key\"}",
                                     "ZeroMQ gateway connections and batches refused by CURVE key");
    m->refused_brand   = qy_counter ("qy_ingest_gateway_refused_total{reason=\"other_brand\"}",
                                     "ZeroMQ gateway connections and batches refused by CURVE key");
}

//  Count an item's outcome and log a rejection.
static void s_outcome (const ingest_metrics_t *m, const Qy__Event *ev, const ingest_result_t *res)
{
    if (res->status == QY__ITEM_STATUS__ACCEPTED)
        qy_metric_add (m->accepted, 1);
    else
    if (res->status == QY__ITEM_STATUS__DUPLICATE)
        qy_metric_add (m->duplicate, 1);
    else {
        qy_metric_add (m->rejected, 1);
        qy_log_info ("msg_id=%s brand=%s rejected error=%s", qy_utf8_valid (ev->msg_id) ? ev->msg_id : "(not UTF-8)",
                     qy_utf8_valid (ev->brand) ? ev->brand : "(not UTF-8)", res->error);
    }
}

size_t ingest_turn_prepare_jobs (ingest_turn_t *t, ingest_job_t **jobs, size_t n, ingest_job_t **answered,
                                 size_t *nanswered)
{
    size_t keep = 0;
    for (size_t j = 0; j < n; j++) {
        ingest_job_t *job = jobs [j];
        if (!job->req) {
            qy_metric_add (t->m->malformed, 1);
            char *reason = qy_printf ("bad request: %s", job->envelope_error);
            if (qy_deadletter_refused (t->pg, job->brand_id, job->brand, "ingest", reason, job->body, job->len) == 0)
                ingest_gateway_error (job, 400, job->envelope_error, job->envelope_field, 0);
            else
                ingest_gateway_error (job, 503, "storage unavailable: retry", "", 1);
            free (reason);
            answered [(*nanswered)++] = job;
            continue;
        }
        if (!ingest_outbox_room (t->outbox)) {
            qy_metric_add (t->m->http_busy, 1);
            ingest_gateway_error (job, 429, "busy: moderation is behind, retry later", "", 1);
            answered [(*nanswered)++] = job;
            continue;
        }
        if (ingest_gateway_prepare (t->pg, job->brand_id, job->req)) {
            qy_metric_add (t->m->retry, 1);
            ingest_gateway_error (job, 503, "storage unavailable, nothing stored: retry", "", 1);
            answered [(*nanswered)++] = job;
            continue;
        }
        jobs [keep++] = job;
    }
    return keep;
}

//  The events of every batch and job in one array; each batch's and job's
//  first index recorded. Caller frees.
static Qy__Event **s_gather (ingest_door_req_t *reqs, int nreqs, ingest_job_t **jobs, size_t njobs,
                             size_t *job_first, size_t *total)
{
    size_t n = 0;
    for (int r = 0; r < nreqs; r++)
        n += reqs [r].batch ? reqs [r].batch->n_events : 0;
    for (size_t j = 0; j < njobs; j++)
        n += jobs [j]->req->n_events;
    Qy__Event **events = qy_calloc (n ? n : 1, sizeof (Qy__Event *));
    size_t k = 0;
    for (int r = 0; r < nreqs; r++) {
        reqs [r].first = k;
        for (size_t i = 0; reqs [r].batch && i < reqs [r].batch->n_events; i++)
            events [k++] = reqs [r].batch->events [i];
    }
    for (size_t j = 0; j < njobs; j++) {
        job_first [j] = k;
        for (size_t i = 0; i < jobs [j]->req->n_events; i++)
            events [k++] = jobs [j]->req->events [i];
    }
    *total = n;
    return events;
}

static void s_answer_jobs (ingest_turn_t *t, ingest_job_t **jobs, size_t njobs, const size_t *job_first,
                           const ingest_result_t *results, int rc)
{
    for (size_t j = 0; j < njobs; j++) {
        ingest_job_t *job = jobs [j];
        if (rc) {
            qy_metric_add (t->m->retry, 1);
            qy_log_warn ("gateway=%s brand=%s storage failed, asked gateway to retry events=%zu", job->gateway,
                         job->brand, job->req->n_events);
            ingest_gateway_error (job, 503, "storage unavailable, nothing stored: retry", "", 1);
            continue;
        }
        for (size_t i = 0; i < job->req->n_events; i++)
            s_outcome (t->m, job->req->events [i], &results [job_first [j] + i]);
        ingest_gateway_answer (job, &results [job_first [j]]);
        qy_metric_add (t->m->batches, 1);
    }
}

static void s_answer_batch (ingest_turn_t *t, ingest_door_req_t *req, Qy__Event **events,
                            const ingest_result_t *results, int rc)
{
    if (rc) {
        qy_metric_add (t->m->retry, 1);
        qy_log_warn ("batch=%s storage failed, asked gateway to retry events=%zu", req->batch->batch_id,
                     req->batch->n_events);
        ingest_door_reply_error (t->router, req, req->batch->batch_id, "storage unavailable, nothing stored: retry",
                                 1000);
        return;
    }
    Qy__Ack ack = QY__ACK__INIT;
    ack.batch_id = req->batch->batch_id;
    ack.ok = true;
    size_t n = req->batch->n_events;
    Qy__ItemResult *items = qy_calloc (n ? n : 1, sizeof (Qy__ItemResult));
    Qy__ItemResult **ptrs = qy_calloc (n ? n : 1, sizeof (Qy__ItemResult *));
    for (size_t i = 0; i < n; i++) {
        const ingest_result_t *res = &results [req->first + i];
        qy__item_result__init (&items [i]);
        items [i].msg_id = events [req->first + i]->msg_id;
        items [i].status = res->status;
        items [i].error = (char *) res->error;
        ptrs [i] = &items [i];
        s_outcome (t->m, events [req->first + i], res);
    }
    ack.n_results = n;
    ack.results = ptrs;
    ingest_door_reply (t->router, req, &ack);
    qy_metric_add (t->m->batches, 1);
    free (items);
    free (ptrs);
}

//  Accepted and durable: hand on to moderation, never blocking the loop
//  (what does not fit waits in the outbox and holds new batches back).
static void s_hand_on (ingest_turn_t *t, Qy__Event **events, const ingest_result_t *results, size_t total)
{
    for (size_t i = 0; i < total; i++) {
        if (results [i].status != QY__ITEM_STATUS__ACCEPTED)
            continue;
        Qy__Stamp stamp = QY__STAMP__INIT, *sp = &stamp;
        stamp.stage = "ingest";
        stamp.at_us = events [i]->ingest_time_us;
        events [i]->n_trace = 1;
        events [i]->trace = &sp;
        ingest_outbox_forward (t->outbox, events [i], results [i].owed);
        events [i]->n_trace = 0;
        events [i]->trace = NULL;
    }
    ingest_outbox_flush (t->outbox);        //  the turn's events as few packs, now
}

void ingest_turn_handle (ingest_turn_t *t, ingest_door_req_t *reqs, int nreqs, ingest_job_t **jobs, size_t njobs)
{
    size_t total;
    size_t *job_first = qy_calloc (njobs ? njobs : 1, sizeof (size_t));
    Qy__Event **events = s_gather (reqs, nreqs, jobs, njobs, job_first, &total);
    ingest_result_t *results = qy_calloc (total ? total : 1, sizeof (ingest_result_t));
    int64_t t0 = qy_mono_us (), now = qy_now_us ();
    int rc = 0;
    if (total) {
        //  Only turns that wrote: the turns woken by the bus's
        //  acknowledgements alone would make the quantiles look instant.
        int64_t trips = qy_pg_round_trips (t->pg);
        rc = ingest_store_write (t->store, events, total, results, now);
        qy_metric_observe (t->m->commit, qy_mono_us () - t0);
        qy_metric_add (t->m->round_trips, qy_pg_round_trips (t->pg) - trips);
    }
    qy_service_set_dep (QY_DEP_PG, qy_pg_ok (t->pg));
    s_answer_jobs (t, jobs, njobs, job_first, results, rc);
    for (int r = 0; r < nreqs; r++)
        if (reqs [r].batch)
            s_answer_batch (t, &reqs [r], events, results, rc);
    if (rc == 0)
        s_hand_on (t, events, results, total);
    free (events);
    free (results);
    free (job_first);
}
