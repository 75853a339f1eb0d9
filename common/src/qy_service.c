#include "qy/service.h"
#include "qy/zmq_curve.h"
#include "qy/http.h"
#include "qy/log.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include "qy/pg.h"
#include "qy/redis.h"
#include "qy/metrics.h"
#include "qy/outlet.h"
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <zmq.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t s_stop;
static atomic_bool s_set_up;
static atomic_int s_needs [QY_DEP__COUNT];
static atomic_int s_up [QY_DEP__COUNT];
static const char *s_dep_names [] = { "postgres", "redis", "bus" };
//  qy_dependency_up{dependency} and qy_dependency_down_total{dependency}:
//  what /readyz says, for dashboards; registered by qy_service_needs.
static qy_metric_t *s_dep_up [QY_DEP__COUNT], *s_dep_down [QY_DEP__COUNT];
static atomic_llong s_beat_us;
static qy_http_t *s_http;
static const char *s_name;

static void s_on_signal (int sig)
{
    (void) sig;
    s_stop = 1;
}

//  /livez: the main loop has turned within 30 s (a stuck loop is the one
//  thing a restart cures). /readyz and /health: that, set up
//  (qy_service_ready), every dependency the service declared up, and not
//  stopping; with the build and the uptime.
bool qy_service_probe (qy_probe_t probe, qy_buf_t *out)
{
    int64_t age = qy_mono_us () - atomic_load (&s_beat_us);
    bool alive = age < 30 * 1000000LL;
    const char *loop = alive ? "running" : "stalled";
    const char *name = s_name ? s_name : "";        //  a unit test probes without qy_service_start
    if (probe == QY_PROBE_LIVE) {
        qy_buf_printf (out, "{\"service\":\"%s\",\"loop\":\"%s\",\"status\":\"%s\"}\n", name, loop, alive ? "ok" : "stalled");
        return alive;
    }
    bool set_up = atomic_load (&s_set_up);
    bool ok = alive && set_up && !s_stop;
    qy_buf_printf (out, "{\"service\":\"%s\",\"version\":\"%s\",\"commit\":\"%s\",\"uptime_s\":%.0f",
                   name, qy_build_version (), qy_build_commit (), qy_uptime_s ());
    for (int d = 0; d < QY_DEP__COUNT; d++)
        if (atomic_load (&s_needs [d])) {
            bool up = atomic_load (&s_up [d]);
            ok = ok && up;
            qy_buf_printf (out, ",\"%s\":\"%s\"", s_dep_names [d], up ? "up" : "down");
        }
    qy_buf_printf (out, ",\"loop\":\"%s\",\"starting\":%s,\"stopping\":%s,\"status\":\"%s\"}\n",
                   loop, set_up ? "false" : "true", s_stop ? "true" : "false", ok ? "ok" : "unhealthy");
    return ok;
}

static bool s_health (void *arg, qy_probe_t probe, qy_buf_t *out)
{
    (void) arg;
    return qy_service_probe (probe, out);
}

void qy_service_ready (void)
{
    atomic_store (&s_set_up, true);
}

void qy_service_start (const char *name, int argc, char **argv,
                       const qy_option_t *opts, size_t nopts, void *cfg,
                       const qy_common_config_t *common)
{
    s_name = name;
    const char *file = NULL;
    //  Environment names are upper case (QY_MODERATION_FLOOD_WINDOW_S): --help says them so.
    char upper [32];
    size_t n = 0;
    for (; name [n] && n + 1 < sizeof (upper); n++)
        upper [n] = (char) (name [n] >= 'a' && name [n] <= 'z' ? name [n] - 32 : name [n]);
    upper [n] = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--config") == 0 && i + 1 < argc)
            file = argv [++i];
        else
        if (strcmp (argv [i], "--options") == 0) {
            //  Machine-readable: key <TAB> default <TAB> meaning (tools/gen-config-doc).
            for (size_t k = 0; k < nopts; k++)
                printf ("%s\t%s\t%s%s%s\n", opts [k].name, opts [k].def, opts [k].help ? opts [k].help : "",
                        opts [k].choices ? "; one of " : "", opts [k].choices ? opts [k].choices : "");
            exit (0);
        }
        else
        if (strcmp (argv [i], "--help") == 0) {
            printf ("usage: %s [--config FILE] [--options]\n\noptions (file key, or env QY_<KEY> / QY_%s_<KEY>):\n", argv [0], upper);
            for (size_t k = 0; k < nopts; k++)
                printf ("  %-24s default %-28s %s%s%s\n", opts [k].name, opts [k].def, opts [k].help ? opts [k].help : "",
                        opts [k].choices ? "; one of " : "", opts [k].choices ? opts [k].choices : "");
            exit (0);
        }
        else {
            fprintf (stderr, "%s: unknown argument '%s' (try --help)\n", name, argv [i]);
            exit (2);
        }
    }
    char envname [64];
    qy_snprintf (envname, sizeof (envname), "QY_%s_CONFIG", upper);
    if (!file)
        file = getenv (envname);
    char err [512];
    qy_log_init (name, NULL);
    if (qy_config_load (upper, opts, nopts, cfg, file, err, sizeof (err))) {
        qy_log_error ("bad configuration error=%s", err);
        exit (2);
    }
    qy_log_init (name, common->log_level);
    qy_log_set_format (common->log_format);
    qy_pg_prepare_default (common->pg_prepare);
    char app [64];
    qy_snprintf (app, sizeof (app), "qy-%s", name);
    qy_pg_application_default (app);
    qy_config_log (opts, nopts, cfg);
    qy_zmq_curve_hops (common->zmq_curve_server_key, common->zmq_curve_secret_key, common->zmq_curve_clients);

    struct sigaction sa;
    memset (&sa, 0, sizeof (sa));
    sa.sa_handler = s_on_signal;
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
    qy_service_heartbeat ();

    s_http = qy_http_new (common->http_bind, (int) common->http_port, s_health, NULL);
    if (!s_http) {
        qy_log_error ("cannot start http endpoint port=%ld", common->http_port);
        exit (2);
    }
    qy_log_info ("started http_port=%d pid=%d", qy_http_port (s_http), (int) getpid ());
}

