//  Behaviour windows counted in C (moderation_behaviour_count.c) and the
//  pipeline a call's counting sends (moderation_behaviour_pipeline.c):
//  the counts each event gets, one at a time in batch order, as the Lua
//  script's ZCOUNT per event gave them; the commands; the counting from
//  replies, without Redis.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "moderation.h"
#include "moderation_behaviour.h"

#define W 10000         //  a 10 s window

//  Flood: what was there before counts by its time, (t - w, t]; the batch's
//  events count themselves and the ones before them, never a later one.
static void test_window_in_order (void **state)
{
    (void) state;
    int64_t t = 1763604000000LL;
    //  Read after the batch's ZADD: two older messages, the batch's three.
    moderation_entry_t read [] = { { "old1", t - W }, { "old2", t - 5000 }, { "a", t }, { "b", t + 1000 },
                                   { "c", t + 2000 } };
    moderation_mark_t ev [] = { { "a", t, W }, { "b", t + 1000, W }, { "c", t + 2000, W } };
    long c [3];
    moderation_window_counts (read, 5, ev, 3, 4, c);
    //  old1 at exactly t - w is outside (t - w, t]: the script's ZCOUNT t-w+1 t.
    assert_int_equal (c [0], 2);
    assert_int_equal (c [1], 3);
    assert_int_equal (c [2], 4);
    //  A redelivered batch, with its ids in Redis already: the same counts.
    long again [3];
    moderation_window_counts (read, 5, ev, 3, 4, again);
    assert_memory_equal (c, again, sizeof (c));
    //  Read before the first delivery wrote (another replica's view): the same.
    moderation_window_counts (read, 2, ev, 3, 4, again);
    assert_memory_equal (c, again, sizeof (c));
    //  Six messages in one millisecond from one member: 1..6 in batch order.
    moderation_mark_t burst [6] = { { "m1", t, W }, { "m2", t, W }, { "m3", t, W },
                                    { "m4", t, W }, { "m5", t, W }, { "m6", t, W } };
    long b [6];
    moderation_window_counts (NULL, 0, burst, 6, 4, b);
    for (int i = 0; i < 6; i++)
        assert_int_equal (b [i], i + 1);
    //  An id given twice in a batch is one message.
    moderation_mark_t twice [3] = { { "x", t, W }, { "x", t, W }, { "y", t + 1, W } };
    moderation_window_counts (NULL, 0, twice, 3, 4, b);
    assert_int_equal (b [0], 1);
    assert_int_equal (b [1], 1);
    assert_int_equal (b [2], 2);
}

//  Another replica's message at a time before a batch event is counted by
//  it (it reached Redis first); one after it is not. A batch out of time
//  order: the later message's trim (keep × w) removes what was there
//  before, but not the earlier message added after it, as the script did.
static void test_window_replicas_and_order (void **state)
{
    (void) state;
    int64_t t = 1763604000000LL;
    moderation_entry_t read [] = { { "r1", t - 100 }, { "a", t }, { "r2", t + 100 } };
    moderation_mark_t ev [] = { { "a", t, W } };
    long c [2];
    moderation_window_counts (read, 3, ev, 1, 4, c);
    assert_int_equal (c [0], 2);
    //  Out of order: e0 at 100 s trims at or below 96 s (4 × 1 s), so the
    //  95 s message read is gone for e1 at 95.5 s, which counts only itself.
    moderation_entry_t old [] = { { "o", 95000 }, { "e1", 95500 }, { "e0", 100000 } };
    moderation_mark_t late [] = { { "e0", 100000, 1000 }, { "e1", 95500, 1000 } };
    moderation_window_counts (old, 3, late, 2, 4, c);
    assert_int_equal (c [0], 1);
    assert_int_equal (c [1], 1);
    //  In time order, the same three: e1 counts o, e0 counts e0 alone.
    moderation_mark_t ordered [] = { { "e1", 95500, 1000 }, { "e0", 100000, 1000 } };
    moderation_window_counts (old, 3, ordered, 2, 4, c);
    assert_int_equal (c [0], 2);
    assert_int_equal (c [1], 1);
}

