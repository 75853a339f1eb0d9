//  qy-ingest: gateways send Batch over ZeroMQ (DEALER → our ROUTER) or
//  WeCom-shaped JSON over HTTP (ingest_http.c); both land in the same
//  transaction, are answered only after it committed, and the accepted
//  events are pushed to moderation through the bus.
#include "ingest.h"
#include "ingest_http.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/outlet.h"
#include "qy/service.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include "qy/deadletter.h"
#include "qy/archive.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    qy_common_config_t common;
    char *zmq_gateway;
    char *zmq_out;
    long  hwm;
    long  max_msg_bytes;
    long  max_batches;
    long  max_events;
    bool  http_on;
    char *http_bind;
    long  http_port, http_max_body, http_queue, http_max_conns, http_max_conns_per_ip, http_conn_timeout_s;
    long  http_window_s, creds_refresh_ms;
    long  resend_grace_s, resend_interval_ms, resend_max;
} ingest_config_t;

static const qy_option_t s_options [] = {
    QY_COMMON_OPTIONS (ingest_config_t),
    { "zmq.gateway", QY_STR, offsetof (ingest_config_t, zmq_gateway), "tcp://*:5540", 0, 0, "ROUTER endpoint gateways connect to" },
    { "zmq.out",     QY_STR, offsetof (ingest_config_t, zmq_out),     "tcp://bus:5550", 0, 0, "bus front of the moderation hop" },
    { "zmq.hwm",     QY_INT, offsetof (ingest_config_t, hwm),         "20000", 100, 10000000, "high-water mark of each socket (messages)" },
    { "zmq.max_msg_bytes", QY_INT, offsetof (ingest_config_t, max_msg_bytes), "4194304", 1024, 1073741824, "largest frame a gateway may send on zmq.gateway (bytes); larger: ZeroMQ drops its connection unread" },
    { "batch.max_requests", QY_INT, offsetof (ingest_config_t, max_batches), "32", 1, 1024, "gateway batches committed in one transaction" },
    { "batch.max_events",   QY_INT, offsetof (ingest_config_t, max_events),  "5000", 1, 100000, "events committed in one transaction" },
    { "gateway.http",       QY_BOOL, offsetof (ingest_config_t, http_on),    "true", 0, 0, "serve the HTTP front door (docs/gateway.md)" },
    { "gateway.http_bind",  QY_STR, offsetof (ingest_config_t, http_bind),   "0.0.0.0", 0, 0, "address of the HTTP front door" },
    { "gateway.http_port",  QY_INT, offsetof (ingest_config_t, http_port),   "8080", 0, 65535, "port of the HTTP front door (0 = any free)" },
    { "gateway.max_body",   QY_INT, offsetof (ingest_config_t, http_max_body), "4194304", 1024, 268435456, "largest request body (bytes); larger: 413" },
    { "gateway.queue",      QY_INT, offsetof (ingest_config_t, http_queue),  "256", 1, 100000, "HTTP requests waiting for a commit; more: 429" },
    { "gateway.max_conns",  QY_INT, offsetof (ingest_config_t, http_max_conns), "512", 1, 100000, "concurrent HTTP connections" },
    { "gateway.max_conns_per_ip", QY_INT, offsetof (ingest_config_t, http_max_conns_per_ip), "64", 0, 100000, "concurrent HTTP connections from one address (0 = no limit); more are closed at once" },
    { "gateway.conn_timeout_s", QY_INT, offsetof (ingest_config_t, http_conn_timeout_s), "30", 1, 3600, "an HTTP connection idle this long is closed" },
    { "gateway.replay_window_s", QY_INT, offsetof (ingest_config_t, http_window_s), "300", 1, 86400, "signed requests older or newer than this are refused" },
    { "resend.grace_s", QY_INT, offsetof (ingest_config_t, resend_grace_s), "10", 1, 86400, "an archived event not handed on to the bus this long after its commit is re-sent from the archive (ingest died between its commit and its send)" },
    { "resend.interval_ms", QY_INT, offsetof (ingest_config_t, resend_interval_ms), "2000", 100, 3600000, "how often the archive is searched for events not handed on" },
    { "resend.max", QY_INT, offsetof (ingest_config_t, resend_max), "2000", 1, 100000, "events re-sent from the archive per search" },
    { "gateway.creds_refresh_ms", QY_INT, offsetof (ingest_config_t, creds_refresh_ms), "5000", 100, 3600000, "how often gateway credentials are reloaded" },
};

