//  qy-moderation: pulls events from the bus, judges them, counts behaviour
//  in Redis (one script call per batch, per brand on a Cluster), records
//  violations, sends actions to notifier and passes every event on to
//  scoring.
#include "moderation.h"
#include "moderation_batch.h"
#include "moderation_complaint.h"
#include "moderation_judge.h"
#include "qy/zmq_curve.h"
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
#include <unistd.h>
#include <zmq.h>

typedef struct {
    qy_common_config_t common;
    char *zmq_in, *zmq_out, *zmq_actions;
    long  hwm, batch;
    char *model_dir;
    char *opencc;
    long  alert_negative;
    bool  alert_waves;
    long  complaints_store, complaints_brand;
    long  names_ttl;
} moderation_config_t;

static const qy_option_t s_options [] = {
    QY_COMMON_OPTIONS (moderation_config_t),
    { "zmq.in",      QY_STR, offsetof (moderation_config_t, zmq_in),      "tcp://bus:5551", 0, 0, "bus back of the moderation hop" },
    { "zmq.out",     QY_STR, offsetof (moderation_config_t, zmq_out),     "tcp://bus:5552", 0, 0, "bus front of the scoring hop" },
    { "zmq.actions", QY_STR, offsetof (moderation_config_t, zmq_actions), "tcp://bus:5556", 0, 0, "bus front of the notifier hop" },
    { "zmq.hwm",     QY_INT, offsetof (moderation_config_t, hwm),         "20000", 100, 10000000, "high-water mark per socket" },
    { "batch.max",   QY_INT, offsetof (moderation_config_t, batch),       "512", 1, 10000,
      "events judged per Redis pipeline and PostgreSQL transaction (a batch takes what has arrived, up to this)" },
    { "model.dir",   QY_STR, offsetof (moderation_config_t, model_dir),   "", 0, 0, "directory of ad.model and abuse.model (empty: built-in default)" },
    { "opencc.config", QY_STR, offsetof (moderation_config_t, opencc),    "/usr/share/opencc/t2s.json", 0, 0, "OpenCC traditional→simplified config" },
    { "alert.negative_per_hour", QY_INT, offsetof (moderation_config_t, alert_negative), "5", 0, 100000,
      "abuse violations in one group within an hour that alert the store's staff (0: off)" },
    { "alert.spam_waves", QY_BOOL, offsetof (moderation_config_t, alert_waves), "true", 0, 0,
      "alert HQ when a cross-group spam wave is caught" },
    { "alert.complaints_per_hour_store", QY_INT, offsetof (moderation_config_t, complaints_store), "3", 0, 100000,
      "customer complaints in one store within an hour that raise complaint_surge to the store (0: off)" },
    { "alert.complaints_per_hour_brand", QY_INT, offsetof (moderation_config_t, complaints_brand), "10", 0, 100000,
      "customer complaints in the brand within an hour that raise complaint_surge to HQ (0: off)" },
    { "identity.names_ttl_s", QY_INT, offsetof (moderation_config_t, names_ttl), "60", 0, 86400,
      "how long a brand's name and its staff's names, which joining nicknames are checked against for impersonation, are "
      "kept before they are read again (0: every batch); a staff member speaking under a name not kept has them read at once" },
};

static qy_metric_t *m_bad, *m_chores;

static void s_on_event (void *batch, Qy__Event *ev, const void *data, size_t size)
{
    (void) data;
    (void) size;
    moderation_batch_add ((moderation_batch_t *) batch, ev);
}

