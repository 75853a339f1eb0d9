//  Counting a batch in two round trips, no script: WATCH of the groups'
//  version keys and the reads the counting needs (pipelined); the
//  counting decided in C (scoring_count_tally, pure); then MULTI, the
//  writes (each key once), the versions set, the dirty marks, EXEC. EXEC
//  answering nil (another replica counted in a group meanwhile) runs the
//  reads and the counting again.
//  Nothing is written before EXEC, so a replica killed between the round
//  trips leaves nothing half done. On a single Redis one transaction for
//  the batch; on a Redis Cluster one per group (its keys share its hash
//  tag, so a slot), sent to the node serving it.
//  What is sent (scoring_count_plan) is worked out without Redis.
#include "scoring.h"
#include "qy/log.h"
#include "qy/redis_slot.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

//  The transaction of a batch is tried again this many times when another
//  replica wrote a key it read (EXEC answered nil) or a slot moved under
//  it; then the batch is left pending (the caller retries it).
#define S_TRIES 5

//  An event's Standing from what the counting answered.
static void s_standing (const scoring_settings_t *set, const scoring_count_config_t *cfg, const Qy__Event *ev,
                        int32_t today, const scoring_tally_answer_t *a, Qy__Standing *st)
{
    qy__standing__init (st);
    st->member_msgs_today = a->member_msgs;
    st->group_msgs_today = a->group_msgs;
    st->group_active_today = a->active;
    st->group_state = (char *) scoring_state_name (a->group_state);
    scoring_member_t m = { 0 };
    m.member_id = ev->member_id;
    m.key_rank = -1;
    scoring_member_parse (&m, a->values);
    scoring_standing_t s;
    scoring_event_standing (set, &m, ev->event_time_us / 1000000, today, cfg->half_short_s, cfg->half_long_s, &s);
    st->trust_level = s.trust_level;
    st->member_state = (char *) scoring_state_name (s.state);
}

//  The brands' clocks (latest event time): on first sight of a brand, what
//  Redis remembers (sc:clock: other replicas, earlier runs), then this
//  batch's events. An event time more than a day ahead of the wall clock
//  (a gateway's clock gone wrong) does not move it. Returns -1 when Redis
//  is away.
static int s_clocks (qy_redis_t *redis, scoring_brands_t *brands, Qy__Event **evs, size_t n)
{
    const char **argv = qy_calloc (n + 2, sizeof (char *));
    char (*ids) [24] = qy_calloc (n, sizeof (*ids));
    int argc = 0;
    argv [argc++] = "ZMSCORE";
    argv [argc++] = "sc:clock";
    for (size_t i = 0; i < n; i++) {
        if (scoring_brands_clock (brands, evs [i]->brand_id, 0) != 0)
            continue;
        qy_snprintf (ids [i], sizeof (ids [i]), "%lld", (long long) evs [i]->brand_id);
        bool again = false;
        for (int a = 2; a < argc && !again; a++)
            again = strcmp (argv [a], ids [i]) == 0;
        if (!again)
            argv [argc++] = ids [i];
    }
    int rc = 0;
    if (argc > 2) {
        redisReply *r = qy_redis_argv (redis, argc, argv, NULL);
        if (!r || r->type != REDIS_REPLY_ARRAY)
            rc = -1;
        for (size_t a = 0; rc == 0 && a < r->elements; a++)
            if (r->element [a]->type == REDIS_REPLY_STRING)
                scoring_brands_clock (brands, strtoll (argv [2 + a], NULL, 10), strtoll (r->element [a]->str, NULL, 10));
        if (r)
            freeReplyObject (r);
    }
    int64_t ahead = qy_now_us () / 1000000 + 86400;
    for (size_t i = 0; i < n; i++) {
        int64_t t = evs [i]->event_time_us / 1000000;
        scoring_brands_clock (brands, evs [i]->brand_id, t < ahead ? t : ahead);
    }
    free (ids);
    free (argv);
    return rc;
}

//  Whether an event's day is out of the counter window, counters.ttl_days
//  behind the brand's latest event: its counters may have expired already,
//  and counting it would start them again from one.
static bool s_too_old (const scoring_count_config_t *cfg, scoring_brands_t *brands, const Qy__Event *ev,
                       const scoring_brand_t *b, int32_t day)
{
    int64_t now_us = scoring_brands_clock (brands, ev->brand_id, 0) * 1000000;
    int32_t today = qy_day_of (now_us, b->tz_offset_min);
    int32_t window = cfg->ttl_s / 86400 > 1 ? (int32_t) (cfg->ttl_s / 86400) : 1;
    return day <= today - window;
}

