//  scoring_tally's C half: the counting in C (scoring_count_batch, which
//  reads, decides with scoring_count_tally and writes in MULTI/EXEC)
//  against the Lua script it replaced (scoring_count.lua, kept here only
//  for this comparison), on random batches against a real Redis. Group A
//  is counted by C, group B by the script, with the same events; after
//  each batch every event's outcome and standing, and every key of both
//  groups (content, and whether it expires), must be the same.
//  usage: scoring_tally REDIS_PORT SCRIPT_PATH [ROUNDS] [SEED]
#include "scoring.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_GA 71
#define S_GB 72
#define S_GC 73         //  counted by two processes at once
#define S_MAXN 16

static qy_redis_t *s_redis;
static scoring_brands_t *s_brands;
static int s_failures;
static const scoring_count_config_t s_cfg = { .ttl_s = 3 * 86400, .member_ttl_s = 30 * 86400, .renew_days = 7,
                                              .half_short_s = 3 * 86400, .half_long_s = 30 * 86400,
                                              .reply_window_s = 600, .post_window_s = 1800, .substantial_chars = 10 };

//  The script's ARGV per event, in the order it reads them (1-based there).
enum {
    A_MSG_ID, A_KIND, A_MEMBER, A_HOUR, A_VIOLATION, A_TTL, A_TIME, A_DAY, A_USER, A_REF, A_STAFF, A_BOT,
    A_CHANNEL, A_HALF_SHORT, A_HALF_LONG, A_WINDOW, A_POST_WINDOW, A_QUESTION, A_SUBSTANTIAL, A_MEMBER_TTL,
    A_OLD, A__COUNT
};

//  One event's strings for the script.
typedef struct {
    char n [8], mid [24], hour [8], t [24], day [16], ch [24], ttl [24], hs [32], hl [32], win [16], pwin [16],
         mttl [24];
} s_own_t;

static size_t s_event_args (const Qy__Event *ev, const scoring_keys_t *k, bool old, s_own_t *o, const char **a)
{
    static const char *kinds [] = { "msg", "join", "leave", "other" };
    qy_snprintf (o->mid, sizeof (o->mid), "%lld", (long long) ev->member_id);
    qy_snprintf (o->hour, sizeof (o->hour), "%d", k->hour);
    qy_snprintf (o->t, sizeof (o->t), "%lld", (long long) (ev->event_time_us / 1000000));
    qy_snprintf (o->day, sizeof (o->day), "%d", k->day);
    qy_snprintf (o->ch, sizeof (o->ch), "%lld", (long long) ev->channel_id);
    qy_snprintf (o->ttl, sizeof (o->ttl), "%ld", s_cfg.ttl_s);
    qy_snprintf (o->hs, sizeof (o->hs), "%.0f", s_cfg.half_short_s);
    qy_snprintf (o->hl, sizeof (o->hl), "%.0f", s_cfg.half_long_s);
    qy_snprintf (o->win, sizeof (o->win), "%d", s_cfg.reply_window_s);
    qy_snprintf (o->pwin, sizeof (o->pwin), "%d", s_cfg.post_window_s);
    qy_snprintf (o->mttl, sizeof (o->mttl), "%ld", s_cfg.member_ttl_s);
    scoring_kind_t kind = scoring_kind (ev);
    bool msg = kind == SCORING_MSG;
    size_t nm = msg ? ev->n_mentions : 0;
    qy_snprintf (o->n, sizeof (o->n), "%zu", A__COUNT + nm);
    a [0] = o->n;
    const char **v = a + 1;
    v [A_MSG_ID] = ev->msg_id;
    v [A_KIND] = kinds [kind];
    v [A_MEMBER] = o->mid;
    v [A_HOUR] = o->hour;
    v [A_VIOLATION] = scoring_is_violation (ev) ? "1" : "0";
    v [A_TTL] = o->ttl;
    v [A_TIME] = o->t;
    v [A_DAY] = o->day;
    v [A_USER] = ev->member ? ev->member : "";
    v [A_REF] = msg && ev->ref_msg_id ? ev->ref_msg_id : "";
    v [A_STAFF] = scoring_is_staff (ev) ? "1" : "0";
    v [A_BOT] = ev->role == QY__ROLE__BOT ? "1" : "0";
    v [A_CHANNEL] = o->ch;
    v [A_HALF_SHORT] = o->hs;
    v [A_HALF_LONG] = o->hl;
    v [A_WINDOW] = o->win;
    v [A_POST_WINDOW] = o->pwin;
    v [A_QUESTION] = msg && scoring_is_question (ev->text) ? "1" : "0";
    v [A_SUBSTANTIAL] = msg && scoring_is_substantial (ev, s_cfg.substantial_chars) ? "1" : "0";
    v [A_MEMBER_TTL] = o->mttl;
    v [A_OLD] = old ? "1" : "0";
    for (size_t i = 0; i < nm; i++)
        v [A__COUNT + i] = ev->mentions [i];
    return 1 + A__COUNT + nm;
}