#define S_LINGER_MS 5000          //  how long events still in the pipe to the bus may take at shutdown

typedef struct {
    zmq_msg_t   frames [4];     //  routing envelope + payload
    int         nframes;
    Qy__Batch  *batch;
    size_t      first;          //  index of its first event in the joint array
} s_request_t;

static qy_metric_t *m_accepted, *m_duplicate, *m_rejected, *m_batches, *m_malformed, *m_busy,
                   *m_retry, *m_commit, *m_http_busy, *m_resent;

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
    m_http_busy = qy_counter ("qy_ingest_http_busy_total", "HTTP requests refused 429 because moderation is behind");
    m_resent    = qy_counter ("qy_ingest_resent_total", "archived events re-sent because they were not handed on "
                                                        "(ingest died between its commit and its send)");
}


//  Accepted events that did not fit into the moderation hop yet. They are
//  durable already, so holding them is safe; while any wait here, new
//  batches are refused (busy / 429), so this never holds more than one
//  turn's events: backpressure reaches the gateway instead of memory.
typedef struct {
    void    **data;
    size_t   *len;
    int64_t  *bid;             //  brand and message id, to mark it handed on once sent
    char    **mid;
    size_t    n, head, cap;
} s_outbox_t;

static s_outbox_t s_outbox;
static ingest_handon_t *s_handon;

//  Sent, not yet acknowledged by the bus: marked handed on only once the
//  bus says the event is finished downstream (qy/outlet.h), so a bus that
//  dies with it leaves it unmarked (and the outlet sends it again).
typedef struct {
    uint64_t *seq;
    int64_t  *bid;
    char    **mid;
    size_t    head, n, cap;
} s_unacked_t;

static s_unacked_t s_unacked;
//  "brand:msg" → 1 while in s_unacked (0 once acknowledged), so the
//  archive's re-send skips what this ingest still has in flight: with the
//  chain behind, acknowledgements take longer than resend.grace_s, and
//  sending those again would only add to the backlog.
static qy_map_t *s_inflight_ids;

//  Whether the event is in flight here; put: record 1 (sent) or 0 (acknowledged) first.
static bool s_inflight (int64_t bid, const char *mid, const int64_t *put)
{
    char key [300];
    int64_t v = 0;
    qy_snprintf (key, sizeof (key), "%lld:%s", (long long) bid, mid);
    if (put)
        qy_map_put (s_inflight_ids, key, *put);
    return qy_map_get (s_inflight_ids, key, &v) && v;
}
//  The link to the bus is up (its socket's monitor): with it down nothing
//  new is taken (busy / 429), though what the outlet holds is safe.
static bool s_bus_up;

static void s_unacked_add (uint64_t seq, int64_t bid, const char *mid)
{
    if (s_unacked.n == s_unacked.cap) {
        s_unacked.cap = s_unacked.cap ? s_unacked.cap * 2 : 1024;
        s_unacked.seq = qy_realloc (s_unacked.seq, s_unacked.cap * sizeof (uint64_t));
        s_unacked.bid = qy_realloc (s_unacked.bid, s_unacked.cap * sizeof (int64_t));
        s_unacked.mid = qy_realloc (s_unacked.mid, s_unacked.cap * sizeof (char *));
    }
    s_unacked.seq [s_unacked.n] = seq;
    s_unacked.bid [s_unacked.n] = bid;
    s_unacked.mid [s_unacked.n++] = qy_strdup (mid);
    s_inflight (bid, mid, &(int64_t) { 1 });
}

