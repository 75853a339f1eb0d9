//  The notifier's dispatcher (notifier_dispatch.h): slots of requests in
//  flight, their start and finish, and the claim that fills them.
#include "notifier_dispatch.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/service.h"
#include "qy/util.h"
#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

//  Deliveries answered 2xx, written in one statement per loop turn.
typedef struct {
    char  **keys;
    long   *status;
    size_t  n, cap;
} s_done_t;

typedef struct {
    notifier_job_t     job;
    CURL              *easy;
    struct curl_slist *headers;
    char               error [CURL_ERROR_SIZE];
    qy_buf_t           answer;       //  the first 8 KB of the answer (WeCom's errcode)
    bool               busy;
} s_slot_t;

//  Buckets whose schedule of held jobs is remembered (notifier_admit).
#define S_PROMISED_MAX 65536

struct notifier_dispatch_t {
    notifier_dispatch_config_t cfg;
    notifier_limits_t   limits;
    notifier_breaker_t *breaker;
    qy_map_t           *promised;       //  bucket → the last slot promised to a job it held (notifier_admit)
    qy_redis_t         *redis;          //  borrowed
    notifier_served_t   served;
    int64_t             serve_clock;
    CURLM              *multi;
    s_slot_t           *slots;          //  cfg.inflight of them
    s_done_t            done;
    int                 running;
    //  Due deliveries may be waiting in PostgreSQL: no claim yet, the last
    //  one filled every free slot, or an insert left new rows pending. Only
    //  when not is a new delivery claimed by its own insert and a finished
    //  request followed by no claim (notifier_insert_claims).
    bool                behind;
    //  When the first row this dispatcher put back for later (held by a
    //  limit, paused, a retry) comes due (qy_mono_us; 0 none): the next
    //  claim is then, not only on the poll.
    int64_t             due_us;
    struct {
        qy_metric_t *asked_have, *asked_not, *asked_unknown, *ok, *retry, *dead, *lost, *inflight, *latency,
                    *limited, *paused, *circuit, *circuits_open, *digested, *errcode, *taken_claim, *taken_insert;
    } m;
};

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

static bool s_arrived (notifier_dispatch_t *self, const notifier_job_t *job, long timeout_ms)
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
    qy_metric_add (says == 1 ? self->m.asked_have : says == 0 ? self->m.asked_not : self->m.asked_unknown, 1);
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
static void s_lease_lost (notifier_dispatch_t *self, const notifier_job_t *job, const char *outcome)
{
    qy_metric_add (self->m.lost, 1);
    qy_log_warn ("delivery=%s brand=%lld lease lost: outcome %s not recorded (another replica has it) attempts=%d",
                 job->key, (long long) job->brand_id, outcome, job->attempts);
}

//  A row put back comes due again after ms: the next claim is due by then.
static void s_due_in (notifier_dispatch_t *self, int64_t ms)
{
    int64_t at = qy_mono_us () + (ms > 0 ? ms : 0) * 1000;
    if (!self->due_us || at < self->due_us)
        self->due_us = at;
}

//  Told to slow down: the destination waits (all replicas), this delivery
//  keeps its attempt.
static void s_paused (notifier_dispatch_t *self, qy_pg_t *pg, s_slot_t *s, int64_t pause_ms, const char *err)
{
    qy_metric_add (self->m.paused, 1);
    qy_log_warn ("delivery=%s brand=%lld destination paused ms=%lld error=%s", s->job.key,
                 (long long) s->job.brand_id, (long long) pause_ms, err);
    if (notifier_limits_pause (self->redis, s->job.url, pause_ms))
        qy_log_warn ("delivery=%s redis unavailable: pause not shared", s->job.key);
    int rc;
    qy_wait_t wait = { .at_stop = true };
    while ((rc = notifier_store_defer (pg, &s->job, pause_ms, err)) < 0 && qy_service_wait (&wait, QY_DEP__COUNT, false))
        ;
    if (rc == 1)
        s_lease_lost (self, &s->job, "defer");
    else
        s_due_in (self, pause_ms);
}