//  Note a brand's event time in the plan's clocks (the latest kept).
static void s_plan_clock (scoring_plan_t *p, int64_t brand_id, int64_t t)
{
    for (size_t c = 0; c < p->nclocks; c++)
        if (p->clock_brand [c] == brand_id) {
            if (t > p->clock_s [c])
                p->clock_s [c] = t;
            return;
        }
    p->clock_brand [p->nclocks] = brand_id;
    p->clock_s [p->nclocks++] = t;
}

//  On a Redis Cluster one call per group (its keys' hash tag, so its
//  slot), its events in batch order, the groups in the order they first
//  appear; on a single Redis one call for the batch.
static void s_plan_calls (scoring_plan_t *p, bool cluster)
{
    const char **tags = qy_calloc (p->n + 1, sizeof (*tags));
    for (size_t i = 0; i < p->n; i++)
        tags [i] = !p->send [i] ? NULL : cluster ? p->keys [i].roster : "";
    p->order = qy_calloc (p->n + 1, sizeof (*p->order));
    p->call_start = qy_calloc (p->n + 2, sizeof (*p->call_start));
    p->ncalls = qy_group_by_key (tags, p->n, p->order, p->call_start);
    free (tags);
}

int scoring_count_plan (const scoring_count_config_t *cfg, scoring_brands_t *brands, Qy__Event **evs,
                        const scoring_outcome_t *out, size_t n, bool cluster, scoring_plan_t *p)
{
    memset (p, 0, sizeof (*p));
    p->n = n;
    p->brand = qy_calloc (n + 1, sizeof (*p->brand));
    //  Not zeroed: 1 KiB an event, and only the events sent have theirs read.
    p->keys = qy_malloc ((n + 1) * sizeof (*p->keys));
    p->send = qy_calloc (n + 1, sizeof (*p->send));
    p->old = qy_calloc (n + 1, sizeof (*p->old));
    p->dirty = qy_calloc (n + 1, sizeof (*p->dirty));
    p->seen = qy_calloc (n + 1, sizeof (*p->seen));
    p->clock_brand = qy_calloc (n + 1, sizeof (*p->clock_brand));
    p->clock_s = qy_calloc (n + 1, sizeof (*p->clock_s));
    qy_map_t *marks = qy_map_new ();
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (out [i] != SCORING_PENDING)
            continue;       //  answered by an earlier call
        const Qy__Event *ev = evs [i];
        if (!(p->brand [i] = scoring_brands_get (brands, ev->brand_id))) {
            rc = -1;
            break;
        }
        scoring_keys_t *k = &p->keys [i];
        scoring_keys (k, ev->brand_id, ev->group_id, ev->member_id, ev->event_time_us, p->brand [i]->tz_offset_min);
        p->old [i] = s_too_old (cfg, brands, ev, p->brand [i], k->day);
        p->send [i] = true;
        p->nsend++;
        s_plan_clock (p, ev->brand_id, ev->event_time_us / 1000000);
        if (p->old [i])
            continue;       //  changes no day and revives no group
        //  The sets each get one member per group-day or group, not per event.
        if (!qy_map_get (marks, k->dirty, NULL)) {
            qy_map_put (marks, k->dirty, 1);
            p->dirty [p->ndirty++] = k->dirty;
        }
        if (!qy_map_get (marks, k->seen, NULL)) {
            qy_map_put (marks, k->seen, 1);
            p->seen [p->nseen++] = k->seen;
        }
    }
    qy_map_destroy (&marks);
    if (rc)
        scoring_count_plan_free (p);
    else
        s_plan_calls (p, cluster);
    return rc;
}

void scoring_count_plan_free (scoring_plan_t *p)
{
    free (p->brand);
    free (p->keys);
    free (p->send);
    free (p->old);
    free (p->dirty);
    free (p->seen);
    free (p->clock_brand);
    free (p->clock_s);
    free (p->order);
    free (p->call_start);
    memset (p, 0, sizeof (*p));
}

//  ---------------------------------------------------------- the events
//  One event's strings the counting points into.
typedef struct {
    char         member [24], channel [24];
    const char **mentions;
} s_own_t;

//  The events of one transaction (call c of the plan), as the counting
//  takes them, and its answers.
typedef struct {
    size_t                  n;
    const size_t           *idx;        //  their indexes in the batch
    scoring_tally_event_t  *tev;
    s_own_t                *own;
    scoring_tally_answer_t *ans;
    const char             *route;      //  a key of the group: the node on a cluster
} s_block_t;

