//  qy-notifier: records every Delivery it is handed (idempotent by key),
//  then claims due ones from PostgreSQL and POSTs them concurrently with
//  libcurl's multi interface, retrying with backoff and jitter
//  (notifier_dispatch.c). This file is config, sockets and the loop.
#include "notifier_dispatch.h"
#include "notifier_tasks.h"
#include "qy/redis.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/service.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include "qy/pb.h"
#include "qy/deadletter.h"
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    qy_common_config_t common;
    char *zmq_in;
    long  hwm, batch, inflight, attempts, base_ms, cap_ms, timeout_ms, lease_s, poll_ms;
    char *lim_gateway, *lim_post, *lim_action, *lim_alert, *lim_webhook, *lim_group, *lim_member;
    long  wecom_pause_ms, breaker_failures, breaker_open_ms, digest_min, digest_max;
    long  tasks_poll_ms, tasks_evidence_ms, tasks_batch;
    char *console_url;
} notifier_config_t;

static const qy_option_t s_options [] = {
    QY_COMMON_OPTIONS (notifier_config_t),
    { "zmq.in",        QY_STR, offsetof (notifier_config_t, zmq_in),   "tcp://bus:5557", 0, 0, "bus back of the notifier hop" },
    { "zmq.hwm",       QY_INT, offsetof (notifier_config_t, hwm),      "20000", 100, 10000000, "high-water mark" },
    { "batch.max",     QY_INT, offsetof (notifier_config_t, batch),    "512", 1, 10000, "deliveries recorded per statement" },
    { "http.inflight", QY_INT, offsetof (notifier_config_t, inflight), "64", 1, 4096, "concurrent requests" },
    { "retry.attempts", QY_INT, offsetof (notifier_config_t, attempts), "8", 1, 100, "attempts before a dead letter" },
    { "retry.base_ms", QY_INT, offsetof (notifier_config_t, base_ms),  "500", 1, 3600000, "first retry delay" },
    { "retry.cap_ms",  QY_INT, offsetof (notifier_config_t, cap_ms),   "300000", 1, 86400000, "longest retry delay" },
    { "http.timeout_ms", QY_INT, offsetof (notifier_config_t, timeout_ms), "10000", 100, 600000, "request timeout" },
    { "lease_s",       QY_INT, offsetof (notifier_config_t, lease_s),  "60", 5, 3600, "a claimed delivery's lease" },
    { "poll_ms",       QY_INT, offsetof (notifier_config_t, poll_ms),  "200", 10, 60000, "how often due retries are looked for" },
    //  Rates are "N/S" (N per S seconds; S may end in m or h) or "off".
    { "limit.gateway",    QY_STR, offsetof (notifier_config_t, lim_gateway), "6000/60", 0, 0, "all requests to one brand gateway", .check = notifier_rate_check },
    { "limit.api.post",   QY_STR, offsetof (notifier_config_t, lim_post),    "3000/60", 0, 0, "posts to one brand gateway", .check = notifier_rate_check },
    { "limit.api.action", QY_STR, offsetof (notifier_config_t, lim_action),  "off", 0, 0, "moderation actions to one brand gateway", .check = notifier_rate_check },
    { "limit.api.alert",  QY_STR, offsetof (notifier_config_t, lim_alert),   "60/60", 0, 0, "alerts to a brand gateway (no robot route)", .check = notifier_rate_check },
    { "limit.webhook",    QY_STR, offsetof (notifier_config_t, lim_webhook), "20/60", 0, 0, "one WeCom group robot (WeCom: 20 a minute)", .check = notifier_rate_check },
    { "limit.group",      QY_STR, offsetof (notifier_config_t, lim_group),   "60/60", 0, 0, "posts into one group", .check = notifier_rate_check },
    { "limit.member",     QY_STR, offsetof (notifier_config_t, lim_member),  "5/60", 0, 0, "posts mentioning one member", .check = notifier_rate_check },
    { "wecom.pause_ms",   QY_INT, offsetof (notifier_config_t, wecom_pause_ms), "600000", 1, 86400000, "pause of a destination answering errcode 130101 / 45009 (a 429's Retry-After is honoured up to 1 h, or this if longer)" },
    { "breaker.failures", QY_INT, offsetof (notifier_config_t, breaker_failures), "5", 1, 1000, "failures in a row that open an endpoint's circuit" },
    { "breaker.open_ms",  QY_INT, offsetof (notifier_config_t, breaker_open_ms), "30000", 10, 3600000, "how long an open circuit waits before a probe" },
    { "digest.min",       QY_INT, offsetof (notifier_config_t, digest_min), "3", 2, 10000, "alerts waiting for one robot that become one digest" },
    { "digest.max",       QY_INT, offsetof (notifier_config_t, digest_max), "50", 2, 10000, "most alerts in one digest" },
    { "tasks.poll_ms",    QY_INT, offsetof (notifier_config_t, tasks_poll_ms), "1000", 50, 600000, "how often staff tasks move along their ladder (docs/tasks.md; its own thread and connection)" },
    { "tasks.evidence_ms", QY_INT, offsetof (notifier_config_t, tasks_evidence_ms), "5000", 50, 600000, "how often open staff tasks are checked for evidence (wecom_sends, the archive)" },
    { "tasks.batch",      QY_INT, offsetof (notifier_config_t, tasks_batch), "200", 1, 10000, "staff tasks stepped per pass" },
    { "console.base_url", QY_STR, offsetof (notifier_config_t, console_url), "", 0, 0, "the operators' console: task notices link to <base_url>/tasks/<id> (empty: no link)" },
};

