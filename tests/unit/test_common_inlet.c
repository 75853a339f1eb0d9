//  qy_inlet: a stage's end of a bus hop, with credit (qy/inlet.h), against
//  a ROUTER standing in for the bus over inproc: the window granted at
//  start, more granted as messages are taken (a quarter window at a time),
//  nothing granted once goodbye is said, and drained only by the bus's
//  answer, after everything sent before it; numbered messages and "done"
//  (owed work). Packs (qy/pack.h): their events taken one by one and
//  counted against the credit one by one; a "done" said in the middle of
//  a pack names the message before it, not the pack; plain messages and
//  a malformed pack taken as one event each.
#include "qy/inlet.h"
#include "qy/pack.h"
#include "qy/util.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fake_bus.h"

typedef struct {
    void *ctx, *bus;
    qy_inlet_t *inlet;
    uint8_t id [256];
    size_t idlen;
} s_fix_t;

//  What the stage said last: op ('C', 'S', 'B') and n; 0 when nothing came.
static char s_heard (s_fix_t *f, int *n)
{
    uint8_t b [16];
    int len = s_bus_heard (f->bus, f->id, sizeof (f->id), &f->idlen, b, sizeof (b), 1000);
    if (!len)
        return 0;
    *n = len >= 7 ? (int) ((uint32_t) b [3] << 24 | (uint32_t) b [4] << 16 | (uint32_t) b [5] << 8 | b [6]) : 0;
    return (char) b [2];
}

static void s_send (s_fix_t *f, const char *body)
{
    assert_true (zmq_send (f->bus, f->id, f->idlen, ZMQ_SNDMORE) >= 0);
    assert_true (zmq_send (f->bus, body, strlen (body), 0) >= 0);
}

//  Take one message, waiting a little for it to cross; its body, or NULL.
static char *s_take (s_fix_t *f)
{
    for (int i = 0; i < 100; i++) {
        zmq_msg_t m;
        zmq_msg_init (&m);
        if (qy_inlet_recv (f->inlet, &m) == 0) {
            char *body = qy_strndup (zmq_msg_data (&m), zmq_msg_size (&m));
            zmq_msg_close (&m);
            return body;
        }
        zmq_msg_close (&m);
        qy_sleep_ms (5);
    }
    return NULL;
}

static int s_setup (void **state)
{
    s_fix_t *f = qy_calloc (1, sizeof (*f));
    f->ctx = zmq_ctx_new ();
    f->bus = zmq_socket (f->ctx, ZMQ_ROUTER);
    assert_int_equal (zmq_bind (f->bus, "inproc://bus"), 0);
    f->inlet = qy_inlet_new (f->ctx, "inproc://bus", 8);
    assert_non_null (f->inlet);
    *state = f;
    return 0;
}