//  The mentions an event credits: a mass mention credits no one more
//  than fifty times.
static size_t s_mentions (const Qy__Event *ev)
{
    if (scoring_kind (ev) != SCORING_MSG)
        return 0;
    return ev->n_mentions > 50 ? 50 : ev->n_mentions;
}

static void s_tally_event (const scoring_count_config_t *cfg, const Qy__Event *ev, const scoring_keys_t *k, bool old,
                           s_own_t *o, scoring_tally_event_t *t)
{
    qy_fmt_i64 (o->member, ev->member_id);
    qy_fmt_i64 (o->channel, ev->channel_id);
    bool msg = scoring_kind (ev) == SCORING_MSG;
    size_t nm = s_mentions (ev);
    o->mentions = qy_calloc (nm + 1, sizeof (char *));
    for (size_t m = 0; m < nm; m++)
        o->mentions [m] = ev->mentions [m] ? ev->mentions [m] : "";
    *t = (scoring_tally_event_t) {
        .msg_id = ev->msg_id, .kind = scoring_kind (ev), .member = o->member, .hour = k->hour,
        .t = ev->event_time_us / 1000000, .day = k->day, .violation = scoring_is_violation (ev),
        .staff = scoring_is_staff (ev), .bot = ev->role == QY__ROLE__BOT,
        .question = msg && scoring_is_question (ev->text),
        .substantial = msg && scoring_is_substantial (ev, cfg->substantial_chars), .old = old,
        .user = ev->member ? ev->member : "", .ref = msg && ev->ref_msg_id ? ev->ref_msg_id : "",
        .channel = o->channel, .mentions = o->mentions, .nmentions = nm, .keys = k };
}

static void s_block_init (s_block_t *b, const scoring_count_config_t *cfg, Qy__Event **evs, const scoring_plan_t *p,
                          size_t c)
{
    b->idx = p->order + p->call_start [c];
    b->n = p->call_start [c + 1] - p->call_start [c];
    b->tev = qy_calloc (b->n + 1, sizeof (*b->tev));
    b->own = qy_calloc (b->n + 1, sizeof (*b->own));
    b->ans = qy_calloc (b->n + 1, sizeof (*b->ans));
    for (size_t j = 0; j < b->n; j++) {
        size_t i = b->idx [j];
        s_tally_event (cfg, evs [i], &p->keys [i], p->old [i], &b->own [j], &b->tev [j]);
    }
    b->route = b->n ? p->keys [b->idx [0]].roster : "";
}

static void s_block_free (s_block_t *b)
{
    for (size_t j = 0; j < b->n; j++)
        free (b->own [j].mentions);
    free (b->tev);
    free (b->own);
    free (b->ans);
}

//  ------------------------------------------------------------ the reads
typedef enum { S_SMIS, S_HMGET, S_HLEN, S_HGETALL, S_EXISTS, S_NKINDS } s_read_kind_t;
typedef struct {
    s_read_kind_t kind;
    const char   *key;
    const scoring_keys_t *keys;     //  S_EXISTS: the group's (key is its version key)
    const char  **fields;
    size_t       *entries;  //  the kv's entry each field's answer loads into
    size_t        nf, cap;
} s_read_t;
//  The reads of a transaction, each (kind, key) once and each field once:
//  keys and fields are interned in the kv they load into, so a read
//  already planned is found by number, not by name.
typedef struct {
    s_read_t     *r;
    size_t        n, cap;
    size_t       *at;       //  by key number and kind (S_NKINDS a key): its read + 1 (0 none)
    size_t        nat;
    scoring_kv_t *kv;
} s_reads_t;

//  Read field of key (once however many events want it).
static void s_want (s_reads_t *rs, s_read_kind_t kind, const char *key, const char *field)
{
    size_t keyno = scoring_kv_key (rs->kv, key);
    if ((keyno + 1) * S_NKINDS > rs->nat) {
        size_t nat = (keyno + 1) * 2 * S_NKINDS;
        rs->at = qy_realloc (rs->at, nat * sizeof (size_t));
        memset (rs->at + rs->nat, 0, (nat - rs->nat) * sizeof (size_t));
        rs->nat = nat;
    }
    size_t *at = &rs->at [keyno * S_NKINDS + kind];
    if (!*at) {
        if (rs->n == rs->cap) {
            rs->cap = rs->cap ? rs->cap * 2 : 32;
            rs->r = qy_realloc (rs->r, rs->cap * sizeof (s_read_t));
        }
        rs->r [rs->n] = (s_read_t) { .kind = kind, .key = key };
        *at = ++rs->n;
    }
    if (!field)
        return;
    bool made;
    size_t entry = scoring_kv_entry (rs->kv, keyno, field, kind == S_SMIS, &made);
    if (!made)
        return;
    s_read_t *r = &rs->r [*at - 1];
    if (r->nf == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->fields = qy_realloc (r->fields, r->cap * sizeof (char *));
        r->entries = qy_realloc (r->entries, r->cap * sizeof (size_t));
    }
    r->entries [r->nf] = entry;
    r->fields [r->nf++] = field;
}

