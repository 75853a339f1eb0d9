//  qy-scoring: counts every event once in Redis (one pipelined script call
//  per event), attaches the member's and group's standing, passes the event
//  on to campaign, rolls the counters up to PostgreSQL, and every interval
//  evaluates standing and health and sends state changes on as signals.
#include "scoring.h"
#include "qy/zmq_curve.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/outlet.h"
#include "qy/service.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include "qy/deadletter.h"
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

//  How long after the stopping grace (qy_service_stop_deadline: counting
//  and passing on the batch it holds) it goes on setting aside what is queued.
#define S_DRAIN_US 2000000

typedef struct {
    qy_common_config_t common;
    char  *zmq_in, *zmq_out, *zmq_alerts;
    long   hwm, batch, rollup_ms, rollup_marks, ttl_days, member_ttl_days, renew_days, eval_ms, eval_sweep_every, eval_budget_ms, reply_window_s, post_window_s,
           substantial_chars, rebuild_days, wait_ms;
    double half_short_days, half_long_days;
    bool   event_clock;
} scoring_config_t;

static const qy_option_t s_options [] = {
    QY_COMMON_OPTIONS (scoring_config_t),
    { "zmq.in",   QY_STR, offsetof (scoring_config_t, zmq_in),  "tcp://bus:5553", 0, 0, "bus back of the scoring hop" },
    { "zmq.out",  QY_STR, offsetof (scoring_config_t, zmq_out), "tcp://bus:5554", 0, 0, "bus front of the campaign hop (events and signals)" },
    { "zmq.alerts", QY_STR, offsetof (scoring_config_t, zmq_alerts), "tcp://bus:5556", 0, 0, "bus front of the notifier hop (operator alerts)" },
    { "zmq.hwm",  QY_INT, offsetof (scoring_config_t, hwm),     "20000", 100, 10000000, "high-water mark per socket" },
    { "batch.max", QY_INT, offsetof (scoring_config_t, batch),  "512", 1, 10000, "events per Redis pipeline" },
    { "redis.wait_ms", QY_INT, offsetof (scoring_config_t, wait_ms), "1000", 0, 1500, "on a Redis Cluster, how long a batch's counts wait for a replica of their master to have them; none did: the batch is counted again (a master failing over loses what its replica lacks; a replica the cluster flagged as failed is not waited for); 0: no wait" },
    { "rollup.interval_ms", QY_INT, offsetof (scoring_config_t, rollup_ms), "5000", 100, 3600000, "how often roll-ups are written" },
    { "rollup.marks", QY_INT, offsetof (scoring_config_t, rollup_marks), "200", 1, 100000, "dirty group-days a roll-up round reads in one Redis pipeline and writes in one transaction (rounds follow until none is left): larger rounds cost fewer statements per group-day, smaller ones hold locks and Redis for less time" },
    { "counters.ttl_days", QY_INT, offsetof (scoring_config_t, ttl_days), "40", 2, 400, "how long day counters stay in Redis" },
    { "members.ttl_days", QY_INT, offsetof (scoring_config_t, member_ttl_days), "400", 30, 3650, "how long a silent member's or group's standing stays in Redis" },
    { "members.renew_days", QY_INT, offsetof (scoring_config_t, renew_days), "7", 1, 365, "how often at most activity moves the expiry of a group's long-lived keys and of a member's standing on (to members.ttl_days plus this): a silent group's or member's keys go between members.ttl_days and that many days more after the last event" },
    { "eval.interval_ms", QY_INT, offsetof (scoring_config_t, eval_ms), "60000", 100, 86400000, "how often member standing and group health are evaluated" },
    { "eval.sweep_every", QY_INT, offsetof (scoring_config_t, eval_sweep_every), "10", 1, 10000, "every how many evaluation rounds all groups are evaluated, not only those whose counts changed (states that follow from time passing)" },
    { "eval.budget_ms", QY_INT, offsetof (scoring_config_t, eval_budget_ms), "500", 10, 600000, "longest stretch of evaluation before counting resumes" },
    { "eval.event_clock", QY_BOOL, offsetof (scoring_config_t, event_clock), "false", 0, 0, "judge by the brand's latest event time instead of the wall clock (replays)" },
    { "activity.half_life_days", QY_DBL, offsetof (scoring_config_t, half_short_days), "7", 0.01, 365, "half-life of a member's recent activity" },
    { "baseline.half_life_days", QY_DBL, offsetof (scoring_config_t, half_long_days), "30", 0.01, 3650, "half-life of a member's baseline activity" },
    { "reply.window_s", QY_INT, offsetof (scoring_config_t, reply_window_s), "120", 0, 86400, "a message this soon after another member's counts as an answer to it" },
    { "post.window_s", QY_INT, offsetof (scoring_config_t, post_window_s), "7200", 0, 604800, "member messages this soon after a bot post count as responses" },
    { "rebuild.days", QY_INT, offsetof (scoring_config_t, rebuild_days), "2", 1, 400, "local days (today included) counted again from the archive when Redis lost the counters" },
    { "substantial.chars", QY_INT, offsetof (scoring_config_t, substantial_chars), "20", 1, 10000, "characters that make a text message substantial" },
};

