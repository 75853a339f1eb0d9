//  qy-bus: the stable meeting point of every hop, so that any stage can run
//  as many replicas with no per-replica configuration. Each hop is a
//  zmq_proxy with a PULL front (upstream replicas connect and PUSH) and a
//  PUSH back (downstream replicas connect and PULL; ZeroMQ spreads the work
//  round-robin over them). High-water marks bound every queue, so a slow
//  stage pushes back on the one before it instead of growing memory.
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/service.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    qy_common_config_t common;
    char *hops;
    long  hwm;
} bus_config_t;

static const qy_option_t s_options [] = {
    QY_COMMON_OPTIONS (bus_config_t),
    { "hops", QY_STR, offsetof (bus_config_t, hops),
      "moderation=tcp://*:5550>tcp://*:5551;scoring=tcp://*:5552>tcp://*:5553;"
      "campaign=tcp://*:5554>tcp://*:5555;notifier=tcp://*:5556>tcp://*:5557", 0, 0,
      "hops as name=front>back;… (front: PULL bind, back: PUSH bind)" },
    { "zmq.hwm", QY_INT, offsetof (bus_config_t, hwm), "20000", 100, 10000000, "high-water mark per socket" },
};

typedef struct {
    char      name [32];
    void     *front, *back;
    pthread_t thread;
} s_hop_t;

static void *s_run (void *arg)
{
    s_hop_t *hop = arg;
    zmq_proxy (hop->front, hop->back, NULL);     //  returns when the context is shut down
    zmq_close (hop->front);
    zmq_close (hop->back);
    return NULL;
}

int main (int argc, char **argv)
{
    bus_config_t cfg = { 0 };
    qy_service_start ("bus", argc, argv, s_options, QY_ARRAY_LEN (s_options), &cfg, &cfg.common);
    void *ctx = zmq_ctx_new ();
    s_hop_t hops [16];
    int nhops = 0;
    char *list = qy_strdup (cfg.hops), *save = NULL;
    for (char *h = strtok_r (list, ";", &save); h && nhops < 16; h = strtok_r (NULL, ";", &save)) {
        char *eq = strchr (h, '='), *gt = eq ? strchr (eq, '>') : NULL;
        if (!eq || !gt) {
            qy_log_error ("bad hop '%s': expected name=front>back", h);
            return 2;
        }
        *eq = 0; *gt = 0;
        s_hop_t *hop = &hops [nhops];
        qy_strlcpy (hop->name, h, sizeof (hop->name));
        hop->front = qy_zmq_socket (ctx, ZMQ_PULL, (int) cfg.hwm, 0);
        hop->back = qy_zmq_socket (ctx, ZMQ_PUSH, (int) cfg.hwm, 0);
        if (qy_zmq_bind (hop->front, eq + 1) || qy_zmq_bind (hop->back, gt + 1))
            return 2;
        qy_log_info ("hop=%s front=%s back=%s", hop->name, eq + 1, gt + 1);
        nhops++;
    }
    free (list);
    for (int i = 0; i < nhops; i++)
        pthread_create (&hops [i].thread, NULL, s_run, &hops [i]);
    while (qy_service_running ()) {
        qy_service_heartbeat ();
        qy_sleep_ms (200);
    }
    zmq_ctx_shutdown (ctx);
    for (int i = 0; i < nhops; i++)
        pthread_join (hops [i].thread, NULL);
    zmq_ctx_term (ctx);
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    return 0;
}