//  Mark handed on what the bus acknowledged (everything numbered below
//  qy_outlet_acked), oldest first.
static void s_unacked_settle (qy_outlet_t *push)
{
    qy_outlet_poll (push);
    uint64_t acked = qy_outlet_acked (push);
    while (s_unacked.head < s_unacked.n && s_unacked.seq [s_unacked.head] < acked) {
        ingest_handon_sent (s_handon, s_unacked.bid [s_unacked.head], s_unacked.mid [s_unacked.head]);
        s_inflight (s_unacked.bid [s_unacked.head], s_unacked.mid [s_unacked.head], &(int64_t) { 0 });
        free (s_unacked.mid [s_unacked.head++]);
    }
    //  The map keeps acknowledged keys (no delete): start it again from what is in flight.
    if (qy_map_size (s_inflight_ids) > 4 * (s_unacked.n - s_unacked.head) + 4096) {
        qy_map_clear (s_inflight_ids);
        for (size_t i = s_unacked.head; i < s_unacked.n; i++)
            s_inflight (s_unacked.bid [i], s_unacked.mid [i], &(int64_t) { 1 });
    }
    if (s_unacked.head == s_unacked.n)
        s_unacked.head = s_unacked.n = 0;
    else
    if (s_unacked.head > s_unacked.cap / 2) {
        size_t left = s_unacked.n - s_unacked.head;
        memmove (s_unacked.seq, s_unacked.seq + s_unacked.head, left * sizeof (uint64_t));
        memmove (s_unacked.bid, s_unacked.bid + s_unacked.head, left * sizeof (int64_t));
        memmove (s_unacked.mid, s_unacked.mid + s_unacked.head, left * sizeof (char *));
        s_unacked.head = 0;
        s_unacked.n = left;
    }
}

static void s_outbox_add (const Qy__Event *ev)
{
    if (s_outbox.n == s_outbox.cap) {
        s_outbox.cap = s_outbox.cap ? s_outbox.cap * 2 : 256;
        s_outbox.data = qy_realloc (s_outbox.data, s_outbox.cap * sizeof (void *));
        s_outbox.len = qy_realloc (s_outbox.len, s_outbox.cap * sizeof (size_t));
        s_outbox.bid = qy_realloc (s_outbox.bid, s_outbox.cap * sizeof (int64_t));
        s_outbox.mid = qy_realloc (s_outbox.mid, s_outbox.cap * sizeof (char *));
    }
    size_t len = qy__event__get_packed_size (ev);
    s_outbox.data [s_outbox.n] = qy_malloc (len ? len : 1);
    qy__event__pack (ev, s_outbox.data [s_outbox.n]);
    s_outbox.bid [s_outbox.n] = ev->brand_id;
    s_outbox.mid [s_outbox.n] = qy_strdup (ev->msg_id);
    s_outbox.len [s_outbox.n++] = len;
}


static bool s_outbox_busy (void)
{
    return s_outbox.head < s_outbox.n;
}

//  Hand an archived event on to the bus, or to the outbox when it is full.
static void s_forward (void *push, Qy__Event *ev)
{
    uint64_t seq = s_outbox_busy () ? 0 : qy_outlet_send_pb (push, &ev->base);
    if (!seq)
        s_outbox_add (ev);
    else
        s_unacked_add (seq, ev->brand_id, ev->msg_id);
}

//  Send what waits, without blocking. Returns true when all went.
static bool s_outbox_flush (void *push)
{
    while (s_outbox.head < s_outbox.n) {
        size_t i = s_outbox.head;
        uint64_t seq = qy_outlet_send (push, s_outbox.data [i], s_outbox.len [i]);
        if (!seq)
            return false;
        s_unacked_add (seq, s_outbox.bid [i], s_outbox.mid [i]);
        free (s_outbox.data [i]);
        free (s_outbox.mid [i]);
        s_outbox.head++;
    }
    s_outbox.n = s_outbox.head = 0;
    return true;
}