static qy_metric_t *m_in, *m_dup, *m_old, *m_unsent, *m_rollups, *m_bad, *m_pipeline, *m_failed, *m_evals, *m_eval_time, *m_signals, *m_alerts,
                   *m_unreplicated;

//  Roll up what changed, then (when due) evaluate standing and health.
//  While the counters are rebuilt from the archive (hold_eval: on any
//  replica), standing and health are not evaluated: they would be judged
//  on part of the day.
static void s_periodic (scoring_config_t *cfg, qy_redis_t *redis, qy_pg_t *pg, scoring_brands_t *brands,
                        scoring_eval_t *eval, int64_t *next_rollup, int64_t *next_eval, bool force, bool hold_eval)
{
    int64_t now = qy_mono_us ();
    if (!force && now < *next_rollup)
        return;
    qy_metric_set (m_unreplicated, qy_redis_unreplicated (redis));
    int w;
    while ((w = scoring_rollup (redis, pg, brands, (int) cfg->rollup_marks)) > 0)
        qy_metric_add (m_rollups, w);
    *next_rollup = qy_mono_us () + cfg->rollup_ms * 1000;
    if (hold_eval || (!force && now < *next_eval))
        return;
    int64_t t0 = qy_mono_us ();
    bool more = false;
    int n = scoring_eval_run (eval, force ? 600000 : (int) cfg->eval_budget_ms, &more);
    if (n > 0)
        qy_metric_add (m_evals, n);
    qy_metric_observe (m_eval_time, qy_mono_us () - t0);
    qy_metric_set (m_signals, scoring_eval_signals (eval));
    qy_metric_set (m_alerts, scoring_eval_alerts (eval));
    //  An unfinished round goes on after the next batch; a finished one waits.
    *next_eval = more ? qy_mono_us () : qy_mono_us () + cfg->eval_ms * 1000;
    if (more)
        *next_rollup = qy_mono_us ();
}

typedef struct {
    Qy__Event **evs;
    size_t      n;
} s_taken_t;

//  Finish a counted batch: every event is passed on or set aside, stopping
//  or not (what was counted must not vanish with the process).
static void s_finish (qy_pg_t *pg, void *out, Qy__Event **evs, Qy__Standing *st, const scoring_outcome_t *outcome,
                      size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (outcome [i] == SCORING_PENDING) {
            //  Not counted (Redis away at shutdown): the replay counts it and passes it on.
            qy_metric_add (m_unsent, 1);
            qy_deadletter_event (pg, evs [i], evs [i]->brand_id, "scoring", "not counted: Redis unavailable at shutdown");
            continue;
        }
        if (outcome [i] == SCORING_REJECTED) {
            //  Set aside for an operator, and still passed on: campaign
            //  and the rest of the chain do not depend on the count. The
            //  reason reads as before counting left Lua: reports group by it.
            qy_metric_add (m_failed, 1);
            qy_deadletter_event (pg, evs [i], evs [i]->brand_id, "scoring", "count script rejected the event");
        }
        if (outcome [i] == SCORING_SEEN)
            qy_metric_add (m_dup, 1);
        if (outcome [i] == SCORING_TOO_OLD)
            qy_metric_add (m_old, 1);
        evs [i]->standing = &st [i];
        int sent = qy_service_send (out, &evs [i]->base);     //  stopping: until the deadline
        evs [i]->standing = NULL;
        if (sent == 0)
            qy_metric_add (m_in, 1);
        else {
            //  Counted but not passed on: a replay finds it counted and passes it on.
            qy_metric_add (m_unsent, 1);
            qy_log_warn ("msg_id=%s brand=%s not passed on to campaign: set aside", evs [i]->msg_id, evs [i]->brand);
            if (outcome [i] != SCORING_REJECTED)
                qy_deadletter_event (pg, evs [i], evs [i]->brand_id, "scoring", "not passed on: campaign hop unavailable at shutdown");
        }
    }
}