//  Count evs with the script (one call): out and st as scoring_count_batch fills them.
static void s_script (const char *source, Qy__Event **evs, size_t n, scoring_outcome_t *out, Qy__Standing *st)
{
    scoring_plan_t p;
    for (size_t i = 0; i < n; i++)
        out [i] = SCORING_PENDING;
    for (size_t i = 0; i < n; i++)
        scoring_brands_clock (s_brands, evs [i]->brand_id, evs [i]->event_time_us / 1000000);
    if (scoring_count_plan (&s_cfg, s_brands, evs, out, n, false, &p))
        exit (2);
    const char *argv [3 + S_MAXN * (14 + 1 + A__COUNT + 4)];
    s_own_t own [S_MAXN];
    char speakers [S_MAXN][64], edges [S_MAXN][64], nk [8];
    qy_snprintf (nk, sizeof (nk), "%zu", 14 * n);
    size_t a = 3 + 14 * n;
    argv [0] = "EVAL";
    argv [1] = source;
    argv [2] = nk;
    for (size_t i = 0; i < n; i++) {
        const scoring_keys_t *k = &p.keys [i];
        //  The script's keys that the C counting no longer has: "sc:ids:" → "sc:a:", "sc:e:".
        qy_cat (speakers [i], sizeof (speakers [i]), "sc:a:", k->ids + strlen ("sc:ids:"), "");
        qy_cat (edges [i], sizeof (edges [i]), "sc:e:", k->ids + strlen ("sc:ids:"), "");
        const char *keys [14] = { k->ids, k->group, speakers [i], k->members, k->authors, k->authors_prev, edges [i],
                                  k->member, k->roster, k->uids, k->state, k->board, k->channels, k->replies };
        memcpy (argv + 3 + 14 * i, keys, sizeof (keys));
        a += s_event_args (evs [i], k, p.old [i], &own [i], argv + a);
    }
    redisReply *r = qy_redis_argv (s_redis, (int) a, argv, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        printf ("FAIL: script reply: %s\n", r && r->type == REDIS_REPLY_ERROR ? r->str : "not an array");
        exit (1);
    }
    for (size_t i = 0; i < n; i++) {
        const redisReply *e = r->element [i];
        if (e->type != REDIS_REPLY_ARRAY) {
            out [i] = SCORING_REJECTED;
            continue;
        }
        long long answer = e->element [0]->integer;
        out [i] = answer == 1 ? SCORING_COUNTED : answer == 2 ? SCORING_TOO_OLD : SCORING_SEEN;
        scoring_tally_answer_t ans = { .member_msgs = e->element [1]->integer, .group_msgs = e->element [2]->integer,
                                       .active = e->element [3]->integer,
                                       .group_state = e->element [4]->type == REDIS_REPLY_STRING ? e->element [4]->str : "" };
        //  The script answers the fields it knew (not xd, the C counting's own).
        for (size_t f = 0; f < SCORING_F__COUNT && 5 + f < e->elements; f++)
            ans.values [f] = e->element [5 + f]->type == REDIS_REPLY_STRING ? e->element [5 + f]->str : NULL;
        scoring_member_t m = { .member_id = evs [i]->member_id, .key_rank = -1 };
        scoring_member_parse (&m, ans.values);
        scoring_standing_t s;
        scoring_event_standing (&p.brand [i]->settings, &m, evs [i]->event_time_us / 1000000, p.keys [i].day,
                                s_cfg.half_short_s, s_cfg.half_long_s, &s);
        qy__standing__init (&st [i]);
        st [i].member_msgs_today = ans.member_msgs;
        st [i].group_msgs_today = ans.group_msgs;
        st [i].group_active_today = ans.active;
        st [i].trust_level = s.trust_level;
        st [i].member_state = (char *) scoring_state_name (s.state);
        st [i].group_state = (char *) scoring_state_name (ans.group_state);
    }
    freeReplyObject (r);
    scoring_count_plan_free (&p);
}