static void s_outbox_free (void)
{
    if (s_outbox.head < s_outbox.n)
        qy_log_warn ("events not forwarded at shutdown count=%zu; archived and not marked handed on: "
                     "re-sent from the archive by ingest", s_outbox.n - s_outbox.head);
    for (size_t i = s_outbox.head; i < s_outbox.n; i++) {
        free (s_outbox.data [i]);
        free (s_outbox.mid [i]);
    }
    free (s_outbox.data);
    free (s_outbox.len);
    free (s_outbox.bid);
    free (s_outbox.mid);
}

//  Is there room downstream for a new batch?
static bool s_room (void *push)
{
    return !s_outbox_busy () && s_bus_up && qy_outlet_room (push);
}

//  Re-send archived events not handed on within the grace, while the bus
//  takes them. Returns how many.
static int s_resend (ingest_config_t *cfg, void *push)
{
    if (!s_room (push))
        return 0;
    PGresult *res = ingest_handon_owed (s_handon, cfg->resend_grace_s, cfg->resend_max);
    int rows = res ? PQntuples (res) : 0, n = 0;
    for (int r = 0; r < rows; r++) {
        Qy__Event ev;
        qy_archive_hold_t hold;
        qy_archive_event (res, r, &ev, &hold);
        if (!s_inflight (ev.brand_id, ev.msg_id, NULL)) {
            s_forward (push, &ev);
            n++;
        }
        qy_archive_release (&hold);
    }
    if (n) {
        qy_metric_add (m_resent, n);
        qy_log_warn ("msg=%s brand=%s archived events not handed on, re-sent from the archive count=%d",
                     PQgetvalue (res, 0, 0), PQgetvalue (res, 0, 14), n);
    }
    if (res)
        PQclear (res);
    return n;
}

//  Count an item's outcome and log a rejection.
static void s_outcome (const Qy__Event *ev, const ingest_result_t *res)
{
    if (res->status == QY__ITEM_STATUS__ACCEPTED)
        qy_metric_add (m_accepted, 1);
    else
    if (res->status == QY__ITEM_STATUS__DUPLICATE)
        qy_metric_add (m_duplicate, 1);
    else {
        qy_metric_add (m_rejected, 1);
        qy_log_info ("msg=%s brand=%s rejected error=\"%s\"", qy_utf8_valid (ev->msg_id) ? ev->msg_id : "(not UTF-8)",
                     qy_utf8_valid (ev->brand) ? ev->brand : "(not UTF-8)", res->error);
    }
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

//  ZeroMQ batches reqs[0..nreqs) and HTTP jobs[0..njobs) (those with a
//  request to write) are archived in one transaction and answered.
static void s_handle (ingest_store_t *store, qy_pg_t *pg, void *router, void *push,
                      s_request_t *reqs, int nreqs, ingest_job_t **jobs, size_t njobs)
{
    size_t total = 0;
    for (int r = 0; r < nreqs; r++)
        total += reqs [r].batch ? reqs [r].batch->n_events : 0;
    for (size_t j = 0; j < njobs; j++)
        total += jobs [j]->req->n_events;
    Qy__Event **events = qy_calloc (total ? total : 1, sizeof (Qy__Event *));
    ingest_result_t *results = qy_calloc (total ? total : 1, sizeof (ingest_result_t));
    size_t *job_first = qy_calloc (njobs ? njobs : 1, sizeof (size_t));
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
    int64_t t0 = qy_mono_us (), now = qy_now_us ();
    int rc = total ? ingest_store_write (store, events, total, results, now) : 0;
    qy_metric_observe (m_commit, qy_mono_us () - t0);
    qy_service_set_dep (QY_DEP_PG, qy_pg_ok (pg));
    for (size_t j = 0; j < njobs; j++) {
        ingest_job_t *job = jobs [j];
        if (rc) {
            qy_metric_add (m_retry, 1);
            qy_log_warn ("gateway=%s brand=%s storage failed, asked gateway to retry events=%zu", job->gateway,
                         job->brand, job->req->n_events);
            ingest_gateway_error (job, 503, "storage unavailable, nothing stored: retry", "", 1);
            continue;
        }
        for (size_t i = 0; i < job->req->n_events; i++)
            s_outcome (job->req->events [i], &results [job_first [j] + i]);
        ingest_gateway_answer (job, &results [job_first [j]]);
        qy_metric_add (m_batches, 1);
    }
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
            s_outcome (events [req->first + i], res);
        }
        ack.n_results = n;
        ack.results = ptrs;
        s_reply (router, req, &ack);
        qy_metric_add (m_batches, 1);
        free (items);
        free (ptrs);
    }
    //  Accepted and durable: hand on to moderation, never blocking the loop
    //  (what does not fit waits in the outbox and holds new batches back).
    if (rc == 0)
        for (size_t i = 0; i < total; i++) {
            if (results [i].status != QY__ITEM_STATUS__ACCEPTED)
                continue;
            Qy__Stamp stamp = QY__STAMP__INIT, *sp = &stamp;
            stamp.stage = "ingest";
            stamp.at_us = events [i]->ingest_time_us;
            events [i]->n_trace = 1;
            events [i]->trace = &sp;
            s_forward (push, events [i]);
            events [i]->n_trace = 0;
            events [i]->trace = NULL;
        }
    free (events);
    free (results);
    free (job_first);
}

