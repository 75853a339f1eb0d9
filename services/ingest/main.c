//  qy-ingest: gateways send Batch over ZeroMQ (DEALER → our ROUTER); we
//  answer each with an Ack only after its events are committed to the
//  archive, then push the accepted ones to moderation through the bus.
#include "ingest.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/service.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include "qy/deadletter.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    qy_common_config_t common;
    char *zmq_gateway;
    char *zmq_out;
    long  hwm;
    long  max_batches;
    long  max_events;
} ingest_config_t;

static const qy_option_t s_options [] = {
    QY_COMMON_OPTIONS (ingest_config_t),
    { "zmq.gateway", QY_STR, offsetof (ingest_config_t, zmq_gateway), "tcp://*:5540", 0, 0, "ROUTER endpoint gateways connect to" },
    { "zmq.out",     QY_STR, offsetof (ingest_config_t, zmq_out),     "tcp://bus:5550", 0, 0, "bus front of the moderation hop" },
    { "zmq.hwm",     QY_INT, offsetof (ingest_config_t, hwm),         "20000", 100, 10000000, "high-water mark of each socket (messages)" },
    { "batch.max_requests", QY_INT, offsetof (ingest_config_t, max_batches), "32", 1, 1024, "gateway batches committed in one transaction" },
    { "batch.max_events",   QY_INT, offsetof (ingest_config_t, max_events),  "5000", 1, 100000, "events committed in one transaction" },
};

typedef struct {
    zmq_msg_t   frames [4];     //  routing envelope + payload
    int         nframes;
    Qy__Batch  *batch;
    size_t      first;          //  index of its first event in the joint array
} s_request_t;

static qy_metric_t *m_accepted, *m_duplicate, *m_rejected, *m_batches, *m_malformed, *m_busy,
                   *m_retry, *m_commit;

static void s_metrics (void)
{
    m_accepted  = qy_counter ("qy_ingest_events_total{status=\"accepted\"}", "events by outcome");
    m_duplicate = qy_counter ("qy_ingest_events_total{status=\"duplicate\"}", "events by outcome");
    m_rejected  = qy_counter ("qy_ingest_events_total{status=\"rejected\"}", "events by outcome");
    m_batches   = qy_counter ("qy_ingest_batches_total", "gateway batches answered");
    m_malformed = qy_counter ("qy_ingest_malformed_batches_total", "batches that could not be decoded");
    m_busy      = qy_counter ("qy_ingest_busy_total", "batches refused with retry_after because moderation is behind");
    m_retry     = qy_counter ("qy_ingest_storage_retry_total", "batches answered retry because PostgreSQL failed");
    m_commit    = qy_summary ("qy_ingest_commit_seconds", "time to archive one transaction");
}

static void s_reply (void *router, s_request_t *req, const Qy__Ack *ack)
{
    for (int f = 0; f < req->nframes - 1; f++) {
        zmq_msg_t copy;
        zmq_msg_init (&copy);
        zmq_msg_copy (&copy, &req->frames [f]);
        zmq_msg_send (&copy, router, ZMQ_SNDMORE);
    }
    //  ROUTER drops replies to peers that went away: nothing blocks here.
    qy_zmq_send_pb (router, &ack->base, 0);
}

static void s_reply_error (void *router, s_request_t *req, const char *batch_id, const char *error, uint32_t retry_ms)
{
    Qy__Ack ack = QY__ACK__INIT;
    ack.batch_id = (char *) (batch_id ? batch_id : "");
    ack.ok = false;
    ack.error = (char *) error;
    ack.retry_after_ms = retry_ms;
    s_reply (router, req, &ack);
}

static void s_handle (ingest_config_t *cfg, ingest_store_t *store, qy_pg_t *pg, void *router,
                      void *push, s_request_t *reqs, int nreqs)
{
    size_t total = 0;
    for (int r = 0; r < nreqs; r++)
        total += reqs [r].batch ? reqs [r].batch->n_events : 0;
    Qy__Event **events = qy_calloc (total, sizeof (Qy__Event *));
    ingest_result_t *results = qy_calloc (total, sizeof (ingest_result_t));
    size_t k = 0;
    for (int r = 0; r < nreqs; r++) {
        reqs [r].first = k;
        for (size_t i = 0; reqs [r].batch && i < reqs [r].batch->n_events; i++)
            events [k++] = reqs [r].batch->events [i];
    }
    int64_t t0 = qy_mono_us (), now = qy_now_us ();
    int rc = total ? ingest_store_write (store, events, total, results, now) : 0;
    qy_metric_observe (m_commit, qy_mono_us () - t0);
    qy_service_set_dep (QY_DEP_PG, qy_pg_ok (pg));
    (void) cfg;
    for (int r = 0; r < nreqs; r++) {
        s_request_t *req = &reqs [r];
        if (!req->batch)
            continue;
        if (rc) {
            qy_metric_add (m_retry, 1);
            qy_log_warn ("batch=%s storage failed, asked gateway to retry events=%zu", req->batch->batch_id, req->batch->n_events);
            s_reply_error (router, req, req->batch->batch_id, "storage unavailable, nothing stored: retry", 1000);
            continue;
        }
        Qy__Ack ack = QY__ACK__INIT;
        ack.batch_id = req->batch->batch_id;
        ack.ok = true;
        size_t n = req->batch->n_events;
        Qy__ItemResult *items = qy_calloc (n ? n : 1, sizeof (Qy__ItemResult));
        Qy__ItemResult **ptrs = qy_calloc (n ? n : 1, sizeof (Qy__ItemResult *));
        for (size_t i = 0; i < n; i++) {
            ingest_result_t *res = &results [req->first + i];
            qy__item_result__init (&items [i]);
            items [i].msg_id = events [req->first + i]->msg_id;
            items [i].status = res->status;
            items [i].error = res->error;
            ptrs [i] = &items [i];
            if (res->status == QY__ITEM_STATUS__ACCEPTED)
                qy_metric_add (m_accepted, 1);
            else
            if (res->status == QY__ITEM_STATUS__DUPLICATE)
                qy_metric_add (m_duplicate, 1);
            else {
                qy_metric_add (m_rejected, 1);
                qy_log_info ("msg=%s brand=%s rejected error=\"%s\"", events [req->first + i]->msg_id,
                             events [req->first + i]->brand, res->error);
            }
        }
        ack.n_results = n;
        ack.results = ptrs;
        s_reply (router, req, &ack);
        qy_metric_add (m_batches, 1);
        free (items);
        free (ptrs);
    }
    //  Accepted and durable: hand on to moderation.
    if (rc == 0)
        for (size_t i = 0; i < total; i++) {
            if (results [i].status != QY__ITEM_STATUS__ACCEPTED)
                continue;
            Qy__Stamp stamp = QY__STAMP__INIT, *sp = &stamp;
            stamp.stage = "ingest";
            stamp.at_us = events [i]->ingest_time_us;
            events [i]->n_trace = 1;
            events [i]->trace = &sp;
            int fw = qy_service_send (push, &events [i]->base);
            events [i]->n_trace = 0;
            events [i]->trace = NULL;
            if (fw) {
                qy_log_warn ("msg=%s brand=%s not forwarded (shutting down); archived, recover with qyctl replay",
                             events [i]->msg_id, events [i]->brand);
                break;
            }
        }
    free (events);
    free (results);
}