static int s_teardown (void **state)
{
    s_fix_t *f = *state;
    qy_inlet_destroy (&f->inlet);
    int zero = 0;
    zmq_setsockopt (f->bus, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_close (f->bus);
    zmq_ctx_term (f->ctx);
    free (f);
    return 0;
}

static void test_credit (void **state)
{
    s_fix_t *f = *state;
    int n;
    assert_int_equal (s_heard (f, &n), 'C');
    assert_int_equal (n, 8);                        //  the window, at start
    s_send (f, "m1");
    char *body = s_take (f);
    assert_string_equal (body, "m1");
    free (body);
    assert_int_equal (s_heard (f, &n), 0);          //  one taken: not yet a quarter window's worth
    s_send (f, "m2");
    free (s_take (f));
    assert_int_equal (s_heard (f, &n), 'C');        //  two taken (8 / 4): granted again
    assert_int_equal (n, 2);
    assert_false (qy_inlet_drained (f->inlet));
}

static void test_goodbye (void **state)
{
    s_fix_t *f = *state;
    int n;
    assert_int_equal (s_heard (f, &n), 'C');
    s_send (f, "before");
    qy_inlet_bye (f->inlet);
    qy_inlet_bye (f->inlet);                        //  said once
    assert_int_equal (s_heard (f, &n), 'B');
    assert_int_equal (s_heard (f, &n), 0);
    //  The answer follows what was sent before it: drained only once both are taken.
    assert_true (zmq_send (f->bus, f->id, f->idlen, ZMQ_SNDMORE) >= 0);
    assert_true (zmq_send (f->bus, "QYA", 3, ZMQ_SNDMORE) >= 0);
    assert_true (zmq_send (f->bus, "", 0, 0) >= 0);
    char *body = s_take (f);
    assert_string_equal (body, "before");
    free (body);
    s_send (f, "late");                             //  a bus that broke the rule: still taken
    body = s_take (f);
    assert_string_equal (body, "late");
    free (body);
    assert_true (qy_inlet_drained (f->inlet));
    assert_int_equal (s_heard (f, &n), 0);          //  no credit after goodbye
}

static void test_quiet_refresh (void **state)
{
    s_fix_t *f = *state;
    int n;
    assert_int_equal (s_heard (f, &n), 'C');
    s_send (f, "m1");
    free (s_take (f));
    //  Quiet for a second: the whole credit said again (a restarted bus
    //  knows nothing of this replica), the one taken granted back.
    qy_sleep_ms (1100);
    zmq_msg_t m;
    zmq_msg_init (&m);
    assert_int_equal (qy_inlet_recv (f->inlet, &m), -1);
    zmq_msg_close (&m);
    assert_int_equal (s_heard (f, &n), 'S');
    assert_int_equal (n, 8);
}

//  A numbered message as the bus sends it: "QYN" + epoch + number, then the body.
static void s_send_bytes (s_fix_t *f, uint32_t epoch, uint64_t seq, const void *body, size_t len)
{
    uint8_t head [15] = { 'Q', 'Y', 'N', (uint8_t) (epoch >> 24), (uint8_t) (epoch >> 16), (uint8_t) (epoch >> 8),
                          (uint8_t) epoch };
    for (int k = 0; k < 8; k++)
        head [7 + k] = (uint8_t) (seq >> (56 - 8 * k));
    assert_true (zmq_send (f->bus, f->id, f->idlen, ZMQ_SNDMORE) >= 0);
    assert_true (zmq_send (f->bus, head, sizeof (head), ZMQ_SNDMORE) >= 0);
    assert_true (zmq_send (f->bus, body, len, 0) >= 0);
}

static void s_send_numbered (s_fix_t *f, uint32_t epoch, uint64_t seq, const char *body)
{
    s_send_bytes (f, epoch, seq, body, strlen (body));
}

//  A numbered pack of the events in bodies (NULL-terminated).
static void s_send_pack (s_fix_t *f, uint32_t epoch, uint64_t seq, const char **bodies)
{
    qy_pack_t p = { 0 };
    for (; *bodies; bodies++)
        memcpy (qy_pack_add (&p, strlen (*bodies)), *bodies, strlen (*bodies));
    const uint8_t *wire;
    size_t len = qy_pack_seal (&p, &wire);
    s_send_bytes (f, epoch, seq, wire, len);
    qy_pack_reset (&p);
}

//  The "done" the stage said: 0 when none, else the number it names.
static uint64_t s_done_said (s_fix_t *f)
{
    zmq_pollitem_t item = { f->bus, 0, ZMQ_POLLIN, 0 };
    while (zmq_poll (&item, 1, 300) > 0) {
        uint8_t id [256], b [32];
        assert_true (zmq_recv (f->bus, id, sizeof (id), 0) > 0);
        int len = zmq_recv (f->bus, b, sizeof (b), 0);
        if (len != 15 || b [2] != 'D')
            continue;           //  credit
        uint64_t seq = 0;
        for (int k = 0; k < 8; k++)
            seq = seq << 8 | b [7 + k];
        return seq;
    }
    return 0;
}

//  Owed work: the body of a numbered message is what the stage takes (a
//  probe is not); "done" names the epoch and number of the last taken,
//  is said once, and nothing before anything was taken.
static void test_done (void **state)
{
    s_fix_t *f = *state;
    int n;
    assert_int_equal (s_heard (f, &n), 'C');
    qy_inlet_done (f->inlet);
    assert_int_equal (s_heard (f, &n), 0);          //  nothing taken: nothing to say
    s_send_numbered (f, 0xA1B2C3D4u, 41, "m41");
    assert_true (zmq_send (f->bus, f->id, f->idlen, ZMQ_SNDMORE) >= 0);
    assert_true (zmq_send (f->bus, "QYP", 3, ZMQ_SNDMORE) >= 0);     //  a probe between them
    assert_true (zmq_send (f->bus, "", 0, 0) >= 0);
    s_send_numbered (f, 0xA1B2C3D4u, 42, "m42");
    char *body = s_take (f);
    assert_string_equal (body, "m41");
    free (body);
    body = s_take (f);
    assert_string_equal (body, "m42");
    free (body);
    assert_int_equal (s_heard (f, &n), 'C');        //  two taken: a quarter window granted
    qy_inlet_done (f->inlet);
    zmq_pollitem_t item = { f->bus, 0, ZMQ_POLLIN, 0 };
    assert_true (zmq_poll (&item, 1, 1000) > 0);
    uint8_t id [256], b [32];
    assert_true (zmq_recv (f->bus, id, sizeof (id), 0) > 0);
    assert_int_equal (zmq_recv (f->bus, b, sizeof (b), 0), 15);
    static const uint8_t want [15] = { 'Q', 'Y', 'D', 0xA1, 0xB2, 0xC3, 0xD4, 0, 0, 0, 0, 0, 0, 0, 42 };
    assert_memory_equal (b, want, sizeof (want));
    qy_inlet_done (f->inlet);
    assert_int_equal (s_heard (f, &n), 0);          //  said once
}

//  A pack's events come one by one, in order, each counted against the
//  credit (8: a quarter is two events).
static void test_pack_events (void **state)
{
    s_fix_t *f = *state;
    int n;
    assert_int_equal (s_heard (f, &n), 'C');
    const char *three [] = { "p1", "p2", "p3", NULL };
    s_send_pack (f, 1, 7, three);
    for (int i = 0; three [i]; i++) {
        char *body = s_take (f);
        assert_string_equal (body, three [i]);
        free (body);
    }
    assert_int_equal (s_heard (f, &n), 'C');
    assert_int_equal (n, 2);
    assert_int_equal (s_heard (f, &n), 0);          //  the third: not yet a quarter's worth
    zmq_msg_t m;
    zmq_msg_init (&m);
    assert_int_equal (qy_inlet_recv (f->inlet, &m), -1);
    zmq_msg_close (&m);
}

//  A "done" said with a pack half taken names the message before it (the
//  bus's numbers of one replica are not consecutive: 3, then 9), and the
//  pack only once its last event was taken.
static void test_mid_pack_done (void **state)
{
    s_fix_t *f = *state;
    int n;
    assert_int_equal (s_heard (f, &n), 'C');         //  its routing id, for the sends
    s_send_numbered (f, 1, 3, "single");
    const char *two [] = { "a", "b", NULL };
    s_send_pack (f, 1, 9, two);
    char *body = s_take (f);
    assert_string_equal (body, "single");
    free (body);
    qy_inlet_done (f->inlet);
    assert_int_equal (s_done_said (f), 3);
    body = s_take (f);
    assert_string_equal (body, "a");
    free (body);
    qy_inlet_done (f->inlet);
    assert_int_equal (s_done_said (f), 0);          //  covers nothing new: 3 was said
    assert_true (qy_inlet_finished (f->inlet));
    body = s_take (f);
    assert_string_equal (body, "b");
    free (body);
    assert_false (qy_inlet_finished (f->inlet));    //  the pack taken whole: its "done" to say
    qy_inlet_done (f->inlet);
    assert_int_equal (s_done_said (f), 9);
}

//  The pack's number is kept while a pack is half taken and the stage
//  says "done" at the very start: nothing before it, nothing said.
static void test_pack_first_done (void **state)
{
    s_fix_t *f = *state;
    int n;
    assert_int_equal (s_heard (f, &n), 'C');         //  its routing id, for the sends
    const char *two [] = { "a", "b", NULL };
    s_send_pack (f, 1, 4, two);
    free (s_take (f));
    qy_inlet_done (f->inlet);
    assert_int_equal (s_done_said (f), 0);
    free (s_take (f));
    qy_inlet_done (f->inlet);
    assert_int_equal (s_done_said (f), 4);
}

//  A moment's wait for the sender's next pack only after a full one, and
//  only when the bus may still send (credit left, no goodbye said).
static void test_expect_more (void **state)
{
    (void) state;
    assert_true (qy_inlet_expect_more (QY_PACK_MAX, 100, false));
    assert_false (qy_inlet_expect_more (QY_PACK_MAX - 1, 100, false));     //  the batch's last pack
    assert_false (qy_inlet_expect_more (1, 100, false));                   //  a plain event
    assert_false (qy_inlet_expect_more (0, 100, false));                   //  waited once already
    assert_false (qy_inlet_expect_more (QY_PACK_MAX, 0, false));           //  the bus may send nothing
    assert_false (qy_inlet_expect_more (QY_PACK_MAX, -20, false));
    assert_false (qy_inlet_expect_more (QY_PACK_MAX, 100, true));          //  goodbye said
}

//  Plain messages (an older sender, a DEALER) and a message that starts
//  like a pack but is not one: one event each, as they came.
static void test_plain_and_malformed (void **state)
{
    s_fix_t *f = *state;
    int n;
    assert_int_equal (s_heard (f, &n), 'C');         //  its routing id, for the sends
    static const uint8_t bad [] = { 0, 1, 0, 2, 0, 0, 0, 9, 'x' };
    s_send_bytes (f, 1, 5, bad, sizeof (bad));
    s_send_numbered (f, 1, 6, "plain");
    zmq_msg_t m;
    zmq_msg_init (&m);
    for (int i = 0; i < 100 && qy_inlet_recv (f->inlet, &m) < 0; i++)
        qy_sleep_ms (5);
    assert_int_equal (zmq_msg_size (&m), sizeof (bad));
    assert_memory_equal (zmq_msg_data (&m), bad, sizeof (bad));
    zmq_msg_close (&m);
    char *body = s_take (f);
    assert_string_equal (body, "plain");
    free (body);
    qy_inlet_done (f->inlet);
    assert_int_equal (s_done_said (f), 6);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_credit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_goodbye, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_quiet_refresh, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_done, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_pack_events, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_mid_pack_done, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_pack_first_done, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_plain_and_malformed, s_setup, s_teardown),
        cmocka_unit_test (test_expect_more),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