//  The shipped classifier models, looked up in model.dir. A missing model
//  is not fatal: the rules still run; the classifier rules of a brand then
//  never hit, and /metrics says the model is absent.
static void s_models (const moderation_config_t *cfg, judge_options_t *jo, char *ad_model, char *abuse_model,
                      size_t size)
{
    jo->ad_model_path = moderation_judge_model_path (cfg->model_dir, "ad", ad_model, size);
    jo->abuse_model_path = moderation_judge_model_path (cfg->model_dir, "abuse", abuse_model, size);
    qy_metric_t *m_models = qy_gauge ("qy_moderation_models_loaded", "classifier models found at start-up (ad, abuse)");
    if (!jo->ad_model_path || !jo->abuse_model_path)
        qy_log_error ("classifier model missing, running without it ad=%s abuse=%s",
                      jo->ad_model_path ? "ok" : ad_model, jo->abuse_model_path ? "ok" : abuse_model);
    qy_metric_set (m_models, (jo->ad_model_path != NULL) + (jo->abuse_model_path != NULL));
    qy_log_info ("models ad=%s abuse=%s", jo->ad_model_path ? jo->ad_model_path : "none",
                 jo->abuse_model_path ? jo->abuse_model_path : "none");
}

//  What moderation looks after every two seconds between batches: Redis
//  state lost and restored, the restores still owed, and the unanswered
//  questions and complaints that are due a reminder. They take a few
//  milliseconds, on the thread that judges, so they wait for a moment with
//  no event waiting (at most a second past due): events that arrive after a
//  burst are judged, not held behind a sweep.
#define S_CHORES_EVERY_US 2000000
#define S_CHORES_GRACE_US 1000000

typedef struct {
    int64_t next_us;
    bool    restore_pending, lifted_pending;
} s_chores_t;

//  Whether no event waits on the inlet's socket.
static bool s_idle (void *events)
{
    zmq_pollitem_t waiting = { events, 0, ZMQ_POLLIN, 0 };
    return zmq_poll (&waiting, 1, 0) == 0;
}

static void s_chores (s_chores_t *c, moderation_store_t *store, qy_pg_t *pg, qy_redis_t *redis,
                      qy_outlet_t *actions, void *events)
{
    int64_t t0 = qy_mono_us ();
    if (t0 < c->next_us || !qy_chore_due (t0, c->next_us, s_idle (events), S_CHORES_GRACE_US))
        return;
    moderation_restore_if_lost (pg, redis);
    if (c->restore_pending)
        c->restore_pending = !moderation_restore (pg, redis);
    if (c->lifted_pending)
        c->lifted_pending = !moderation_restore_lifted (pg, redis);
    moderation_questions_sweep (store, pg, actions);
    moderation_complaints_sweep (store, pg, actions);
    int64_t t1 = qy_mono_us ();
    c->next_us = t1 + S_CHORES_EVERY_US;
    qy_metric_add (m_chores, t1 - t0);
}

static void s_metrics (void)
{
    moderation_batch_metrics ();
    m_bad = qy_counter ("qy_moderation_malformed_total", "undecodable events set aside");
    m_chores = qy_counter_us ("qy_moderation_chores_seconds_total",
                              "time spent on the chores between batches every two seconds (restores, the "
                              "unanswered questions' and complaints' sweeps): batches wait meanwhile");
}

//  A complaint model is optional (none ships: complaints are judged by the
//  dictionaries); one in the model directory is used.
static void s_complaint_model (const moderation_config_t *cfg, moderation_store_t *store)
{
    char path [1024] = "";
    if (moderation_judge_model_path (cfg->model_dir, "complaint", path, sizeof (path))) {
        moderation_store_complaint_model (store, path);
        qy_log_info ("models complaint=%s", path);
    }
}

