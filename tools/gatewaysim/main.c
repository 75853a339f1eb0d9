//  qy-gatewaysim: stands in for a brand's chat gateway and for WeCom group
//  robots (POST /cgi-bin/webhook/send?key=…). Receives notifier's POSTs,
//  checks the bearer token, counts them by kind and action (robots: by
//  msgtype), counts a repeated Idempotency-Key as a duplicate (a real
//  gateway would not post it twice), and can be told to misbehave: be slow,
//  fail (503), answer 429 with Retry-After, hang past the caller's timeout,
//  or answer HTTP 200 with a WeCom errcode — at a rate, or for the first N
//  requests (deterministic, for tests) — or accept a delivery and send the
//  answer's body late (--slow-body-first N --slow-body-ms M: the status
//  line at once, the body after M ms), or take a delivery and answer only
//  after the caller gave up (--late-first N --late-ms M). GET /stats answers the counts as
//  JSON; --log FILE writes every first-seen body as a line; --order FILE
//  writes "seq t_ms path key" for each, in arrival order. GET (or HEAD)
//  /v1/deliveries/KEY is the send-result API notifier asks after a crash:
//  200 when a delivery of that key arrived, 404 when not.
#include "qy/sim.h"
#include "qy/util.h"
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    pthread_mutex_t lock;
    json_t *by;            //  "kind/action" → count
    json_t *keys;          //  key → times seen
    json_t *paths;         //  path → first-seen count
    long    requests, unique, duplicates, failed, unauthorized, throttled, timeouts, errcodes, asked;
    double  fail_rate, rate_429, timeout_rate, errcode_rate;
    long    fail_first, first_429, timeout_first, errcode_first, slow_body_first, late_first;
    int     delay_ms, retry_after_s, timeout_ms, slow_body_ms, late_ms;
    long    errcode;
    const char *token;
    FILE   *log, *order;
    unsigned seed;
    int64_t t0;
} s;

