//  A call's behaviour counting as plain pipelined commands: per window key
//  (flood, repeat, join wave, spam wave) one write of the batch's entries,
//  one read, one trim and one expiry; one MGET of the joined keys and
//  join-wave flags; then the counting in C (moderation_behaviour_count.c).
//  The plan and the counting are pure; append, get and raise do the I/O.
//  What only the replies can tell is sent after them, in a second round
//  trip made only when there is something to send: the flag of a join wave
//  a join started, and the wave set's cap when the read shows it may hold
//  more than 2,000 entries (rare; the counting applies the cap anyway).
//
//  Two replicas: every write is idempotent and commutes (ZADD of message
//  ids; ZADD GT of a wave entry's last time; trims by time; SET of a join
//  time), so no MULTI/EXEC is needed: interleaved pipelines leave the same
//  keys as either order, and a replica counts another's messages by their
//  time once they have reached Redis (see moderation_behaviour_count.c).
#include "moderation.h"
#include "moderation_behaviour.h"
#include "qy/util.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum { S_FLOOD, S_REPEAT, S_JOINS, S_WAVE, S_NKINDS } s_kind_t;

//  Where each kind's key is among an event's arguments, and how many
//  windows back its set is kept (the script's trims).
static const struct {
    int arg, keep;
} s_kinds [S_NKINDS] = { { MODERATION_ARG_FLOOD, 4 }, { MODERATION_ARG_REPEAT, 2 }, { MODERATION_ARG_JOINS, 2 },
                         { MODERATION_ARG_WAVE, 2 } };

typedef struct {
    s_kind_t           kind;
    const char        *key;
    size_t            *ev;          //  the call's events on this key, in batch order
    size_t             nev;
    moderation_mark_t *marks;
    size_t             cmds [5], ncmds, read_cmd;
    bool               cap;         //  the wave set read holds more than 2,000 with the batch's
} s_window_t;

//  An event's window of a kind, or 0 when the kind is not counted for it.
static int64_t s_window_of (const moderation_check_args_t *a, s_kind_t kind)
{
    switch (kind) {
        case S_FLOOD:  return a->chat ? a->flood_ms : 0;
        case S_REPEAT: return a->chat ? a->repeat_ms : 0;
        case S_JOINS:  return a->join ? a->jw_ms : 0;
        default:       return a->chat ? a->wave_ms : 0;
    }
}

static const char *s_num (moderation_counting_t *self, const char *fmt, long long v) __attribute__ ((format (printf, 2, 0)));
static const char *s_num (moderation_counting_t *self, const char *fmt, long long v)
{
    char *buf = self->nums [self->nnums++];
    qy_snprintf (buf, sizeof (self->nums [0]), fmt, v);
    return buf;
}

//  A new command of argc arguments, noted as one of w's (when w is set).
static const char **s_cmd (moderation_counting_t *self, int argc, s_window_t *w)
{
    size_t c = self->ncmds++;
    self->argc [c] = argc;
    if (w)
        w->cmds [w->ncmds++] = c;
    const char **a = self->argv [c] = self->argp + self->nargp;
    self->nargp += (size_t) argc;
    return a;
}

//  The windows of one kind: the events grouped by key, batch order kept.
static void s_plan_kind (moderation_counting_t *self, s_kind_t kind)
{
    size_t ne = self->ne;
    const char **keys = qy_calloc (ne + 1, sizeof (char *));
    size_t *order = qy_calloc (ne + 1, sizeof (size_t)), *start = qy_calloc (ne + 2, sizeof (size_t));
    for (size_t j = 0; j < ne; j++)
        keys [j] = s_window_of (self->args [j], kind) > 0 ? self->args [j]->args [s_kinds [kind].arg] : NULL;
    size_t ng = qy_group_by_key (keys, ne, order, start);
    s_window_t *ws = self->windows;
    for (size_t g = 0; g < ng; g++) {
        s_window_t *w = &ws [self->nwindows++];
        w->kind = kind;
        w->key = keys [order [start [g]]];
        w->nev = start [g + 1] - start [g];
        w->ev = self->evp + self->nevp;
        w->marks = self->markp + self->nevp;
        self->nevp += w->nev;
        for (size_t k = 0; k < w->nev; k++) {
            const moderation_check_args_t *a = self->args [order [start [g] + k]];
            w->ev [k] = order [start [g] + k];
            w->marks [k] = (moderation_mark_t) { kind == S_WAVE ? a->wave_me : a->args [MODERATION_ARG_MSG_ID],
                                                 a->t_ms, s_window_of (a, kind) };
        }
    }
    free (keys);
    free (order);
    free (start);
}