//  Parse the limit.* options; exits 2 on a bad one (a config error is fatal at start).
static void s_parse_limits (notifier_config_t *cfg, notifier_limits_t *limits)
{
    struct { const char *name, *spec; notifier_rate_t *rate; } rows [] = {
        { "limit.gateway", cfg->lim_gateway, &limits->gateway },
        { "limit.api.post", cfg->lim_post, &limits->api [0] },
        { "limit.api.action", cfg->lim_action, &limits->api [1] },
        { "limit.api.alert", cfg->lim_alert, &limits->api [2] },
        { "limit.webhook", cfg->lim_webhook, &limits->webhook },
        { "limit.group", cfg->lim_group, &limits->group },
        { "limit.member", cfg->lim_member, &limits->member },
    };
    for (size_t i = 0; i < QY_ARRAY_LEN (rows); i++)
        if (notifier_rate_parse (rows [i].spec, rows [i].rate)) {
            qy_log_error ("bad config %s=\"%s\": want N/S (e.g. 20/60, 5/1m) or off", rows [i].name, rows [i].spec);
            exit (2);
        }
}

//  Timing options that contradict each other stop the start.
static void s_check_timing (const notifier_config_t *cfg)
{
    //  A send must end well inside its lease, or another replica takes the
    //  row while it is still out and the destination gets it twice.
    if (cfg->timeout_ms * 2 > cfg->lease_s * 1000) {
        qy_log_error ("bad config: the lease must be at least twice the request timeout http.timeout_ms=%ld lease_s=%ld",
                      cfg->timeout_ms, cfg->lease_s);
        exit (2);
    }
    if (cfg->digest_max < cfg->digest_min) {
        qy_log_error ("bad config: digest.max is below digest.min, no digest could ever be made digest.max=%ld digest.min=%ld", cfg->digest_max, cfg->digest_min);
        exit (2);
    }
}

//  Records what the bus has sent, up to a batch: true when there was any.
static bool s_intake (qy_inlet_t *in, qy_pg_t *pg, Qy__Delivery **ds, size_t batch, notifier_intake_metrics_t *intake,
                      qy_metric_t *m_in, qy_metric_t *m_new, notifier_insert_claim_t *take)
{
    size_t n = 0;
    while (n < batch) {
        zmq_msg_t m;
        zmq_msg_init (&m);
        if (qy_inlet_recv (in, &m) < 0) {
            zmq_msg_close (&m);
            break;
        }
        Qy__Delivery *d = notifier_intake_decode (pg, &m, intake);
        if (d)
            ds [n++] = d;
        zmq_msg_close (&m);
    }
    if (!n)
        return false;
    int fresh = notifier_intake_store (pg, ds, n, intake, take);
    qy_metric_add (m_in, (int64_t) n);
    if (fresh > 0)
        qy_metric_add (m_new, fresh);
    for (size_t i = 0; i < n; i++)
        qy__delivery__free_unpacked (ds [i], NULL);
    return true;
}