//  Delivered: kept for the next batch of "delivered" updates.
static void s_delivered (notifier_dispatch_t *self, s_slot_t *s, long status)
{
    s_done_t *done = &self->done;
    if (done->n == done->cap) {
        done->cap = done->cap ? done->cap * 2 : 64;
        done->keys = qy_realloc (done->keys, done->cap * sizeof (char *));
        done->status = qy_realloc (done->status, done->cap * sizeof (long));
    }
    done->keys [done->n] = qy_strdup (s->job.key);
    done->status [done->n++] = status;
    qy_metric_add (self->m.ok, 1);
    qy_metric_observe (self->m.latency, qy_now_us () - s->job.created_us);
    qy_log_debug ("delivery=%s brand=%lld delivered status=%ld attempts=%d", s->job.key, (long long) s->job.brand_id, status, s->job.attempts);
}

//  Failed: retried later with backoff while attempts remain, else dead.
//  Recording the outcome must not be lost: retry while PostgreSQL is away
//  (on shutdown the lease runs out and the row is taken again).
static void s_failed (notifier_dispatch_t *self, qy_pg_t *pg, s_slot_t *s, notifier_outcome_t o, long status,
                      const char *err)
{
    const notifier_dispatch_config_t *cfg = &self->cfg;
    bool retry = o == NOTIFIER_RETRY && s->job.attempts < cfg->attempts;
    int64_t backoff = 0;
    if (retry)
        backoff = notifier_backoff_ms (s->job.attempts, cfg->base_ms, cfg->cap_ms, (double) rand () / RAND_MAX);
    int rc;
    qy_wait_t wait = { .at_stop = true };
    while ((rc = retry ? notifier_store_retry (pg, &s->job, status, err, backoff)
                       : notifier_store_dead (pg, &s->job, status, err)) < 0
           && qy_service_wait (&wait, QY_DEP__COUNT, false))
        ;
    if (rc == 0 && retry)
        s_due_in (self, backoff);
    if (rc == 1)
        s_lease_lost (self, &s->job, retry ? "retry" : "dead");
    else
    if (rc == 0 && retry) {
        qy_metric_add (self->m.retry, 1);
        qy_log_warn ("delivery=%s brand=%lld retry attempts=%d error=%s", s->job.key, (long long) s->job.brand_id, s->job.attempts, err);
    }
    else
    if (rc == 0) {
        qy_metric_add (self->m.dead, 1);
        qy_log_error ("delivery=%s brand=%lld dead attempts=%d error=%s", s->job.key, (long long) s->job.brand_id, s->job.attempts, err);
    }
}

static void s_finish (notifier_dispatch_t *self, qy_pg_t *pg, s_slot_t *s, CURLcode code)
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
                                                       self->cfg.wecom_pause_ms, &errcode, &pause_ms);
    char err [300];
    if (!answered)
        qy_snprintf (err, sizeof (err), "%s", s->error [0] ? s->error : curl_easy_strerror (code));
    else if (errcode)
        qy_snprintf (err, sizeof (err), "http %ld errcode %ld", status, errcode);
    else
        qy_snprintf (err, sizeof (err), "http %ld", status);
    if (errcode)
        qy_metric_add (self->m.errcode, 1);
    //  An answer, even a refusal, shows the endpoint is alive; only no answer or a 5xx counts against it.
    notifier_breaker_report (self->breaker, s->job.url, o != NOTIFIER_RETRY, qy_mono_us () / 1000);
    if (o == NOTIFIER_PAUSE)
        s_paused (self, pg, s, pause_ms, err);
    else if (o == NOTIFIER_DONE)
        s_delivered (self, s, status);
    else
        s_failed (self, pg, s, o, status, err);
    curl_multi_remove_handle (self->multi, s->easy);
    curl_easy_cleanup (s->easy);
    curl_slist_free_all (s->headers);
    s->easy = NULL;
    s->headers = NULL;
    notifier_job_clear (&s->job);
    s->busy = false;
}

