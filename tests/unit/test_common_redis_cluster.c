//  qy_redis_slot: the pure routing of Redis Cluster mode (key slots, the
//  key of a command, MOVED/ASK and the CLUSTER SLOTS map).
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "qy/redis_slot.h"

static int s_slot (const char *key)
{
    return qy_redis_keyslot (key, strlen (key));
}

//  The vectors are what CLUSTER KEYSLOT answers.
static void test_keyslot (void **state)
{
    (void) state;
    assert_int_equal (s_slot ("123456789"), 12739);
    assert_int_equal (s_slot ("foo"), 12182);
    assert_int_equal (s_slot ("bar"), 5061);
    assert_int_equal (s_slot ("{user1000}.following"), s_slot ("{user1000}.followers"));
    assert_int_equal (s_slot ("{user1000}.following"), 3443);
    //  An empty tag is no tag: the whole key is hashed.
    assert_int_equal (s_slot ("foo{}{bar}"), 8363);
    //  The tag ends at the first '}' after the first '{'.
    assert_int_equal (s_slot ("foo{{bar}}zap"), 4015);
    assert_int_equal (s_slot ("{bar"), 4015);
    assert_int_equal (s_slot ("foo{bar}{zap}"), s_slot ("bar"));
    //  A '{' without '}' hashes the whole key.
    assert_int_equal (s_slot ("foo{bar"), 15278);
    //  The keys a service uses together share their tag's slot.
    assert_int_equal (s_slot ("fl:{b:7}:1:2"), s_slot ("block:{b:7}"));
    assert_int_equal (s_slot (""), 0);
}

static int s_fmt_slot (int argc, const char **argv)
{
    char *cmd;
    long long len = redisFormatCommandArgv (&cmd, argc, argv, NULL);
    assert_true (len > 0);
    int slot = qy_redis_cmd_slot (cmd, (size_t) len);
    redisFreeCommand (cmd);
    return slot;
}

static void test_command_key (void **state)
{
    (void) state;
    const char *get [] = { "GET", "foo" };
    assert_int_equal (s_fmt_slot (2, get), 12182);
    const char *sadd [] = { "sadd", "{user1000}.x", "a", "b" };
    assert_int_equal (s_fmt_slot (4, sadd), s_slot ("user1000"));
    const char *eval [] = { "EVALSHA", "0123456789012345678901234567890123456789", "2", "bar", "foo", "x" };
    assert_int_equal (s_fmt_slot (6, eval), 5061);
    const char *eval0 [] = { "EVAL", "return 1", "0", "foo" };
    assert_int_equal (s_fmt_slot (4, eval0), -1);
    const char *eval12 [] = { "EVAL", "return 1", "12", "foo" };
    assert_int_equal (s_fmt_slot (4, eval12), 12182);
    const char *ping [] = { "PING" };
    assert_int_equal (s_fmt_slot (1, ping), -1);
    const char *info [] = { "INFO", "stats" };
    assert_int_equal (s_fmt_slot (2, info), -1);
    const char *script [] = { "SCRIPT", "LOAD", "return 1" };
    assert_int_equal (s_fmt_slot (3, script), -1);
    const char *cluster [] = { "cluster", "slots" };
    assert_int_equal (s_fmt_slot (2, cluster), -1);
    //  Binary keys and the printf-style formatter agree.
    char *cmd;
    int len = redisFormatCommand (&cmd, "SET %s %b", "foo", "v\0w", (size_t) 3);
    assert_int_equal (qy_redis_cmd_slot (cmd, (size_t) len), 12182);
    //  Cut short or not RESP at all: no key.
    assert_int_equal (qy_redis_cmd_slot (cmd, 12), -1);
    redisFreeCommand (cmd);
    assert_int_equal (qy_redis_cmd_slot ("GET foo\r\n", 9), -1);
}

static void test_redirects (void **state)
{
    (void) state;
    qy_redirect_t r;
    const char *moved = "MOVED 3999 127.0.0.1:6381";
    assert_int_equal (qy_redis_redirect_parse (moved, strlen (moved), &r), QY_REDIRECT_MOVED);
    assert_int_equal (r.slot, 3999);
    assert_string_equal (r.host, "127.0.0.1");
    assert_int_equal (r.port, 6381);
    const char *ask = "ASK 12182 ::1:7002";
    assert_int_equal (qy_redis_redirect_parse (ask, strlen (ask), &r), QY_REDIRECT_ASK);
    assert_int_equal (r.slot, 12182);
    assert_string_equal (r.host, "::1");
    assert_int_equal (r.port, 7002);
    //  An unknown endpoint: the node that answered.
    const char *bare = "MOVED 1 :7003";
    assert_int_equal (qy_redis_redirect_parse (bare, strlen (bare), &r), QY_REDIRECT_MOVED);
    assert_string_equal (r.host, "");
    assert_int_equal (r.port, 7003);
    const char *bad [] = { "NOSCRIPT No matching script", "MOVED 16384 h:1", "MOVED x h:1", "MOVED 12 h",
                           "MOVED 12 h:0", "ASK 12 h:12x", "MOVED 12", "CLUSTERDOWN The cluster is down" };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++)
        assert_int_equal (qy_redis_redirect_parse (bad [i], strlen (bad [i]), &r), QY_REDIRECT_NONE);
}

