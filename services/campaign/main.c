//  qy-campaign: pulls scored events from the bus and runs the playbooks
//  they trigger; the foundation's playbook is the welcome on join. Output
//  goes to notifier as Delivery messages whose key makes them idempotent.
#include "campaign.h"
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
    long  hwm;
} campaign_config_t;

static const qy_option_t s_options [] = {
    QY_COMMON_OPTIONS (campaign_config_t),
    { "zmq.in",  QY_STR, offsetof (campaign_config_t, zmq_in),  "tcp://bus:5555", 0, 0, "bus back of the campaign hop" },
    { "zmq.out", QY_STR, offsetof (campaign_config_t, zmq_out), "tcp://bus:5556", 0, 0, "bus front of the notifier hop" },
    { "zmq.hwm", QY_INT, offsetof (campaign_config_t, hwm),     "20000", 100, 10000000, "high-water mark per socket" },
};

static qy_metric_t *m_in, *m_welcome, *m_bad, *m_tmpl_err;

//  Wait for PostgreSQL: an event is never dropped because a lookup failed.
#define S_RETRY(expr, pg)                                   \
    do {                                                    \
        while ((expr) < 0) {                                \
            qy_service_set_dep (QY_DEP_PG, false);          \
            qy_service_heartbeat ();                        \
            if (!qy_service_running ())                     \
                return;                                     \
            qy_sleep_ms (500);                              \
        }                                                   \
        qy_service_set_dep (QY_DEP_PG, qy_pg_ok (pg));      \
    } while (0)

static void s_handle (campaign_store_t *store, qy_pg_t *pg, void *out, Qy__Event *ev)
{
    qy_metric_add (m_in, 1);
    if (!campaign_wants_welcome (ev))
        return;
    const char *tmpl = NULL, *name = NULL, *group = NULL, *storename = NULL;
    int found;
    S_RETRY (found = campaign_store_welcome (store, ev->brand_id, &tmpl, &name), pg);
    if (!found)
        return;
    S_RETRY (campaign_store_names (store, ev->brand_id, ev->group_id, &group, &storename), pg);
    campaign_vars_t vars = { ev->nickname && *ev->nickname ? ev->nickname : ev->member, group, storename };
    char err [160];
    char *text = campaign_render (tmpl, &vars, err, sizeof (err));
    if (!text) {
        qy_metric_add (m_tmpl_err, 1);
        qy_log_error ("msg=%s brand=%s campaign=\"%s\" bad template error=\"%s\"", ev->msg_id, ev->brand, name, err);
        return;
    }
    char key [256], source [160];
    qy_snprintf (key, sizeof (key), "welcome:%lld:%s", (long long) ev->brand_id, ev->msg_id);
    qy_snprintf (source, sizeof (source), "campaign:%s", name);
    char *mentions [] = { ev->member };
    Qy__Delivery d = QY__DELIVERY__INIT;
    d.key = key;
    d.brand = ev->brand;
    d.brand_id = ev->brand_id;
    d.group_id = ev->group_id;
    d.group = ev->group;
    d.priority = QY__PRIORITY__P_CAMPAIGN;
    d.kind = "post";
    d.text = text;
    d.n_mentions = 1;
    d.mentions = mentions;
    d.source = source;
    d.event_id = ev->msg_id;
    d.created_us = qy_now_us ();
    if (qy_service_send (out, &d.base) == 0) {
        qy_metric_add (m_welcome, 1);
        qy_log_debug ("msg=%s brand=%s welcome queued key=%s", ev->msg_id, ev->brand, key);
    }
    free (text);
}

int main (int argc, char **argv)
{
    campaign_config_t cfg = { 0 };
    qy_service_start ("campaign", argc, argv, s_options, QY_ARRAY_LEN (s_options), &cfg, &cfg.common);
    m_in = qy_counter ("qy_campaign_events_total", "events seen");
    m_welcome = qy_counter ("qy_campaign_welcomes_total", "welcome messages queued for delivery");
    m_bad = qy_counter ("qy_campaign_malformed_total", "undecodable events set aside");
    m_tmpl_err = qy_counter ("qy_campaign_template_errors_total", "templates that failed to render");
    qy_service_needs (QY_DEP_PG);
    qy_pg_t *pg = qy_pg_new (cfg.common.pg_dsn);
    qy_pg_t *listen = qy_pg_new (cfg.common.pg_dsn);
    qy_service_set_dep (QY_DEP_PG, qy_pg_connect (pg));
    campaign_store_t *store = campaign_store_new (pg);

    void *ctx = zmq_ctx_new ();
    void *in = qy_zmq_socket (ctx, ZMQ_PULL, (int) cfg.hwm, 0);
    void *out = qy_zmq_socket (ctx, ZMQ_PUSH, (int) cfg.hwm, 5000);
    if (qy_zmq_connect (in, cfg.zmq_in) || qy_zmq_connect (out, cfg.zmq_out))
        return 2;
    bool listening = false;
    while (qy_service_running ()) {
        qy_service_heartbeat ();
        qy_service_check_deps (pg, NULL);
        if (!listening && qy_pg_connect (listen)) {
            PGresult *r = PQexec (qy_pg_conn (listen), "LISTEN qy_config");
            listening = PQresultStatus (r) == PGRES_COMMAND_OK;
            PQclear (r);
            campaign_store_invalidate (store);
        }
        zmq_pollitem_t poll [2] = { { in, 0, ZMQ_POLLIN, 0 }, { NULL, listening ? PQsocket (qy_pg_conn (listen)) : -1, ZMQ_POLLIN, 0 } };
        if (zmq_poll (poll, listening ? 2 : 1, 200) <= 0)
            continue;
        if (listening && (poll [1].revents & ZMQ_POLLIN)) {
            PGconn *c = qy_pg_conn (listen);
            PQconsumeInput (c);
            PGnotify *n;
            while ((n = PQnotifies (c))) {
                if (strncmp (n->extra, "campaigns:", 10) == 0 || strncmp (n->extra, "brands:", 7) == 0)
                    campaign_store_invalidate (store);
                PQfreemem (n);
            }
            if (PQstatus (c) != CONNECTION_OK)
                listening = false;
        }
        for (int i = 0; i < 512; i++) {
            zmq_msg_t m;
            zmq_msg_init (&m);
            if (zmq_msg_recv (&m, in, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close (&m);
                break;
            }
            Qy__Event *ev = qy__event__unpack (NULL, zmq_msg_size (&m), zmq_msg_data (&m));
            if (!ev || !ev->brand_id) {
                qy_metric_add (m_bad, 1);
                qy_deadletter (pg, ev ? ev->brand_id : 0, ev ? ev->brand : NULL, "campaign", ev ? ev->msg_id : NULL,
                               ev ? "event without brand_id" : "malformed event: protobuf decode failed",
                               zmq_msg_data (&m), zmq_msg_size (&m));
            }
            else
                s_handle (store, pg, out, ev);
            if (ev)
                qy__event__free_unpacked (ev, NULL);
            zmq_msg_close (&m);
        }
    }
    zmq_close (in);
    zmq_close (out);
    zmq_ctx_term (ctx);
    campaign_store_destroy (&store);
    qy_pg_destroy (&listen);
    qy_pg_destroy (&pg);
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    return 0;
}