//  Record the outcome of every request that has finished. Returns true
//  when one had.
static bool s_completed (notifier_dispatch_t *self, qy_pg_t *pg)
{
    CURLMsg *msg;
    int left;
    bool finished = false;
    while ((msg = curl_multi_info_read (self->multi, &left)))
        if (msg->msg == CURLMSG_DONE) {
            s_slot_t *s;
            curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, (char **) &s);
            s_finish (self, pg, s, msg->data.result);
            finished = true;
        }
    return finished;
}

//  Whether the job may go now (notifier_admit), with what that says of
//  Redis, the metrics, and a probe slot given back when it is held.
static int64_t s_admit (notifier_dispatch_t *self, notifier_job_t *job, const notifier_admit_t *a, int64_t now_ms,
                        const char **why)
{
    notifier_hold_t hold;
    int64_t wait = notifier_admit (a, self->promised, now_ms, &hold);
    *why = notifier_hold_text (hold);
    if (!a->circuit)
        qy_service_set_dep (QY_DEP_REDIS, a->wait >= 0);
    if (hold == NOTIFIER_HELD_CIRCUIT)
        qy_metric_add (self->m.circuit, 1);
    if (hold == NOTIFIER_HELD_RATE || hold == NOTIFIER_HELD_PAUSE)
        qy_metric_add (self->m.limited, 1);
    if (hold == NOTIFIER_HELD_NO_REDIS || hold == NOTIFIER_HELD_RATE || hold == NOTIFIER_HELD_PAUSE)
        notifier_breaker_release (self->breaker, job->url);     //  not sent: a probe slot is free again
    return wait;
}

static int s_free_slots (const notifier_dispatch_t *self)
{
    int free_slots = 0;
    for (int i = 0; i < self->cfg.inflight; i++)
        free_slots += !self->slots [i].busy;
    return free_slots;
}

//  Admit the claimed jobs (notifier_admit), start those that may go, put
//  back those held (noting when they come due). Frees the jobs.
static void s_start_jobs (notifier_dispatch_t *self, qy_pg_t *pg, notifier_job_t *jobs, int n)
{
    const notifier_dispatch_config_t *cfg = &self->cfg;
    s_slot_t *slots = self->slots;
    int k = 0;
    //  One entry per bucket that held a job lately (a group's, a member's
    //  among them): bounded by starting the schedule afresh, which costs
    //  only some jobs held once more.
    if (qy_map_size (self->promised) > S_PROMISED_MAX)
        qy_map_clear (self->promised);
    int64_t now_ms = qy_mono_us () / 1000;
    size_t cap = (size_t) (n > 0 ? n : 1), nheld = 0;
    notifier_admit_t *adm = qy_calloc (cap, sizeof (notifier_admit_t));
    const notifier_job_t **held = qy_calloc (cap, sizeof (notifier_job_t *));
    int64_t *held_ms = qy_calloc (cap, sizeof (int64_t));
    const char **held_why = qy_calloc (cap, sizeof (char *));
    notifier_admit_all (&self->limits, self->breaker, self->redis, jobs, n, adm);
    for (int i = 0; i < n; i++) {
        if (!jobs [i].url) {
            //  Nowhere to send it: no retry will help until an operator sets gateway_url.
            notifier_store_dead (pg, &jobs [i], 0, "brand has no gateway_url");
            qy_metric_add (self->m.dead, 1);
            continue;
        }
        const char *why;
        int64_t wait = s_admit (self, &jobs [i], &adm [i], now_ms, &why);
        if (wait > 0) {
            qy_log_debug ("delivery=%s brand=%lld held ms=%lld why=%s", jobs [i].key, (long long) jobs [i].brand_id,
                          (long long) wait, why);
            held [nheld] = &jobs [i];
            held_ms [nheld] = wait;
            held_why [nheld++] = why;
            s_due_in (self, wait);
            continue;
        }
        if (s_arrived (self, &jobs [i], cfg->timeout_ms < 2000 ? cfg->timeout_ms : 2000)) {
            //  The gateway answered: that is the outcome of a circuit's
            //  trial too (unreported, the circuit would hold every later
            //  delivery to it for good).
            notifier_breaker_report (self->breaker, jobs [i].url, true, now_ms);
            char *key = jobs [i].key;
            long ok = 200;
            if (notifier_store_delivered (pg, &key, &ok, 1) == 0)
                qy_metric_add (self->m.ok, 1);        //  if not recorded, the lease runs out and it is asked again
            continue;
        }
        notifier_served_mark (&self->served, jobs [i].brand_id, ++self->serve_clock);
        while (slots [k].busy)
            k++;
        slots [k].job = jobs [i];
        memset (&jobs [i], 0, sizeof (jobs [i]));
        s_start (self->multi, &slots [k], cfg->timeout_ms);
    }
    //  All held back in one statement; if it fails their leases run out
    //  and they are taken again.
    notifier_store_defer_all (pg, held, held_ms, held_why, nheld);
    free (adm);
    free (held);
    free (held_ms);
    free (held_why);
    notifier_jobs_free (jobs, n);
    qy_metric_set (self->m.circuits_open, notifier_breaker_open_count (self->breaker, qy_mono_us () / 1000));
}