static int s_cmp_str (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

//  A key's content, its group's id replaced by G, pairs and members
//  sorted; then whether it expires ("ttl" when it does) when with_ttl.
static void s_dump_key (const char *key, const char *tag, bool with_ttl, qy_buf_t *out)
{
    redisReply *t = qy_redis_cmd (s_redis, "TYPE %s", key);
    const char *type = t && t->type == REDIS_REPLY_STATUS ? t->str : "none";
    redisReply *r = strcmp (type, "hash") == 0 ? qy_redis_cmd (s_redis, "HGETALL %s", key)
                  : strcmp (type, "set") == 0 ? qy_redis_cmd (s_redis, "SMEMBERS %s", key)
                  : strcmp (type, "zset") == 0 ? qy_redis_cmd (s_redis, "ZRANGE %s 0 -1 WITHSCORES", key)
                  : strcmp (type, "string") == 0 ? qy_redis_cmd (s_redis, "PFCOUNT %s", key) : NULL;
    bool pairs = strcmp (type, "hash") == 0 || strcmp (type, "zset") == 0;
    const char *at = strstr (key, tag);
    qy_buf_printf (out, "%.*s{g:G}%s (%s):", (int) (at - key), key, at + strlen (tag), type);
    size_t n = r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0, step = pairs ? 2 : 1;
    char **items = qy_calloc (n + 1, sizeof (char *));
    for (size_t i = 0; i + step <= n; i += step)
        items [i / step] = pairs ? qy_printf ("%s=%s", r->element [i]->str, r->element [i + 1]->str)
                                 : qy_strdup (r->element [i]->str);
    qsort (items, n / step, sizeof (char *), s_cmp_str);
    for (size_t i = 0; i < n / step; i++) {
        //  The state's and a member's xd (the day their expiry was last
        //  moved on, members.renew_days) are the C counting's alone.
        if (strncmp (items [i], "xd=", 3) != 0 || !(strstr (key, "sc:gs:") || strstr (key, "sc:u:")))
            qy_buf_printf (out, " %s", items [i]);
        free (items [i]);
    }
    free (items);
    if (r && r->type == REDIS_REPLY_INTEGER)
        qy_buf_printf (out, " %lld", r->integer);
    redisReply *ttl = with_ttl ? qy_redis_cmd (s_redis, "TTL %s", key) : NULL;
    qy_buf_printf (out, " %s\n", ttl && ttl->integer > 0 ? "ttl" : ttl && ttl->integer == -1 ? "no-ttl" : "");
    if (ttl)
        freeReplyObject (ttl);
    if (r)
        freeReplyObject (r);
    if (t)
        freeReplyObject (t);
}

//  Every key of group gid's count on days day0 .. day0 - 3.
static void s_dump (int64_t gid, int32_t day0, qy_buf_t *out)
{
    char tag [32], key [96];
    qy_snprintf (tag, sizeof (tag), "{g:%lld}", (long long) gid);
    //  The script's HyperLogLog of speakers and hash of reply edges per
    //  day (sc:a, sc:e) are not compared: nothing read them, and the C
    //  counting no longer writes them (s_unread_absent).
    const char *of_day [] = { "g", "m", "w", "ids" };
    const char *of_group [] = { "gs", "uid", "ch", "r", "mem", "lb" };
    for (int32_t d = day0 - 3; d <= day0; d++)
        for (size_t k = 0; k < QY_ARRAY_LEN (of_day); k++) {
            qy_snprintf (key, sizeof (key), "sc:%s:%s:%d", of_day [k], tag, (int) d);
            s_dump_key (key, tag, true, out);
        }
    for (size_t k = 0; k < QY_ARRAY_LEN (of_group); k++) {
        qy_snprintf (key, sizeof (key), "sc:%s:%s", of_group [k], tag);
        s_dump_key (key, tag, true, out);
    }
    for (int m = 1; m <= 6; m++) {
        qy_snprintf (key, sizeof (key), "sc:u:%s:%d", tag, m);
        s_dump_key (key, tag, true, out);
    }
}

//  The ids of every event so far (for redeliveries and quotes).
static char s_ids [4096][24];
static size_t s_nids;
static int s_pending;           //  batches a racing process had to count again

static const char *s_earlier (void)
{
    return s_nids ? s_ids [(size_t) rand () % s_nids] : "none";
}

//  A random event of group gid at about t_s (the same for both groups: the
//  caller draws once and copies).
static void s_random (Qy__Event *ev, int64_t t_s, int round, size_t i, char *id, char **mention)
{
    static const char *texts [] = { "好的", "这个什么时候开始？", "有赠品吗", "明天上午十点开始，记得早点来排队哦",
                                    "ok", "thanks a lot for the answer!", "嗯~" };
    static const Qy__Kind kinds [] = { QY__KIND__TEXT, QY__KIND__TEXT, QY__KIND__TEXT, QY__KIND__TEXT,
                                       QY__KIND__TEXT, QY__KIND__LINK, QY__KIND__IMAGE, QY__KIND__JOIN,
                                       QY__KIND__JOIN, QY__KIND__LEAVE, QY__KIND__LEAVE, QY__KIND__RENAME };
    qy__event__init (ev);
    int m = 1 + rand () % 6;
    ev->brand_id = 1;
    ev->brand = "b1";
    ev->member_id = m;
    ev->kind = kinds [(size_t) rand () % QY_ARRAY_LEN (kinds)];
    ev->role = m == 6 ? QY__ROLE__BOT : m == 5 ? QY__ROLE__ADMIN : QY__ROLE__MEMBER;
    ev->text = (char *) texts [(size_t) rand () % QY_ARRAY_LEN (texts)];
    ev->channel_id = 1 + rand () % 3;
    ev->member = mention [m - 1];
    //  Mostly in order, some late, a few older than the counter window.
    int r = rand () % 100;
    int64_t t = r < 3 ? t_s - 10 * 86400 : r < 15 ? t_s - rand () % (2 * 86400) : t_s + rand () % 60;
    ev->event_time_us = t * 1000000;
    if (rand () % 10 == 0)
        qy_strlcpy (id, s_earlier (), 24);           //  a redelivery
    else
        qy_snprintf (id, 24, "r%d-%zu", round, i);
    ev->msg_id = id;
    if (rand () % 5 == 0)
        ev->ref_msg_id = (char *) s_earlier ();
    if (rand () % 6 == 0) {
        ev->n_mentions = 1;
        ev->mentions = &mention [rand () % 6];
    }
    static Qy__Verdict v = QY__VERDICT__INIT;
    v.action = QY__ACTION__WARN;
    v.violation_id = 1;
    if (rand () % 15 == 0)
        ev->verdict = &v;
}

static bool s_same_standing (const Qy__Standing *x, const Qy__Standing *y)
{
    return x->member_msgs_today == y->member_msgs_today && x->group_msgs_today == y->group_msgs_today
        && x->group_active_today == y->group_active_today && x->trust_level == y->trust_level
        && strcmp (x->group_state, y->group_state) == 0 && strcmp (x->member_state, y->member_state) == 0;
}

//  One round: a random batch counted by C in group A and the script in B
//  (source NULL: by C in group C only).
static void s_round (const char *source, int round, int64_t t_s)
{
    static char *mention [6] = { "u1", "u2", "u3", "u4", "u5", "u6" };
    size_t n = 1 + (size_t) rand () % 12;
    Qy__Event ea [S_MAXN], eb [S_MAXN], *pa [S_MAXN], *pb [S_MAXN];
    char ids [S_MAXN][24];
    for (size_t i = 0; i < n; i++) {
        s_random (&ea [i], t_s, round, i, ids [i], mention);
        ea [i].group_id = source ? S_GA : S_GC;
        ea [i].brand_id = source ? 1 : 2;       //  its own clock (the counter window's "now")
        eb [i] = ea [i];
        eb [i].group_id = S_GB;
        pa [i] = &ea [i];
        pb [i] = &eb [i];
    }
    for (size_t i = 0; i < n && s_nids < QY_ARRAY_LEN (s_ids); i++)
        qy_strlcpy (s_ids [s_nids++], ids [i], sizeof (s_ids [0]));
    scoring_outcome_t oa [S_MAXN], ob [S_MAXN];
    Qy__Standing sa [S_MAXN], sb [S_MAXN];
    for (size_t i = 0; i < n; i++)
        oa [i] = SCORING_PENDING;
    //  A batch that lost its races S_TRIES times is left pending: the
    //  service tries it again, and so does a racing process here.
    int rc, tries = 0;
    while ((rc = scoring_count_batch (&s_cfg, s_redis, s_brands, pa, sa, oa, n)) != 0 && !source && ++tries < 5000)
        qy_sleep_ms (1);
    s_pending += tries > 0;
    if (rc) {
        printf ("FAIL: round %d: the C counting failed\n", round);
        exit (1);
    }
    if (!source)
        return;
    s_script (source, pb, n, ob, sb);
    for (size_t i = 0; i < n; i++)
        if (oa [i] != ob [i] || (oa [i] != SCORING_REJECTED && !s_same_standing (&sa [i], &sb [i]))) {
            printf ("FAIL: round %d event %zu (%s): C outcome %d msgs %lld/%lld/%lld %s/%s, script %d %lld/%lld/%lld %s/%s\n",
                    round, i, ids [i], oa [i], (long long) sa [i].member_msgs_today, (long long) sa [i].group_msgs_today,
                    (long long) sa [i].group_active_today, sa [i].member_state, sa [i].group_state, ob [i],
                    (long long) sb [i].member_msgs_today, (long long) sb [i].group_msgs_today,
                    (long long) sb [i].group_active_today, sb [i].member_state, sb [i].group_state);
            s_failures++;
        }
}

//  Two processes (two replicas) count the same batches in group C at
//  once, each batch by both: the transactions that lose a race run again
//  and find the events counted, so C ends as A, where each was counted once.
//  With $SCORING_TALLY_DURING_RACE set, that command runs meanwhile (on a
//  cluster: group C's slot moved to another master, so transactions meet
//  ASK, TRYAGAIN and MOVED), and the processes pace their rounds.
static void s_race (int port, int rounds, unsigned seed, int64_t t0)
{
    const char *during = getenv ("SCORING_TALLY_DURING_RACE");
    pid_t kids [2];
    for (int k = 0; k < 2; k++)
        if ((kids [k] = fork ()) == 0) {
            qy_redis_destroy (&s_redis);
            s_redis = qy_redis_new ("127.0.0.1", port);
            srand (seed);
            s_nids = 0;
            for (int r = 0; r < rounds; r++) {
                s_round (NULL, r, t0 + r * 600);
                if (during)
                    qy_sleep_ms (5);
            }
            printf ("race: process %d: %d of %d batches left pending by their transactions and counted again\n", k,
                    s_pending, rounds);
            fflush (stdout);
            _exit (0);
        }
    if (during && system (during) != 0) {
        printf ("FAIL: %s\n", during);
        s_failures++;
    }
    for (int k = 0; k < 2; k++) {
        int status = 1;
        waitpid (kids [k], &status, 0);
        if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
            s_failures++;
    }
}

static bool s_redis_exists (const char *key)
{
    redisReply *r = qy_redis_cmd (s_redis, "EXISTS %s", key);
    bool yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject (r);
    return yes;
}

//  Whether the keys nothing read (the script's sc:a and sc:e) are absent
//  from the groups the C counting counted (A, and C by two processes).
static bool s_unread_absent (int32_t day)
{
    int found = 0;
    const int groups [] = { S_GA, S_GC };
    for (size_t g = 0; g < QY_ARRAY_LEN (groups); g++)
        for (int32_t d = day - 3; d <= day; d++)
            for (const char *kind = "ae"; *kind; kind++) {
                char key [96];
                qy_snprintf (key, sizeof (key), "sc:%c:{g:%d}:%d", *kind, groups [g], (int) d);
                found += s_redis_exists (key);
            }
    //  The script (group B) still writes them: the check can see a key.
    bool seen = false;
    for (int32_t d = day - 3; d <= day && !seen; d++) {
        char key [96];
        qy_snprintf (key, sizeof (key), "sc:a:{g:%d}:%d", S_GB, (int) d);
        seen = s_redis_exists (key);
    }
    printf ("%s: no sc:a or sc:e key made by the C counting (%d found; the script's %s)\n",
            found == 0 && seen ? "ok" : "FAIL", found, seen ? "found" : "NOT found");
    return found == 0 && seen;
}

//  Whether every key the C counting made for group gid (each kind it
//  writes, days day - 3 .. day, members 1..6, the version key) has an
//  expiry: none outlives the group however its EXPIREs were spared (the
//  version key's and the long-lived keys' EXPIRE NX only when they were
//  not read to exist).
static bool s_all_expire (int gid, int32_t day)
{
    const char *of_day [] = { "g", "m", "w", "ids" };
    const char *of_group [] = { "gs", "uid", "ch", "r", "mem", "lb", "v" };
    char keys [64][96];
    size_t n = 0;
    for (int32_t d = day - 3; d <= day; d++)
        for (size_t k = 0; k < QY_ARRAY_LEN (of_day); k++)
            qy_snprintf (keys [n++], sizeof (keys [0]), "sc:%s:{g:%d}:%d", of_day [k], gid, (int) d);
    for (size_t k = 0; k < QY_ARRAY_LEN (of_group); k++)
        qy_snprintf (keys [n++], sizeof (keys [0]), "sc:%s:{g:%d}", of_group [k], gid);
    for (int m = 1; m <= 6; m++)
        qy_snprintf (keys [n++], sizeof (keys [0]), "sc:u:{g:%d}:%d", gid, m);
    int found = 0, expiring = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *ttl = qy_redis_cmd (s_redis, "PTTL %s", keys [i]);
        found += ttl && ttl->integer != -2;
        expiring += ttl && ttl->integer > 0;
        if (ttl && ttl->integer == -1)
            printf ("no expiry: %s\n", keys [i]);
        if (ttl)
            freeReplyObject (ttl);
    }
    printf ("%s: every key of group %d expires (%d of %d)\n", found > 10 && found == expiring ? "ok" : "FAIL", gid,
            expiring, found);
    return found > 10 && found == expiring;
}