//  The span of a window key's events: the lowest t - back × w and the
//  highest t, and the longest keep × w (the key's expiry).
static void s_span (const s_window_t *w, int back, int64_t *lo, int64_t *hi, int64_t *cut, int64_t *life)
{
    int keep = s_kinds [w->kind].keep;
    *lo = INT64_MAX;
    *hi = *cut = INT64_MIN;
    *life = 0;
    for (size_t k = 0; k < w->nev; k++) {
        const moderation_mark_t *m = &w->marks [k];
        if (m->t - back * m->w < *lo)
            *lo = m->t - back * m->w;
        if (m->t > *hi)
            *hi = m->t;
        if (m->t - keep * m->w > *cut)
            *cut = m->t - keep * m->w;
        if (keep * m->w > *life)
            *life = keep * m->w;
    }
}

//  Before the read: a set of ids gets the batch's ids (so another replica
//  reading after this sees them).
static void s_plan_write (moderation_counting_t *self, s_window_t *w)
{
    if (w->kind == S_WAVE)
        return;
    const char **a = s_cmd (self, (int) (2 + 2 * w->nev), w);
    a [0] = "ZADD";
    a [1] = w->key;
    for (size_t k = 0; k < w->nev; k++) {
        a [2 + 2 * k] = self->args [w->ev [k]]->args [MODERATION_ARG_TIME];
        a [3 + 2 * k] = w->marks [k].id;
    }
}

//  The read: what the events' windows need (a set of ids), or what stays
//  after the trims with its scores before the batch (the wave, whose cap
//  counts every entry). A set of ids with one event of the batch (the
//  usual case) is counted by Redis: ZCOUNT (t - w, t] after its ZADD is
//  what moderation_window_counts would give (its one trim is below the
//  window), and costs a quarter of a read with scores.
static void s_plan_read (moderation_counting_t *self, s_window_t *w)
{
    int64_t lo, hi, cut, life;
    s_span (w, w->kind == S_WAVE ? 2 : 1, &lo, &hi, &cut, &life);
    if (w->kind != S_WAVE && w->nev == 1) {
        const char **z = s_cmd (self, 4, w);
        w->read_cmd = self->ncmds - 1;
        z [0] = "ZCOUNT";
        z [1] = w->key;
        z [2] = s_num (self, "(%lld", lo);
        z [3] = self->args [w->ev [0]]->args [MODERATION_ARG_TIME];
        return;
    }
    const char **a = s_cmd (self, 5, w);
    w->read_cmd = self->ncmds - 1;
    a [0] = "ZRANGEBYSCORE";
    a [1] = w->key;
    a [2] = s_num (self, "(%lld", lo);
    a [3] = w->kind == S_WAVE ? "+inf" : s_num (self, "%lld", hi);
    a [4] = "WITHSCORES";
}

//  After the read: the wave's entries (each member's last time), the trim
//  and the expiry (the wave's cap, when needed, after the replies).
static void s_plan_after (moderation_counting_t *self, s_window_t *w)
{
    int64_t lo, hi, cut, life;
    s_span (w, 1, &lo, &hi, &cut, &life);
    if (w->kind == S_WAVE) {
        const char **a = s_cmd (self, (int) (3 + 2 * w->nev), w);
        a [0] = "ZADD";
        a [1] = w->key;
        a [2] = "GT";
        for (size_t k = 0; k < w->nev; k++) {
            a [3 + 2 * k] = self->args [w->ev [k]]->args [MODERATION_ARG_TIME];
            a [4 + 2 * k] = w->marks [k].id;
        }
    }
    //  The script trimmed at each event's t - keep × w; the counting does
    //  so in memory. In Redis nothing an event of the batch counts goes (a
    //  redelivered batch, out of time order, must find it again): the next
    //  batch trims the rest.
    if (lo < cut)
        cut = lo;
    const char **t = s_cmd (self, 4, w);
    t [0] = "ZREMRANGEBYSCORE";
    t [1] = w->key;
    t [2] = "-inf";
    t [3] = s_num (self, "%lld", cut);
    const char **x = s_cmd (self, 3, w);
    x [0] = "PEXPIRE";
    x [1] = w->key;
    x [2] = s_num (self, "%lld", life);
}

