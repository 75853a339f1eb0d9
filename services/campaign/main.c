//  qy-campaign: pulls scored events from the bus and runs the playbooks
//  (SOPs) they trigger, plans scheduled steps into PostgreSQL and sends the
//  jobs that fall due. Output goes to notifier as Delivery messages whose
//  key makes them idempotent. The logic lives in campaign_lib.
#include "campaign.h"
#include "qy/zmq_curve.h"
#include "qy/event.h"
#include "qy/log.h"
#include "qy/inlet.h"
#include "qy/metrics.h"
#include "qy/outlet.h"
#include "qy/service.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include "qy/deadletter.h"
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    qy_common_config_t common;
    char  *zmq_in, *zmq_out;
    long   hwm;
    long   plan_ms, run_ms, batch, horizon_s, max_late_s, attribution_days, best_hour, reload_s;
    long   clock_offset_s, clock_anchor_s;
    double clock_speed;
} campaign_config_t;

static const qy_option_t s_options [] = {
    QY_COMMON_OPTIONS (campaign_config_t),
    { "zmq.in",  QY_STR, offsetof (campaign_config_t, zmq_in),  "tcp://bus:5555", 0, 0, "bus back of the campaign hop" },
    { "zmq.out", QY_STR, offsetof (campaign_config_t, zmq_out), "tcp://bus:5556", 0, 0, "bus front of the notifier hop" },
    { "zmq.hwm", QY_INT, offsetof (campaign_config_t, hwm),     "20000", 100, 10000000, "high-water mark per socket" },
    { "plan.interval_ms", QY_INT, offsetof (campaign_config_t, plan_ms), "30000", 100, 3600000, "how often scheduled steps are planned into campaign_jobs" },
    { "plan.horizon_s",   QY_INT, offsetof (campaign_config_t, horizon_s), "86400", 60, 2678400, "plan jobs due this far ahead" },
    { "run.interval_ms",  QY_INT, offsetof (campaign_config_t, run_ms), "1000", 20, 600000, "how often due jobs are claimed" },
    { "run.batch",        QY_INT, offsetof (campaign_config_t, batch), "100", 1, 10000, "jobs claimed per transaction" },
    { "run.max_late_s",   QY_INT, offsetof (campaign_config_t, max_late_s), "21600", 60, 604800, "a job this late expires instead of going out" },
    { "attribution_days", QY_INT, offsetof (campaign_config_t, attribution_days), "7", 1, 90, "conversions count this long after a post" },
    { "best_hour.default", QY_INT, offsetof (campaign_config_t, best_hour), "10", 0, 23, "best-time hour of a group without history" },
    { "reload_s",         QY_INT, offsetof (campaign_config_t, reload_s), "60", 1, 86400, "re-read definitions at least this often (NOTIFY reloads at once)" },
    { "clock.offset_s",   QY_INT, offsetof (campaign_config_t, clock_offset_s), "0", -3153600000.0, 3153600000.0, "tests: shift the campaign clock" },
    { "clock.speed",      QY_DBL, offsetof (campaign_config_t, clock_speed), "1", 1, 100000, "tests: campaign seconds per wall second" },
    { "clock.anchor_s",   QY_INT, offsetof (campaign_config_t, clock_anchor_s), "0", 0, 0, "tests: wall unix second where a sped-up clock starts (0: start-up)" },
};

static qy_metric_t *m_in, *m_welcome, *m_bad, *m_tmpl_err, *m_pg_err;

static int s_send (void *out, const Qy__Delivery *d)
{
    return qy_service_send (out, &d->base);
}

//  Wait for PostgreSQL: an event is never dropped because a lookup failed
//  (past the stopping grace, -1: the caller sets the event aside).
#define S_RETRY(expr, pg)                                   \
    do {                                                    \
        qy_wait_t wait_ = { 0 };                            \
        while ((expr) < 0)                                  \
            if (!qy_service_wait (&wait_, QY_DEP_PG, false)) \
                return -1;                                  \
        qy_service_set_dep (QY_DEP_PG, qy_pg_ok (pg));      \
    } while (0)

