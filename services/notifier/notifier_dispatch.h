//  notifier dispatch (notifier_dispatch.c): the deliveries this process is
//  sending. Claims due rows into free slots (digests folded, each admitted
//  by rate limits, pauses and circuits, in-doubt ones asked of the gateway
//  first), POSTs them concurrently with libcurl's multi interface, and
//  records each outcome (delivered, retry with backoff, dead, deferred).
//  One per process: it owns libcurl's global state.
#ifndef NOTIFIER_DISPATCH_H
#define NOTIFIER_DISPATCH_H
#include "notifier.h"
#include "notifier_edge.h"
#include "qy/redis.h"

typedef struct {
    long inflight;                      //  concurrent requests (slots)
    long attempts, base_ms, cap_ms;     //  attempts before a dead letter; backoff
    long timeout_ms, lease_s;
    long wecom_pause_ms;
    long breaker_failures, breaker_open_ms;
    long digest_min, digest_max;
} notifier_dispatch_config_t;

typedef struct notifier_dispatch_t notifier_dispatch_t;
//  Create the dispatcher and register its metrics. Copies cfg and limits;
//  borrows redis (the shared pauses and rate buckets). Caller owns it.
notifier_dispatch_t *notifier_dispatch_new (const notifier_dispatch_config_t *cfg, const notifier_limits_t *limits,
                                            qy_redis_t *redis);
//  Destroy it and set *self_p to NULL: requests still out are abandoned
//  (their leases run out and they are taken again). Safe on NULL.
void notifier_dispatch_destroy (notifier_dispatch_t **self_p);
//  Fill free slots with due deliveries. Returns how many were claimed.
int notifier_dispatch_claim (notifier_dispatch_t *self, qy_pg_t *pg);
//  How many new deliveries the next insert may claim (its max): the free
//  slots when nothing due may be waiting, else 0 (notifier_insert_claims).
int notifier_dispatch_take_max (const notifier_dispatch_t *self);
//  Start (or hold back) what an insert claimed, as a claim's jobs; takes
//  take->jobs. Rows it left pending make the dispatcher behind.
void notifier_dispatch_taken (notifier_dispatch_t *self, qy_pg_t *pg, notifier_insert_claim_t *take);
//  Whether due deliveries may be waiting: claim after each intake and each
//  finished request, not only on the poll.
bool notifier_dispatch_behind (const notifier_dispatch_t *self);
//  When the first delivery this dispatcher put back for later (held by a
//  limit, paused, a retry) comes due (qy_mono_us), or 0: claim by then.
//  Others put back are found by the claim on the poll.
int64_t notifier_dispatch_due (const notifier_dispatch_t *self);
//  Move the requests in flight along and record those that finished.
//  Returns true when one had (a slot is free: worth claiming again).
bool notifier_dispatch_turn (notifier_dispatch_t *self, qy_pg_t *pg);
//  Requests in flight after the last turn.
int notifier_dispatch_running (const notifier_dispatch_t *self);
//  Wait up to timeout_ms for a request to progress (returns at once when none is out).
void notifier_dispatch_poll (notifier_dispatch_t *self, int timeout_ms);
//  At shutdown: let requests in flight finish until deadline_us
//  (qy_mono_us) and record their outcomes.
void notifier_dispatch_drain (notifier_dispatch_t *self, qy_pg_t *pg, int64_t deadline_us);
#endif