//  A joined key's SET, by the last of the call's joins on that key.
static void s_plan_joined (moderation_counting_t *self)
{
    for (size_t j = 0; j < self->ne; j++) {
        const moderation_check_args_t *a = self->args [j];
        if (!a->join || a->life_ms <= 0)
            continue;
        bool last = true;
        for (size_t k = j + 1; k < self->ne && last; k++)
            last = !(self->args [k]->join && self->args [k]->life_ms > 0
                     && strcmp (self->args [k]->args [MODERATION_ARG_JOINED], a->args [MODERATION_ARG_JOINED]) == 0);
        if (!last)
            continue;
        const char **c = s_cmd (self, 5, NULL);
        c [0] = "SET";
        c [1] = a->args [MODERATION_ARG_JOINED];
        c [2] = a->args [MODERATION_ARG_TIME];
        c [3] = "PX";
        c [4] = s_num (self, "%lld", a->life_ms);
    }
}

void moderation_counting_plan (moderation_counting_t *self, const moderation_check_args_t *const *args, size_t ne)
{
    memset (self, 0, sizeof (*self));
    self->ne = ne;
    self->args = args;
    size_t maxc = 5 * S_NKINDS * ne + ne + 2;
    self->argc = qy_calloc (maxc, sizeof (int));
    self->argv = qy_calloc (maxc, sizeof (char **));
    self->replies = qy_calloc (maxc, sizeof (redisReply *));
    //  Bounds: per window at most 21 + 4 × its events arguments and 4
    //  numbers; the MGET 1 + 2 × ne, a SET 5 and a number per event.
    self->argp = qy_malloc ((21 * S_NKINDS * ne + 4 * S_NKINDS * ne + 7 * ne + 1) * sizeof (char *));
    self->nums = qy_malloc ((4 * S_NKINDS * ne + ne + 1) * sizeof (self->nums [0]));
    self->evp = qy_malloc ((S_NKINDS * ne + 1) * sizeof (size_t));
    self->markp = qy_malloc ((S_NKINDS * ne + 1) * sizeof (moderation_mark_t));
    self->windows = qy_calloc (S_NKINDS * ne + 1, sizeof (s_window_t));
    self->counts = qy_calloc (ne + 1, sizeof (moderation_counts_t));
    self->ok = qy_calloc (ne + 1, sizeof (bool));
    self->raised = qy_calloc (ne + 1, sizeof (bool));
    self->since = qy_calloc (ne + 1, sizeof (int64_t));
    for (s_kind_t kind = 0; kind < S_NKINDS; kind++)
        s_plan_kind (self, kind);
    s_window_t *ws = self->windows;
    for (size_t w = 0; w < self->nwindows; w++)
        s_plan_write (self, &ws [w]);
    for (size_t w = 0; w < self->nwindows; w++)
        s_plan_read (self, &ws [w]);
    //  Read before this call's joins are SET: a chat counts the joins of
    //  its batch that come before it (moderation_counting_count).
    const char **mget = s_cmd (self, (int) (1 + 2 * ne), NULL);
    self->mget_cmd = self->ncmds - 1;
    mget [0] = "MGET";
    for (size_t j = 0; j < ne; j++) {
        mget [1 + j] = args [j]->args [MODERATION_ARG_JOINED];
        mget [1 + ne + j] = args [j]->args [MODERATION_ARG_JOIN_FLAG];
    }
    for (size_t w = 0; w < self->nwindows; w++)
        s_plan_after (self, &ws [w]);
    s_plan_joined (self);
}

int moderation_counting_append (qy_redis_t *redis, moderation_counting_t *self)
{
    return moderation_cmds_append (redis, self->ncmds, self->argc, self->argv, &self->appended);
}

int moderation_counting_get (qy_redis_t *redis, moderation_counting_t *self)
{
    int rc = moderation_cmds_get (redis, self->ncmds, self->appended, self->replies);
    moderation_counting_count (self);
    return rc;
}

void moderation_counting_free (moderation_counting_t *self)
{
    for (size_t c = 0; c < self->ncmds; c++)
        if (self->replies [c])
            freeReplyObject (self->replies [c]);
    free (self->argp);
    free (self->nums);
    free (self->evp);
    free (self->markp);
    free (self->windows);
    free (self->argc);
    free (self->argv);
    free (self->replies);
    free (self->counts);
    free (self->ok);
    free (self->raised);
    free (self->since);
    memset (self, 0, sizeof (*self));
}

//  Whether reply c is missing or an error (the first error kept).
static bool s_bad (moderation_counting_t *self, size_t c)
{
    const redisReply *r = self->replies [c];
    if (r && r->type == REDIS_REPLY_ERROR && !self->error)
        self->error = r->str;
    return !r || r->type == REDIS_REPLY_ERROR;
}

