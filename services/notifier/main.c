//  qy-notifier: records every Delivery it is handed (idempotent by key),
//  then claims due ones from PostgreSQL and POSTs them concurrently with
//  libcurl's multi interface, retrying with backoff and jitter.
#include "notifier.h"
#include "notifier_edge.h"
#include "notifier_tasks.h"
#include "qy/redis.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/service.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include "qy/pb.h"
#include "qy/deadletter.h"
#include <curl/curl.h>
#include <jansson.h>
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

static notifier_limits_t s_limits;
static notifier_breaker_t *s_breaker;
static qy_redis_t *s_redis;
static notifier_served_t s_served;
static int64_t s_serve_clock;

//  Parse the limit.* options; exits 2 on a bad one (a config error is fatal at start).
static void s_parse_limits (notifier_config_t *cfg)
{
    struct { const char *name, *spec; notifier_rate_t *rate; } rows [] = {
        { "limit.gateway", cfg->lim_gateway, &s_limits.gateway },
        { "limit.api.post", cfg->lim_post, &s_limits.api [0] },
        { "limit.api.action", cfg->lim_action, &s_limits.api [1] },
        { "limit.api.alert", cfg->lim_alert, &s_limits.api [2] },
        { "limit.webhook", cfg->lim_webhook, &s_limits.webhook },
        { "limit.group", cfg->lim_group, &s_limits.group },
        { "limit.member", cfg->lim_member, &s_limits.member },
    };
    for (size_t i = 0; i < QY_ARRAY_LEN (rows); i++)
        if (notifier_rate_parse (rows [i].spec, rows [i].rate)) {
            qy_log_error ("bad config %s=\"%s\": want N/S (e.g. 20/60, 5/1m) or off", rows [i].name, rows [i].spec);
            exit (2);
        }
}

static qy_metric_t *m_asked_have, *m_asked_not, *m_asked_unknown;
static qy_metric_t *m_in, *m_new, *m_ok, *m_retry, *m_dead, *m_lost, *m_dropped, *m_inflight, *m_latency, *m_bad,
                   *m_limited, *m_paused, *m_circuit, *m_circuits_open, *m_digested, *m_errcode;

//  Deliveries answered 2xx, written in one statement per loop turn.
typedef struct {
    char  **keys;
    long   *status;
    size_t  n, cap;
} s_done_t;

static void s_done_flush (qy_pg_t *pg, s_done_t *done)
{
    //  Given up when asked to stop: the leases run out and the rows are
    //  sent again, which the gateway dedups by key.
    qy_wait_t wait = { .at_stop = true };
    while (done->n && notifier_store_delivered (pg, done->keys, done->status, done->n) != 0
           && qy_service_wait (&wait, QY_DEP__COUNT, false))
        ;
    for (size_t i = 0; i < done->n; i++)
        free (done->keys [i]);
    done->n = 0;
}

typedef struct {
    notifier_job_t     job;
    CURL              *easy;
    struct curl_slist *headers;
    char               error [CURL_ERROR_SIZE];
    qy_buf_t           answer;       //  the first 8 KB of the answer (WeCom's errcode)
    bool               busy;
} s_slot_t;

//  Keep the first 8 KB of the answer and stop reading there (the transfer
//  ends with CURLE_WRITE_ERROR; its status line has been read).
#define S_ANSWER_MAX 8192
static size_t s_keep (char *ptr, size_t size, size_t n, void *arg)
{
    s_slot_t *s = arg;
    if (s->answer.len >= S_ANSWER_MAX)
        return 0;
    qy_buf_append (&s->answer, ptr, size * n < S_ANSWER_MAX - s->answer.len ? size * n : S_ANSWER_MAX - s->answer.len);
    return size * n;
}

//  A delivery a notifier was sending when it died, or whose last attempt
//  got no answer (a timeout: the gateway may have taken it), may have
//  arrived. Before
//  sending it again, ask the gateway (GET {gateway_url}/{key}, docs/
//  gateway.md): 200 {"received":true}, it has it; 404 {"received":false},
//  it has not. A robot webhook cannot be asked, nor a gateway that answers
//  anything else: those are sent again (the window docs/operations.md
//  describes). Returns true when it arrived.
static size_t s_collect (char *ptr, size_t size, size_t n, void *arg)
{
    qy_buf_t *b = arg;
    if (b->len < 4096)
        qy_buf_append (b, ptr, size * n);
    return size * n;
}