bool qy_service_running (void)
{
    return !s_stop;
}

int64_t qy_service_stop_deadline (void)
{
    static int64_t deadline = INT64_MAX;
    if (deadline == INT64_MAX && s_stop)
        deadline = qy_mono_us () + QY_STOP_GRACE_US;
    return deadline;
}

bool qy_service_waiting (void)
{
    return qy_mono_us () < qy_service_stop_deadline ();
}

void qy_service_request_stop (void)
{
    s_stop = 1;
}

void qy_service_needs (qy_dep_t dep)
{
    char name [80];
    qy_snprintf (name, sizeof (name), "qy_dependency_up{dependency=\"%s\"}", s_dep_names [dep]);
    s_dep_up [dep] = qy_gauge (name, "1 while a dependency the service needs is up (as /readyz says)");
    qy_metric_set (s_dep_up [dep], atomic_load (&s_up [dep]));
    qy_snprintf (name, sizeof (name), "qy_dependency_down_total{dependency=\"%s\"}", s_dep_names [dep]);
    s_dep_down [dep] = qy_counter (name, "times a dependency was found down after being up");
    atomic_store (&s_needs [dep], 1);
}

void qy_service_set_dep (qy_dep_t dep, bool up)
{
    int was = atomic_exchange (&s_up [dep], up ? 1 : 0);
    if (s_dep_up [dep])
        qy_metric_set (s_dep_up [dep], up);
    if (was && !up && s_dep_down [dep])
        qy_metric_add (s_dep_down [dep], 1);
}

void qy_service_heartbeat (void)
{
    atomic_store (&s_beat_us, qy_mono_us ());
}

void qy_service_stop (const qy_option_t *opts, size_t nopts, void *cfg)
{
    qy_http_destroy (&s_http);
    qy_log_info ("stopped");
    qy_config_free (opts, nopts, cfg);
}

int qy_service_send (qy_outlet_t *out, const ProtobufCMessage *msg)
{
    static qy_metric_t *waits;
    if (!waits)
        waits = qy_counter ("qy_send_waits_total", "times a send waited for a full downstream queue");
    while (true) {
        qy_outlet_poll (out);
        if (qy_outlet_send_pb (out, msg))
            return 0;
        if (errno != EAGAIN)
            return -1;
        qy_metric_add (waits, 1);
        //  The window is full (or the bus unknown yet): acknowledgements free it.
        zmq_pollitem_t item = { qy_outlet_socket (out), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 20);
        qy_service_heartbeat ();
        //  Stopping, what is in hand still goes out within the grace.
        if (!qy_service_waiting ())
            return -1;
    }
}

int qy_wait_delay_ms (int tries)
{
    int ms = QY_WAIT_FIRST_MS;
    for (int i = 1; i < tries && ms < QY_WAIT_MAX_MS; i++)
        ms *= 2;
    return ms < QY_WAIT_MAX_MS ? ms : QY_WAIT_MAX_MS;
}

bool qy_service_wait (qy_wait_t *w, qy_dep_t dep, bool up)
{
    if (dep < QY_DEP__COUNT)
        qy_service_set_dep (dep, up);
    qy_service_heartbeat ();
    if (w->at_stop ? !qy_service_running () : !qy_service_waiting ())
        return false;
    if (w->tries < INT_MAX)
        w->tries++;
    qy_sleep_ms (qy_wait_delay_ms (w->tries));
    return true;
}

void qy_service_check_deps (qy_pg_t *pg, qy_redis_t *redis)
{
    static int64_t next;
    int64_t now = qy_mono_us ();
    if (now < next)
        return;
    next = now + 1000000;
    if (pg)
        qy_service_set_dep (QY_DEP_PG, qy_pg_connect (pg));
    if (redis) {
        redisReply *r = qy_redis_cmd (redis, "PING");
        qy_service_set_dep (QY_DEP_REDIS, r != NULL);
        if (r)
            freeReplyObject (r);
    }
}