//  A read's reply as entries (member, score); NULL if it is not one.
static moderation_entry_t *s_entries (const redisReply *r, size_t *n)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2)
        return NULL;
    *n = r->elements / 2;
    moderation_entry_t *e = qy_calloc (*n + 1, sizeof (*e));
    for (size_t i = 0; i < *n; i++) {
        const redisReply *m = r->element [2 * i], *s = r->element [2 * i + 1];
        if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING) {
            free (e);
            return NULL;
        }
        e [i] = (moderation_entry_t) { m->str, (int64_t) strtod (s->str, NULL) };
    }
    return e;
}

//  Where event j's count of a set of ids goes (joins: the join wave's count).
static long *s_count_of (moderation_counting_t *self, const s_window_t *w, size_t j, long *joins)
{
    return w->kind == S_FLOOD ? &self->counts [j].flood : w->kind == S_REPEAT ? &self->counts [j].repeat : &joins [j];
}

//  One window key's counts into its events (joins: the join wave's count).
static void s_count_window (moderation_counting_t *self, s_window_t *w, long *joins)
{
    bool good = true;
    w->cap = false;
    for (size_t k = 0; k < w->ncmds; k++)
        good &= !s_bad (self, w->cmds [k]);
    const redisReply *r = self->replies [w->read_cmd];
    if (good && r->type == REDIS_REPLY_INTEGER && w->kind != S_WAVE && w->nev == 1) {
        size_t j = w->ev [0];
        *s_count_of (self, w, j, joins) = (long) r->integer;
        return;
    }
    size_t n = 0;
    moderation_entry_t *read = good ? s_entries (r, &n) : NULL;
    if (!read) {
        for (size_t k = 0; k < w->nev; k++)
            self->ok [w->ev [k]] = false;
        return;
    }
    if (w->kind == S_WAVE) {
        //  The read holds all that stays after the trims: the set is capped
        //  (after the replies) only when it may hold more than 2,000.
        w->cap = n + w->nev > MODERATION_WAVE_CAP;
        moderation_counts_t *c = qy_calloc (w->nev, sizeof (*c));
        moderation_wave_counts (read, n, w->marks, w->nev, c);
        for (size_t k = 0; k < w->nev; k++) {
            moderation_counts_t *to = &self->counts [w->ev [k]];
            to->wave_groups = c [k].wave_groups;
            to->wave_members = c [k].wave_members;
            to->wave_stores = c [k].wave_stores;
        }
        free (c);
    }
    else {
        long *c = qy_calloc (w->nev, sizeof (long));
        moderation_window_counts (read, n, w->marks, w->nev, s_kinds [w->kind].keep, c);
        for (size_t k = 0; k < w->nev; k++) {
            size_t j = w->ev [k];
            *s_count_of (self, w, j, joins) = c [k];
        }
        free (c);
    }
    free (read);
}

//  Whether value (read before the call) is what an event after i wrote to
//  event i's key arg in an earlier delivery of this batch: a join (arg
//  JOINED) or a join wave raised (JOIN_FLAG). Such a value is not one the
//  event could have seen the first time, so it is not counted: a
//  redelivered batch counts as the first delivery did.
static bool s_own_later (const moderation_counting_t *self, size_t i, int arg, int64_t value)
{
    const char *key = self->args [i]->args [arg];
    for (size_t j = i + 1; j < self->ne; j++) {
        const moderation_check_args_t *b = self->args [j];
        bool wrote = arg == MODERATION_ARG_JOINED ? b->join && b->life_ms > 0 : self->raised [j];
        if (wrote && b->t_ms == value && strcmp (b->args [arg], key) == 0)
            return true;
    }
    return false;
}

//  The time a chat's sender joined its group: the last join before it in
//  the batch, else what the key held before the call.
static int64_t s_joined (const moderation_counting_t *self, size_t i, const redisReply *held)
{
    const char *key = self->args [i]->args [MODERATION_ARG_JOINED];
    for (size_t j = i; j-- > 0; ) {
        const moderation_check_args_t *b = self->args [j];
        if (b->join && b->life_ms > 0 && strcmp (b->args [MODERATION_ARG_JOINED], key) == 0)
            return b->t_ms;
    }
    int64_t v = held->type == REDIS_REPLY_STRING ? strtoll (held->str, NULL, 10) : 0;
    return v && s_own_later (self, i, MODERATION_ARG_JOINED, v) ? 0 : v;
}