//  The group-day counters event e may add to besides n, msgs and replies
//  (scoring_count_tally), read with them: a counter read is written as
//  its new value in the hash's one HSET, not a HINCRBY of its own.
static void s_want_counters (s_reads_t *rs, const scoring_tally_event_t *e)
{
    const char *group = e->keys->group;
    if (e->violation)
        s_want (rs, S_HMGET, group, "viol");
    if (e->kind == SCORING_JOIN || e->kind == SCORING_LEAVE)
        s_want (rs, S_HMGET, group, e->kind == SCORING_JOIN ? "joins" : "leaves");
    if (e->kind != SCORING_MSG)
        return;
    if (scoring_hour_field (e->hour))
        s_want (rs, S_HMGET, group, scoring_hour_field (e->hour));
    if (e->staff)
        s_want (rs, S_HMGET, group, "staff");
    s_want (rs, S_HMGET, group, e->bot ? "posts" : "resp");
    s_want (rs, S_HMGET, group, "ans");
    if (e->question)
        s_want (rs, S_HMGET, group, "q");
}

//  What the counting of the block's events reads (scoring_count_tally's list).
static void s_plan_reads (const s_block_t *b, s_reads_t *rs)
{
    static const char *state [] = { "lm", "lt", "qm", "qt", "pt", "state", "xd" };
    for (size_t j = 0; j < b->n; j++) {
        const scoring_tally_event_t *e = &b->tev [j];
        const scoring_keys_t *k = e->keys;
        if (!e->old) {
            s_want (rs, S_SMIS, k->ids, e->msg_id);
            s_want_counters (rs, e);
        }
        s_want (rs, S_HMGET, k->group, "n");
        s_want (rs, S_HMGET, k->group, "msgs");
        s_want (rs, S_HMGET, k->group, "replies");
        s_want (rs, S_HLEN, k->members, NULL);
        s_want (rs, S_HMGET, k->members, e->member);
        //  The whole member hash: one pass over it, where HMGET of its
        //  fields looked each up in turn (about 2 µs of Redis CPU per event).
        s_want (rs, S_HGETALL, k->member, NULL);
        //  Whether the group's version key, board and replies received
        //  exist (so each has its expiry): then their EXPIRE NX, two or
        //  three a batch, is not sent.
        s_want (rs, S_EXISTS, k->version, NULL);
        rs->r [rs->at [scoring_kv_key (rs->kv, k->version) * S_NKINDS + S_EXISTS] - 1].keys = k;
        for (size_t f = 0; f < QY_ARRAY_LEN (state); f++)
            s_want (rs, S_HMGET, k->state, state [f]);
        if (*e->ref) {
            s_want (rs, S_HMGET, k->authors, e->ref);
            s_want (rs, S_HMGET, k->authors_prev, e->ref);
        }
        for (size_t m = 0; m < e->nmentions; m++)
            s_want (rs, S_HMGET, k->uids, e->mentions [m]);
    }
}

static void s_reads_free (s_reads_t *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free (rs->r [i].fields);
        free (rs->r [i].entries);
    }
    free (rs->r);
    free (rs->at);
}

//  Outcomes of a round trip's replies.
enum { S_DONE = 0, S_AGAIN = 1, S_AWAY = -1 };

//  What an error reply means for the transaction (qy_redis_tx_error): a
//  redirect or a cluster in flux, run it again; anything else, Redis away
//  (a key of the wrong type is s_load's to handle).
static int s_error (const redisReply *r)
{
    return qy_redis_tx_error (r->str, r->len) == QY_TX_AGAIN ? S_AGAIN : S_AWAY;
}

//  The member hash's field number of name (-1: not counting's). Its
//  fields mostly come back in the order they were written, which is
//  theirs, so the one after the last found (*next) is tried first.
static int s_field_no (const char *name, int *next)
{
    if (*next < SCORING_F__COUNT && strcmp (name, scoring_field_names [*next]) == 0)
        return (*next)++;
    for (int i = 0; i < SCORING_F__COUNT; i++)
        if (strcmp (name, scoring_field_names [i]) == 0) {
            *next = i + 1;
            return i;
        }
    return -1;
}