//  The status line and headers go out at once; the body M ms later.
static ssize_t s_slow_read (void *cls, uint64_t pos, char *buf, size_t max)
{
    const char *body = cls;
    size_t len = strlen (body);
    if (pos >= len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (pos == 0)
        usleep ((useconds_t) s.slow_body_ms * 1000);
    size_t n = len - (size_t) pos < max ? len - (size_t) pos : max;
    memcpy (buf, body + pos, n);
    return (ssize_t) n;
}

static enum MHD_Result s_send_slow (struct MHD_Connection *c, unsigned status, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_callback (strlen (body), 1024, s_slow_read, (void *) body, NULL);
    MHD_add_response_header (r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response (c, status, r);
    MHD_destroy_response (r);
    return rc;
}

static enum MHD_Result s_send_retry (struct MHD_Connection *c, int retry_after_s)
{
    const char *body = "{\"error\":\"slow down\"}";
    struct MHD_Response *r = MHD_create_response_from_buffer (strlen (body), (void *) body, MHD_RESPMEM_PERSISTENT);
    char ra [16];
    qy_snprintf (ra, sizeof (ra), "%d", retry_after_s);
    MHD_add_response_header (r, "Content-Type", "application/json");
    MHD_add_response_header (r, "Retry-After", ra);
    enum MHD_Result rc = MHD_queue_response (c, 429, r);
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
    json_object_set_new (o, "throttled", json_integer (s.throttled));
    json_object_set_new (o, "timeouts", json_integer (s.timeouts));
    json_object_set_new (o, "errcodes", json_integer (s.errcodes));
    json_object_set_new (o, "asked", json_integer (s.asked));
    json_object_set (o, "by", s.by);
    json_object_set (o, "paths", s.paths);
    char *text = json_dumps (o, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref (o);
    return text;
}

//  GET and HEAD: the send-result API (docs/gateway.md: did a delivery of
//  this key arrive?) and /stats.
static enum MHD_Result s_handle_get (struct MHD_Connection *c, const char *url)
{
    if (strncmp (url, "/v1/deliveries/", 15) == 0) {
        pthread_mutex_lock (&s.lock);
        bool have = json_object_get (s.keys, url + 15) != NULL;
        s.asked++;
        pthread_mutex_unlock (&s.lock);
        return have ? qy_sim_send (c, 200, "{\"received\":true}") : qy_sim_send (c, 404, "{\"received\":false}");
    }
    if (strcmp (url, "/stats") != 0)
        return qy_sim_send (c, 404, "{\"error\":\"not found\"}");
    pthread_mutex_lock (&s.lock);
    char *text = s_stats ();
    pthread_mutex_unlock (&s.lock);
    enum MHD_Result rc = qy_sim_send (c, 200, text);
    free (text);
    return rc;
}

//  Whether an injected fault hits this request: the first *first requests,
//  then each with probability rate. Called with the lock held.
static bool s_fault_due (long *first, double rate)
{
    if (*first > 0) {
        (*first)--;
        return true;
    }
    return rate > 0 && (double) rand_r (&s.seed) / RAND_MAX < rate;
}

//  The faults a POST may meet before it is looked at, in order: a hang
//  past the caller's timeout, 429, WeCom's error code in a 200, a bad
//  token, 503. Called with the lock held, which a fault releases: true
//  when one answered (*rc).
static bool s_post_fault (struct MHD_Connection *c, bool robot, const char *auth, enum MHD_Result *rc)
{
    char body [96], want [256];
    if (s_fault_due (&s.timeout_first, s.timeout_rate)) {
        //  Hang past the caller's timeout; then answer as a gateway that gave up (nothing done).
        s.timeouts++;
        pthread_mutex_unlock (&s.lock);
        usleep ((useconds_t) s.timeout_ms * 1000);
        *rc = qy_sim_send (c, 504, "{\"error\":\"simulated timeout\"}");
        return true;
    }
    if (s_fault_due (&s.first_429, s.rate_429)) {
        s.throttled++;
        pthread_mutex_unlock (&s.lock);
        *rc = s_send_retry (c, s.retry_after_s);
        return true;
    }
    if (s_fault_due (&s.errcode_first, s.errcode_rate)) {
        //  WeCom's way: HTTP 200 and an error code in the body.
        s.errcodes++;
        pthread_mutex_unlock (&s.lock);
        qy_snprintf (body, sizeof (body), "{\"errcode\":%ld,\"errmsg\":\"simulated\"}", s.errcode);
        *rc = qy_sim_send (c, 200, body);
        return true;
    }
    qy_snprintf (want, sizeof (want), "Bearer %s", s.token ? s.token : "");
    if (s.token && !robot && (!auth || strcmp (auth, want) != 0)) {
        s.unauthorized++;
        pthread_mutex_unlock (&s.lock);
        *rc = qy_sim_send (c, 401, "{\"error\":\"bad token\"}");
        return true;
    }
    if (s_fault_due (&s.fail_first, s.fail_rate)) {
        s.failed++;
        pthread_mutex_unlock (&s.lock);
        *rc = qy_sim_send (c, 503, "{\"error\":\"simulated failure\"}");
        return true;
    }
    return false;
}

//  A delivery seen for the first time: counted by kind and path, and
//  written to the order and body logs when asked. Called with the lock held.
static void s_record_new (struct MHD_Connection *c, const char *url, const char *key, bool robot, json_t *body,
                          const char *data)
{
    s.unique++;
    json_object_set_new (s.keys, key, json_integer (1));
    char what [128];
    const char *kind = json_string_value (json_object_get (body, "kind"));
    const char *action = json_string_value (json_object_get (body, "action"));
    if (robot) {
        kind = "robot";
        action = json_string_value (json_object_get (body, "msgtype"));
    }
    qy_snprintf (what, sizeof (what), "%s%s%s", kind ? kind : "?", action ? "/" : "", action ? action : "");
    char where [300];
    const char *rkey = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "key");
    qy_snprintf (where, sizeof (where), "%s%s%s", url, rkey ? "?key=" : "", rkey ? rkey : "");
    json_t *pn = json_object_get (s.paths, where);
    json_object_set_new (s.paths, where, json_integer (pn ? json_integer_value (pn) + 1 : 1));
    if (s.order) {
        fprintf (s.order, "%ld %lld %s %s\n", s.unique, (long long) ((qy_now_us () - s.t0) / 1000), where, key);
        fflush (s.order);
    }
    json_t *n = json_object_get (s.by, what);
    json_object_set_new (s.by, what, json_integer (n ? json_integer_value (n) + 1 : 1));
    if (s.log) {
        fprintf (s.log, "%s\n", data);
        fflush (s.log);
    }
}

static enum MHD_Result s_handle (struct MHD_Connection *c, const char *url, const char *method,
                                 const char *data, size_t size)
{
    if (strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0)
        return s_handle_get (c, url);
    if (strcmp (method, "POST") != 0)
        return qy_sim_send (c, 405, "{\"error\":\"method not allowed\"}");
    if (s.delay_ms)
        usleep ((useconds_t) s.delay_ms * 1000);
    const char *auth = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Authorization");
    const char *key = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Idempotency-Key");
    //  A robot webhook authenticates by the key in its URL, not by a token.
    bool robot = strcmp (url, "/cgi-bin/webhook/send") == 0;
    pthread_mutex_lock (&s.lock);
    s.requests++;
    enum MHD_Result rc;
    if (s_post_fault (c, robot, auth, &rc))
        return rc;
    json_error_t err;
    json_t *body = json_loadb (data, size, 0, &err);
    if (!body || !key) {
        pthread_mutex_unlock (&s.lock);
        json_decref (body);
        return qy_sim_send (c, 400, "{\"error\":\"body must be JSON and Idempotency-Key is required\"}");
    }
    json_t *seen = json_object_get (s.keys, key);
    if (seen) {
        s.duplicates++;
        json_object_set_new (s.keys, key, json_integer (json_integer_value (seen) + 1));
    }
    else
        s_record_new (c, url, key, robot, body, data);
    bool slow = s.slow_body_first > 0;
    if (slow)
        s.slow_body_first--;
    //  Taken, and answered only after the caller gave up (its answer lost).
    bool late = s.late_first > 0;
    if (late)
        s.late_first--;
    pthread_mutex_unlock (&s.lock);
    if (late)
        usleep ((useconds_t) s.late_ms * 1000);
    json_decref (body);
    const char *ok = robot ? "{\"errcode\":0,\"errmsg\":\"ok\"}" : "{\"ok\":true}";
    return slow ? s_send_slow (c, 200, ok) : qy_sim_send (c, 200, ok);
}

int main (int argc, char **argv)
{
    int port = 0;
    const char *port_file = NULL;
    pthread_mutex_init (&s.lock, NULL);
    s.by = json_object ();
    s.keys = json_object ();
    s.paths = json_object ();
    s.seed = 42;
    s.retry_after_s = 1;
    s.timeout_ms = 3000;
    s.errcode = 130101;
    s.t0 = qy_now_us ();
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv [i + 1] : NULL;
        if (!strcmp (argv [i], "--port") && v) { port = atoi (v); i++; }
        else if (!strcmp (argv [i], "--port-file") && v) { port_file = v; i++; }
        else if (!strcmp (argv [i], "--fail-rate") && v) { s.fail_rate = atof (v); i++; }
        else if (!strcmp (argv [i], "--delay-ms") && v) { s.delay_ms = atoi (v); i++; }
        else if (!strcmp (argv [i], "--token") && v) { s.token = v; i++; }
        else if (!strcmp (argv [i], "--log") && v) { s.log = fopen (v, "a"); i++; }
        else if (!strcmp (argv [i], "--order") && v) { s.order = fopen (v, "a"); i++; }
        else if (!strcmp (argv [i], "--fail-first") && v) { s.fail_first = atol (v); i++; }
        else if (!strcmp (argv [i], "--429-rate") && v) { s.rate_429 = atof (v); i++; }
        else if (!strcmp (argv [i], "--429-first") && v) { s.first_429 = atol (v); i++; }
        else if (!strcmp (argv [i], "--retry-after") && v) { s.retry_after_s = atoi (v); i++; }
        else if (!strcmp (argv [i], "--timeout-rate") && v) { s.timeout_rate = atof (v); i++; }
        else if (!strcmp (argv [i], "--timeout-first") && v) { s.timeout_first = atol (v); i++; }
        else if (!strcmp (argv [i], "--timeout-ms") && v) { s.timeout_ms = atoi (v); i++; }
        else if (!strcmp (argv [i], "--errcode") && v) { s.errcode = atol (v); i++; }
        else if (!strcmp (argv [i], "--errcode-rate") && v) { s.errcode_rate = atof (v); i++; }
        else if (!strcmp (argv [i], "--errcode-first") && v) { s.errcode_first = atol (v); i++; }
        else if (!strcmp (argv [i], "--slow-body-first") && v) { s.slow_body_first = atol (v); i++; }
        else if (!strcmp (argv [i], "--slow-body-ms") && v) { s.slow_body_ms = atoi (v); i++; }
        else if (!strcmp (argv [i], "--late-first") && v) { s.late_first = atol (v); i++; }
        else if (!strcmp (argv [i], "--late-ms") && v) { s.late_ms = atoi (v); i++; }
        else {
            fprintf (stderr, "usage: qy-gatewaysim [--port N] [--port-file F] [--token T] [--log FILE] [--order FILE]\n"
                             "         [--delay-ms N] [--fail-rate 0..1] [--fail-first N]\n"
                             "         [--429-rate 0..1] [--429-first N] [--retry-after S]\n"
                             "         [--timeout-rate 0..1] [--timeout-first N] [--timeout-ms N]\n"
                             "         [--errcode N] [--errcode-rate 0..1] [--errcode-first N]\n"
                             "         [--slow-body-first N] [--slow-body-ms N] [--late-first N] [--late-ms N]\n");
            return 2;
        }
    }
    if (qy_sim_serve ("qy-gatewaysim", port, port_file, s_handle))
        return 1;
    char *text = s_stats ();
    printf ("%s\n", text);
    free (text);
    json_decref (s.by);
    json_decref (s.keys);
    json_decref (s.paths);
    if (s.log)
        fclose (s.log);
    if (s.order)
        fclose (s.order);
    return 0;
}