static bool s_arrived (const notifier_job_t *job, long timeout_ms)
{
    if (!job->in_doubt || job->webhook || !job->url)
        return false;
    CURL *easy = curl_easy_init ();
    char *esc = curl_easy_escape (easy, job->key, 0);
    char *url = qy_printf ("%s/%s", job->url, esc);
    struct curl_slist *headers = NULL;
    if (job->token && *job->token) {
        char *h = qy_printf ("Authorization: Bearer %s", job->token);
        headers = curl_slist_append (NULL, h);
        free (h);
    }
    qy_buf_t body;
    qy_buf_init (&body);
    curl_easy_setopt (easy, CURLOPT_URL, url);
    curl_easy_setopt (easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt (easy, CURLOPT_WRITEDATA, &body);
    long status = 0;
    if (curl_easy_perform (easy) == CURLE_OK)
        curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &status);
    json_t *answer = status ? json_loads (body.data ? body.data : "", 0, NULL) : NULL;
    json_t *received = answer ? json_object_get (answer, "received") : NULL;
    //  Only the API's own answer counts: a 404 of a gateway without it says nothing.
    int says = status == 200 && json_is_true (received) ? 1 : status == 404 && json_is_false (received) ? 0 : -1;
    qy_metric_add (says == 1 ? m_asked_have : says == 0 ? m_asked_not : m_asked_unknown, 1);
    qy_log_warn ("delivery=%s brand=%lld in doubt (a notifier died sending it, or no answer came): the gateway says %s", job->key,
                 (long long) job->brand_id, says == 1 ? "it arrived, not sent again"
                                            : says == 0 ? "it did not arrive, sending" : "nothing (cannot tell), sending again");
    json_decref (answer);
    qy_buf_free (&body);
    curl_slist_free_all (headers);
    free (url);
    curl_free (esc);
    curl_easy_cleanup (easy);
    return says == 1;
}