//  Queue the welcome of a join. Returns 0, or -1 when it could not be
//  (stopping past the grace).
static int s_welcome (campaign_store_t *store, qy_pg_t *pg, void *out, Qy__Event *ev)
{
    if (!campaign_wants_welcome (ev))
        return 0;
    const char *tmpl = NULL, *name = NULL, *group = NULL, *storename = NULL;
    int found;
    S_RETRY (found = campaign_store_welcome (store, ev->brand_id, &tmpl, &name), pg);
    if (!found)
        return 0;
    S_RETRY (campaign_store_names (store, ev->brand_id, ev->group_id, &group, &storename), pg);
    campaign_vars_t vars = { .nickname = ev->nickname && *ev->nickname ? ev->nickname : ev->member, .group = group,
                             .store = storename };
    char err [160];
    char *text = campaign_render (tmpl, &vars, err, sizeof (err));
    if (!text) {
        qy_metric_add (m_tmpl_err, 1);
        qy_log_error ("msg_id=%s brand=%s campaign=%s bad template error=%s", ev->msg_id, ev->brand, name, err);
        return 0;
    }
    char key [256], source [160];
    qy_snprintf (key, sizeof (key), "welcome:%lld:%s", (long long) ev->brand_id, ev->msg_id);
    qy_snprintf (source, sizeof (source), "campaign:%s", name);
    char *mentions [] = { ev->member };
    Qy__Delivery d;
    qy_event_delivery (&d, ev, key, "post", QY__PRIORITY__P_CAMPAIGN, source);
    d.text = text;
    d.n_mentions = 1;
    d.mentions = mentions;
    int rc = qy_service_send (out, &d.base);
    if (rc == 0) {
        qy_metric_add (m_welcome, 1);
        qy_log_debug ("msg_id=%s brand=%s welcome queued key=%s", ev->msg_id, ev->brand, key);
    }
    free (text);
    return rc;
}

//  PostgreSQL away: wait and retry (nothing is dropped). PostgreSQL up but
//  the event still fails: it is set aside as a dead letter after a few
//  tries, so one bad event cannot stop the hop.
static void s_handle (campaign_ctx_t *ctx, void *out, Qy__Event *ev, const void *data, size_t size)
{
    qy_metric_add (m_in, 1);
    if (s_welcome (ctx->store, ctx->pg, out, ev) != 0) {
        //  Replaying it queues the welcome again (one per key) and handles the event.
        qy_deadletter (ctx->pg, ev->brand_id, ev->brand, "campaign", ev->msg_id,
                       "not finished: stopping grace over (PostgreSQL or the notifier hop away)", data, size);
        return;
    }
    qy_wait_t wait = { 0 };
    for (int failures = 0; campaign_on_event (ctx, ev) < 0; ) {
        if (qy_pg_ok (ctx->pg) && ++failures >= 3) {
            qy_metric_add (m_bad, 1);
            qy_log_error ("msg_id=%s brand=%s campaign event failed, set aside", ev->msg_id, ev->brand);
            qy_deadletter (ctx->pg, ev->brand_id, ev->brand, "campaign", ev->msg_id, "campaign: event failed", data, size);
            return;
        }
        if (!qy_service_wait (&wait, QY_DEP_PG, false)) {
            qy_deadletter (ctx->pg, ev->brand_id, ev->brand, "campaign", ev->msg_id,
                           "not finished: stopping grace over (PostgreSQL away)", data, size);
            return;
        }
    }
    qy_service_set_dep (QY_DEP_PG, qy_pg_ok (ctx->pg));
}

typedef struct {
    campaign_ctx_t *ctx;
    void           *out;
} s_taken_t;

static void s_on_event (void *arg, Qy__Event *ev, const void *data, size_t size)
{
    s_taken_t *taken = (s_taken_t *) arg;
    s_handle (taken->ctx, taken->out, ev, data, size);
    qy__event__free_unpacked (ev, NULL);
}

//  Plans the jobs due and runs them, each on its own clock. Stopping,
//  only what the bus already sent is finished: no new jobs.
static void s_plan_and_run (campaign_ctx_t *ctx, const campaign_config_t *cfg, int64_t mono, int64_t *next_plan,
                            int64_t *next_run)
{
    if (qy_service_running () && mono >= *next_plan) {
        if (campaign_plan (ctx) < 0)
            qy_metric_add (m_pg_err, 1);
        *next_plan = mono + cfg->plan_ms * 1000;
    }
    if (qy_service_running () && mono >= *next_run) {
        int n;
        //  A full batch means more are due: go on at once.
        while ((n = campaign_run (ctx)) >= cfg->batch && qy_service_running ())
            qy_service_heartbeat ();
        if (n < 0)
            qy_metric_add (m_pg_err, 1);
        *next_run = qy_mono_us () + cfg->run_ms * 1000;
    }
}

//  The configuration changed (NOTIFY qy_config): a change to campaigns,
//  brands or guards drops the cached definitions. Returns whether the
//  connection is still listening.
static bool s_notified (qy_pg_t *listen, campaign_store_t *store)
{
    PGconn *c = qy_pg_conn (listen);
    PQconsumeInput (c);
    PGnotify *n;
    while ((n = PQnotifies (c))) {
        if (strncmp (n->extra, "campaigns:", 10) == 0 || strncmp (n->extra, "brands:", 7) == 0
            || strncmp (n->extra, "campaign_guards:", 16) == 0)
            campaign_store_invalidate (store);
        PQfreemem (n);
    }
    return PQstatus (c) == CONNECTION_OK;
}