//  Sort the HTTP jobs taken this turn: a bad envelope is dead-lettered and
//  answered 400; a job is refused 429 while moderation is behind, 503 when
//  PostgreSQL fails; the rest are moved to the front of jobs to be written.
//  Returns how many are to be written.
static size_t s_prepare_jobs (qy_pg_t *pg, void *push, ingest_job_t **jobs, size_t n, ingest_job_t **answered,
                              size_t *nanswered)
{
    size_t keep = 0;
    for (size_t j = 0; j < n; j++) {
        ingest_job_t *job = jobs [j];
        if (!job->req) {
            qy_metric_add (m_malformed, 1);
            char *reason = qy_printf ("bad request: %s", job->envelope_error);
            if (qy_deadletter_refused (pg, job->brand_id, job->brand, "ingest", reason, job->body, job->len) == 0)
                ingest_gateway_error (job, 400, job->envelope_error, job->envelope_field, 0);
            else
                ingest_gateway_error (job, 503, "storage unavailable: retry", "", 1);
            free (reason);
            answered [(*nanswered)++] = job;
            continue;
        }
        if (!s_room (push)) {
            qy_metric_add (m_http_busy, 1);
            ingest_gateway_error (job, 429, "busy: moderation is behind, retry later", "", 1);
            answered [(*nanswered)++] = job;
            continue;
        }
        if (ingest_gateway_prepare (pg, job->brand_id, job->req)) {
            qy_metric_add (m_retry, 1);
            ingest_gateway_error (job, 503, "storage unavailable, nothing stored: retry", "", 1);
            answered [(*nanswered)++] = job;
            continue;
        }
        jobs [keep++] = job;
    }
    return keep;
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
    //  An unknown brand code is remembered for a few seconds (a gateway
    //  sending for a brand not created yet costs one lookup, not one per
    //  event); a brand created meanwhile is announced on qy_config.
    qy_pg_t *listen = qy_pg_new (cfg.common.pg_dsn);
    bool listening = false;

    void *ctx = zmq_ctx_new ();
    void *router = qy_zmq_socket (ctx, ZMQ_ROUTER, (int) cfg.hwm, 0);
    //  A frame larger than this is refused while it is read: ZeroMQ drops
    //  the connection without allocating it (a gateway gets no answer).
    int64_t max_msg = cfg.max_msg_bytes;
    zmq_setsockopt (router, ZMQ_MAXMSGSIZE, &max_msg, sizeof (max_msg));
    //  Sends nothing before the bus said its epoch, keeps what it sent until
    //  acknowledged: with the bus away, s_room says no and gateways get
    //  busy / 429; a bus that dies gets what it held sent again.
    qy_outlet_t *push = qy_outlet_new (ctx, cfg.zmq_out, qy_outlet_window (cfg.hwm), "moderation");
    //  /health is 503 ("bus":"down") until a connection to the bus is up.
    qy_service_needs (QY_DEP_BUS);
    ingest_link_t *link = push ? ingest_link_new (ctx, qy_outlet_socket (push), "bus") : NULL;
    if (!push || qy_zmq_bind (router, cfg.zmq_gateway)) {
        qy_log_error ("cannot open sockets gateway=%s out=%s", cfg.zmq_gateway, cfg.zmq_out);
        return 2;
    }
    char ep [256];
    qy_log_info ("listening gateway=%s", qy_zmq_last_endpoint (router, ep, sizeof (ep)));
    ingest_creds_t *creds = ingest_creds_new ();
    ingest_http_t *http = NULL;
    if (cfg.http_on) {
        ingest_creds_load (creds, pg);
        ingest_http_config_t hc = { cfg.http_bind, cfg.http_port, cfg.http_max_body, cfg.http_queue,
                                    cfg.http_max_conns, cfg.http_max_conns_per_ip, cfg.http_conn_timeout_s,
                                    cfg.http_window_s };
        if (!(http = ingest_http_new (&hc, creds)))
            return 2;
        qy_log_info ("listening http=%s:%d", cfg.http_bind, ingest_http_port (http));
    }
    int64_t next_creds = qy_mono_us () + cfg.creds_refresh_ms * 1000;

    s_handon = ingest_handon_new (pg);
    s_inflight_ids = qy_map_new ();
    int64_t next_resend = 0;        //  at once: what a crash left behind goes first
    s_request_t *reqs = qy_calloc ((size_t) cfg.max_batches, sizeof (s_request_t));
    ingest_job_t **jobs = qy_calloc ((size_t) cfg.max_batches, sizeof (ingest_job_t *));
    ingest_job_t **answered = qy_calloc ((size_t) cfg.max_batches, sizeof (ingest_job_t *));
    while (qy_service_running ()) {
        qy_service_heartbeat ();
        qy_service_check_deps (pg, NULL);
        s_bus_up = ingest_link_update (link);
        qy_service_set_dep (QY_DEP_BUS, s_bus_up);
        if (http && qy_mono_us () >= next_creds) {
            //  Revoked or new credentials take effect within one refresh.
            ingest_creds_load (creds, pg);
            next_creds = qy_mono_us () + cfg.creds_refresh_ms * 1000;
        }
        if (!listening && (listening = qy_pg_listen (listen, "qy_config")))
            ingest_store_forget_unknown (store);     //  brands may have been created while not listening
        s_unacked_settle (push);
        bool waiting = !s_outbox_flush (push);
        if (qy_mono_us () >= next_resend && ingest_link_up (link)) {
            s_resend (&cfg, push);
            next_resend = qy_mono_us () + cfg.resend_interval_ms * 1000;
        }
        ingest_handon_flush (s_handon);
        zmq_pollitem_t items [5] = { { router, 0, ZMQ_POLLIN, 0 }, { ingest_link_socket (link), 0, ZMQ_POLLIN, 0 },
                                     { qy_outlet_socket (push), 0, ZMQ_POLLIN, 0 } };
        int nitems = 3, notes = -1;
        if (listening) {
            notes = nitems;
            items [nitems++] = (zmq_pollitem_t) { NULL, PQsocket (qy_pg_conn (listen)), ZMQ_POLLIN, 0 };
        }
        if (http)
            items [nitems++] = (zmq_pollitem_t) { NULL, ingest_http_fd (http), ZMQ_POLLIN, 0 };
        if (zmq_poll (items, nitems, waiting ? 20 : 200) <= 0)
            continue;
        if (notes > 0 && (items [notes].revents & ZMQ_POLLIN)) {
            PGconn *conn = qy_pg_conn (listen);
            PQconsumeInput (conn);
            bool brands = false;
            for (PGnotify *note; (note = PQnotifies (conn)); PQfreemem (note))
                brands |= strncmp (note->extra, "brands:", 7) == 0;
            if (brands)
                ingest_store_forget_unknown (store);
            listening = PQstatus (conn) == CONNECTION_OK;
        }
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
                qy_deadletter_refused (pg, 0, NULL, "ingest", "malformed batch: protobuf decode failed",
                               zmq_msg_data (payload), zmq_msg_size (payload));
                s_reply_error (router, req, "", "malformed batch: protobuf decode failed", 0);
            }
            else {
                if (!s_room (push)) {
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
        size_t njobs = 0, nanswered = 0;
        if (http) {
            //  HTTP jobs count against the same event budget (at least one is taken).
            size_t budget = nevents < (size_t) cfg.max_events ? (size_t) cfg.max_events - nevents : 0;
            njobs = ingest_http_take (http, jobs, (size_t) cfg.max_batches, budget);
            njobs = s_prepare_jobs (pg, push, jobs, njobs, answered, &nanswered);
        }
        s_handle (store, pg, router, push, reqs, nreqs, jobs, njobs);
        ingest_handon_flush (s_handon);
        if (http) {
            ingest_http_complete (http, answered, nanswered);
            ingest_http_complete (http, jobs, njobs);
        }
        for (int r = 0; r < nreqs; r++) {
            if (reqs [r].batch)
                qy__batch__free_unpacked (reqs [r].batch, NULL);
            for (int f = 0; f < reqs [r].nframes; f++)
                zmq_msg_close (&reqs [r].frames [f]);
        }
    }
    ingest_http_destroy (&http);
    ingest_creds_destroy (&creds);
    //  What was sent is marked once acknowledged; what is not by then stays
    //  unmarked and is re-sent from the archive (by this ingest or another).
    for (int64_t until = qy_mono_us () + 3000000; qy_mono_us () < until; qy_sleep_ms (20)) {
        s_unacked_settle (push);
        if (s_outbox_flush (push) && !qy_outlet_pending (push))
            break;
    }
    s_unacked_settle (push);
    s_outbox_free ();
    for (size_t i = s_unacked.head; i < s_unacked.n; i++)
        free (s_unacked.mid [i]);
    free (s_unacked.seq);
    free (s_unacked.bid);
    free (s_unacked.mid);
    qy_map_destroy (&s_inflight_ids);
    ingest_handon_destroy (&s_handon);
    free (reqs);
    free (jobs);
    free (answered);
    ingest_link_destroy (&link);
    zmq_close (router);
    qy_outlet_destroy (&push);
    int64_t t_term = qy_mono_us ();
    zmq_ctx_term (ctx);
    if (qy_mono_us () - t_term >= (S_LINGER_MS - 100) * 1000LL)
        //  ZeroMQ does not say how many: those sent last, up to zmq.hwm.
        qy_log_warn ("events still in flight to the bus were dropped at shutdown (linger %d ms expired, up to "
                     "zmq.hwm=%ld); archived, recover with qyctl replay", S_LINGER_MS, cfg.hwm);
    ingest_store_destroy (&store);
    qy_pg_destroy (&listen);
    qy_pg_destroy (&pg);
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    return 0;
}
