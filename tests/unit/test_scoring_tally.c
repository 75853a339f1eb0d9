//  scoring_count_tally and scoring_kv: a batch of a group's events counted
//  without Redis, each as it would be alone, and the writes it leaves (each
//  key once, counters summed). The Lua script it replaced is compared
//  with it on random batches against a real Redis by the integration case
//  scoring_tally.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "scoring.h"
#include "qy/util.h"

#define S_DAY_S 86400LL
#define S_T0 1700000000LL       //  2023-11-14 22:13:20 UTC
#define S_DAY ((int32_t) (S_T0 / S_DAY_S))

static const scoring_count_config_t s_cfg = { .ttl_s = 2 * S_DAY_S, .member_ttl_s = 30 * S_DAY_S,
                                              .half_short_s = 3 * S_DAY_S, .half_long_s = 30 * S_DAY_S,
                                              .reply_window_s = 600, .post_window_s = 1800, .substantial_chars = 10 };

//  Room for a batch: events, their keys and member ids.
typedef struct {
    scoring_tally_event_t ev [8];
    scoring_keys_t        k [8];
    char                  member [8][16];
    scoring_tally_answer_t ans [8];
    size_t                n;
} s_batch_t;

//  Add a message (or kind) of member in group 10 at S_T0 + dt.
static scoring_tally_event_t *s_add (s_batch_t *b, const char *id, scoring_kind_t kind, int member, int64_t dt)
{
    size_t i = b->n++;
    qy_snprintf (b->member [i], sizeof (b->member [i]), "%d", member);
    scoring_keys (&b->k [i], 1, 10, member, (S_T0 + dt) * 1000000, 0);
    b->ev [i] = (scoring_tally_event_t) { .msg_id = id, .kind = kind, .member = b->member [i], .hour = b->k [i].hour,
                                          .t = S_T0 + dt, .day = b->k [i].day, .user = "", .ref = "",
                                          .channel = "0", .keys = &b->k [i] };
    return &b->ev [i];
}

//  What a first batch of the day reads: every read key empty.
static void s_empty (scoring_kv_t *kv, const s_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        scoring_kv_load_len (kv, b->k [i].members, 0);
}

//  Whether the writes hold the command words (spaces between).
static bool s_has (scoring_kv_t *kv, const char *want)
{
    scoring_cmd_t *cmds;
    size_t n = scoring_kv_commands (kv, &cmds);
    bool found = false;
    for (size_t c = 0; c < n && !found; c++) {
        qy_buf_t b;
        qy_buf_init (&b);
        for (int a = 0; a < cmds [c].argc; a++)
            qy_buf_printf (&b, a ? " %s" : "%s", cmds [c].argv [a]);
        found = strcmp (b.data, want) == 0;
        qy_buf_free (&b);
    }
    scoring_cmds_free (cmds, n);
    return found;
}

static bool s_hasf (scoring_kv_t *kv, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    qy_buf_t b;
    qy_buf_init (&b);
    qy_buf_vprintf (&b, fmt, ap);
    va_end (ap);
    bool found = s_has (kv, b.data);
    qy_buf_free (&b);
    return found;
}

//  Whether any write goes to a key starting with prefix.
static bool s_writes (scoring_kv_t *kv, const char *prefix)
{
    scoring_cmd_t *cmds;
    size_t n = scoring_kv_commands (kv, &cmds);
    bool found = false;
    for (size_t c = 0; c < n && !found; c++)
        found = strncmp (cmds [c].key, prefix, strlen (prefix)) == 0;
    scoring_cmds_free (cmds, n);
    return found;
}

static const char *s_val (const scoring_tally_answer_t *a, int field)
{
    return a->values [field] ? a->values [field] : "(nil)";
}