int main (int argc, char **argv)
{
    campaign_config_t cfg = { 0 };
    qy_service_start ("campaign", argc, argv, s_options, QY_ARRAY_LEN (s_options), &cfg, &cfg.common);
    m_in = qy_counter ("qy_campaign_events_total", "events seen");
    m_welcome = qy_counter ("qy_campaign_welcomes_total", "welcome messages queued for delivery");
    m_bad = qy_counter ("qy_campaign_malformed_total", "undecodable events set aside");
    m_tmpl_err = qy_counter ("qy_campaign_template_errors_total", "templates that failed to render");
    m_pg_err = qy_counter ("qy_campaign_pg_errors_total", "planner or runner rounds PostgreSQL failed");
    qy_service_needs (QY_DEP_PG);
    qy_pg_t *pg = qy_pg_new (cfg.common.pg_dsn);
    qy_pg_t *listen = qy_pg_new (cfg.common.pg_dsn);
    qy_service_set_dep (QY_DEP_PG, qy_pg_connect (pg));
    campaign_store_t *store = campaign_store_new (pg);

    void *zctx = zmq_ctx_new ();
    qy_inlet_t *in = qy_inlet_new (zctx, cfg.zmq_in, qy_inlet_window (512, cfg.hwm));
    qy_outlet_t *out = qy_outlet_new (zctx, cfg.zmq_out, qy_outlet_window (cfg.hwm), "notifier");
    if (!in || !out)
        return 2;
    //  What was taken is done (owed no more) once the deliveries it made are acknowledged.
    qy_inlet_after (in, out);
    campaign_ctx_t ctx = { pg, store, { cfg.clock_offset_s * 1000000, cfg.clock_anchor_s * 1000000, cfg.clock_speed },
                           s_send, out, cfg.horizon_s, cfg.max_late_s, cfg.batch, cfg.attribution_days, cfg.best_hour };
    if (cfg.clock_speed > 1 && !ctx.clock.anchor_us)
        ctx.clock.anchor_us = qy_now_us ();
    qy_log_info ("campaign clock now_us=%lld offset_s=%ld speed=%g", (long long) campaign_clock_now (&ctx.clock),
                 cfg.clock_offset_s, cfg.clock_speed);
    int64_t next_plan = 0, next_run = 0, next_reload = qy_mono_us () + cfg.reload_s * 1000000;
    bool listening = false;
    qy_service_ready ();
    //  Stopping, what the bus already sent is seen before the end.
    while (qy_inlet_serving (in)) {
        qy_service_heartbeat ();
        qy_service_check_deps (pg, NULL);
        int64_t mono = qy_mono_us ();
        if (mono >= next_reload) {
            campaign_store_invalidate (store);
            next_reload = mono + cfg.reload_s * 1000000;
        }
        s_plan_and_run (&ctx, &cfg, mono, &next_plan, &next_run);
        qy_service_set_dep (QY_DEP_PG, qy_pg_ok (pg));
        int wait_ms = (int) ((next_run - qy_mono_us ()) / 1000);
        wait_ms = wait_ms < 1 ? 1 : wait_ms > 200 ? 200 : wait_ms;
        if (!listening && (listening = qy_pg_listen (listen, "qy_config")))
            campaign_store_invalidate (store);       //  changes may have been missed while not listening
        zmq_pollitem_t poll [2] = { { qy_inlet_socket (in), 0, ZMQ_POLLIN, 0 }, { NULL, listening ? PQsocket (qy_pg_conn (listen)) : -1, ZMQ_POLLIN, 0 } };
        if (zmq_poll (poll, listening ? 2 : 1, wait_ms) < 0)
            continue;
        if (listening && (poll [1].revents & ZMQ_POLLIN))
            listening = s_notified (listen, store);
        s_taken_t taken = { &ctx, out };
        qy_deadletter_drain_events (in, 512, pg, "campaign", false, m_bad, s_on_event, &taken);
        qy_inlet_done (in);         //  handled, or set aside: no longer owed
    }
    qy_deadletter_rest (in, pg, "campaign");     //  past the grace: set aside, not dropped
    qy_inlet_destroy (&in);
    qy_outlet_destroy (&out);
    zmq_ctx_term (zctx);
    campaign_store_destroy (&store);
    qy_pg_destroy (&listen);
    qy_pg_destroy (&pg);
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    return 0;
}