//  Load the member hash (HGETALL) into its field set (fields absent are
//  NULL without loading; fields not of SCORING_FIELDS are not counting's).
static int s_load_member (scoring_kv_t *kv, const s_read_t *rd, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return S_AWAY;
    size_t set = scoring_kv_fields (kv, rd->key, scoring_field_names, SCORING_F__COUNT);
    int next = 0;
    for (size_t f = 0; f + 1 < r->elements; f += 2) {
        const redisReply *name = r->element [f], *value = r->element [f + 1];
        if (name->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING)
            continue;
        int i = s_field_no (name->str, &next);
        if (i >= 0)
            scoring_kv_load_at (kv, scoring_kv_field (kv, set, (size_t) i), value->str);
    }
    return S_DONE;
}

//  The group's keys whose existence is read (S_EXISTS): its version key
//  and the long-lived keys every reply edge writes. Each is made together
//  with its expiry (in the EXEC of the write that makes it), so one that
//  exists has one. (The roster, uids, channels and state are written
//  rarely after the day's first event: a look-up each would cost more
//  than their EXPIRE NX saves.)
#define S_LASTING 3
static void s_lasting_keys (const scoring_keys_t *k, const char *keys [S_LASTING])
{
    const char *all [S_LASTING] = { k->version, k->board, k->replies };
    memcpy (keys, all, sizeof (all));
}

//  Load read rd's reply r into kv.
static int s_load (scoring_kv_t *kv, const s_read_t *rd, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        if (qy_redis_tx_error (r->str, r->len) != QY_TX_WRONGTYPE)
            return s_error (r);
        scoring_kv_break (kv, rd->key);
        return S_DONE;
    }
    if (rd->kind == S_HLEN) {
        scoring_kv_load_len (kv, rd->key, r->type == REDIS_REPLY_INTEGER ? r->integer : 0);
        return S_DONE;
    }
    if (rd->kind == S_HGETALL)
        return s_load_member (kv, rd, r);
    if (rd->kind == S_EXISTS) {
        const char *keys [S_LASTING];
        s_lasting_keys (rd->keys, keys);
        for (int i = 0; r->type == REDIS_REPLY_INTEGER && r->integer == S_LASTING && i < S_LASTING; i++)
            scoring_kv_lasting (kv, keys [i]);
        return S_DONE;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != rd->nf)
        return S_AWAY;
    for (size_t f = 0; f < rd->nf; f++) {
        const redisReply *e = r->element [f];
        bool in = rd->kind == S_SMIS ? e->type == REDIS_REPLY_INTEGER && e->integer == 1
                                     : e->type == REDIS_REPLY_STRING;
        if (in)
            scoring_kv_load_at (kv, rd->entries [f], rd->kind == S_SMIS ? "1" : e->str);
    }
    return S_DONE;
}

//  Read the replies of n appended commands; the first trouble wins, and
//  every reply is read (none left to be taken for a later command's).
//  kv and rs NULL: replies only checked for errors.
static int s_drain (qy_redis_t *redis, size_t n, scoring_kv_t *kv, const s_reads_t *rs, size_t first_read)
{
    int rc = S_DONE;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = qy_redis_get_reply (redis);
        if (!r)
            return S_AWAY;
        int got = S_DONE;
        if (kv && i >= first_read)
            got = s_load (kv, &rs->r [i - first_read], r);
        else if (r->type == REDIS_REPLY_ERROR)
            got = s_error (r);
        if (rc == S_DONE)
            rc = got;
        freeReplyObject (r);
    }
    return rc;
}

//  The block's groups' version keys, each once (*n of them; caller frees),
//  told apart by their numbers in kv.
static const char **s_versions (const s_block_t *b, scoring_kv_t *kv, size_t *n)
{
    const char **v = qy_calloc (b->n + 1, sizeof (char *));
    size_t *nos = qy_calloc (b->n + 1, sizeof (size_t)), top = 0;
    for (size_t j = 0; j < b->n; j++)
        if ((nos [j] = scoring_kv_key (kv, b->tev [j].keys->version)) > top)
            top = nos [j];
    bool *taken = qy_calloc (top + 1, sizeof (bool));
    *n = 0;
    for (size_t j = 0; j < b->n; j++)
        if (!taken [nos [j]]) {
            taken [nos [j]] = true;
            v [(*n)++] = b->tev [j].keys->version;
        }
    free (taken);
    free (nos);
    return v;
}