//  Two messages and a redelivery in one batch: each key written once,
//  counters summed; the second an answer to the first speaker within the
//  window (a reply edge); the day's first event sets the day keys' expiry.
static void test_messages (void **state)
{
    (void) state;
    s_batch_t b = { 0 };
    s_add (&b, "a", SCORING_MSG, 1, 0);
    s_add (&b, "b", SCORING_MSG, 2, 60)->substantial = true;
    s_add (&b, "a", SCORING_MSG, 1, 0);
    scoring_kv_t *kv = scoring_kv_new ();
    s_empty (kv, &b);
    scoring_count_tally (&s_cfg, kv, b.ev, b.n, b.ans);
    assert_int_equal (b.ans [0].outcome, SCORING_COUNTED);
    assert_int_equal (b.ans [1].outcome, SCORING_COUNTED);
    assert_int_equal (b.ans [2].outcome, SCORING_SEEN);
    //  Each event's standing as after it; the redelivery's as it stands.
    assert_int_equal (b.ans [0].member_msgs, 1);
    assert_int_equal (b.ans [0].group_msgs, 1);
    assert_int_equal (b.ans [0].active, 1);
    assert_int_equal (b.ans [1].group_msgs, 2);
    assert_int_equal (b.ans [1].active, 2);
    assert_int_equal (b.ans [2].group_msgs, 2);
    assert_string_equal (s_val (&b.ans [0], SCORING_F_first), "19675");
    assert_string_equal (s_val (&b.ans [0], SCORING_F_in), "1");
    assert_string_equal (s_val (&b.ans [0], SCORING_F_as), "1");
    assert_string_equal (s_val (&b.ans [0], SCORING_F_at), "1700000000");
    assert_string_equal (s_val (&b.ans [1], SCORING_F_subs), "1");
    assert_string_equal (s_val (&b.ans [1], SCORING_F_streak), "1");
    //  Summed, one command each.
    assert_true (s_hasf (kv, "HINCRBY sc:g:{g:10}:%d msgs 2", S_DAY));
    assert_true (s_hasf (kv, "HINCRBY sc:g:{g:10}:%d n 2", S_DAY));
    assert_true (s_hasf (kv, "HINCRBY sc:g:{g:10}:%d h22 2", S_DAY));
    assert_true (s_hasf (kv, "SADD sc:ids:{g:10}:%d a b", S_DAY));
    assert_true (s_hasf (kv, "HSET sc:w:{g:10}:%d a 1 b 2", S_DAY));
    assert_true (s_has (kv, "SADD sc:mem:{g:10} 1 2"));
    //  The reply edge: 2 answered 1 within the window.
    assert_true (s_has (kv, "HINCRBY sc:r:{g:10} r:1 1"));
    assert_true (s_has (kv, "ZINCRBY sc:lb:{g:10} 1 1"));
    assert_true (s_hasf (kv, "HSET sc:gs:{g:10} lm 2 lt 1700000060 xd %d", S_DAY));   //  xd: the first event renewed
    //  Expiry: day keys by their first counter, the group's keys by the
    //  day's first event (unconditional), the member hashes.
    assert_true (s_hasf (kv, "EXPIRE sc:ids:{g:10}:%d 172800", S_DAY));
    assert_true (s_hasf (kv, "EXPIRE sc:w:{g:10}:%d 259200", S_DAY));
    assert_true (s_has (kv, "EXPIRE sc:mem:{g:10} 2592000"));
    assert_true (s_has (kv, "EXPIRE sc:u:{g:10}:2 2592000"));
    assert_false (s_hasf (kv, "HINCRBY sc:g:{g:10}:%d msgs 3", S_DAY));
    //  No key that nothing reads: the day's speakers are the members
    //  hash's fields, its reply edges the replies received.
    assert_false (s_writes (kv, "sc:a:"));
    assert_false (s_writes (kv, "sc:e:"));
    scoring_kv_destroy (&kv);
}