int main (int argc, char **argv)
{
    ingest_config_t cfg = { 0 };
    qy_service_start ("ingest", argc, argv, s_options, QY_ARRAY_LEN (s_options), &cfg, &cfg.common);
    s_metrics ();
    qy_service_needs (QY_DEP_PG);
    qy_pg_t *pg = qy_pg_new (cfg.common.pg_dsn);
    qy_service_set_dep (QY_DEP_PG, qy_pg_connect (pg));
    ingest_store_t *store = ingest_store_new (pg);

    void *ctx = zmq_ctx_new ();
    void *router = qy_zmq_socket (ctx, ZMQ_ROUTER, (int) cfg.hwm, 0);
    void *push = qy_zmq_socket (ctx, ZMQ_PUSH, (int) cfg.hwm, 5000);
    if (qy_zmq_bind (router, cfg.zmq_gateway) || qy_zmq_connect (push, cfg.zmq_out)) {
        qy_log_error ("cannot open sockets gateway=%s out=%s", cfg.zmq_gateway, cfg.zmq_out);
        return 2;
    }
    char ep [256];
    qy_log_info ("listening gateway=%s", qy_zmq_last_endpoint (router, ep, sizeof (ep)));

    s_request_t *reqs = qy_calloc ((size_t) cfg.max_batches, sizeof (s_request_t));
    while (qy_service_running ()) {
        qy_service_heartbeat ();
        qy_service_check_deps (pg, NULL);
        zmq_pollitem_t item = { router, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 200) <= 0)
            continue;
        //  Take what is waiting, up to the transaction limits.
        int nreqs = 0;
        size_t nevents = 0;
        while (nreqs < cfg.max_batches && nevents < (size_t) cfg.max_events) {
            s_request_t *req = &reqs [nreqs];
            memset (req, 0, sizeof (*req));
            int more = 1, got = 0;
            while (more) {
                zmq_msg_t *f = &req->frames [req->nframes < 4 ? req->nframes : 3];
                if (req->nframes >= 4)
                    zmq_msg_close (f);       //  keep only the envelope's first frames and the last
                zmq_msg_init (f);
                if (zmq_msg_recv (f, router, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close (f);
                    break;
                }
                got = 1;
                if (req->nframes < 4)
                    req->nframes++;
                more = zmq_msg_more (f);
            }
            if (!got)
                break;
            zmq_msg_t *payload = &req->frames [req->nframes - 1];
            req->batch = qy__batch__unpack (NULL, zmq_msg_size (payload), zmq_msg_data (payload));
            if (!req->batch) {
                qy_metric_add (m_malformed, 1);
                qy_deadletter (pg, 0, NULL, "ingest", NULL, "malformed batch: protobuf decode failed",
                               zmq_msg_data (payload), zmq_msg_size (payload));
                s_reply_error (router, req, "", "malformed batch: protobuf decode failed", 0);
            }
            else {
                zmq_pollitem_t out = { push, 0, ZMQ_POLLOUT, 0 };
                if (zmq_poll (&out, 1, 0) <= 0) {
                    //  Moderation is behind: refuse before storing, so memory stays bounded.
                    qy_metric_add (m_busy, 1);
                    s_reply_error (router, req, req->batch->batch_id, "busy: retry later", 200);
                    qy__batch__free_unpacked (req->batch, NULL);
                    req->batch = NULL;
                }
                else
                    nevents += req->batch->n_events;
            }
            nreqs++;
        }
        s_handle (&cfg, store, pg, router, push, reqs, nreqs);
        for (int r = 0; r < nreqs; r++) {
            if (reqs [r].batch)
                qy__batch__free_unpacked (reqs [r].batch, NULL);
            for (int f = 0; f < reqs [r].nframes; f++)
                zmq_msg_close (&reqs [r].frames [f]);
        }
    }
    free (reqs);
    zmq_close (router);
    zmq_close (push);
    zmq_ctx_term (ctx);
    ingest_store_destroy (&store);
    qy_pg_destroy (&pg);
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    return 0;
}
