//  qy-scoring: counts every event once in Redis (one pipelined script call
//  per event), attaches the member's and group's standing, passes the event
//  on to campaign, and rolls the counters up to PostgreSQL.
#include "scoring.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/service.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include "qy/deadletter.h"
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    qy_common_config_t common;
    char *zmq_in, *zmq_out;
    long  hwm, batch, rollup_ms, ttl_days;
} scoring_config_t;

static const qy_option_t s_options [] = {
    QY_COMMON_OPTIONS (scoring_config_t),
    { "zmq.in",   QY_STR, offsetof (scoring_config_t, zmq_in),  "tcp://bus:5553", 0, 0, "bus back of the scoring hop" },
    { "zmq.out",  QY_STR, offsetof (scoring_config_t, zmq_out), "tcp://bus:5554", 0, 0, "bus front of the campaign hop" },
    { "zmq.hwm",  QY_INT, offsetof (scoring_config_t, hwm),     "20000", 100, 10000000, "high-water mark per socket" },
    { "batch.max", QY_INT, offsetof (scoring_config_t, batch),  "512", 1, 10000, "events per Redis pipeline" },
    { "rollup.interval_ms", QY_INT, offsetof (scoring_config_t, rollup_ms), "5000", 100, 3600000, "how often roll-ups are written" },
    { "counters.ttl_days", QY_INT, offsetof (scoring_config_t, ttl_days), "40", 2, 400, "how long day counters stay in Redis" },
};

static qy_metric_t *m_in, *m_dup, *m_rollups, *m_bad, *m_pipeline;
static qy_script_t s_count;

//  Brand time zones, loaded on first sight.
static int s_tz (qy_pg_t *pg, qy_map_t *cache, int64_t brand_id, bool *ok)
{
    char key [24];
    qy_snprintf (key, sizeof (key), "%lld", (long long) brand_id);
    int64_t tz;
    if (qy_map_get (cache, key, &tz))
        return (int) tz;
    const char *p [] = { key };
    PGresult *res;
    if (!qy_pg_run (pg, "brand tz", "SELECT tz_offset_min FROM brands WHERE id = $1", 1, p, &res)) {
        *ok = false;
        return 0;
    }
    tz = PQntuples (res) ? qy_pg_int (res, 0, 0) : 480;
    PQclear (res);
    qy_map_put (cache, key, tz);
    return (int) tz;
}

//  Count a batch. Returns 0, or -1 if Redis or PostgreSQL failed (nothing
//  is lost: counting again is idempotent).
static int s_count_batch (scoring_config_t *cfg, qy_redis_t *redis, qy_pg_t *pg, qy_map_t *tzs,
                          Qy__Event **evs, Qy__Standing *st, size_t n)
{
    char ttl [16];
    qy_snprintf (ttl, sizeof (ttl), "%ld", cfg->ttl_days * 86400);
    for (size_t i = 0; i < n; i++) {
        Qy__Event *ev = evs [i];
        bool ok = true;
        int tz = s_tz (pg, tzs, ev->brand_id, &ok);
        if (!ok)
            return -1;
        scoring_keys_t k;
        scoring_keys (&k, ev->brand_id, ev->group_id, ev->event_time_us, tz);
        scoring_kind_t kind = scoring_kind (ev);
        static const char *kinds [] = { "msg", "join", "leave", "other" };
        char mid [24], hour [8];
        qy_snprintf (mid, sizeof (mid), "%lld", (long long) ev->member_id);
        qy_snprintf (hour, sizeof (hour), "%d", k.hour);
        const char *args [] = { k.ids, k.group, k.active, k.members, ev->msg_id, kinds [kind], mid, hour,
                                scoring_is_violation (ev) ? "1" : "0", ttl };
        if (qy_redis_append_script (redis, &s_count, 4, 10, args, NULL))
            return -1;
        const char *sadd [] = { "SADD", "sc:dirty", k.dirty };
        if (qy_redis_append_argv (redis, 3, sadd, NULL))
            return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = qy_redis_get_reply (redis);
        if (!r)
            return -1;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 4) {
            if (r->element [0]->integer == 0)
                qy_metric_add (m_dup, 1);
            qy__standing__init (&st [i]);
            st [i].member_msgs_today = r->element [1]->integer;
            st [i].group_msgs_today = r->element [2]->integer;
            st [i].group_active_today = r->element [3]->integer;
        }
        else {
            if (r->type == REDIS_REPLY_ERROR && strncmp (r->str, "NOSCRIPT", 8) == 0)
                s_count.sha [0] = 0;
            rc = -1;
        }
        freeReplyObject (r);
        redisReply *s = qy_redis_get_reply (redis);
        if (!s)
            return -1;
        freeReplyObject (s);
    }
    return rc;
}