//  What was read decides: an id in the day's set is seen; a later event of
//  the day (n already 4) gives new group keys EXPIRE NX only, and n, read,
//  is written as its new value (joins, not read, as an increment); an event
//  older than the window counts nothing; a key of the wrong type sets its
//  events aside.
static void test_read (void **state)
{
    (void) state;
    s_batch_t b = { 0 };
    s_add (&b, "x", SCORING_MSG, 1, 0);
    s_add (&b, "y", SCORING_JOIN, 3, 10);
    s_add (&b, "z", SCORING_MSG, 4, 20)->old = true;
    s_add (&b, "w", SCORING_MSG, 5, 30);
    scoring_kv_t *kv = scoring_kv_new ();
    s_empty (kv, &b);
    scoring_kv_load_len (kv, b.k [0].members, 7);
    scoring_kv_load_member (kv, b.k [0].ids, "x", true);
    scoring_kv_load (kv, b.k [0].group, "n", "4");
    scoring_kv_load (kv, b.k [0].group, "msgs", "9");
    scoring_kv_load (kv, b.k [4 - 1].member, "msgs", "2");
    scoring_kv_break (kv, b.k [3].member);
    scoring_count_tally (&s_cfg, kv, b.ev, b.n, b.ans);
    assert_int_equal (b.ans [0].outcome, SCORING_SEEN);
    assert_int_equal (b.ans [0].group_msgs, 9);
    assert_int_equal (b.ans [0].active, 7);
    assert_int_equal (b.ans [1].outcome, SCORING_COUNTED);
    assert_int_equal (b.ans [2].outcome, SCORING_TOO_OLD);
    assert_int_equal (b.ans [3].outcome, SCORING_REJECTED);
    assert_true (s_hasf (kv, "HSET sc:g:{g:10}:%d n 5", S_DAY));
    assert_false (s_hasf (kv, "HINCRBY sc:g:{g:10}:%d n 1", S_DAY));
    assert_true (s_hasf (kv, "HINCRBY sc:g:{g:10}:%d joins 1", S_DAY));
    assert_false (s_hasf (kv, "HINCRBY sc:g:{g:10}:%d msgs 1", S_DAY));
    assert_true (s_has (kv, "EXPIRE sc:mem:{g:10} 2592000 NX"));
    assert_true (s_has (kv, "EXPIRE sc:ch:{g:10} 2592000 NX"));
    assert_false (s_hasf (kv, "EXPIRE sc:ids:{g:10}:%d 172800", S_DAY));
    assert_true (s_hasf (kv, "SADD sc:ids:{g:10}:%d y", S_DAY));
    scoring_kv_destroy (&kv);
}

//  A group's long-lived keys read to exist (so each has its expiry) get no
//  EXPIRE NX; one not read to exist does, and the day's first event still
//  moves every expiry on.
static void test_lasting (void **state)
{
    (void) state;
    s_batch_t b = { 0 };
    s_add (&b, "y", SCORING_JOIN, 3, 10);
    scoring_kv_t *kv = scoring_kv_new ();
    s_empty (kv, &b);
    scoring_kv_load (kv, b.k [0].group, "n", "4");
    scoring_kv_lasting (kv, b.k [0].roster);
    scoring_count_tally (&s_cfg, kv, b.ev, b.n, b.ans);
    assert_int_equal (b.ans [0].outcome, SCORING_COUNTED);
    assert_true (s_has (kv, "SADD sc:mem:{g:10} 3"));
    assert_false (s_has (kv, "EXPIRE sc:mem:{g:10} 2592000 NX"));
    assert_true (s_has (kv, "EXPIRE sc:ch:{g:10} 2592000 NX"));
    scoring_kv_destroy (&kv);
    //  The day's first event: EXPIRE without NX, lasting or not.
    kv = scoring_kv_new ();
    s_empty (kv, &b);
    scoring_kv_lasting (kv, b.k [0].roster);
    scoring_count_tally (&s_cfg, kv, b.ev, b.n, b.ans);
    assert_true (s_has (kv, "EXPIRE sc:mem:{g:10} 2592000"));
    scoring_kv_destroy (&kv);
}

//  The renewal period: a day renew_days or more after the last renewal
//  moves the expiry on; a day before it (a late event) does not; no
//  renewal known (or not a number), always.
static void test_renew_due (void **state)
{
    (void) state;
    assert_true (scoring_renew_due (NULL, 100, 7));
    assert_true (scoring_renew_due ("", 100, 7));
    assert_true (scoring_renew_due ("9x", 100, 7));
    assert_false (scoring_renew_due ("100", 106, 7));
    assert_true (scoring_renew_due ("100", 107, 7));
    assert_false (scoring_renew_due ("100", 99, 7));
    assert_false (scoring_renew_due ("100", 100, 1));
    assert_true (scoring_renew_due ("100", 101, 1));
    assert_true (scoring_renew_due ("100", 101, 0));
}

