//  notifier: delivers what the other services decided (posts, moderation
//  actions, alerts) to each brand's gateway by HTTP POST, exactly once per
//  idempotency key: every delivery is first recorded in PostgreSQL, claimed
//  with a lease, retried with backoff, and dead-lettered after the last try.
#ifndef NOTIFIER_H
#define NOTIFIER_H
#include <stdbool.h>
#include <stdint.h>
#include "qunyun.pb-c.h"
#include "qy/pg.h"
#include "qy/util.h"

//  The JSON body posted to the gateway for d (docs/gateway.md).
void notifier_payload (const Qy__Delivery *d, qy_buf_t *out);
//  Action names in the gateway contract.
const char *notifier_action_name (Qy__Action a);

//  Backoff before attempt number `attempts + 1`: base·2^(attempts−1),
//  capped, with ±20 % jitter drawn from `rand01` (0..1). Milliseconds.
int64_t notifier_backoff_ms (int attempts, int64_t base_ms, int64_t cap_ms, double rand01);

//  How an HTTP outcome is handled.
typedef enum { NOTIFIER_DONE, NOTIFIER_RETRY, NOTIFIER_FAIL } notifier_outcome_t;
//  http_status 0 means the request did not complete (connect error, timeout).
notifier_outcome_t notifier_classify (long http_status);

//  Record new deliveries (idempotent by key). Returns how many were new, or
//  -1 if PostgreSQL failed (nothing recorded).
int notifier_store_insert (qy_pg_t *pg, Qy__Delivery **ds, size_t n);

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
} notifier_job_t;

//  Claim up to max due deliveries with a lease (most urgent priority
//  first). Caller frees with notifier_jobs_free. Returns count or -1.
int notifier_store_claim (qy_pg_t *pg, int max, int lease_s, notifier_job_t **jobs);
void notifier_jobs_free (notifier_job_t *jobs, int n);
//  Outcomes.
//  Mark n deliveries delivered in one statement (keys[i] answered status[i]).
int notifier_store_delivered (qy_pg_t *pg, char *const *keys, const long *status, size_t n);
int notifier_store_retry (qy_pg_t *pg, const notifier_job_t *job, long http_status, const char *error, int64_t delay_ms);
int notifier_store_dead (qy_pg_t *pg, const notifier_job_t *job, long http_status, const char *error);
#endif