int main (int argc, char **argv)
{
    scoring_config_t cfg = { 0 };
    qy_service_start ("scoring", argc, argv, s_options, QY_ARRAY_LEN (s_options), &cfg, &cfg.common);
    m_in = qy_counter ("qy_scoring_events_total", "events counted and passed on");
    m_dup = qy_counter ("qy_scoring_duplicates_total", "events seen before (counted once)");
    m_rollups = qy_counter ("qy_scoring_rollups_total", "group-days written to PostgreSQL");
    m_bad = qy_counter ("qy_scoring_malformed_total", "undecodable events set aside");
    m_pipeline = qy_summary ("qy_scoring_redis_pipeline_seconds", "one Redis pipeline (one round trip for a batch)");
    s_count.source = scoring_count_lua;
    qy_service_needs (QY_DEP_PG);
    qy_service_needs (QY_DEP_REDIS);
    qy_pg_t *pg = qy_pg_new (cfg.common.pg_dsn);
    qy_redis_t *redis = qy_redis_new (cfg.common.redis_host, (int) cfg.common.redis_port);
    qy_service_set_dep (QY_DEP_PG, qy_pg_connect (pg));
    qy_map_t *tzs = qy_map_new ();

    void *ctx = zmq_ctx_new ();
    void *in = qy_zmq_socket (ctx, ZMQ_PULL, (int) cfg.hwm, 0);
    void *out = qy_zmq_socket (ctx, ZMQ_PUSH, (int) cfg.hwm, 5000);
    if (qy_zmq_connect (in, cfg.zmq_in) || qy_zmq_connect (out, cfg.zmq_out))
        return 2;
    Qy__Event **evs = qy_calloc ((size_t) cfg.batch, sizeof (Qy__Event *));
    Qy__Standing *st = qy_calloc ((size_t) cfg.batch, sizeof (Qy__Standing));
    int64_t next_rollup = qy_mono_us () + cfg.rollup_ms * 1000;
    while (qy_service_running ()) {
        qy_service_heartbeat ();
        qy_service_check_deps (pg, redis);
        if (qy_mono_us () >= next_rollup) {
            int w;
            while ((w = scoring_rollup (redis, pg, 200)) > 0)
                qy_metric_add (m_rollups, w);
            next_rollup = qy_mono_us () + cfg.rollup_ms * 1000;
        }
        zmq_pollitem_t item = { in, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 200) <= 0)
            continue;
        size_t n = 0;
        while (n < (size_t) cfg.batch) {
            zmq_msg_t m;
            zmq_msg_init (&m);
            if (zmq_msg_recv (&m, in, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close (&m);
                break;
            }
            Qy__Event *ev = qy__event__unpack (NULL, zmq_msg_size (&m), zmq_msg_data (&m));
            if (!ev || !ev->brand_id || !ev->group_id) {
                qy_metric_add (m_bad, 1);
                qy_deadletter (pg, ev ? ev->brand_id : 0, ev ? ev->brand : NULL, "scoring", ev ? ev->msg_id : NULL,
                               ev ? "event without brand_id or group_id" : "malformed event: protobuf decode failed",
                               zmq_msg_data (&m), zmq_msg_size (&m));
                if (ev)
                    qy__event__free_unpacked (ev, NULL);
            }
            else
                evs [n++] = ev;
            zmq_msg_close (&m);
        }
        //  Counting must succeed before the event moves on; retrying is safe.
        int64_t t0 = qy_mono_us ();
        while (n && s_count_batch (&cfg, redis, pg, tzs, evs, st, n) != 0) {
            qy_redis_disconnect (redis);
            qy_service_set_dep (QY_DEP_REDIS, false);
            qy_service_heartbeat ();
            if (!qy_service_running ())
                break;
            qy_sleep_ms (200);
        }
        qy_metric_observe (m_pipeline, qy_mono_us () - t0);
        qy_service_set_dep (QY_DEP_REDIS, qy_redis_ok (redis));
        qy_service_set_dep (QY_DEP_PG, qy_pg_ok (pg));
        for (size_t i = 0; i < n && qy_service_running (); i++) {
            evs [i]->standing = &st [i];
            qy_service_send (out, &evs [i]->base);
            evs [i]->standing = NULL;
            qy_metric_add (m_in, 1);
        }
        for (size_t i = 0; i < n; i++)
            qy__event__free_unpacked (evs [i], NULL);
    }
    //  Last roll-up, so a clean stop leaves PostgreSQL current.
    int w;
    while ((w = scoring_rollup (redis, pg, 200)) > 0)
        qy_metric_add (m_rollups, w);
    free (evs);
    free (st);
    zmq_close (in);
    zmq_close (out);
    zmq_ctx_term (ctx);
    qy_map_destroy (&tzs);
    qy_redis_destroy (&redis);
    qy_pg_destroy (&pg);
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    return 0;
}