//  With members.renew_days 7, the day's first event moves the group's
//  long-lived keys' expiry on only a week after the last move (to the TTL
//  plus the week, noting the day in the state hash), and otherwise gives
//  only a key it may have made an EXPIRE NX; a member's hash likewise (the
//  day in its own xd).
static void test_renewal (void **state)
{
    (void) state;
    scoring_count_config_t cfg = s_cfg;
    cfg.renew_days = 7;
    char day [24], moved [24];
    for (int ago = 3; ago <= 7; ago += 4) {
        s_batch_t b = { 0 };
        s_add (&b, "y", SCORING_JOIN, 3, 10);
        scoring_kv_t *kv = scoring_kv_new ();
        s_empty (kv, &b);
        qy_snprintf (moved, sizeof (moved), "%d", S_DAY - ago);
        scoring_kv_load (kv, b.k [0].state, "xd", moved);
        scoring_kv_load (kv, b.k [0].member, "first", "1");
        scoring_kv_load (kv, b.k [0].member, "xd", moved);
        scoring_kv_lasting (kv, b.k [0].roster);
        scoring_count_tally (&cfg, kv, b.ev, b.n, b.ans);
        assert_int_equal (b.ans [0].outcome, SCORING_COUNTED);
        qy_snprintf (day, sizeof (day), "%d", S_DAY);
        bool renewed = ago == 7;
        assert_int_equal (s_hasf (kv, "HSET sc:gs:{g:10} xd %s", day), renewed);
        assert_int_equal (s_has (kv, "EXPIRE sc:mem:{g:10} 3196800"), renewed);     //  (30 + 7) days
        assert_int_equal (s_has (kv, "EXPIRE sc:ch:{g:10} 3196800"), renewed);
        assert_int_equal (s_has (kv, "EXPIRE sc:ch:{g:10} 2592000 NX"), !renewed);   //  written, may be new
        assert_false (s_has (kv, "EXPIRE sc:mem:{g:10} 2592000 NX"));                 //  read to exist
        assert_false (s_has (kv, "EXPIRE sc:mem:{g:10} 2592000"));
        assert_int_equal (s_has (kv, "EXPIRE sc:u:{g:10}:3 3196800"), renewed);
        assert_false (s_has (kv, "EXPIRE sc:u:{g:10}:3 2592000"));
        assert_string_equal (s_val (&b.ans [0], SCORING_F_xd), renewed ? day : moved);
        //  The day keys as before.
        assert_true (s_hasf (kv, "EXPIRE sc:ids:{g:10}:%d 172800", S_DAY));
        scoring_kv_destroy (&kv);
    }
}

