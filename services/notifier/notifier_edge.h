//  The edges of notifier (docs/gateway.md): rate limits as token buckets in
//  Redis, a circuit breaker per endpoint, and operator alerts (routing to a
//  store's or HQ's WeCom group robot, the robot's JSON, digests).
#ifndef NOTIFIER_EDGE_H
#define NOTIFIER_EDGE_H
#include "notifier.h"
#include "qy/redis.h"

// ------------------------------------------------------------- limits

//  A rate: `capacity` requests per `period_ms`, as a token bucket that
//  refills continuously. capacity 0 means unlimited.
typedef struct {
    long    capacity;
    int64_t period_ms;
} notifier_rate_t;

//  Parse "N/S" (N per S seconds), "N/Sm" (minutes), "N/Sh" (hours) or
//  "off". Returns 0, or -1 if malformed.
int notifier_rate_parse (const char *spec, notifier_rate_t *rate);
//  The limit.* config rows' check (qy_option_t.check): 0, or -1 with
//  what a rate looks like in why.
int notifier_rate_check (const char *spec, char *why, size_t whylen);

typedef struct {
    notifier_rate_t gateway;      //  all requests to one brand gateway
    notifier_rate_t api [3];      //  per API of a gateway: post, action, alert
    notifier_rate_t webhook;      //  one WeCom group robot (WeCom: 20 a minute)
    notifier_rate_t group;        //  posts into one group
    notifier_rate_t member;       //  posts mentioning, or actions on, one member
} notifier_limits_t;

//  The buckets a job draws from: Redis keys (hash-tagged by destination,
//  group or member) and their rates. Returns how many (≤ 4).
typedef struct {
    char            key [96];
    notifier_rate_t rate;
} notifier_bucket_t;
int notifier_buckets (const notifier_limits_t *limits, const notifier_job_t *job, notifier_bucket_t *out);
//  The Redis key of a destination's pause (set on 429 / errcode 130101).
void notifier_pause_key (const char *url, char *buf, size_t len);

//  Pause a destination for ms (all replicas see it).
int notifier_limits_pause (qy_redis_t *redis, const char *url, int64_t ms);

// ------------------------------------------------------------ breaker

//  One circuit per endpoint (the destination URL), in this process:
//  `failures` consecutive failures open it for open_ms; then one probe is
//  let through (half-open): success closes it, failure opens it again.
typedef struct notifier_breaker_t notifier_breaker_t;
notifier_breaker_t *notifier_breaker_new (int failures, int64_t open_ms);
void notifier_breaker_destroy (notifier_breaker_t **self_p);
//  May a request to url start now? Returns 0, or the ms until it may.
int64_t notifier_breaker_allow (notifier_breaker_t *self, const char *url, int64_t now_ms);
//  Report the outcome of a request that allow() let through.
void notifier_breaker_report (notifier_breaker_t *self, const char *url, bool ok, int64_t now_ms);
//  A request allow() let through was not made after all (held by a rate
//  limit): says nothing of the endpoint, frees the probe slot if it was one.
void notifier_breaker_release (notifier_breaker_t *self, const char *url);
//  Circuits open now.
int notifier_breaker_open_count (notifier_breaker_t *self, int64_t now_ms);

// ---------------------------------------------------------- admission

//  What a claim's jobs draw from their token buckets: asked of Redis per
//  destination (one transaction for all its jobs, not one per job).
typedef struct {
    notifier_bucket_t b [4];
    int               n;
    bool              circuit;  //  held by the endpoint's open circuit (wait says how long)
    int64_t           wait;     //  else the buckets': 0 go, ms to wait, -1 Redis away
    int               binding;  //  when held, the bucket (index in b) that waits longest
} notifier_admit_t;

//  A bucket as a take read it (HMGET t ts): its milli-tokens t and its
//  last refill ts (ms, Redis's clock), each absent in a new or expired
//  bucket (full). notifier_limits_decide updates t and ts and sets taken
//  when a token was taken from it: what to write back.
typedef struct {
    notifier_rate_t rate;
    bool            has_t, has_ts;
    int64_t         t, ts;
    bool            taken;
} notifier_tokens_t;
//  One job's take: the indexes of its buckets in a notifier_tokens_t
//  array, and the answer (0 taken, else the ms until it could be).
typedef struct {
    int     n;
    int     bucket [4];
    int64_t wait;
    int     binding;    //  when it waits, which of its buckets (0 … n-1) waits longest
} notifier_take_t;
//  Decide n takes of one destination in order, as if one at a time at
//  now_ms: each takes one token from every bucket of its own, all or none
//  (a job refused leaves the buckets as they were for the next); with the
//  destination paused (pause_ms > 0, the pause key's PTTL) every take
//  waits pause_ms. Pure.
void notifier_limits_decide (notifier_tokens_t *st, notifier_take_t *takes, int n, int64_t now_ms, int64_t pause_ms);
//  Take for the jobs of adm [0..n) that wait on Redis (wait -1, not held
//  by their circuit, with a URL), setting each one's wait: 0 taken, the
//  ms to wait, or -1 when Redis is away. Per destination one transaction
//  (notifier_take.c): two round trips, again when another replica took
//  from the same buckets in between.
void notifier_limits_take_all (qy_redis_t *redis, const notifier_job_t *jobs, notifier_admit_t *adm, int n);