//  Round trip 1: WATCH the groups' version keys, then read what the
//  counting needs into kv. Every counting transaction sets the version
//  of the groups it writes, so one key per group stands for all the keys
//  read (WATCH of each key read cost more than the rest of the counting:
//  Redis looks each new key up in the client's list of watched keys).
static int s_read (qy_redis_t *redis, const s_block_t *b, scoring_kv_t *kv)
{
    s_reads_t rs = { .kv = kv };
    s_plan_reads (b, &rs);
    size_t nv;
    const char **versions = s_versions (b, kv, &nv);
    const char **argv = qy_calloc (nv + 2, sizeof (char *));
    argv [0] = "WATCH";
    memcpy (argv + 1, versions, nv * sizeof (char *));
    free (versions);
    int rc = qy_redis_append_keyed (redis, b->route, (int) (1 + nv), argv, NULL);
    static const char *verbs [] = { "SMISMEMBER", "HMGET", "HLEN", "HGETALL", "EXISTS" };
    size_t most = S_LASTING;
    for (size_t i = 0; i < rs.n; i++)
        most = rs.r [i].nf > most ? rs.r [i].nf : most;
    const char **a = qy_calloc (most + 3, sizeof (char *));
    for (size_t i = 0; i < rs.n && rc == 0; i++) {
        const s_read_t *rd = &rs.r [i];
        a [0] = verbs [rd->kind];
        a [1] = rd->key;
        size_t nf = rd->nf;
        if (rd->kind == S_EXISTS) {
            s_lasting_keys (rd->keys, a + 1);
            nf = S_LASTING - 1;
        } else if (nf)
            memcpy (a + 2, rd->fields, nf * sizeof (char *));
        rc = qy_redis_append_keyed (redis, b->route, (int) (2 + nf), a, NULL);
    }
    free (a);
    free (argv);
    rc = rc ? S_AWAY : s_drain (redis, 1 + rs.n, kv, &rs, 1);
    s_reads_free (&rs);
    return rc;
}

//  ----------------------------------------------------------- the writes
//  The sets and clocks a batch marks (sc:dirty, sc:groups, sc:clock): each
//  member once. Appended with route (inside the transaction on a single
//  Redis) or as they are (on a cluster, after). Returns how many, -1 away.
static int s_append_marks (qy_redis_t *redis, const scoring_plan_t *p, const char *route)
{
    int count = 0, rc = 0;
    const char **argv = qy_calloc (p->n + 3, sizeof (char *));
    const char *const *sets [2] = { p->dirty, p->seen };
    size_t counts [2] = { p->ndirty, p->nseen };
    const char *names [2] = { "sc:dirty", "sc:groups" };
    for (int s = 0; s < 2 && rc == 0; s++) {
        if (!counts [s])
            continue;
        argv [0] = "SADD";
        argv [1] = names [s];
        memcpy (argv + 2, sets [s], counts [s] * sizeof (char *));
        rc = route ? qy_redis_append_keyed (redis, route, (int) (2 + counts [s]), argv, NULL)
                   : qy_redis_append_argv (redis, (int) (2 + counts [s]), argv, NULL);
        count++;
    }
    free (argv);
    for (size_t c = 0; c < p->nclocks && rc == 0; c++) {
        char t [24], bid [24];
        qy_snprintf (t, sizeof (t), "%lld", (long long) p->clock_s [c]);
        qy_snprintf (bid, sizeof (bid), "%lld", (long long) p->clock_brand [c]);
        const char *zadd [] = { "ZADD", "sc:clock", "GT", t, bid };
        rc = route ? qy_redis_append_keyed (redis, route, 5, zadd, NULL) : qy_redis_append_argv (redis, 5, zadd, NULL);
        count++;
    }
    return rc ? -1 : count;
}

//  Undo what marks event t counted, after its EXEC failed on a key: the
//  id taken out, the day's event count back by one (a replay must find
//  the day's first event first again, and give its keys their expiry),
//  and an expiry for any key the failed EXEC made. Returns the commands
//  appended.
static size_t s_unmark (const scoring_count_config_t *cfg, qy_redis_t *redis, const char *route,
                        const scoring_tally_event_t *t)
{
    const scoring_keys_t *k = t->keys;
    char ttl [24], mttl [24], wttl [24];
    qy_snprintf (ttl, sizeof (ttl), "%ld", cfg->ttl_s);
    qy_snprintf (mttl, sizeof (mttl), "%ld", cfg->member_ttl_s);
    qy_snprintf (wttl, sizeof (wttl), "%d", 3 * 86400);
    const char *srem [] = { "SREM", k->ids, t->msg_id }, *back [] = { "HINCRBY", k->group, "n", "-1" };
    //  The version too: a replica that read n before this must count again
    //  (it writes the counters it read as their new values).
    const char *bump [] = { "HSET", k->version, "v", "1" };
    size_t n = 0;
    n += qy_redis_append_keyed (redis, route, 3, srem, NULL) == 0;
    n += qy_redis_append_keyed (redis, route, 4, back, NULL) == 0;
    n += qy_redis_append_keyed (redis, route, 4, bump, NULL) == 0;
    const char *keys [] = { k->ids, k->group, k->members, k->authors, k->member, k->roster,
                            k->uids, k->state, k->board, k->channels, k->replies, k->version };
    for (size_t i = 0; i < QY_ARRAY_LEN (keys); i++) {
        const char *expire [] = { "EXPIRE", keys [i], i < 3 ? ttl : i == 3 ? wttl : mttl, "NX" };
        n += qy_redis_append_keyed (redis, route, 4, expire, NULL) == 0;
    }
    return n;
}