//  The kv's interning: a key's number is dense and the same however often
//  it is asked; a read's entry (made once) is what a look-up by name finds,
//  a hash field and a set member of one name are two entries; thousands of
//  keys and fields (the tables growing) keep their values, and a value
//  read stays readable after it is overwritten. A counter on a field
//  read is written as its value, one on a field not read as its sum.
static void test_kv_interning (void **state)
{
    (void) state;
    scoring_kv_t *kv = scoring_kv_new ();
    assert_int_equal (scoring_kv_key (kv, "sc:g:{g:1}:5"), 0);
    assert_int_equal (scoring_kv_key (kv, "sc:m:{g:1}:5"), 1);
    assert_int_equal (scoring_kv_key (kv, "sc:g:{g:1}:5"), 0);
    bool made;
    size_t e = scoring_kv_entry (kv, 0, "msgs", false, &made);
    assert_true (made);
    assert_int_equal (scoring_kv_entry (kv, 0, "msgs", false, &made), e);
    assert_false (made);
    size_t m = scoring_kv_entry (kv, 0, "msgs", true, &made);
    assert_true (made);
    assert_int_not_equal (m, e);
    scoring_kv_load_at (kv, e, "41");
    assert_string_equal (scoring_kv_get (kv, "sc:g:{g:1}:5", "msgs"), "41");
    assert_int_equal (scoring_kv_hincr (kv, "sc:g:{g:1}:5", "msgs", 1), 42);
    assert_true (scoring_kv_sadd (kv, "sc:g:{g:1}:5", "msgs"));       //  the set member, not the field
    assert_string_equal (scoring_kv_get_at (kv, m), "1");
    const char *before = scoring_kv_get (kv, "sc:g:{g:1}:5", "msgs");
    for (int k = 0; k < 3000; k++) {
        char key [32], field [16], value [16];
        snprintf (key, sizeof (key), "sc:u:{g:%d}:%d", k % 7, k);
        for (int f = 0; f < 3; f++) {
            snprintf (field, sizeof (field), "f%d", f);
            snprintf (value, sizeof (value), "%d", k * 10 + f);
            scoring_kv_hset (kv, key, field, value);
        }
    }
    scoring_kv_hincr (kv, "sc:g:{g:1}:5", "msgs", 1);
    assert_string_equal (before, "42");
    assert_string_equal (scoring_kv_get (kv, "sc:g:{g:1}:5", "msgs"), "43");
    assert_int_equal (scoring_kv_key (kv, "sc:u:{g:3}:2999"), 2 + 2999);     //  2999 % 7 == 3
    for (int k = 0; k < 3000; k += 7) {
        char key [32], want [16];
        snprintf (key, sizeof (key), "sc:u:{g:%d}:%d", k % 7, k);
        snprintf (want, sizeof (want), "%d", k * 10 + 2);
        assert_string_equal (scoring_kv_get (kv, key, "f2"), want);
        assert_int_equal (scoring_kv_len (kv, key), 3);
    }
    assert_null (scoring_kv_get (kv, "sc:u:{g:0}:0", "f3"));
    assert_true (s_has (kv, "HSET sc:u:{g:0}:7 f0 70 f1 71 f2 72"));
    assert_true (s_has (kv, "HSET sc:g:{g:1}:5 msgs 43"));
    assert_false (s_has (kv, "HINCRBY sc:g:{g:1}:5 msgs 2"));
    //  Read and absent: its new value; never read: an increment.
    scoring_kv_entry (kv, 0, "joins", false, NULL);
    scoring_kv_hincr (kv, "sc:g:{g:1}:5", "joins", 2);
    scoring_kv_hincr (kv, "sc:g:{g:1}:5", "leaves", 3);
    assert_true (s_has (kv, "HSET sc:g:{g:1}:5 msgs 43 joins 2"));
    assert_true (s_has (kv, "HINCRBY sc:g:{g:1}:5 leaves 3"));
    scoring_kv_destroy (&kv);
}

//  Joins and leaves out of order: a leave before the join it ends takes
//  the member out and counts the cohort's early leave when the join
//  arrives; a later rejoin puts them back; an older leave then changes
//  nothing.
static void test_join_leave (void **state)
{
    (void) state;
    s_batch_t b = { 0 };
    s_add (&b, "l1", SCORING_LEAVE, 5, -600);
    s_add (&b, "j1", SCORING_JOIN, 5, -3600)->channel = "42";
    s_add (&b, "j2", SCORING_JOIN, 5, -300)->channel = "42";
    s_add (&b, "l2", SCORING_LEAVE, 5, -1200);
    scoring_kv_t *kv = scoring_kv_new ();
    s_empty (kv, &b);
    scoring_count_tally (&s_cfg, kv, b.ev, b.n, b.ans);
    assert_string_equal (s_val (&b.ans [0], SCORING_F_in), "0");
    assert_string_equal (s_val (&b.ans [0], SCORING_F_lu), "1");
    assert_string_equal (s_val (&b.ans [1], SCORING_F_in), "0");
    assert_string_equal (s_val (&b.ans [1], SCORING_F_lu), "0");
    assert_string_equal (s_val (&b.ans [1], SCORING_F_mch), "42");
    assert_string_equal (s_val (&b.ans [2], SCORING_F_in), "1");
    assert_string_equal (s_val (&b.ans [2], SCORING_F_jn), "2");
    assert_string_equal (s_val (&b.ans [3], SCORING_F_in), "1");
    assert_string_equal (s_val (&b.ans [3], SCORING_F_lv), "1699999400");
    int32_t jd = b.k [1].day;
    assert_true (s_hasf (kv, "HINCRBY sc:ch:{g:10} 42:l7:%d 1", jd));
    assert_true (s_hasf (kv, "HINCRBY sc:ch:{g:10} 42:l30:%d 1", jd));
    assert_true (s_hasf (kv, "HINCRBY sc:ch:{g:10} 42:j:%d 2", jd));
    assert_true (s_has (kv, "HINCRBY sc:ch:{g:10} 42:joins 2"));
    assert_true (s_has (kv, "HINCRBY sc:ch:{g:10} 42:mem 1"));
    scoring_kv_destroy (&kv);
}