static void s_on_event (void *arg, Qy__Event *ev, const void *data, size_t size)
{
    (void) data;
    (void) size;
    s_taken_t *taken = (s_taken_t *) arg;
    taken->evs [taken->n++] = ev;
}

typedef struct {
    const scoring_count_config_t *ccfg;
    qy_redis_t *redis;
    qy_pg_t *pg;
    scoring_brands_t *brands;
    qy_inlet_t *in;
    void *out;
    Qy__Event **evs;
    Qy__Standing *st;
    scoring_outcome_t *outcome;
    size_t batch;
} s_run_t;

//  Take what waits on the socket (up to a batch), count it and pass it on.
//  Returns how many events were taken.
static size_t s_batch (s_run_t *r)
{
    s_taken_t taken = { r->evs, 0 };
    qy_deadletter_drain_events (r->in, r->batch, r->pg, "scoring", true, m_bad, s_on_event, &taken);
    size_t n = taken.n;
    if (!n) {
        qy_inlet_done (r->in);      //  what was taken was set aside
        return 0;
    }
    //  Counting must succeed before the event moves on; retrying is safe
    //  (a retry sends only the events that got no answer).
    int64_t t0 = qy_mono_us ();
    for (size_t i = 0; i < n; i++)
        r->outcome [i] = SCORING_PENDING;
    //  Past the stopping grace nothing is tried: what is left is set aside.
    qy_wait_t wait = { 0 };
    while (n && qy_service_waiting ()
           && scoring_count_batch (r->ccfg, r->redis, r->brands, r->evs, r->st, r->outcome, n) != 0) {
        qy_redis_disconnect (r->redis);
        if (!qy_service_wait (&wait, QY_DEP_REDIS, false))
            break;
    }
    qy_metric_observe (m_pipeline, qy_mono_us () - t0);
    qy_service_set_dep (QY_DEP_REDIS, qy_redis_ok (r->redis));
    qy_service_set_dep (QY_DEP_PG, qy_pg_ok (r->pg));
    s_finish (r->pg, r->out, r->evs, r->st, r->outcome, n);
    qy_inlet_done (r->in);          //  counted and passed on, or set aside: no longer owed
    for (size_t i = 0; i < n; i++)
        qy__event__free_unpacked (r->evs [i], NULL);
    return n;
}

//  The service's counters and histograms (docs/operations.md).
static void s_metrics (void)
{
    m_in = qy_counter ("qy_scoring_events_total", "events counted and passed on");
    m_dup = qy_counter ("qy_scoring_duplicates_total", "events seen before (counted once)");
    m_old = qy_counter ("qy_scoring_too_old_total", "events older than the counter window (passed on, not counted)");
    m_unsent = qy_counter ("qy_scoring_set_aside_total", "events not counted or not passed on at shutdown (dead-lettered)");
    m_rollups = qy_counter ("qy_scoring_rollups_total", "group-days written to PostgreSQL");
    m_bad = qy_counter ("qy_scoring_malformed_total", "undecodable events set aside");
    m_pipeline = qy_histogram ("qy_scoring_redis_pipeline_seconds", "counting a batch (its round trips to Redis)");
    m_failed = qy_counter ("qy_scoring_rejected_total", "events counting rejected, a key of the wrong type (dead-lettered)");
    m_evals = qy_counter ("qy_scoring_evaluations_total", "group evaluations written");
    m_eval_time = qy_histogram ("qy_scoring_evaluation_seconds", "one stretch of evaluation (at most eval.budget_ms)");
    m_signals = qy_counter ("qy_scoring_signals_sent_total", "state-change signals sent to campaign since start");
    m_alerts = qy_counter ("qy_scoring_alerts_sent_total", "operator alerts sent to notifier since start");
    m_unreplicated = qy_counter ("qy_scoring_redis_unreplicated_total",
                                 "transactions no replica acknowledged within redis.wait_ms (held back and run again)");
}