//  Why a job is held back.
typedef enum {
    NOTIFIER_GO,                //  not held
    NOTIFIER_HELD_CIRCUIT,      //  the endpoint's circuit is open
    NOTIFIER_HELD_NO_REDIS,     //  it has limits to keep and Redis cannot be asked
    NOTIFIER_HELD_RATE,         //  a bucket is empty
    NOTIFIER_HELD_PAUSE,        //  the destination is paused (no bucket of its own)
} notifier_hold_t;
//  Operators' words for why ("rate limited"); "" for NOTIFIER_GO.
const char *notifier_hold_text (notifier_hold_t why);

//  May the job go now (now_ms, monotonic), given what its circuit and its
//  buckets said (a)? Returns 0, or the ms it must wait, and why.
//  A job a bucket holds back is promised the slot one refill step (its
//  binding bucket's period / capacity) after the last one that bucket
//  promised, in this claim or an earlier one: promised maps the bucket to
//  that slot (monotonic ms). Only the binding bucket's schedule moves: a
//  job held by its member's limit does not delay other members' jobs
//  behind the gateway's. So a backlog behind a limit comes due as fast
//  as the bucket refills, each job about once, instead of every held job
//  waking when the next token does and being claimed and held again (a
//  backlog of 3,000 behind a brand's 100 a second was held 60,778 times,
//  docs/benchmarks.md). Pure (promised is the caller's, kept across
//  claims; a stale entry is simply overtaken).
int64_t notifier_admit (const notifier_admit_t *a, qy_map_t *promised, int64_t now_ms, notifier_hold_t *why);
//  Ask each job's circuit, then draw from the buckets of those it lets
//  through (notifier_limits_take_all). With no bucket (its limits off) a
//  job still honours the destination's pause (a 429, an operator's qyctl
//  gateway pause). Jobs without a URL are left alone.
void notifier_admit_all (const notifier_limits_t *limits, notifier_breaker_t *breaker, qy_redis_t *redis,
                         notifier_job_t *jobs, int n, notifier_admit_t *adm);

//  Taking at the insert. A notifier that is not behind (nothing due may be
//  waiting in PostgreSQL) claims new deliveries by their own insert, up to
//  its free slots, and claims again only on its poll: the insert is then
//  the claim it would have run next. Behind, it claims as before (after
//  every intake and every finished request) and inserts everything pending.
//  Pure decisions, the state is the dispatcher's.
//  How many the next insert may take.
int notifier_insert_claims (bool behind, int free_slots);
//  Whether due rows may be waiting after a claim: it got every one of the
//  free slots it asked for, so more may be due. (Rows held back by a limit
//  are not due: the next claim is set for when the first of them is,
//  notifier_dispatch_due.)
bool notifier_behind (int claimed, int asked);
//  After an insert that took what it could (no claim was made): behind as
//  before, or now if it left new rows pending.
bool notifier_behind_inserted (bool behind, int left);

// ------------------------------------------------------------- alerts

//  Where an alert goes: a robot webhook with its format and mentions.
typedef struct {
    char  *url;                  //  NULL: no route; the brand's gateway gets it (JSON contract)
    bool   markdown;
    char **mentioned;            //  userids (text only: markdown cannot @ in WeCom)
    size_t n_mentioned;
    char **mobiles;
    size_t n_mobiles;
} notifier_route_t;

//  Is the alert brand-wide (for HQ) rather than about one group (for the
//  store's staff)? No group, or a spam wave.
bool notifier_alert_brand_wide (const Qy__Delivery *d);
//  The text of an alert as operators read it (title line, group, reason).
void notifier_alert_text (const Qy__Delivery *d, bool markdown, qy_buf_t *out);
//  The WeCom group-robot body for text (msgtype text or markdown, with
//  mentioned_list / mentioned_mobile_list). Content is cut to WeCom's
//  limits (text 2048 bytes, markdown 4096) on a UTF-8 boundary.
void notifier_robot_payload (const notifier_route_t *route, const char *text, qy_buf_t *out);
//  One digest of n alert texts for route: a count, then one line each, as
//  many as fit. Writes the robot body into out.
void notifier_digest_payload (const notifier_route_t *route, const char *const *texts, size_t n, qy_buf_t *out);

//  Look up the route of each alert in ds (brand-wide → HQ; else the
//  group's store, else HQ). routes[i] is filled for alerts, zeroed for the
//  rest. Returns 0, or -1 if PostgreSQL failed.
int notifier_routes_lookup (qy_pg_t *pg, Qy__Delivery **ds, size_t n, notifier_route_t *routes);
void notifier_route_clear (notifier_route_t *route);
//  Fold alerts waiting for the same webhook into digests: every group of at
//  least min_alerts due alerts becomes one delivery (key "digest:…", the
//  alerts marked digested with its key), in one transaction each. Returns
//  how many alerts were folded, or -1.
int notifier_digest_pass (qy_pg_t *pg, int min_alerts, int max_per_digest);
#endif
