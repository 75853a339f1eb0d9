//  Moderation's behaviour counts in C against the Lua script they replace,
//  on a real Redis (run.sh starts it): random batches (chats, joins and
//  others of a few members, groups, stores and texts, some out of time
//  order, some in the same millisecond) are counted by the old script
//  (brand 7's keys) and by the new pipeline (brand 8's keys, the same
//  events; halfway, a wave set past its 2,000 cap); every event's seven
//  counts must agree. Then each batch is
//  delivered again to the new path, which must count it as the first time
//  (but for what the keys cannot give back: s_compare).
//  Arguments: Redis port, the reference script's path. Prints one line per
//  failed check and a summary; exits 1 when any fails.
#include "moderation.h"
#include "moderation_behaviour.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX 24

static int s_failed;
static qy_redis_t *s_redis;
static qy_script_t s_script;

typedef struct {
    Qy__Event               ev [S_MAX];
    char                    ids [S_MAX][24];
    moderation_check_args_t args [S_MAX];
    moderation_counts_t     counts [S_MAX];
    size_t                  n;
} s_batch_t;

static void s_policy (moderation_policy_t *p)
{
    moderation_policy_default (p);
    qy_strlcpy (p->flood_rule, "flood.test", sizeof (p->flood_rule));
    p->flood_window_s = 3;
    p->repeat_max = 1;
    p->repeat_window_s = 5;
    p->wave_window_s = 4;
    p->join_wave_joins = 2;
    p->join_wave_window_s = 3;
    p->join_wave_hold_s = 3600;     //  never ends while the test runs: both paths see the same flags
    p->newcomer_hours = 1;
}

//  A random batch for brand; times from *clock on, a few out of order or tied.
static void s_make (s_batch_t *b, const moderation_policy_t *p, int64_t brand, int round, int64_t *clock)
{
    b->n = 1 + (size_t) (rand () % S_MAX);
    for (size_t i = 0; i < b->n; i++) {
        Qy__Event *ev = &b->ev [i];
        qy__event__init (ev);
        snprintf (b->ids [i], sizeof (b->ids [i]), "m%d_%zu", round, i);
        int k = rand () % 10, r = rand () % 20;
        ev->kind = k < 7 ? QY__KIND__TEXT : k < 9 ? QY__KIND__JOIN : QY__KIND__LEAVE;
        ev->msg_id = b->ids [i];
        ev->brand_id = brand;
        ev->group_id = 1 + rand () % 3;
        ev->store_id = ev->group_id == 3 ? 2 : r == 0 ? 0 : 1;
        ev->member_id = 1 + rand () % 4;
        *clock += r < 2 ? 0 : rand () % 1500;
        ev->event_time_us = (r == 3 || r == 4 ? *clock - rand () % 3000 : *clock) * 1000;
        moderation_check_in_t in = { ev, rand () % 10 != 0, rand () % 5 != 0, 0x100 + (uint64_t) (rand () % 3) };
        moderation_check_args (&b->args [i], p, &in);
    }
}

//  The reference: one call of the old script for the batch.
static void s_script_counts (s_batch_t *b)
{
    const char *argv [S_MAX * MODERATION_CHECK_NARGS];
    size_t n = b->n, nk = 9, na = MODERATION_CHECK_NARGS - 9;
    for (size_t j = 0; j < n; j++) {
        memcpy (argv + j * nk, b->args [j].args, nk * sizeof (char *));
        memcpy (argv + n * nk + j * na, b->args [j].args + nk, na * sizeof (char *));
    }
    redisReply *r = qy_redis_script (s_redis, &s_script, (int) (n * nk), (int) (n * MODERATION_CHECK_NARGS), argv, NULL);
    for (size_t j = 0; j < n; j++) {
        const redisReply *e = r && r->type == REDIS_REPLY_ARRAY && r->elements == n ? r->element [j] : NULL;
        if (!e || e->type != REDIS_REPLY_ARRAY || e->elements != 7) {
            printf ("FAIL: the script's reply for event %zu: %s\n", j, r && r->type == REDIS_REPLY_ERROR ? r->str : "?");
            s_failed = 1;
            continue;
        }
        moderation_counts_t *c = &b->counts [j];
        c->flood = (long) e->element [0]->integer;
        c->repeat = (long) e->element [1]->integer;
        c->wave_groups = (long) e->element [2]->integer;
        c->wave_members = (long) e->element [3]->integer;
        c->joined_ms = e->element [4]->integer;
        c->join_wave = e->element [5]->integer == 1;
        c->wave_stores = (long) e->element [6]->integer;
    }
    if (r)
        freeReplyObject (r);
}

//  The new path: the pipeline, the counting, the join waves raised.
static void s_new_counts (s_batch_t *b)
{
    const moderation_check_args_t *args [S_MAX];
    for (size_t j = 0; j < b->n; j++)
        args [j] = &b->args [j];
    moderation_counting_t cn;
    moderation_counting_plan (&cn, args, b->n);
    if (moderation_counting_append (s_redis, &cn) != 0 || moderation_counting_get (s_redis, &cn) != 0
        || moderation_counting_raise (s_redis, &cn) != 0) {
        printf ("FAIL: the pipeline: %s\n", cn.error ? cn.error : "no reply");
        s_failed = 1;
    }
    for (size_t j = 0; j < b->n; j++) {
        if (!cn.ok [j]) {
            printf ("FAIL: no counts for event %zu: %s\n", j, cn.error ? cn.error : "?");
            s_failed = 1;
        }
        b->counts [j] = cn.counts [j];
    }
    moderation_counting_free (&cn);
}