int main (int argc, char **argv)
{
    notifier_config_t cfg = { 0 };
    qy_service_start ("notifier", argc, argv, s_options, QY_ARRAY_LEN (s_options), &cfg, &cfg.common);
    qy_metric_t *m_in = qy_counter ("qy_notifier_received_total", "deliveries received from the bus");
    qy_metric_t *m_new = qy_counter ("qy_notifier_recorded_total", "new deliveries recorded (duplicates by key excluded)");
    notifier_intake_metrics_t intake = {
        .malformed = qy_counter ("qy_notifier_malformed_total", "undecodable deliveries set aside"),
        .dropped = qy_counter ("qy_notifier_dropped_total", "deliveries in hand at shutdown that PostgreSQL could not record (logged with their event)"),
        .tasks_new = qy_counter ("qy_notifier_tasks_total{event=\"recorded\"}", "staff tasks (docs/tasks.md)"),
    };
    tasks_metrics_t tm = {
        .closed = qy_counter ("qy_notifier_tasks_total{event=\"closed\"}", "staff tasks (docs/tasks.md)"),
        .steps = qy_counter ("qy_notifier_tasks_total{event=\"notice\"}", "staff tasks (docs/tasks.md)"),
        .expired = qy_counter ("qy_notifier_tasks_total{event=\"expired\"}", "staff tasks (docs/tasks.md)"),
        .pass = qy_histogram ("qy_notifier_tasks_pass_seconds", "one pass of the staff task loop (evidence if due, then the ladder)"),
    };
    notifier_limits_t limits = { 0 };
    s_parse_limits (&cfg, &limits);
    s_check_timing (&cfg);
    qy_redis_t *redis = qy_redis_new (cfg.common.redis_host, (int) cfg.common.redis_port);
    qy_service_needs (QY_DEP_PG);
    qy_service_needs (QY_DEP_REDIS);
    srand ((unsigned) qy_now_us ());
    notifier_dispatch_config_t dcfg = {
        .inflight = cfg.inflight, .attempts = cfg.attempts, .base_ms = cfg.base_ms, .cap_ms = cfg.cap_ms,
        .timeout_ms = cfg.timeout_ms, .lease_s = cfg.lease_s, .wecom_pause_ms = cfg.wecom_pause_ms,
        .breaker_failures = cfg.breaker_failures, .breaker_open_ms = cfg.breaker_open_ms,
        .digest_min = cfg.digest_min, .digest_max = cfg.digest_max,
    };
    notifier_dispatch_t *dispatch = notifier_dispatch_new (&dcfg, &limits, redis);
    qy_pg_t *pg = qy_pg_new (cfg.common.pg_dsn);
    qy_service_set_dep (QY_DEP_PG, qy_pg_connect (pg));

    void *ctx = zmq_ctx_new ();
    qy_inlet_t *in = qy_inlet_new (ctx, cfg.zmq_in, qy_inlet_window (cfg.batch, cfg.hwm));
    if (!in)
        return 2;
    Qy__Delivery **ds = qy_calloc ((size_t) cfg.batch, sizeof (Qy__Delivery *));
    int64_t next_claim = 0;
    notifier_tasks_loop_t *tasks = notifier_tasks_start (cfg.common.pg_dsn, cfg.console_url, (int) cfg.tasks_batch,
                                                         (int) cfg.tasks_poll_ms, (int) cfg.tasks_evidence_ms, tm);
    qy_service_ready ();
    //  Stopping, what the bus already sent is recorded (the goodbye:
    //  qy/inlet.h); nothing new is claimed.
    while (qy_inlet_serving (in)) {
        qy_service_heartbeat ();
        qy_service_check_deps (pg, redis);
        zmq_pollitem_t item = { qy_inlet_socket (in), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, notifier_dispatch_running (dispatch) ? 5 : 50);
        notifier_insert_claim_t take = { .max = qy_service_running () ? notifier_dispatch_take_max (dispatch) : 0,
                                         .lease_s = (int) cfg.lease_s };
        bool fresh = s_intake (in, pg, ds, (size_t) cfg.batch, &intake, m_in, m_new, &take);
        notifier_dispatch_taken (dispatch, pg, &take);
        if (fresh && notifier_dispatch_behind (dispatch))
            next_claim = 0;          //  new work waiting: look at once
        qy_inlet_done (in);          //  stored (or set aside): no longer owed
        int64_t due = notifier_dispatch_due (dispatch);
        if (due && due < next_claim)
            next_claim = due;        //  a row put back comes due before the poll
        if (qy_service_running () && qy_mono_us () >= next_claim) {
            notifier_dispatch_claim (dispatch, pg);
            next_claim = qy_mono_us () + cfg.poll_ms * 1000;
        }
        qy_service_set_dep (QY_DEP_PG, qy_pg_ok (pg));
        if (notifier_dispatch_turn (dispatch, pg) && notifier_dispatch_behind (dispatch))
            next_claim = 0;          //  a slot is free and work may wait
        notifier_dispatch_poll (dispatch, 5);
    }
    notifier_tasks_stop (&tasks);
    //  Let requests in flight finish (bounded by their timeout); whatever is
    //  left keeps its lease and is taken again after restart.
    notifier_dispatch_drain (dispatch, pg, qy_mono_us () + 5000000);
    notifier_dispatch_destroy (&dispatch);
    qy_redis_destroy (&redis);
    free (ds);
    qy_inlet_destroy (&in);
    zmq_ctx_term (ctx);
    qy_pg_destroy (&pg);
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    return 0;
}