//  An EXEC reply's commands that failed (a key of the wrong type not
//  read): the events that wrote that key are set aside and unmarked
//  (s_unmark) so a replay of the dead letter counts them; what they
//  wrote elsewhere stays (as a script failing half-way left it).
static void s_exec_errors (const scoring_count_config_t *cfg, qy_redis_t *redis, scoring_kv_t *kv, s_block_t *b,
                           const scoring_cmd_t *cmds, size_t ncmds, const redisReply *r)
{
    size_t unmarks = 0;
    for (size_t j = 0; j < ncmds && j < r->elements; j++) {
        if (r->element [j]->type != REDIS_REPLY_ERROR)
            continue;
        const size_t *evs;
        size_t ne = scoring_kv_key_events (kv, cmds [j].key, &evs);
        for (size_t e = 0; e < ne; e++) {
            scoring_tally_answer_t *a = &b->ans [evs [e]];
            if (a->outcome != SCORING_COUNTED)
                continue;
            const scoring_tally_event_t *t = &b->tev [evs [e]];
            qy_log_warn ("msg_id=%s key=%s count failed: %s", t->msg_id, cmds [j].key, r->element [j]->str);
            a->outcome = SCORING_REJECTED;
            unmarks += s_unmark (cfg, redis, b->route, t);
        }
    }
    s_drain (redis, unmarks, NULL, NULL, 0);
}

//  Set the version of each group the block counted an event of (the
//  other replicas' transactions that read it then fail and run again).
//  Its value means nothing, only the write: it gets an expiry when made
//  (EXPIRE NX, not sent when it was read to exist) and goes a member TTL
//  later, to be made again by the next count (a transaction that watched
//  it then fails, as on any write, and counts again).
static void s_bump (const scoring_count_config_t *cfg, scoring_kv_t *kv, const s_block_t *b)
{
    for (size_t j = 0; j < b->n; j++)
        if (b->ans [j].outcome == SCORING_COUNTED) {
            scoring_kv_hset (kv, b->tev [j].keys->version, "v", "1");
            scoring_kv_expire (kv, b->tev [j].keys->version, cfg->member_ttl_s, true);
        }
}

//  Round trip 2: MULTI, the writes, the marks (p not NULL), EXEC.
static int s_write (const scoring_count_config_t *cfg, qy_redis_t *redis, scoring_kv_t *kv, s_block_t *b,
                    const scoring_plan_t *p)
{
    s_bump (cfg, kv, b);
    scoring_cmd_t *cmds;
    size_t ncmds = scoring_kv_commands (kv, &cmds);
    const char *multi [] = { "MULTI" }, *exec [] = { "EXEC" };
    int rc = qy_redis_append_keyed (redis, b->route, 1, multi, NULL), marks = 0;
    for (size_t j = 0; j < ncmds && rc == 0; j++)
        rc = qy_redis_append_keyed (redis, b->route, cmds [j].argc, cmds [j].argv, cmds [j].argvlen);
    if (rc == 0 && p && (marks = s_append_marks (redis, p, b->route)) < 0)
        rc = -1;
    if (rc == 0)
        rc = qy_redis_append_keyed (redis, b->route, 1, exec, NULL);
    if (rc) {
        scoring_cmds_free (cmds, ncmds);
        return S_AWAY;      //  nothing was sent, or the pipeline is dropped
    }
    //  MULTI and the queued commands answer OK / QUEUED, or the error
    //  that makes EXEC answer EXECABORT.
    int queued = s_drain (redis, 1 + ncmds + (size_t) marks, NULL, NULL, 0);
    redisReply *r = qy_redis_get_reply (redis);
    if (!r)
        rc = S_AWAY;
    else if (r->type == REDIS_REPLY_NIL)
        rc = S_AGAIN;       //  a key read was written meanwhile
    else if (r->type == REDIS_REPLY_ERROR)
        rc = queued != S_DONE ? queued : s_error (r);
    else if (r->type != REDIS_REPLY_ARRAY)
        rc = S_AWAY;
    else
        s_exec_errors (cfg, redis, kv, b, cmds, ncmds, r);
    if (r)
        freeReplyObject (r);
    scoring_cmds_free (cmds, ncmds);
    return rc;
}

