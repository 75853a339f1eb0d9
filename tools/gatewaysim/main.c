//  qy-gatewaysim: stands in for a brand's chat gateway. Receives notifier's
//  POSTs, checks the bearer token, counts them by kind and action, counts a
//  repeated Idempotency-Key as a duplicate (a real gateway would not post
//  it twice), and can be told to be slow or to fail. GET /stats answers
//  the counts as JSON; --log FILE writes every first-seen body as a line.
#include "qy/util.h"
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    pthread_mutex_t lock;
    json_t *by;            //  "kind/action" → count
    json_t *keys;          //  key → times seen
    long    requests, unique, duplicates, failed, unauthorized;
    double  fail_rate;
    int     delay_ms;
    const char *token;
    FILE   *log;
    unsigned seed;
} s;

static volatile sig_atomic_t s_stop;
static void s_on_signal (int sig) { (void) sig; s_stop = 1; }

typedef struct {
    qy_buf_t body;
} s_req_t;

static enum MHD_Result s_send (struct MHD_Connection *c, unsigned status, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer (strlen (body), (void *) body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header (r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response (c, status, r);
    MHD_destroy_response (r);
    return rc;
}

static char *s_stats (void)
{
    json_t *o = json_object ();
    json_object_set_new (o, "requests", json_integer (s.requests));
    json_object_set_new (o, "unique", json_integer (s.unique));
    json_object_set_new (o, "duplicates", json_integer (s.duplicates));
    json_object_set_new (o, "failed", json_integer (s.failed));
    json_object_set_new (o, "unauthorized", json_integer (s.unauthorized));
    json_object_set (o, "by", s.by);
    char *text = json_dumps (o, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref (o);
    return text;
}

static enum MHD_Result s_handle (void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *data, size_t *size, void **ctx)
{
    (void) cls; (void) version;
    if (strcmp (method, "GET") == 0) {
        if (strcmp (url, "/stats") != 0)
            return s_send (c, 404, "{\"error\":\"not found\"}");
        pthread_mutex_lock (&s.lock);
        char *text = s_stats ();
        pthread_mutex_unlock (&s.lock);
        enum MHD_Result rc = s_send (c, 200, text);
        free (text);
        return rc;
    }
    if (strcmp (method, "POST") != 0)
        return s_send (c, 405, "{\"error\":\"method not allowed\"}");
    s_req_t *req = *ctx;
    if (!req) {
        req = qy_calloc (1, sizeof (*req));
        qy_buf_init (&req->body);
        *ctx = req;
        return MHD_YES;
    }
    if (*size) {
        qy_buf_append (&req->body, data, *size);
        *size = 0;
        return MHD_YES;
    }
    if (s.delay_ms)
        usleep ((useconds_t) s.delay_ms * 1000);
    const char *auth = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Authorization");
    const char *key = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Idempotency-Key");
    pthread_mutex_lock (&s.lock);
    s.requests++;
    enum MHD_Result rc;
    char want [256];
    qy_snprintf (want, sizeof (want), "Bearer %s", s.token ? s.token : "");
    if (s.token && (!auth || strcmp (auth, want) != 0)) {
        s.unauthorized++;
        pthread_mutex_unlock (&s.lock);
        return s_send (c, 401, "{\"error\":\"bad token\"}");
    }
    if (s.fail_rate > 0 && (double) rand_r (&s.seed) / RAND_MAX < s.fail_rate) {
        s.failed++;
        pthread_mutex_unlock (&s.lock);
        return s_send (c, 503, "{\"error\":\"simulated failure\"}");
    }
    json_error_t err;
    json_t *body = json_loads (req->body.data, 0, &err);
    if (!body || !key) {
        pthread_mutex_unlock (&s.lock);
        json_decref (body);
        return s_send (c, 400, "{\"error\":\"body must be JSON and Idempotency-Key is required\"}");
    }
    json_t *seen = json_object_get (s.keys, key);
    if (seen) {
        s.duplicates++;
        json_object_set_new (s.keys, key, json_integer (json_integer_value (seen) + 1));
    }
    else {
        s.unique++;
        json_object_set_new (s.keys, key, json_integer (1));
        char what [128];
        const char *kind = json_string_value (json_object_get (body, "kind"));
        const char *action = json_string_value (json_object_get (body, "action"));
        qy_snprintf (what, sizeof (what), "%s%s%s", kind ? kind : "?", action ? "/" : "", action ? action : "");
        json_t *n = json_object_get (s.by, what);
        json_object_set_new (s.by, what, json_integer (n ? json_integer_value (n) + 1 : 1));
        if (s.log) {
            fprintf (s.log, "%s\n", req->body.data);
            fflush (s.log);
        }
    }
    pthread_mutex_unlock (&s.lock);
    json_decref (body);
    rc = s_send (c, 200, "{\"ok\":true}");
    return rc;
}

static void s_done (void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode toe)
{
    (void) cls; (void) c; (void) toe;
    s_req_t *req = *ctx;
    if (req) {
        qy_buf_free (&req->body);
        free (req);
        *ctx = NULL;
    }
}

int main (int argc, char **argv)
{
    int port = 0;
    const char *port_file = NULL;
    pthread_mutex_init (&s.lock, NULL);
    s.by = json_object ();
    s.keys = json_object ();
    s.seed = 42;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv [i + 1] : NULL;
        if (!strcmp (argv [i], "--port") && v) { port = atoi (v); i++; }
        else if (!strcmp (argv [i], "--port-file") && v) { port_file = v; i++; }
        else if (!strcmp (argv [i], "--fail-rate") && v) { s.fail_rate = atof (v); i++; }
        else if (!strcmp (argv [i], "--delay-ms") && v) { s.delay_ms = atoi (v); i++; }
        else if (!strcmp (argv [i], "--token") && v) { s.token = v; i++; }
        else if (!strcmp (argv [i], "--log") && v) { s.log = fopen (v, "a"); i++; }
        else {
            fprintf (stderr, "usage: qy-gatewaysim [--port N] [--port-file F] [--fail-rate 0..1] [--delay-ms N] [--token T] [--log FILE]\n");
            return 2;
        }
    }
    struct MHD_Daemon *d = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                                             (uint16_t) port, NULL, NULL, s_handle, NULL,
                                             MHD_OPTION_NOTIFY_COMPLETED, s_done, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf (stderr, "qy-gatewaysim: cannot listen on port %d\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (d, MHD_DAEMON_INFO_BIND_PORT);
    port = info->port;
    printf ("listening port=%d\n", port);
    fflush (stdout);
    if (port_file) {
        FILE *f = fopen (port_file, "w");
        if (f) {
            fprintf (f, "%d\n", port);
            fclose (f);
        }
    }
    signal (SIGTERM, s_on_signal);
    signal (SIGINT, s_on_signal);
    while (!s_stop)
        usleep (100000);
    MHD_stop_daemon (d);
    char *text = s_stats ();
    printf ("%s\n", text);
    free (text);
    json_decref (s.by);
    json_decref (s.keys);
    if (s.log)
        fclose (s.log);
    return 0;
}