//  Whether event j is a chat whose sender joins the same group again later
//  in the batch: the joined key holds one time, the later join's once the
//  batch was delivered, so a redelivery cannot see the time before it.
static bool s_rejoins (const s_batch_t *b, size_t j)
{
    for (size_t k = j + 1; k < b->n; k++)
        if (b->args [k].join && b->args [k].life_ms > 0
            && strcmp (b->args [k].args [MODERATION_ARG_JOINED], b->args [j].args [MODERATION_ARG_JOINED]) == 0)
            return true;
    return false;
}

//  Compare every count (exact), or on a redelivery all but the two the
//  keys cannot give back (see moderation_behaviour_count.c): the wave set's
//  entries keep their last time only, and a rejoin's time replaces the
//  joined time before it.
static int s_compare (const char *what, int round, const s_batch_t *want, const s_batch_t *got, bool exact)
{
    int bad = 0;
    for (size_t j = 0; j < want->n; j++) {
        const moderation_counts_t *a = &want->counts [j], *b = &got->counts [j];
        bool wave = a->wave_groups == b->wave_groups && a->wave_members == b->wave_members
                 && a->wave_stores == b->wave_stores;
        if (a->flood == b->flood && a->repeat == b->repeat && (wave || !exact)
            && (a->joined_ms == b->joined_ms || (!exact && s_rejoins (want, j))) && a->join_wave == b->join_wave)
            continue;
        if (bad++ < 3)
            printf ("FAIL: %s, batch %d event %zu (%s %s t=%lld): flood %ld/%ld repeat %ld/%ld wave %ld,%ld,%ld/%ld,%ld,%ld "
                    "joined %lld/%lld join_wave %d/%d\n", what, round, j, got->ev [j].msg_id,
                    got->args [j].args [11], (long long) got->args [j].t_ms, a->flood, b->flood, a->repeat, b->repeat,
                    a->wave_groups, a->wave_members, a->wave_stores, b->wave_groups, b->wave_members, b->wave_stores,
                    (long long) a->joined_ms, (long long) b->joined_ms, a->join_wave, b->join_wave);
    }
    if (bad)
        s_failed = 1;
    return bad;
}

//  2,100 other members' entries in the wave set of one of the texts,
//  each a little older than the last (so the cap's order is exercised).
static void s_fill_wave (int brand, int64_t clock)
{
    char key [64], score [24], member [32];
    qy_snprintf (key, sizeof (key), "sw:{b:%d}:%016llx", brand, 0x101ULL);
    for (int i = 0; i < 2100; i++) {
        qy_snprintf (score, sizeof (score), "%lld", (long long) (clock - 2000 + i % 700));
        qy_snprintf (member, sizeof (member), "9:%d:s9", 100 + i);
        const char *argv [] = { "ZADD", key, score, member };
        redisReply *r = qy_redis_argv (s_redis, 4, argv, NULL);
        if (r)
            freeReplyObject (r);
    }
}

int main (int argc, char **argv)
{
    if (argc != 3) {
        fprintf (stderr, "usage: %s REDIS_PORT REFERENCE_SCRIPT\n", argv [0]);
        return 2;
    }
    qy_buf_t src;
    qy_buf_init (&src);
    if (!qy_buf_read_file (&src, argv [2])) {
        fprintf (stderr, "cannot read %s\n", argv [2]);
        return 2;
    }
    s_script.source = src.data;
    s_redis = qy_redis_new ("127.0.0.1", atoi (argv [1]));
    moderation_policy_t p;
    s_policy (&p);
    srand (19);
    int64_t clock = 1763604000000LL;
    long events = 0, compared = 0, mismatched = 0;
    static s_batch_t old, now, again;
    for (int round = 0; round < 400; round++) {
        if (round == 200)           //  a wave set past its 2,000 cap, on both sides
            for (int brand = 7; brand <= 8; brand++)
                s_fill_wave (brand, clock);
        int64_t c1 = clock, c2 = clock;
        unsigned seed = (unsigned) rand ();
        srand (seed);
        s_make (&old, &p, 7, round, &c1);
        srand (seed);
        s_make (&now, &p, 8, round, &c2);
        clock = c1;
        s_script_counts (&old);
        s_new_counts (&now);
        mismatched += s_compare ("script against the new path", round, &old, &now, true);
        again = now;            //  its arguments still point into now's, unchanged
        s_new_counts (&again);
        s_compare ("a redelivered batch against its first delivery", round, &now, &again, false);
        events += (long) now.n;
        compared += (long) now.n * 7;
    }
    printf ("%s: %ld events in 400 batches, %ld counts compared, %ld events differ\n",
            s_failed ? "FAIL" : "ok", events, compared, mismatched);
    qy_redis_destroy (&s_redis);
    qy_buf_free (&src);
    return s_failed;
}