//  Run one transaction: read, count, write; again while EXEC says another
//  replica came first or a slot moved, S_TRIES times in all.
//  Done, *kv_p is the kv the answers point into (the caller destroys it).
static int s_transaction (const scoring_count_config_t *cfg, qy_redis_t *redis, s_block_t *b,
                          const scoring_plan_t *marks, scoring_kv_t **kv_p)
{
    int rc = S_AGAIN;
    for (int attempt = 0; attempt < S_TRIES && rc == S_AGAIN; attempt++) {
        scoring_kv_t *kv = scoring_kv_new ();
        rc = s_read (redis, b, kv);
        if (rc == S_DONE) {
            scoring_count_tally (cfg, kv, b->tev, b->n, b->ans);
            rc = s_write (cfg, redis, kv, b, marks);
            if (rc == S_DONE) {
                *kv_p = kv;
                return rc;
            }
        } else {
            //  Unwatch what was watched (the connection may serve another
            //  transaction next); its reply tells nothing more.
            const char *unwatch [] = { "UNWATCH" };
            if (qy_redis_append_keyed (redis, b->route, 1, unwatch, NULL) == 0)
                s_drain (redis, 1, NULL, NULL, 0);
        }
        scoring_kv_destroy (&kv);
    }
    return rc;
}

//  The block's answers into out and st.
static void s_answers (const scoring_count_config_t *cfg, Qy__Event **evs, const scoring_plan_t *p, s_block_t *b,
                       Qy__Standing *st, scoring_outcome_t *out)
{
    for (size_t j = 0; j < b->n; j++) {
        size_t i = b->idx [j];
        scoring_tally_answer_t *a = &b->ans [j];
        out [i] = a->outcome;
        if (a->outcome == SCORING_REJECTED) {
            qy_log_warn ("msg_id=%s brand=%s not counted: a key of its group has the wrong type", evs [i]->msg_id,
                         evs [i]->brand);
            qy__standing__init (&st [i]);
            continue;
        }
        s_standing (&p->brand [i]->settings, cfg, evs [i], p->keys [i].day, a, &st [i]);
    }
}

//  One line per batch: a replay of old events would otherwise log each.
static void s_log_old (Qy__Event **evs, const scoring_plan_t *p, const scoring_outcome_t *out)
{
    size_t old = 0, first_old = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->send [i] && out [i] == SCORING_TOO_OLD && old++ == 0)
            first_old = i;
    if (old)
        qy_log_warn ("msg_id=%s brand=%s day=%d not counted: older than the counter window (%zu in the batch)",
                     evs [first_old]->msg_id, evs [first_old]->brand, (int) p->keys [first_old].day, old);
}

int scoring_count_batch (const scoring_count_config_t *cfg, qy_redis_t *redis, scoring_brands_t *brands,
                         Qy__Event **evs, Qy__Standing *st, scoring_outcome_t *out, size_t n)
{
    if (!n)
        return 0;
    //  The brands' clocks first, so the whole batch is judged against its latest event.
    scoring_plan_t plan;
    bool cluster = qy_redis_is_cluster (redis);
    if (s_clocks (redis, brands, evs, n) || scoring_count_plan (cfg, brands, evs, out, n, cluster, &plan))
        return -1;
    //  An event answered stays answered: a retry counts only those left pending.
    int rc = 0;
    for (size_t c = 0; c < plan.ncalls && rc == 0; c++) {
        s_block_t b;
        s_block_init (&b, cfg, evs, &plan, c);
        scoring_kv_t *kv = NULL;
        if (s_transaction (cfg, redis, &b, cluster ? NULL : &plan, &kv) == S_DONE)
            s_answers (cfg, evs, &plan, &b, st, out);
        else
            rc = -1;
        scoring_kv_destroy (&kv);
        s_block_free (&b);
    }
    //  On a cluster the marks are in other slots: after the groups' transactions.
    int marks = rc == 0 && cluster && plan.nsend ? s_append_marks (redis, &plan, NULL) : 0;
    if (marks < 0 || s_drain (redis, (size_t) marks, NULL, NULL, 0) != S_DONE)
        rc = -1;
    if (rc == 0)
        s_log_old (evs, &plan, out);
    scoring_count_plan_free (&plan);
    return rc;
}