//  The wave: distinct members in (t - w, t + w], this member's groups and
//  stores; the entries' scores are those before the batch.
static void test_wave (void **state)
{
    (void) state;
    int64_t t = 1763604000000LL;
    moderation_entry_t read [] = { { "4:6:s3", t - 1000 }, { "bad entry", t } };
    moderation_mark_t ev [] = { { "1:5:s1", t, W }, { "2:5:s1", t + 10, W }, { "3:5:s2", t + 20, W } };
    moderation_counts_t c [3] = { { 0 } };
    moderation_wave_counts (read, 2, ev, 3, c);
    long want [3][3] = { { 1, 2, 1 }, { 2, 2, 1 }, { 3, 2, 2 } };  //  groups, members, stores
    for (int i = 0; i < 3; i++) {
        assert_int_equal (c [i].wave_groups, want [i][0]);
        assert_int_equal (c [i].wave_members, want [i][1]);
        assert_int_equal (c [i].wave_stores, want [i][2]);
    }
    //  Member 7's entry is 1.5 windows old (kept, not counted); its own later
    //  message of the batch brings it back into the window, but only from
    //  that message on: the first event counts one member.
    moderation_entry_t older [] = { { "1:7:s1", t - 3 * W / 2 } };
    moderation_mark_t ev2 [] = { { "2:5:s1", t, W }, { "1:7:s1", t, W }, { "3:5:s1", t + 1, W } };
    moderation_wave_counts (older, 1, ev2, 3, c);
    assert_int_equal (c [0].wave_members, 1);
    assert_int_equal (c [1].wave_members, 2);
    assert_int_equal (c [1].wave_groups, 1);
    assert_int_equal (c [2].wave_members, 2);
    assert_int_equal (c [2].wave_groups, 2);
    //  Two windows back is trimmed; the future within a window counts.
    moderation_entry_t edge [] = { { "1:8:s1", t - 2 * W }, { "1:9:s1", t + W }, { "1:10:s1", t + W + 1 } };
    moderation_mark_t one [] = { { "2:5:s1", t, W } };
    moderation_wave_counts (edge, 3, one, 1, c);
    assert_int_equal (c [0].wave_members, 2);
}

//  The cap: 2,000 entries at most, the lowest by score (then by name) go.
static void test_wave_cap (void **state)
{
    (void) state;
    int64_t t = 1763604000000LL;
    moderation_entry_t *read = calloc (2000, sizeof (*read));
    char (*names) [32] = calloc (2000, 32);
    for (int i = 0; i < 2000; i++) {
        snprintf (names [i], 32, "1:%d:s1", 1000 + i);
        read [i] = (moderation_entry_t) { names [i], t - 500 };
    }
    moderation_mark_t ev [] = { { "2:1:s1", t, W }, { "3:1:s1", t, W } };
    moderation_counts_t c [2] = { { 0 } };
    moderation_wave_counts (read, 2000, ev, 2, c);
    assert_int_equal (c [0].wave_members, 2000);        //  1:1000:s1 went
    assert_int_equal (c [1].wave_members, 1999);        //  and 1:1001:s1
    assert_int_equal (c [1].wave_groups, 2);
    free (names);
    free (read);
}

static void s_event (Qy__Event *ev, const char *id, Qy__Kind kind, int64_t member, int64_t t_ms)
{
    qy__event__init (ev);
    ev->msg_id = (char *) id;
    ev->brand_id = 7;
    ev->group_id = 12;
    ev->store_id = 3;
    ev->member_id = member;
    ev->kind = kind;
    ev->event_time_us = t_ms * 1000;
}

//  The command of c's kind on key, or -1.
static int s_find_cmd (const moderation_counting_t *cn, const char *cmd, const char *key)
{
    for (size_t c = 0; c < cn->ncmds; c++)
        if (strcmp (cn->argv [c][0], cmd) == 0 && strcmp (cn->argv [c][1], key) == 0)
            return (int) c;
    return -1;
}

typedef struct {
    redisReply  ok, nil, mget, *mgetv [8], reads [3], *readv [3][4], str [12];
    const char *null;
} s_replies_t;