int notifier_dispatch_claim (notifier_dispatch_t *self, qy_pg_t *pg)
{
    const notifier_dispatch_config_t *cfg = &self->cfg;
    int free_slots = s_free_slots (self);
    if (!free_slots)
        return 0;
    int folded = notifier_digest_pass (pg, (int) cfg->digest_min, (int) cfg->digest_max);
    if (folded > 0)
        qy_metric_add (self->m.digested, folded);
    //  What came due by now is this claim's to take: a row it holds again
    //  notes its new time.
    if (self->due_us && self->due_us <= qy_mono_us ())
        self->due_us = 0;
    notifier_job_t *jobs;
    int n = notifier_store_claim (pg, free_slots, (int) cfg->inflight, (int) cfg->lease_s, &self->served, &jobs);
    if (n < 0)
        return 0;
    qy_metric_add (self->m.taken_claim, n);
    s_start_jobs (self, pg, jobs, n);
    self->behind = notifier_behind (n, free_slots);
    return n;
}

int notifier_dispatch_take_max (const notifier_dispatch_t *self)
{
    return notifier_insert_claims (self->behind, s_free_slots (self));
}

void notifier_dispatch_taken (notifier_dispatch_t *self, qy_pg_t *pg, notifier_insert_claim_t *take)
{
    if (take->njobs) {
        qy_metric_add (self->m.taken_insert, take->njobs);
        s_start_jobs (self, pg, take->jobs, take->njobs);
    }
    else
        notifier_jobs_free (take->jobs, 0);
    take->jobs = NULL;
    self->behind = notifier_behind_inserted (self->behind, take->left);
}

bool notifier_dispatch_behind (const notifier_dispatch_t *self)
{
    return self->behind;
}

int64_t notifier_dispatch_due (const notifier_dispatch_t *self)
{
    return self->due_us;
}