int main (int argc, char **argv)
{
    if (argc < 3) {
        fprintf (stderr, "usage: scoring_tally REDIS_PORT SCRIPT_PATH [ROUNDS] [SEED]\n");
        return 2;
    }
    s_redis = qy_redis_new ("127.0.0.1", atoi (argv [1]));
    qy_buf_t src;
    qy_buf_init (&src);
    if (!qy_buf_read_file (&src, argv [2])) {
        fprintf (stderr, "cannot read %s\n", argv [2]);
        return 2;
    }
    int rounds = argc > 3 ? atoi (argv [3]) : 300;
    unsigned seed = argc > 4 ? (unsigned) atoi (argv [4]) : 19;
    srand (seed);
    s_brands = scoring_brands_new (NULL);
    scoring_brand_t b = { .id = 1, .tz_offset_min = 480 };
    qy_snprintf (b.code, sizeof (b.code), "b1");
    scoring_settings_default (&b.settings);
    scoring_brands_put (s_brands, &b);
    b.id = 2;
    scoring_brands_put (s_brands, &b);
    //  Rounds about ten minutes apart, from two days ago: day boundaries crossed.
    int64_t t0 = qy_now_us () / 1000000 - 2 * 86400;
    for (int r = 0; r < rounds && s_failures < 10; r++)
        s_round (src.data, r, t0 + r * 600);
    redisReply *before = qy_redis_cmd (s_redis, "INFO commandstats");
    s_race (atoi (argv [1]), rounds, seed, t0);
    redisReply *after = qy_redis_cmd (s_redis, "INFO commandstats");
    qy_buf_t a, bb, cc;
    qy_buf_init (&a);
    qy_buf_init (&bb);
    qy_buf_init (&cc);
    int32_t day = qy_day_of ((t0 + rounds * 600) * 1000000, 480);
    s_dump (S_GA, day, &a);
    s_dump (S_GB, day, &bb);
    s_dump (S_GC, day, &cc);
    //  Transactions run again: more EXECs than the two processes' batches.
    const char *eb = before ? strstr (before->str, "cmdstat_exec:calls=") : NULL;
    const char *ea = after ? strstr (after->str, "cmdstat_exec:calls=") : NULL;
    long long execs = (ea ? atoll (ea + 19) : 0) - (eb ? atoll (eb + 19) : 0);
    bool raced = strcmp (a.data, cc.data) == 0 && s_failures == 0;
    printf ("%s: two replicas counting the same %d batches at once leave the keys as one did (%lld EXECs for %d "
            "batches)\n", raced ? "ok" : "FAIL", rounds, execs, 2 * rounds);
    if (!raced)
        printf ("once:\n%s\ntwice at once:\n%s\n", a.data, cc.data);
    if (before)
        freeReplyObject (before);
    if (after)
        freeReplyObject (after);
    qy_buf_free (&cc);
    bool same = a.len > 1000 && strcmp (a.data, bb.data) == 0;
    printf ("%s: %d random batches, each event's outcome and standing the same as the script's\n",
            s_failures ? "FAIL" : "ok", rounds);
    printf ("%s: every key of the group the same as the script left it (%zu bytes compared)\n", same ? "ok" : "FAIL",
            a.len);
    if (!same)
        printf ("C:\n%s\nscript:\n%s\n", a.data, bb.data);
    same = s_unread_absent (day) && same;
    same = s_all_expire (S_GA, day) && same;
    same = s_all_expire (S_GC, day) && same;
    qy_buf_free (&a);
    qy_buf_free (&bb);
    qy_buf_free (&src);
    scoring_brands_destroy (&s_brands);
    qy_redis_destroy (&s_redis);
    return s_failures || !same || !raced ? 1 : 0;
}