//  A join then a chat of the same member in one call: the commands, then
//  the counts from replies as Redis would give them.
static void test_counting_plan (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);
    p.join_wave_joins = 1;              //  one join makes a wave here
    int64_t t = 1763604000000LL;
    Qy__Event ev [2];
    s_event (&ev [0], "j1", QY__KIND__JOIN, 9, t);
    s_event (&ev [1], "c1", QY__KIND__TEXT, 9, t + 5000);
    moderation_check_args_t a [2];
    moderation_check_in_t in [2] = { { &ev [0], true, false, 0 }, { &ev [1], true, true, 0xabcULL } };
    const moderation_check_args_t *args [2] = { &a [0], &a [1] };
    for (int i = 0; i < 2; i++)
        moderation_check_args (&a [i], &p, &in [i]);
    moderation_counting_t cn;
    moderation_counting_plan (&cn, args, 2);
    //  No flood rule: no flood key. Repeat and join ids written before they
    //  are read; the wave read before it is written; one MGET.
    assert_int_equal (s_find_cmd (&cn, "ZADD", "fl:{b:7}:12:9"), -1);
    int zr = s_find_cmd (&cn, "ZADD", "rp:{b:7}:12:9:0000000000000abc");
    //  One event on the key: Redis counts it (ZCOUNT), no read with scores.
    assert_int_equal (s_find_cmd (&cn, "ZRANGEBYSCORE", "rp:{b:7}:12:9:0000000000000abc"), -1);
    int rr = s_find_cmd (&cn, "ZCOUNT", "rp:{b:7}:12:9:0000000000000abc");
    int rt = s_find_cmd (&cn, "ZREMRANGEBYSCORE", "rp:{b:7}:12:9:0000000000000abc");
    assert_true (zr >= 0 && zr < rr && rr < rt);
    assert_string_equal (cn.argv [zr][3], "c1");
    assert_string_equal (cn.argv [rr][2], "(1763603405000");       //  from t + 5 s - 600 s
    assert_string_equal (cn.argv [rr][3], "1763604005000");
    assert_string_equal (cn.argv [rt][3], "1763602805000");        //  two windows kept
    int jw = s_find_cmd (&cn, "ZCOUNT", "jw:{b:7}:3");
    int wr = s_find_cmd (&cn, "ZRANGEBYSCORE", "sw:{b:7}:0000000000000abc");
    int wz = s_find_cmd (&cn, "ZADD", "sw:{b:7}:0000000000000abc");
    assert_true (jw >= 0 && wr >= 0 && wr < wz);
    assert_string_equal (cn.argv [wz][2], "GT");
    assert_string_equal (cn.argv [wz][4], "12:9:3");
    assert_string_equal (cn.argv [wr][3], "+inf");
    assert_int_equal (s_find_cmd (&cn, "ZREMRANGEBYRANK", "sw:{b:7}:0000000000000abc"), -1);  //  only when needed
    assert_int_equal (cn.argc [cn.mget_cmd], 5);
    assert_string_equal (cn.argv [cn.mget_cmd][1], "jn:{b:7}:12:9");
    assert_string_equal (cn.argv [cn.mget_cmd][3], "jwf:{b:7}:3");
    int set = s_find_cmd (&cn, "SET", "jn:{b:7}:12:9");
    assert_true (set > (int) cn.mget_cmd);
    assert_string_equal (cn.argv [set][2], "1763604000000");
    assert_string_equal (cn.argv [set][4], "259200000");          //  72 h
    //  Replies: every write OK, the reads hold the batch's own ids, nothing held before.
    s_replies_t r = { .ok = { .type = REDIS_REPLY_INTEGER, .integer = 1 }, .nil = { .type = REDIS_REPLY_NIL } };
    for (size_t c = 0; c < cn.ncmds; c++)
        cn.replies [c] = &r.ok;
    const char *strs [] = { "c1", "1763604005000", "j1", "1763604000000" };
    for (int i = 0; i < 4; i++)
        r.str [i] = (redisReply) { .type = REDIS_REPLY_STRING, .str = (char *) strs [i], .len = strlen (strs [i]) };
    r.reads [0] = (redisReply) { .type = REDIS_REPLY_INTEGER, .integer = 1 };     //  the chat itself
    r.reads [1] = (redisReply) { .type = REDIS_REPLY_INTEGER, .integer = 1 };     //  the join itself
    r.reads [2] = (redisReply) { .type = REDIS_REPLY_ARRAY, .elements = 0, .element = r.readv [2] };
    cn.replies [rr] = &r.reads [0];
    cn.replies [jw] = &r.reads [1];
    cn.replies [wr] = &r.reads [2];
    r.mget = (redisReply) { .type = REDIS_REPLY_ARRAY, .elements = 4, .element = r.mgetv };
    for (int i = 0; i < 4; i++)
        r.mgetv [i] = &r.nil;
    cn.replies [cn.mget_cmd] = &r.mget;
    cn.appended = cn.ncmds;
    moderation_counting_count (&cn);
    assert_true (cn.ok [0] && cn.ok [1]);
    assert_true (cn.raised [0]);                            //  the join started a wave
    assert_true (cn.counts [0].join_wave && cn.counts [1].join_wave);
    assert_int_equal (cn.counts [1].repeat, 1);
    assert_int_equal (cn.counts [1].joined_ms, t);          //  the join before it in the batch
    assert_int_equal (cn.counts [1].wave_groups, 1);
    assert_int_equal (cn.counts [1].wave_members, 1);
    assert_int_equal (cn.counts [0].joined_ms, 0);          //  a join reads no joined time
    //  Redelivered: Redis holds the join time and the flag it wrote; the same counts.
    for (int i = 0; i < 4; i++)
        r.mgetv [i] = &r.str [3];
    moderation_counting_count (&cn);
    assert_int_equal (cn.counts [1].joined_ms, t);
    assert_true (cn.counts [1].join_wave);
    //  A key of the wrong type: that window's events have no counts, the others do.
    redisReply err = { .type = REDIS_REPLY_ERROR, .str = "WRONGTYPE Operation against a key" };
    cn.replies [rt] = &err;
    moderation_counting_count (&cn);
    assert_true (cn.ok [0] && !cn.ok [1]);
    assert_string_equal (cn.error, err.str);
    //  A reply that never came: nothing counts.
    cn.replies [rt] = NULL;
    moderation_counting_count (&cn);
    assert_true (!cn.ok [0] && !cn.ok [1]);
    for (size_t c = 0; c < cn.ncmds; c++)
        cn.replies [c] = NULL;      //  not the plan's to free here
    moderation_counting_free (&cn);
}