//  Joins and join waves: which joins start a wave (the window's count at
//  the threshold), and what each event sees of them, in batch order. A
//  wave that was on before the call keeps its flag's value (when it began),
//  so a redelivered batch tells its own flag from an older one.
static void s_count_joins (moderation_counting_t *self, const long *joins, const redisReply *mget)
{
    size_t ne = self->ne;
    for (size_t j = 0; j < ne; j++) {
        const moderation_check_args_t *a = self->args [j];
        self->raised [j] = a->join && a->jw_ms > 0 && self->ok [j] && joins [j] >= a->joins;
        self->since [j] = a->t_ms;
    }
    for (size_t i = 0; i < ne && mget; i++) {
        const moderation_check_args_t *a = self->args [i];
        const char *flag = a->args [MODERATION_ARG_JOIN_FLAG];
        bool on = false;
        for (size_t j = 0; j < i && !on; j++)
            if (self->raised [j] && strcmp (self->args [j]->args [MODERATION_ARG_JOIN_FLAG], flag) == 0) {
                on = true;
                self->since [i] = self->since [j];
            }
        const redisReply *held = mget->element [ne + i];
        int64_t v = held->type == REDIS_REPLY_STRING ? strtoll (held->str, NULL, 10) : 0;
        if (!on && held->type == REDIS_REPLY_STRING && !s_own_later (self, i, MODERATION_ARG_JOIN_FLAG, v)) {
            on = true;
            self->since [i] = v;
        }
        self->counts [i].join_wave = on || self->raised [i];
        if (a->chat)
            self->counts [i].joined_ms = s_joined (self, i, mget->element [i]);
    }
}

void moderation_counting_count (moderation_counting_t *self)
{
    size_t ne = self->ne;
    bool missing = self->appended < self->ncmds;
    for (size_t c = 0; c < self->appended; c++)
        missing |= !self->replies [c];
    self->error = NULL;
    for (size_t j = 0; j < ne; j++) {
        self->ok [j] = !missing;        //  a pipeline cut short counts nothing
        self->raised [j] = false;
        memset (&self->counts [j], 0, sizeof (moderation_counts_t));
    }
    if (missing)
        return;
    const redisReply *mget = self->replies [self->mget_cmd];
    if (s_bad (self, self->mget_cmd) || mget->type != REDIS_REPLY_ARRAY || mget->elements != 2 * ne)
        mget = NULL;
    long *joins = qy_calloc (ne + 1, sizeof (long));
    s_window_t *ws = self->windows;
    for (size_t w = 0; w < self->nwindows; w++)
        s_count_window (self, &ws [w], joins);
    s_count_joins (self, joins, mget);
    free (joins);
    //  A joined key not SET would be missed by the chats after it.
    bool unset = false;
    for (size_t c = self->mget_cmd + 1; c < self->ncmds; c++)
        if (strcmp (self->argv [c][0], "SET") == 0)
            unset |= s_bad (self, c);
    for (size_t j = 0; j < ne; j++)
        self->ok [j] &= mget != NULL && !unset;
}

//  Append SET of the flag of each join wave the call started (by the last
//  join that raised it). Returns the commands appended, or -1.
static int s_append_flags (qy_redis_t *redis, const moderation_counting_t *self)
{
    int sent = 0;
    for (size_t j = 0; j < self->ne; j++) {
        const moderation_check_args_t *a = self->args [j];
        const char *flag = a->args [MODERATION_ARG_JOIN_FLAG];
        bool last = self->raised [j];
        for (size_t k = j + 1; k < self->ne && last; k++)
            last = !(self->raised [k] && strcmp (self->args [k]->args [MODERATION_ARG_JOIN_FLAG], flag) == 0);
        if (!last)
            continue;
        char since [24], hold [24];
        qy_snprintf (since, sizeof (since), "%lld", (long long) self->since [j]);
        qy_snprintf (hold, sizeof (hold), "%lld", (long long) a->hold_ms);
        const char *argv [] = { "SET", flag, since, "PX", hold };
        if (qy_redis_append_argv (redis, 5, argv, NULL) != 0)
            return -1;
        sent++;
    }
    return sent;
}

int moderation_counting_raise (qy_redis_t *redis, const moderation_counting_t *self)
{
    int sent = s_append_flags (redis, self), rc = sent < 0 ? -1 : 0;
    const s_window_t *ws = self->windows;
    for (size_t w = 0; w < self->nwindows && rc == 0; w++) {
        const char *argv [] = { "ZREMRANGEBYRANK", ws [w].key, "0", "-2001" };
        if (!ws [w].cap)
            continue;
        if (qy_redis_append_argv (redis, 4, argv, NULL) != 0)
            rc = -1;
        else
            sent++;
    }
    for (int i = 0; i < sent; i++) {
        redisReply *r = qy_redis_get_reply (redis);
        if (!r || r->type == REDIS_REPLY_ERROR)
            rc = -1;
        if (r)
            freeReplyObject (r);
    }
    return rc;
}