int main (int argc, char **argv)
{
    scoring_config_t cfg = { 0 };
    qy_service_start ("scoring", argc, argv, s_options, QY_ARRAY_LEN (s_options), &cfg, &cfg.common);
    s_metrics ();
    qy_service_needs (QY_DEP_PG);
    qy_service_needs (QY_DEP_REDIS);
    qy_pg_t *pg = qy_pg_new (cfg.common.pg_dsn);
    qy_redis_t *redis = qy_redis_new (cfg.common.redis_host, (int) cfg.common.redis_port);
    qy_redis_set_wait (redis, (int) cfg.wait_ms);
    qy_service_set_dep (QY_DEP_PG, qy_pg_connect (pg));
    scoring_brands_t *brands = scoring_brands_new (pg);

    void *ctx = zmq_ctx_new ();
    qy_inlet_t *in = qy_inlet_new (ctx, cfg.zmq_in, qy_inlet_window (cfg.batch, cfg.hwm));
    qy_outlet_t *out = qy_outlet_new (ctx, cfg.zmq_out, qy_outlet_window (cfg.hwm), "campaign");
    qy_outlet_t *alerts = qy_outlet_new (ctx, cfg.zmq_alerts, qy_outlet_window (cfg.hwm), "notifier");
    if (!in || !out || !alerts)
        return 2;
    //  A batch is done (owed no more) once the events it passed on are acknowledged.
    qy_inlet_after (in, out);
    scoring_count_config_t ccfg = {
        .ttl_s = cfg.ttl_days * 86400, .member_ttl_s = cfg.member_ttl_days * 86400, .renew_days = (int) cfg.renew_days,
        .half_short_s = cfg.half_short_days * 86400, .half_long_s = cfg.half_long_days * 86400,
        .reply_window_s = (int) cfg.reply_window_s, .post_window_s = (int) cfg.post_window_s,
        .substantial_chars = (int) cfg.substantial_chars,
    };
    scoring_eval_config_t ecfg = {
        .half_short_s = ccfg.half_short_s, .half_long_s = ccfg.half_long_s, .member_ttl_s = ccfg.member_ttl_s,
        .lease_ms = (int) (cfg.eval_ms * 9 / 10 > 100 ? cfg.eval_ms * 9 / 10 : 100),
        .sweep_every = (int) cfg.eval_sweep_every,
        .event_clock = cfg.event_clock, .signals = out, .alerts = alerts,
    };
    scoring_eval_t *eval = scoring_eval_new (&ecfg, redis, pg, brands);
    s_run_t run = {
        .ccfg = &ccfg, .redis = redis, .pg = pg, .brands = brands, .in = in, .out = out,
        .evs = qy_calloc ((size_t) cfg.batch, sizeof (Qy__Event *)),
        .st = qy_calloc ((size_t) cfg.batch, sizeof (Qy__Standing)),
        .outcome = qy_calloc ((size_t) cfg.batch, sizeof (scoring_outcome_t)),
        .batch = (size_t) cfg.batch,
    };
    //  Redis lost entirely: the current days counted again from the archive, a page between batches.
    scoring_rebuild_config_t rcfg = { .count = &ccfg, .days = (int) cfg.rebuild_days, .page = cfg.batch };
    scoring_rebuild_t *rebuild = scoring_rebuild_new (&rcfg, redis, pg, brands);
    int64_t next_rollup = qy_mono_us () + cfg.rollup_ms * 1000;
    int64_t next_eval = qy_mono_us () + cfg.eval_ms * 1000;
    qy_service_ready ();
    //  Stopping, what the bus already sent is counted and passed on (the
    //  goodbye: qy/inlet.h) within the grace.
    while (qy_inlet_serving (in)) {
        qy_service_heartbeat ();
        qy_service_check_deps (pg, redis);
        bool partial = scoring_rebuild_step (rebuild);
        s_periodic (&cfg, redis, pg, brands, eval, &next_rollup, &next_eval, false, partial);
        zmq_pollitem_t item = { qy_inlet_socket (in), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, scoring_rebuild_running (rebuild) ? 0 : 200) >= 0)
            s_batch (&run);
    }
    //  Past the grace (Redis or the bus away), what is still queued in the
    //  socket is set aside, not dropped with it: the batch in hand may have
    //  used the whole grace waiting for Redis, so for up to S_DRAIN_US more.
    int64_t drain_end = qy_service_stop_deadline () + S_DRAIN_US;
    while (qy_mono_us () < drain_end && s_batch (&run) > 0)
        ;
    //  Last roll-up, so a clean stop leaves PostgreSQL current.
    int w;
    while ((w = scoring_rollup (redis, pg, brands, (int) cfg.rollup_marks)) > 0)
        qy_metric_add (m_rollups, w);
    free (run.evs);
    free (run.st);
    free (run.outcome);
    scoring_rebuild_destroy (&rebuild);
    scoring_eval_destroy (&eval);
    qy_inlet_destroy (&in);
    qy_outlet_destroy (&out);
    qy_outlet_destroy (&alerts);
    zmq_ctx_term (ctx);
    scoring_brands_destroy (&brands);
    qy_redis_destroy (&redis);
    qy_pg_destroy (&pg);
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    return 0;
}