int main (int argc, char **argv)
{
    moderation_config_t cfg = { 0 };
    qy_service_start ("moderation", argc, argv, s_options, QY_ARRAY_LEN (s_options), &cfg, &cfg.common);
    s_metrics ();
    qy_service_needs (QY_DEP_PG);
    qy_service_needs (QY_DEP_REDIS);

    char ad_model [1024] = "", abuse_model [1024] = "";
    judge_options_t jo = { cfg.opencc, NULL, NULL };
    s_models (&cfg, &jo, ad_model, abuse_model, sizeof (ad_model));

    qy_pg_t *pg = qy_pg_new (cfg.common.pg_dsn);
    qy_pg_t *listen = qy_pg_new (cfg.common.pg_dsn);
    qy_redis_t *redis = qy_redis_new (cfg.common.redis_host, (int) cfg.common.redis_port);
    qy_service_set_dep (QY_DEP_PG, qy_pg_connect (pg));
    moderation_store_t *store = moderation_store_new (pg, &jo);
    s_complaint_model (&cfg, store);
    //  Each is retried by s_chores until it has gone through.
    s_chores_t chores = { 0, !moderation_restore (pg, redis), !moderation_restore_lifted (pg, redis) };
    qy_service_set_dep (QY_DEP_REDIS, qy_redis_ok (redis));

    void *ctx = zmq_ctx_new ();
    qy_inlet_t *in = qy_inlet_new (ctx, cfg.zmq_in, qy_inlet_window (cfg.batch, cfg.hwm));
    qy_outlet_t *out = qy_outlet_new (ctx, cfg.zmq_out, qy_outlet_window (cfg.hwm), "scoring");
    qy_outlet_t *actions = qy_outlet_new (ctx, cfg.zmq_actions, qy_outlet_window (cfg.hwm), "notifier");
    if (!in || !out || !actions)
        return 2;
    //  A batch is done (owed no more) once what it passed on is acknowledged.
    qy_inlet_after (in, out);
    qy_inlet_after (in, actions);
    moderation_batch_t *batch = moderation_batch_new ((size_t) cfg.batch);
    moderation_names_t *names = moderation_names_new (cfg.names_ttl);
    moderation_ctx_t mctx = { store, pg, redis, out, actions, cfg.alert_negative, cfg.alert_waves,
                              cfg.complaints_store, cfg.complaints_brand, names };
    bool listening = false;
    bool resync_pending = false;        //  changes made while not listening still to apply
    qy_service_ready ();
    //  Stopping, what the bus already sent is judged before the end.
    while (qy_inlet_serving (in)) {
        qy_service_heartbeat ();
        qy_service_check_deps (pg, redis);
        s_chores (&chores, store, pg, redis, actions, qy_inlet_socket (in));
        if (!listening && (listening = qy_pg_listen (listen, "qy_config"))) {
            moderation_store_invalidate (store, 0);   //  changes may have been missed while not listening
            resync_pending = true;
        }
        if (resync_pending && moderation_resync_recent (pg, redis, actions))
            resync_pending = false;     //  else again on the next turn
        zmq_pollitem_t poll [2] = { { qy_inlet_socket (in), 0, ZMQ_POLLIN, 0 }, { NULL, listening ? PQsocket (qy_pg_conn (listen)) : -1, ZMQ_POLLIN, 0 } };
        int np = listening ? 2 : 1;
        if (zmq_poll (poll, np, 200) < 0)
            continue;
        if (listening && (poll [1].revents & ZMQ_POLLIN)) {
            moderation_listen (qy_pg_conn (listen), store, pg, redis, actions);
            if (PQstatus (qy_pg_conn (listen)) != CONNECTION_OK)
                listening = false;
        }
        while (!moderation_batch_full (batch)
               && qy_deadletter_drain_events (in, 1, pg, "moderation", false, m_bad, s_on_event, batch))
            ;
        moderation_batch_run (batch, &mctx);
        qy_inlet_done (in);         //  judged, recorded and passed on, or set aside: no longer owed
        if (s_idle (qy_inlet_socket (in)))
            moderation_batch_flush (batch, redis);      //  else with the next batch's round trip
    }
    moderation_batch_flush (batch, redis);
    moderation_batch_destroy (&batch);
    moderation_names_destroy (&names);
    qy_deadletter_rest (in, pg, "moderation");     //  past the grace: set aside, not dropped
    qy_inlet_destroy (&in);
    qy_outlet_destroy (&out);
    qy_outlet_destroy (&actions);
    zmq_ctx_term (ctx);
    moderation_store_destroy (&store);
    qy_redis_destroy (&redis);
    qy_pg_destroy (&listen);
    qy_pg_destroy (&pg);
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    return 0;
}