static void s_start (CURLM *multi, s_slot_t *s, long timeout_ms)
{
    s->easy = curl_easy_init ();
    s->headers = curl_slist_append (NULL, "Content-Type: application/json");
    //  Whole, however long (keys are checked for control characters at intake).
    char *h = qy_printf ("Idempotency-Key: %s", s->job.key);
    s->headers = curl_slist_append (s->headers, h);
    free (h);
    if (s->job.token && *s->job.token) {
        h = qy_printf ("Authorization: Bearer %s", s->job.token);
        s->headers = curl_slist_append (s->headers, h);
        free (h);
    }
    s->error [0] = 0;
    curl_easy_setopt (s->easy, CURLOPT_URL, s->job.url);
    curl_easy_setopt (s->easy, CURLOPT_POSTFIELDS, s->job.payload);
    curl_easy_setopt (s->easy, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt (s->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt (s->easy, CURLOPT_NOSIGNAL, 1L);
    qy_buf_reset (&s->answer);
    curl_easy_setopt (s->easy, CURLOPT_WRITEFUNCTION, s_keep);
    curl_easy_setopt (s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt (s->easy, CURLOPT_ERRORBUFFER, s->error);
    curl_easy_setopt (s->easy, CURLOPT_PRIVATE, s);
    curl_multi_add_handle (multi, s->easy);
    s->busy = true;
}

//  Another replica took the delivery over after this one's lease ran out;
//  its outcome is the one that counts.
static void s_lease_lost (const notifier_job_t *job, const char *outcome)
{
    qy_metric_add (m_lost, 1);
    qy_log_warn ("delivery=%s brand=%lld lease lost: outcome %s not recorded (another replica has it) attempts=%d",
                 job->key, (long long) job->brand_id, outcome, job->attempts);
}

static void s_finish (notifier_config_t *cfg, qy_pg_t *pg, CURLM *multi, s_slot_t *s, CURLcode code, s_done_t *done)
{
    //  The status line counts whatever became of the body: a 2xx whose body
    //  came too slowly or too long was still accepted (sending it again
    //  would post it twice where the gateway cannot tell).
    long status = 0;
    curl_off_t retry_after = 0;
    curl_easy_getinfo (s->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo (s->easy, CURLINFO_RETRY_AFTER, &retry_after);
    bool answered = code == CURLE_OK || status > 0;
    long errcode;
    int64_t pause_ms;
    notifier_outcome_t o = notifier_classify_response (status, s->answer.data, (long) retry_after,
                                                       cfg->wecom_pause_ms, &errcode, &pause_ms);
    char err [300];
    if (!answered)
        qy_snprintf (err, sizeof (err), "%s", s->error [0] ? s->error : curl_easy_strerror (code));
    else if (errcode)
        qy_snprintf (err, sizeof (err), "http %ld errcode %ld", status, errcode);
    else
        qy_snprintf (err, sizeof (err), "http %ld", status);
    if (errcode)
        qy_metric_add (m_errcode, 1);
    //  An answer, even a refusal, shows the endpoint is alive; only no answer or a 5xx counts against it.
    notifier_breaker_report (s_breaker, s->job.url, o != NOTIFIER_RETRY, qy_mono_us () / 1000);
    if (o == NOTIFIER_PAUSE) {
        //  Told to slow down: the destination waits (all replicas), this delivery keeps its attempt.
        qy_metric_add (m_paused, 1);
        qy_log_warn ("delivery=%s brand=%lld destination paused ms=%lld error=%s", s->job.key,
                     (long long) s->job.brand_id, (long long) pause_ms, err);
        if (notifier_limits_pause (s_redis, s->job.url, pause_ms))
            qy_log_warn ("delivery=%s redis unavailable: pause not shared", s->job.key);
        int rc;
        qy_wait_t wait = { .at_stop = true };
        while ((rc = notifier_store_defer (pg, &s->job, pause_ms, err)) < 0 && qy_service_wait (&wait, QY_DEP__COUNT, false))
            ;
        if (rc == 1)
            s_lease_lost (&s->job, "defer");
        goto release;
    }
    if (o == NOTIFIER_DONE) {
        if (done->n == done->cap) {
            done->cap = done->cap ? done->cap * 2 : 64;
            done->keys = qy_realloc (done->keys, done->cap * sizeof (char *));
            done->status = qy_realloc (done->status, done->cap * sizeof (long));
        }
        done->keys [done->n] = qy_strdup (s->job.key);
        done->status [done->n++] = status;
        qy_metric_add (m_ok, 1);
        qy_metric_observe (m_latency, qy_now_us () - s->job.created_us);
        qy_log_debug ("delivery=%s brand=%lld delivered status=%ld attempts=%d", s->job.key, (long long) s->job.brand_id, status, s->job.attempts);
        goto release;
    }
    //  Recording the outcome must not be lost: retry while PostgreSQL is
    //  away (on shutdown the lease runs out and the row is taken again).
    bool retry = o == NOTIFIER_RETRY && s->job.attempts < cfg->attempts;
    int rc;
    qy_wait_t wait = { .at_stop = true };
    while ((rc = retry ? notifier_store_retry (pg, &s->job, status, err,
                                               notifier_backoff_ms (s->job.attempts, cfg->base_ms, cfg->cap_ms,
                                                                    (double) rand () / RAND_MAX))
                       : notifier_store_dead (pg, &s->job, status, err)) < 0
           && qy_service_wait (&wait, QY_DEP__COUNT, false))
        ;
    if (rc == 1)
        s_lease_lost (&s->job, retry ? "retry" : "dead");
    else
    if (rc == 0 && retry) {
        qy_metric_add (m_retry, 1);
        qy_log_warn ("delivery=%s brand=%lld retry attempts=%d error=%s", s->job.key, (long long) s->job.brand_id, s->job.attempts, err);
    }
    else
    if (rc == 0) {
        qy_metric_add (m_dead, 1);
        qy_log_error ("delivery=%s brand=%lld dead attempts=%d error=%s", s->job.key, (long long) s->job.brand_id, s->job.attempts, err);
    }
release:
    curl_multi_remove_handle (multi, s->easy);
    curl_easy_cleanup (s->easy);
    curl_slist_free_all (s->headers);
    s->easy = NULL;
    s->headers = NULL;
    notifier_job_clear (&s->job);
    s->busy = false;
}

//  Record the outcome of every request that has finished. Returns true
//  when one had.
static bool s_completed (notifier_config_t *cfg, qy_pg_t *pg, CURLM *multi, s_done_t *done)
{
    CURLMsg *msg;
    int left;
    bool finished = false;
    while ((msg = curl_multi_info_read (multi, &left)))
        if (msg->msg == CURLMSG_DONE) {
            s_slot_t *s;
            curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, (char **) &s);
            s_finish (cfg, pg, multi, s, msg->data.result, done);
            finished = true;
        }
    return finished;
}

//  Whether the job may go now (notifier_admit), with what that says of
//  Redis, the metrics, and a probe slot given back when it is held.
static int64_t s_admit (notifier_job_t *job, const notifier_admit_t *a, qy_map_t *spread, const char **why)
{
    notifier_hold_t hold;
    int64_t wait = notifier_admit (a, spread, &hold);
    *why = notifier_hold_text (hold);
    if (!a->circuit)
        qy_service_set_dep (QY_DEP_REDIS, a->wait >= 0);
    if (hold == NOTIFIER_HELD_CIRCUIT)
        qy_metric_add (m_circuit, 1);
    if (hold == NOTIFIER_HELD_RATE || hold == NOTIFIER_HELD_PAUSE)
        qy_metric_add (m_limited, 1);
    if (hold == NOTIFIER_HELD_NO_REDIS || hold == NOTIFIER_HELD_RATE || hold == NOTIFIER_HELD_PAUSE)
        notifier_breaker_release (s_breaker, job->url);     //  not sent: a probe slot is free again
    return wait;
}

//  Fill free slots with due deliveries. Returns how many started.
static int s_claim (notifier_config_t *cfg, qy_pg_t *pg, CURLM *multi, s_slot_t *slots)
{
    int free_slots = 0;
    for (int i = 0; i < cfg->inflight; i++)
        free_slots += !slots [i].busy;
    if (!free_slots)
        return 0;
    int folded = notifier_digest_pass (pg, (int) cfg->digest_min, (int) cfg->digest_max);
    if (folded > 0)
        qy_metric_add (m_digested, folded);
    notifier_job_t *jobs;
    int n = notifier_store_claim (pg, free_slots, (int) cfg->lease_s, &s_served, &jobs);
    if (n < 0)
        return 0;
    int k = 0;
    qy_map_t *spread = qy_map_new ();
    notifier_admit_t *adm = qy_calloc ((size_t) (n > 0 ? n : 1), sizeof (notifier_admit_t));
    notifier_admit_all (&s_limits, s_breaker, s_redis, jobs, n, adm);
    for (int i = 0; i < n; i++) {
        if (!jobs [i].url) {
            //  Nowhere to send it: no retry will help until an operator sets gateway_url.
            notifier_store_dead (pg, &jobs [i], 0, "brand has no gateway_url");
            qy_metric_add (m_dead, 1);
            continue;
        }
        const char *why;
        int64_t wait = s_admit (&jobs [i], &adm [i], spread, &why);
        if (wait > 0) {
            qy_log_debug ("delivery=%s brand=%lld held ms=%lld why=%s", jobs [i].key, (long long) jobs [i].brand_id,
                          (long long) wait, why);
            notifier_store_defer (pg, &jobs [i], wait, why);   //  if this fails the lease runs out and it is taken again
            continue;
        }
        if (s_arrived (&jobs [i], cfg->timeout_ms < 2000 ? cfg->timeout_ms : 2000)) {
            char *key = jobs [i].key;
            long ok = 200;
            if (notifier_store_delivered (pg, &key, &ok, 1) == 0)
                qy_metric_add (m_ok, 1);        //  if not recorded, the lease runs out and it is asked again
            continue;
        }
        notifier_served_mark (&s_served, jobs [i].brand_id, ++s_serve_clock);
        while (slots [k].busy)
            k++;
        slots [k].job = jobs [i];
        memset (&jobs [i], 0, sizeof (jobs [i]));
        s_start (multi, &slots [k], cfg->timeout_ms);
    }
    qy_map_destroy (&spread);
    free (adm);
    notifier_jobs_free (jobs, n);
    qy_metric_set (m_circuits_open, notifier_breaker_open_count (s_breaker, qy_mono_us () / 1000));
    return n;
}

int main (int argc, char **argv)
{
    notifier_config_t cfg = { 0 };
    qy_service_start ("notifier", argc, argv, s_options, QY_ARRAY_LEN (s_options), &cfg, &cfg.common);
    m_in = qy_counter ("qy_notifier_received_total", "deliveries received from the bus");
    m_new = qy_counter ("qy_notifier_recorded_total", "new deliveries recorded (duplicates by key excluded)");
    m_ok = qy_counter ("qy_notifier_deliveries_total{status=\"delivered\"}", "delivery outcomes");
    m_retry = qy_counter ("qy_notifier_deliveries_total{status=\"retry\"}", "delivery outcomes");
    m_dead = qy_counter ("qy_notifier_deliveries_total{status=\"dead\"}", "delivery outcomes");
    m_dropped = qy_counter ("qy_notifier_dropped_total", "deliveries in hand at shutdown that PostgreSQL could not record (logged with their event)");
    m_asked_have = qy_counter ("qy_notifier_asked_total{answer=\"arrived\"}", "deliveries in flight when a notifier died: "
                               "the gateway asked before sending again");
    m_asked_not = qy_counter ("qy_notifier_asked_total{answer=\"not_arrived\"}", "deliveries in flight when a notifier died: "
                              "the gateway asked before sending again");
    m_asked_unknown = qy_counter ("qy_notifier_asked_total{answer=\"unknown\"}", "deliveries in flight when a notifier died: "
                                  "the gateway asked before sending again");
    m_lost = qy_counter ("qy_notifier_lease_lost_total", "outcomes not recorded: the lease ran out and another replica took the delivery");
    m_inflight = qy_gauge ("qy_notifier_inflight", "requests in flight");
    m_latency = qy_summary ("qy_notifier_delivery_seconds", "from recording to delivery");
    m_bad = qy_counter ("qy_notifier_malformed_total", "undecodable deliveries set aside");
    m_limited = qy_counter ("qy_notifier_held_total{why=\"rate_limit\"}", "deliveries held back without spending an attempt");
    m_circuit = qy_counter ("qy_notifier_held_total{why=\"circuit_open\"}", "deliveries held back without spending an attempt");
    m_paused = qy_counter ("qy_notifier_paused_total", "answers that paused a destination (429, errcode 130101/45009)");
    m_circuits_open = qy_gauge ("qy_notifier_circuits_open", "endpoints whose circuit is open");
    m_digested = qy_counter ("qy_notifier_alerts_digested_total", "alerts folded into digests");
    m_errcode = qy_counter ("qy_notifier_wecom_errcode_total", "2xx answers carrying a non-zero WeCom errcode");
    notifier_intake_metrics_t intake = {
        .malformed = m_bad, .dropped = m_dropped,
        .tasks_new = qy_counter ("qy_notifier_tasks_total{event=\"recorded\"}", "staff tasks (docs/tasks.md)"),
    };
    tasks_metrics_t tm = {
        .closed = qy_counter ("qy_notifier_tasks_total{event=\"closed\"}", "staff tasks (docs/tasks.md)"),
        .steps = qy_counter ("qy_notifier_tasks_total{event=\"notice\"}", "staff tasks (docs/tasks.md)"),
        .expired = qy_counter ("qy_notifier_tasks_total{event=\"expired\"}", "staff tasks (docs/tasks.md)"),
        .pass = qy_summary ("qy_notifier_tasks_pass_seconds", "one pass of the staff task loop (evidence if due, then the ladder)"),
    };
    s_parse_limits (&cfg);
    //  A send must end well inside its lease, or another replica takes the
    //  row while it is still out and the destination gets it twice.
    if (cfg.timeout_ms * 2 > cfg.lease_s * 1000) {
        qy_log_error ("bad config: the lease must be at least twice the request timeout http.timeout_ms=%ld lease_s=%ld",
                      cfg.timeout_ms, cfg.lease_s);
        exit (2);
    }
    if (cfg.digest_max < cfg.digest_min) {
        qy_log_error ("bad config: digest.max is below digest.min, no digest could ever be made digest.max=%ld digest.min=%ld", cfg.digest_max, cfg.digest_min);
        exit (2);
    }
    s_breaker = notifier_breaker_new ((int) cfg.breaker_failures, cfg.breaker_open_ms);
    s_redis = qy_redis_new (cfg.common.redis_host, (int) cfg.common.redis_port);
    qy_service_needs (QY_DEP_PG);
    qy_service_needs (QY_DEP_REDIS);
    srand ((unsigned) qy_now_us ());
    curl_global_init (CURL_GLOBAL_DEFAULT);
    qy_pg_t *pg = qy_pg_new (cfg.common.pg_dsn);
    qy_service_set_dep (QY_DEP_PG, qy_pg_connect (pg));
    CURLM *multi = curl_multi_init ();
    s_slot_t *slots = qy_calloc ((size_t) cfg.inflight, sizeof (s_slot_t));
    for (int i = 0; i < cfg.inflight; i++)
        qy_buf_init (&slots [i].answer);

    void *ctx = zmq_ctx_new ();
    qy_inlet_t *in = qy_inlet_new (ctx, cfg.zmq_in, qy_inlet_window (cfg.batch, cfg.hwm));
    if (!in)
        return 2;
    Qy__Delivery **ds = qy_calloc ((size_t) cfg.batch, sizeof (Qy__Delivery *));
    int64_t next_claim = 0;
    notifier_tasks_loop_t *tasks = notifier_tasks_start (cfg.common.pg_dsn, cfg.console_url, (int) cfg.tasks_batch,
                                                         (int) cfg.tasks_poll_ms, (int) cfg.tasks_evidence_ms, tm);
    int running = 0;
    s_done_t done = { 0 };
    //  Stopping, what the bus already sent is recorded (the goodbye:
    //  qy/inlet.h); nothing new is claimed.
    while (qy_inlet_serving (in)) {
        qy_service_heartbeat ();
        qy_service_check_deps (pg, s_redis);
        zmq_pollitem_t item = { qy_inlet_socket (in), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, running ? 5 : 50);
        size_t n = 0;
        while (n < (size_t) cfg.batch) {
            zmq_msg_t m;
            zmq_msg_init (&m);
            if (qy_inlet_recv (in, &m) < 0) {
                zmq_msg_close (&m);
                break;
            }
            Qy__Delivery *d = notifier_intake_decode (pg, &m, &intake);
            if (d)
                ds [n++] = d;
            zmq_msg_close (&m);
        }
        if (n) {
            int fresh = notifier_intake_store (pg, ds, n, &intake);
            qy_metric_add (m_in, (int64_t) n);
            if (fresh > 0)
                qy_metric_add (m_new, fresh);
            for (size_t i = 0; i < n; i++)
                qy__delivery__free_unpacked (ds [i], NULL);
            next_claim = 0;          //  new work: look at once
        }
        qy_inlet_done (in);          //  stored (or set aside): no longer owed
        if (qy_service_running () && qy_mono_us () >= next_claim) {
            s_claim (&cfg, pg, multi, slots);
            next_claim = qy_mono_us () + cfg.poll_ms * 1000;
        }
        qy_service_set_dep (QY_DEP_PG, qy_pg_ok (pg));
        curl_multi_perform (multi, &running);
        if (s_completed (&cfg, pg, multi, &done)) {
            s_done_flush (pg, &done);
            next_claim = 0;
        }
        qy_metric_set (m_inflight, running);
        if (running)
            curl_multi_poll (multi, NULL, 0, 5, NULL);
    }
    notifier_tasks_stop (&tasks);
    //  Let requests in flight finish (bounded by their timeout); whatever is
    //  left keeps its lease and is taken again after restart.
    int64_t deadline = qy_mono_us () + 5000000;
    while (running && qy_mono_us () < deadline) {
        curl_multi_perform (multi, &running);
        s_completed (&cfg, pg, multi, &done);
        curl_multi_poll (multi, NULL, 0, 20, NULL);
    }
    s_done_flush (pg, &done);
    free (done.keys);
    free (done.status);
    for (int i = 0; i < cfg.inflight; i++)
        if (slots [i].busy) {
            curl_multi_remove_handle (multi, slots [i].easy);
            curl_easy_cleanup (slots [i].easy);
            curl_slist_free_all (slots [i].headers);
            notifier_job_clear (&slots [i].job);
        }
    for (int i = 0; i < cfg.inflight; i++)
        qy_buf_free (&slots [i].answer);
    free (slots);
    notifier_breaker_destroy (&s_breaker);
    notifier_served_free (&s_served);
    qy_redis_destroy (&s_redis);
    free (ds);
    curl_multi_cleanup (multi);
    curl_global_cleanup ();
    qy_inlet_destroy (&in);
    zmq_ctx_term (ctx);
    qy_pg_destroy (&pg);
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    return 0;
}