//  Inside a transaction a redirect or a cluster in flux runs it again, a
//  key of the wrong type sets that key's work aside, anything else (the
//  EXECABORT that follows a queued command's error included) is Redis away.
static void test_tx_errors (void **state)
{
    (void) state;
    const char *again [] = { "MOVED 3999 127.0.0.1:6381", "ASK 12182 ::1:7002",
                             "TRYAGAIN Multiple keys request during rehashing of slot", "CLUSTERDOWN The cluster is down" };
    for (size_t i = 0; i < sizeof (again) / sizeof (again [0]); i++)
        assert_int_equal (qy_redis_tx_error (again [i], strlen (again [i])), QY_TX_AGAIN);
    const char *wrong = "WRONGTYPE Operation against a key holding the wrong kind of value";
    assert_int_equal (qy_redis_tx_error (wrong, strlen (wrong)), QY_TX_WRONGTYPE);
    const char *away [] = { "EXECABORT Transaction discarded because of previous errors.", "LOADING Redis is loading",
                            "OOM command not allowed", "READONLY You can't write against a read only replica.",
                            "MOVEDX", "ASKING", "" };
    for (size_t i = 0; i < sizeof (away) / sizeof (away [0]); i++)
        assert_int_equal (qy_redis_tx_error (away [i], strlen (away [i])), QY_TX_AWAY);
    //  Only len bytes are looked at.
    assert_int_equal (qy_redis_tx_error ("MOVED 1 h:1", 4), QY_TX_AWAY);
}

//  Hand-built reply trees, freed with freeReplyObject like hiredis's own.
static redisReply *s_new (int type)
{
    redisReply *r = calloc (1, sizeof (*r));
    r->type = type;
    return r;
}

static redisReply *s_int (long long v)
{
    redisReply *r = s_new (REDIS_REPLY_INTEGER);
    r->integer = v;
    return r;
}

static redisReply *s_str (const char *s)
{
    redisReply *r = s_new (REDIS_REPLY_STRING);
    r->len = strlen (s);
    r->str = strdup (s);
    return r;
}

static redisReply *s_arr (size_t n, ...)
{
    redisReply *r = s_new (REDIS_REPLY_ARRAY);
    r->elements = n;
    r->element = calloc (n ? n : 1, sizeof (redisReply *));
    va_list ap;
    va_start (ap, n);
    for (size_t i = 0; i < n; i++)
        r->element [i] = va_arg (ap, redisReply *);
    va_end (ap);
    return r;
}

static redisReply *s_node (const char *host, long long port, const char *id)
{
    return s_arr (3, s_str (host), s_int (port), s_str (id));
}

static void test_slots_map (void **state)
{
    (void) state;
    redisReply *r = s_arr (3,
        s_arr (4, s_int (0), s_int (5460), s_node ("127.0.0.1", 30001, "a"), s_node ("127.0.0.1", 30004, "d")),
        s_arr (4, s_int (5461), s_int (10922), s_node ("10.0.0.2", 30002, "b"), s_node ("127.0.0.1", 30005, "e")),
        s_arr (3, s_int (10923), s_int (16383), s_node ("?", 30003, "c")));
    qy_slot_range_t *ranges;
    assert_int_equal (qy_redis_slots_parse (r, &ranges), 3);
    assert_int_equal (ranges [0].start, 0);
    assert_int_equal (ranges [0].end, 5460);
    assert_string_equal (ranges [0].host, "127.0.0.1");
    assert_int_equal (ranges [0].port, 30001);
    assert_string_equal (ranges [1].host, "10.0.0.2");
    assert_int_equal (ranges [1].port, 30002);
    assert_int_equal (ranges [2].end, 16383);
    assert_string_equal (ranges [2].host, "");
    assert_int_equal (ranges [2].port, 30003);
    //  Replicas after the master (a failed one is left out by Redis): only
    //  a master with one is waited for after a durable EXEC.
    assert_int_equal (ranges [0].replicas, 1);
    assert_int_equal (ranges [1].replicas, 1);
    assert_int_equal (ranges [2].replicas, 0);
    free (ranges);
    freeReplyObject (r);
    //  Not a map: an error (cluster support disabled), or a range out of bounds.
    redisReply *err = s_new (REDIS_REPLY_ERROR);
    assert_int_equal (qy_redis_slots_parse (err, &ranges), -1);
    assert_null (ranges);
    freeReplyObject (err);
    redisReply *wide = s_arr (1, s_arr (3, s_int (0), s_int (16384), s_node ("h", 1, "a")));
    assert_int_equal (qy_redis_slots_parse (wide, &ranges), -1);
    freeReplyObject (wide);
    redisReply *noport = s_arr (1, s_arr (3, s_int (0), s_int (10), s_arr (1, s_str ("h"))));
    assert_int_equal (qy_redis_slots_parse (noport, &ranges), -1);
    freeReplyObject (noport);
    //  A cluster with no slots assigned yet: an empty map.
    redisReply *none = s_arr (0);
    assert_int_equal (qy_redis_slots_parse (none, &ranges), 0);
    free (ranges);
    freeReplyObject (none);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_keyslot),
        cmocka_unit_test (test_command_key),
        cmocka_unit_test (test_redirects),
        cmocka_unit_test (test_tx_errors),
        cmocka_unit_test (test_slots_map),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