//  The dispatcher's metrics (docs/operations.md lists them).
static void s_metrics_new (notifier_dispatch_t *self)
{
    const char *asked = "deliveries in flight when a notifier died: the gateway asked before sending again";
    const char *held = "deliveries held back without spending an attempt";
    self->m.ok = qy_counter ("qy_notifier_deliveries_total{status=\"delivered\"}", "delivery outcomes");
    self->m.retry = qy_counter ("qy_notifier_deliveries_total{status=\"retry\"}", "delivery outcomes");
    self->m.dead = qy_counter ("qy_notifier_deliveries_total{status=\"dead\"}", "delivery outcomes");
    self->m.asked_have = qy_counter ("qy_notifier_asked_total{answer=\"arrived\"}", asked);
    self->m.asked_not = qy_counter ("qy_notifier_asked_total{answer=\"not_arrived\"}", asked);
    self->m.asked_unknown = qy_counter ("qy_notifier_asked_total{answer=\"unknown\"}", asked);
    self->m.lost = qy_counter ("qy_notifier_lease_lost_total", "outcomes not recorded: the lease ran out and another replica took the delivery");
    self->m.inflight = qy_gauge ("qy_notifier_inflight", "requests in flight");
    self->m.latency = qy_histogram ("qy_notifier_delivery_seconds", "from recording to delivery");
    self->m.limited = qy_counter ("qy_notifier_held_total{why=\"rate_limit\"}", held);
    self->m.circuit = qy_counter ("qy_notifier_held_total{why=\"circuit_open\"}", held);
    self->m.paused = qy_counter ("qy_notifier_paused_total", "answers that paused a destination (429, errcode 130101/45009)");
    self->m.circuits_open = qy_gauge ("qy_notifier_circuits_open", "endpoints whose circuit is open");
    self->m.digested = qy_counter ("qy_notifier_alerts_digested_total", "alerts folded into digests");
    self->m.errcode = qy_counter ("qy_notifier_wecom_errcode_total", "2xx answers carrying a non-zero WeCom errcode");
    const char *taken = "deliveries taken to send: by a claim, or by their own insert when nothing waited";
    self->m.taken_claim = qy_counter ("qy_notifier_taken_total{by=\"claim\"}", taken);
    self->m.taken_insert = qy_counter ("qy_notifier_taken_total{by=\"insert\"}", taken);
}

notifier_dispatch_t *notifier_dispatch_new (const notifier_dispatch_config_t *cfg, const notifier_limits_t *limits,
                                            qy_redis_t *redis)
{
    notifier_dispatch_t *self = qy_calloc (1, sizeof (notifier_dispatch_t));
    self->cfg = *cfg;
    self->limits = *limits;
    self->redis = redis;
    self->breaker = notifier_breaker_new ((int) cfg->breaker_failures, cfg->breaker_open_ms);
    self->promised = qy_map_new ();
    self->behind = true;        //  nothing known until the first claim
    s_metrics_new (self);
    curl_global_init (CURL_GLOBAL_DEFAULT);
    self->multi = curl_multi_init ();
    self->slots = qy_calloc ((size_t) cfg->inflight, sizeof (s_slot_t));
    for (int i = 0; i < cfg->inflight; i++)
        qy_buf_init (&self->slots [i].answer);
    return self;
}

void notifier_dispatch_destroy (notifier_dispatch_t **self_p)
{
    notifier_dispatch_t *self = *self_p;
    if (!self)
        return;
    free (self->done.keys);
    free (self->done.status);
    for (int i = 0; i < self->cfg.inflight; i++) {
        s_slot_t *s = &self->slots [i];
        if (s->busy) {
            curl_multi_remove_handle (self->multi, s->easy);
            curl_easy_cleanup (s->easy);
            curl_slist_free_all (s->headers);
            notifier_job_clear (&s->job);
        }
        qy_buf_free (&s->answer);
    }
    free (self->slots);
    notifier_breaker_destroy (&self->breaker);
    qy_map_destroy (&self->promised);
    notifier_served_free (&self->served);
    curl_multi_cleanup (self->multi);
    curl_global_cleanup ();
    free (self);
    *self_p = NULL;
}

bool notifier_dispatch_turn (notifier_dispatch_t *self, qy_pg_t *pg)
{
    curl_multi_perform (self->multi, &self->running);
    bool finished = s_completed (self, pg);
    if (finished)
        s_done_flush (pg, &self->done);
    qy_metric_set (self->m.inflight, self->running);
    return finished;
}

int notifier_dispatch_running (const notifier_dispatch_t *self)
{
    return self->running;
}

void notifier_dispatch_poll (notifier_dispatch_t *self, int timeout_ms)
{
    if (self->running)
        curl_multi_poll (self->multi, NULL, 0, timeout_ms, NULL);
}

void notifier_dispatch_drain (notifier_dispatch_t *self, qy_pg_t *pg, int64_t deadline_us)
{
    while (self->running && qy_mono_us () < deadline_us) {
        curl_multi_perform (self->multi, &self->running);
        s_completed (self, pg);
        curl_multi_poll (self->multi, NULL, 0, 20, NULL);
    }
    s_done_flush (pg, &self->done);
}
