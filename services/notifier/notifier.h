//  notifier: delivers what the other services decided (posts, moderation
//  actions, alerts) to each brand's gateway by HTTP POST, exactly once per
//  idempotency key where the gateway honours the key (at least once to WeCom
//  robots, which do not): every delivery is first recorded in PostgreSQL,
//  claimed with a lease, retried with backoff, and dead-lettered after the
//  last try.
#ifndef NOTIFIER_H
#define NOTIFIER_H
#include <stdbool.h>
#include <stdint.h>
#include "qunyun.pb-c.h"
#include "qy/pg.h"
#include "qy/util.h"
#include "qy/metrics.h"
#include <zmq.h>

//  The JSON body posted to the gateway for d (docs/gateway.md).
void notifier_payload (const Qy__Delivery *d, qy_buf_t *out);
//  Action names in the gateway contract.
const char *notifier_action_name (Qy__Action a);

//  Backoff before attempt number `attempts + 1`: base·2^(attempts−1),
//  capped, with ±20 % jitter drawn from `rand01` (0..1). Milliseconds.
int64_t notifier_backoff_ms (int attempts, int64_t base_ms, int64_t cap_ms, double rand01);

//  How an HTTP outcome is handled. PAUSE: the destination asked us to slow
//  down (HTTP 429, WeCom errcode 45009 or 130101): the delivery waits
//  without spending an attempt, and so does everything else for it.
typedef enum { NOTIFIER_DONE, NOTIFIER_RETRY, NOTIFIER_FAIL, NOTIFIER_PAUSE } notifier_outcome_t;
//  http_status 0 means the request did not complete (connect error, timeout).
notifier_outcome_t notifier_classify (long http_status);
//  The same with the answer's body: a 2xx whose JSON carries a non-zero
//  WeCom errcode is not a success. *errcode gets it (0 if none); for PAUSE
//  *pause_ms gets how long (retry_after_s from the header if given, at most
//  an hour or wecom_pause_ms if longer; else the WeCom pause for errcode
//  130101/45009; else 1 s).
#define NOTIFIER_RETRY_AFTER_MAX_MS 3600000
notifier_outcome_t notifier_classify_response (long http_status, const char *body, long retry_after_s,
                                               int64_t wecom_pause_ms, long *errcode, int64_t *pause_ms);

//  A claimed delivery.
typedef struct {
    char   *key;
    int64_t brand_id;
    char   *payload;
    int     attempts;
    char   *url;        //  NULL when the brand has no gateway_url
    char   *token;
    int64_t created_us;
    int     priority;
    char   *kind;       //  post, action, alert
    int64_t group_id;
    char   *member;     //  the member it concerns ("" if none)
    bool    webhook;    //  url is an alert route's robot webhook, not the brand's gateway
    bool    in_doubt;   //  it may have arrived: taken from a notifier that died while sending it,
                        //  or its last attempt got no answer (a timeout)
} notifier_job_t;

//  What an insert may claim at once (max, 0 for none, leased lease_s), and
//  what it did: the jobs (caller frees them with notifier_jobs_free) and
//  how many new rows it left pending for a claim.
typedef struct {
    int             max, lease_s;
    notifier_job_t *jobs;
    int             njobs, left;
} notifier_insert_claim_t;

//  Record new deliveries (idempotent by key). With take (max > 0), the
//  batch's first take->max new rows but alerts to a robot's webhook (they
//  wait for the digests) are claimed by their own insert, as
//  notifier_store_claim would have taken them next: a notifier that is
//  not behind sends what arrives without claiming it (a statement, and an
//  update of each row, less per delivery). Returns how many were new, or
//  -1 if PostgreSQL failed (nothing recorded).
int notifier_store_insert (qy_pg_t *pg, Qy__Delivery **ds, size_t n, notifier_insert_claim_t *take);

//  When this process last claimed for each brand (a counter, not a clock):
//  among equally urgent deliveries the brand served least recently goes first.
typedef struct {
    int64_t *brand, *at;
    size_t   n, cap;
} notifier_served_t;
void notifier_served_mark (notifier_served_t *self, int64_t brand_id, int64_t at);
void notifier_served_free (notifier_served_t *self);

//  Claim up to max due deliveries with a lease: most urgent priority first,
//  brands taking turns within a priority (served may be NULL). max is at
//  most cap, which stays the same from call to call (the statement's plan
//  is kept per cap). Caller frees with notifier_jobs_free. Returns count
//  or -1.
int notifier_store_claim (qy_pg_t *pg, int max, int cap, int lease_s, const notifier_served_t *served,
                          notifier_job_t **jobs);
void notifier_jobs_free (notifier_job_t *jobs, int n);
//  Outcomes.
//  Mark n deliveries delivered in one statement (keys[i] answered status[i]).
int notifier_store_delivered (qy_pg_t *pg, char *const *keys, const long *status, size_t n);
//  retry, dead and defer apply only while the row is still this claim's
//  ('sending', the attempt claimed): 0 done, 1 the lease was lost (another
//  replica took the row; nothing changed), -1 PostgreSQL error.
int notifier_store_retry (qy_pg_t *pg, const notifier_job_t *job, long http_status, const char *error, int64_t delay_ms);
//  The row dead and its dead letter, in one transaction.
int notifier_store_dead (qy_pg_t *pg, const notifier_job_t *job, long http_status, const char *error);
//  Put a claimed delivery back without spending its attempt (rate limit,
//  open circuit, paused destination): due again after delay_ms.
int notifier_store_defer (qy_pg_t *pg, const notifier_job_t *job, int64_t delay_ms, const char *why);
//  The same for n claimed jobs in one statement (jobs [i] due again after
//  delay_ms [i], why [i] its last error): how many were still this claim's,
//  or -1. A claim holds many back at once when a destination is at its
//  rate, and one statement each was most of the notifier's statements.
int notifier_store_defer_all (qy_pg_t *pg, const notifier_job_t *const *jobs, const int64_t *delay_ms,
                              const char *const *why, size_t n);
//  Free the strings of one job and zero it.
void notifier_job_clear (notifier_job_t *job);

// ------------------------------------------------------------- intake
//  (notifier_intake.c) Deliveries from the bus: checked, recorded, set
//  aside when broken. Waits for PostgreSQL while the service is up:
//  nothing accepted is dropped (at shutdown what is left is logged).
#define NOTIFIER_MAX_KEY 512
typedef struct {
    qy_metric_t *malformed;     //  set aside as dead letters (or dropped, logged)
    qy_metric_t *dropped;       //  in hand at shutdown, not recorded
    qy_metric_t *tasks_new;     //  staff tasks recorded
} notifier_intake_metrics_t;
//  Decode and check one frame: the delivery (caller frees it), or NULL when
//  it was broken and has been set aside.
Qy__Delivery *notifier_intake_decode (qy_pg_t *pg, const zmq_msg_t *m, const notifier_intake_metrics_t *mx);
//  Record a batch: official brands' deliveries the edge cannot carry become
//  staff tasks first, the rest are inserted, the first take->max of them
//  claimed at once when take is given (notifier_store_insert). Returns how
//  many were new.
int notifier_intake_store (qy_pg_t *pg, Qy__Delivery **ds, size_t n, const notifier_intake_metrics_t *mx,
                           notifier_insert_claim_t *take);
#endif