//  A chat before its sender's join in one batch (a member back after
//  leaving), redelivered: what the first delivery wrote for the later join
//  (the joined time, the wave flag) is not seen by the chat before it.
static void test_counting_own_later_writes (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);
    p.join_wave_joins = 1;
    int64_t t = 1763604000000LL;
    Qy__Event ev [2];
    s_event (&ev [0], "c1", QY__KIND__TEXT, 9, t);
    s_event (&ev [1], "j1", QY__KIND__JOIN, 9, t + 5000);
    moderation_check_args_t a [2];
    moderation_check_in_t in [2] = { { &ev [0], true, false, 0 }, { &ev [1], true, false, 0 } };
    const moderation_check_args_t *args [2] = { &a [0], &a [1] };
    for (int i = 0; i < 2; i++)
        moderation_check_args (&a [i], &p, &in [i]);
    moderation_counting_t cn;
    moderation_counting_plan (&cn, args, 2);
    redisReply ok = { .type = REDIS_REPLY_INTEGER, .integer = 1 }, nil = { .type = REDIS_REPLY_NIL };
    redisReply ts = { .type = REDIS_REPLY_STRING, .str = "1763604005000" };
    redisReply older = { .type = REDIS_REPLY_STRING, .str = "1763600000000" };
    redisReply joins = { .type = REDIS_REPLY_INTEGER, .integer = 1 };
    redisReply *mv [4] = { &ts, &nil, &ts, &nil }, mget = { .type = REDIS_REPLY_ARRAY, .elements = 4, .element = mv };
    for (size_t c = 0; c < cn.ncmds; c++)
        cn.replies [c] = &ok;
    cn.replies [s_find_cmd (&cn, "ZCOUNT", "jw:{b:7}:3")] = &joins;
    cn.replies [cn.mget_cmd] = &mget;
    cn.appended = cn.ncmds;
    moderation_counting_count (&cn);
    assert_true (cn.ok [0] && cn.ok [1] && cn.raised [1]);
    assert_int_equal (cn.counts [0].joined_ms, 0);
    assert_false (cn.counts [0].join_wave);
    assert_true (cn.counts [1].join_wave);
    //  A flag and a join time from before the batch are seen.
    mv [0] = mv [2] = &older;
    moderation_counting_count (&cn);
    assert_int_equal (cn.counts [0].joined_ms, 1763600000000LL);
    assert_true (cn.counts [0].join_wave);
    for (size_t c = 0; c < cn.ncmds; c++)
        cn.replies [c] = NULL;
    moderation_counting_free (&cn);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_window_in_order),
        cmocka_unit_test (test_window_replicas_and_order),
        cmocka_unit_test (test_wave),
        cmocka_unit_test (test_wave_cap),
        cmocka_unit_test (test_counting_plan),
        cmocka_unit_test (test_counting_own_later_writes),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