//  A question answered by another member within the window (the open
//  question cleared: HDEL), a quote of a message of the same batch, a
//  mention resolved through the uids hash, a bot post and a response to it.
static void test_conversation (void **state)
{
    (void) state;
    s_batch_t b = { 0 };
    s_add (&b, "p", SCORING_MSG, 9, 0)->bot = true;
    scoring_tally_event_t *q = s_add (&b, "q", SCORING_MSG, 1, 10);
    q->question = true;
    q->user = "u1";
    scoring_tally_event_t *a = s_add (&b, "a", SCORING_MSG, 2, 20);
    a->ref = "q";
    static const char *mentions [] = { "u3" };
    a->mentions = mentions;
    a->nmentions = 1;
    scoring_kv_t *kv = scoring_kv_new ();
    s_empty (kv, &b);
    scoring_kv_load (kv, b.k [0].uids, "u3", "3");
    scoring_count_tally (&s_cfg, kv, b.ev, b.n, b.ans);
    assert_string_equal (s_val (&b.ans [2], SCORING_F_ans), "1");
    assert_true (s_hasf (kv, "HINCRBY sc:g:{g:10}:%d q 1", S_DAY));
    assert_true (s_hasf (kv, "HINCRBY sc:g:{g:10}:%d ans 1", S_DAY));
    assert_true (s_hasf (kv, "HINCRBY sc:g:{g:10}:%d posts 1", S_DAY));
    assert_true (s_hasf (kv, "HINCRBY sc:g:{g:10}:%d resp 2", S_DAY));
    assert_true (s_has (kv, "HDEL sc:gs:{g:10} qm"));
    assert_true (s_hasf (kv, "HSET sc:gs:{g:10} lm 2 pt 1700000000 lt 1700000020 qt 1700000010 xd %d", S_DAY));
    //  The quote and the mention, not the previous speaker.
    assert_true (s_has (kv, "HINCRBY sc:r:{g:10} r:1 1"));
    assert_true (s_has (kv, "HINCRBY sc:r:{g:10} n:3 1"));
    assert_true (s_has (kv, "HSET sc:uid:{g:10} u1 1"));
    assert_true (s_hasf (kv, "HINCRBY sc:g:{g:10}:%d replies 3", S_DAY));
    scoring_kv_destroy (&kv);
}

//  Decay: a message older than the last adds its own decayed weight (the
//  order of arrival does not matter), written as Lua's tostring wrote it.
static void test_decay (void **state)
{
    (void) state;
    s_batch_t b = { 0 };
    s_add (&b, "new", SCORING_MSG, 1, 3 * S_DAY_S);
    s_add (&b, "old", SCORING_MSG, 1, 0);
    scoring_kv_t *kv = scoring_kv_new ();
    s_empty (kv, &b);
    scoring_count_tally (&s_cfg, kv, b.ev, b.n, b.ans);
    assert_string_equal (s_val (&b.ans [1], SCORING_F_as), "1.5");
    assert_string_equal (s_val (&b.ans [1], SCORING_F_at), "1700259200");
    assert_string_equal (s_val (&b.ans [1], SCORING_F_al), "1.9330329915368");
    assert_string_equal (s_val (&b.ans [1], SCORING_F_days), "2");
    assert_string_equal (s_val (&b.ans [1], SCORING_F_streak), "1");
    assert_string_equal (s_val (&b.ans [1], SCORING_F_last), "19678");
    scoring_kv_destroy (&kv);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_messages),
        cmocka_unit_test (test_read),
        cmocka_unit_test (test_kv_interning),
        cmocka_unit_test (test_lasting),
        cmocka_unit_test (test_renew_due),
        cmocka_unit_test (test_renewal),
        cmocka_unit_test (test_join_leave),
        cmocka_unit_test (test_conversation),
        cmocka_unit_test (test_decay),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
