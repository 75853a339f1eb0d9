//  qy_outlet: a stage's sending end of a bus hop, with acknowledgement
//  (qy/outlet.h), against a ROUTER standing in for the bus's front over
//  inproc: nothing sent before the bus said its epoch; messages numbered
//  and kept until acknowledged (in any order); a full window refused; a
//  new epoch (the bus restarted) gets everything unacknowledged sent
//  again, and nothing acknowledged; and a stage's "done" (qy_inlet_done)
//  said to the bus only once what it passed on is acknowledged. Over TCP:
//  the link is seen up however fast the handshake, and a link that broke
//  and came back to the same bus gets the unacknowledged sent again.
//  Packs (qy/pack.h): events appended share the open pack's number and go
//  as one message at qy_outlet_flush, at QY_PACK_MAX, or at the window's
//  last room (counted in events); a pack is sent again whole under a new
//  epoch; qy_inlet_done flushes the outlets it waits for. A message that
//  finds the socket full is kept and goes later, once.
#include "qy/inlet.h"
#include "qy/outlet.h"
#include "qy/util.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fake_bus.h"
#include "pack_join.h"

typedef struct {
    void *ctx, *bus;
    qy_outlet_t *out;
    uint8_t id [256];
    size_t idlen;
    size_t blen;            //  the last message's length
} s_fix_t;

//  What the outlet said next: 'H' (hello) or 'M' with its number and body.
static char s_heard (s_fix_t *f, uint64_t *seq, char *body, size_t size)
{
    uint8_t b [16];
    int len = s_bus_heard (f->bus, f->id, sizeof (f->id), &f->idlen, b, sizeof (b), 500);
    if (!len)
        return 0;
    if (b [2] == 'M') {
        assert_int_equal (len, 11);
        *seq = 0;
        for (int k = 0; k < 8; k++)
            *seq = *seq << 8 | b [3 + k];
        int n = zmq_recv (f->bus, body, size - 1, 0);
        assert_true (n >= 0 && (size_t) n < size - 1);
        body [n] = 0;
        f->blen = (size_t) n;
    }
    return (char) b [2];
}

//  The next message, skipping hellos; its number.
static uint64_t s_message (s_fix_t *f, char *body, size_t size)
{
    uint64_t seq = 0;
    for (char op; (op = s_heard (f, &seq, body, size)); )
        if (op == 'M')
            return seq;
    return 0;
}

//  Say op ('E' epoch, 'K' acknowledgements) with the given numbers.
static void s_say (s_fix_t *f, char op, uint32_t epoch, const uint64_t *seqs, size_t n)
{
    uint8_t b [7 + 8 * 8] = { 'Q', 'Y', (uint8_t) op, (uint8_t) (epoch >> 24), (uint8_t) (epoch >> 16),
                              (uint8_t) (epoch >> 8), (uint8_t) epoch };
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 8; k++)
            b [7 + 8 * i + k] = (uint8_t) (seqs [i] >> (56 - 8 * k));
    assert_true (zmq_send (f->bus, f->id, f->idlen, ZMQ_SNDMORE) >= 0);
    assert_true (zmq_send (f->bus, b, 7 + 8 * n, 0) >= 0);
    for (int i = 0; i < 20; i++) {      //  let it cross
        qy_sleep_ms (2);
        qy_outlet_poll (f->out);
    }
}

//  One event, as a message of its own (the pack flushed at once).
static uint64_t s_send (s_fix_t *f, const char *body)
{
    uint64_t seq = qy_outlet_send (f->out, body, strlen (body));
    qy_outlet_flush (f->out);
    return seq;
}

//  One event into the open pack.
static uint64_t s_append (s_fix_t *f, const char *body)
{
    return qy_outlet_send (f->out, body, strlen (body));
}

//  The next message's events (a pack's, or a plain one's), joined with
//  '|'; its number.
static uint64_t s_pack (s_fix_t *f, char *out, size_t size)
{
    char body [4096];
    uint64_t seq = s_message (f, body, sizeof (body));
    s_pack_join (body, seq ? f->blen : 0, out, size);
    return seq;
}

static int s_setup (void **state)
{
    s_fix_t *f = qy_calloc (1, sizeof (*f));
    f->ctx = zmq_ctx_new ();
    f->bus = zmq_socket (f->ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt (f->bus, ZMQ_LINGER, &zero, sizeof (zero));
    assert_int_equal (zmq_bind (f->bus, "inproc://front"), 0);
    f->out = qy_outlet_new (f->ctx, "inproc://front", 4, "test");
    assert_non_null (f->out);
    uint64_t seq;
    char body [64];
    assert_int_equal (s_heard (f, &seq, body, sizeof (body)), 'H');     //  hello at once
    *state = f;
    return 0;
}

static int s_teardown (void **state)
{
    s_fix_t *f = *state;
    qy_outlet_destroy (&f->out);
    zmq_close (f->bus);
    zmq_ctx_term (f->ctx);
    free (f);
    return 0;
}

static void test_epoch_first (void **state)
{
    s_fix_t *f = *state;
    assert_false (qy_outlet_room (f->out));
    assert_false (qy_outlet_known (f->out));
    assert_int_equal (s_send (f, "early"), 0);             //  which bus? not known yet
    s_say (f, 'E', 7, NULL, 0);
    assert_true (qy_outlet_known (f->out));
    assert_true (qy_outlet_room (f->out));
    assert_int_equal (s_send (f, "a"), 1);
    char body [64];
    assert_int_equal (s_message (f, body, sizeof (body)), 1);
    assert_string_equal (body, "a");
}

static void test_window_and_acks (void **state)
{
    s_fix_t *f = *state;
    s_say (f, 'E', 7, NULL, 0);
    //  The window is sixteen at least (qy_outlet_new rounds 4 up).
    for (int i = 1; i <= 16; i++)
        assert_int_equal (s_send (f, "m"), (uint64_t) i);
    assert_false (qy_outlet_room (f->out));
    assert_int_equal (s_send (f, "over"), 0);
    assert_int_equal (qy_outlet_pending (f->out), 16);
    //  Out of order: 2 and 3 done, 1 not: nothing below 1 released yet.
    uint64_t two [] = { 2, 3 };
    s_say (f, 'K', 7, two, 2);
    assert_int_equal (qy_outlet_acked (f->out), 1);
    assert_int_equal (qy_outlet_pending (f->out), 14);
    assert_false (qy_outlet_room (f->out));                 //  the window is counted from the oldest
    uint64_t one [] = { 1 };
    s_say (f, 'K', 7, one, 1);
    assert_int_equal (qy_outlet_acked (f->out), 4);
    assert_true (qy_outlet_room (f->out));
    assert_int_equal (s_send (f, "next"), 17);
}

static void test_new_epoch_resends (void **state)
{
    s_fix_t *f = *state;
    s_say (f, 'E', 7, NULL, 0);
    assert_int_equal (s_send (f, "a"), 1);
    assert_int_equal (s_send (f, "b"), 2);
    assert_int_equal (s_send (f, "c"), 3);
    char body [64];
    for (uint64_t i = 1; i <= 3; i++)
        assert_int_equal (s_message (f, body, sizeof (body)), i);
    uint64_t two [] = { 2 };
    s_say (f, 'K', 7, two, 1);
    //  The bus restarted (epoch 8): 1 and 3, not 2, come again, in order.
    s_say (f, 'E', 8, NULL, 0);
    assert_int_equal (s_message (f, body, sizeof (body)), 1);
    assert_string_equal (body, "a");
    assert_int_equal (s_message (f, body, sizeof (body)), 3);
    assert_string_equal (body, "c");
    assert_int_equal (s_message (f, body, sizeof (body)), 0);    //  nothing more
    //  The same epoch again sends nothing again.
    s_say (f, 'E', 8, NULL, 0);
    assert_int_equal (s_message (f, body, sizeof (body)), 0);
    uint64_t rest [] = { 1, 3 };
    s_say (f, 'K', 8, rest, 2);
    assert_int_equal (qy_outlet_pending (f->out), 0);
    assert_int_equal (qy_outlet_acked (f->out), 4);
}

//  A stage's inlet tied to the outlet, on a back standing in for the
//  bus's, with one numbered message (epoch 9, number 5) taken.
static const uint8_t s_work_head [15] = { 'Q', 'Y', 'N', 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 5 };

static qy_inlet_t *s_inlet_working (s_fix_t *f, void **back_p)
{
    void *back = *back_p = zmq_socket (f->ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt (back, ZMQ_LINGER, &zero, sizeof (zero));
    assert_int_equal (zmq_bind (back, "inproc://back"), 0);
    qy_inlet_t *in = qy_inlet_new (f->ctx, "inproc://back", 8);
    qy_inlet_after (in, f->out);
    uint8_t rid [256], b [16];
    int idlen = zmq_recv (back, rid, sizeof (rid), 0);      //  its credit
    assert_true (idlen > 0);
    assert_true (zmq_recv (back, b, sizeof (b), 0) >= 3);
    assert_true (zmq_send (back, rid, (size_t) idlen, ZMQ_SNDMORE) >= 0);
    assert_true (zmq_send (back, s_work_head, sizeof (s_work_head), ZMQ_SNDMORE) >= 0);
    assert_true (zmq_send (back, "work", 4, 0) >= 0);
    zmq_msg_t m;
    zmq_msg_init (&m);
    int rc = -1;
    for (int i = 0; i < 100 && rc < 0; i++, qy_sleep_ms (2))
        rc = qy_inlet_recv (in, &m);
    assert_int_equal (rc, 0);
    zmq_msg_close (&m);
    return in;
}

//  Message 1 acknowledged: the stage's "done" reaches the bus, naming
//  the message taken; the inlet and its back closed.
static void s_done_heard (s_fix_t *f, qy_inlet_t *in, void *back)
{
    uint64_t one [] = { 1 };
    s_say (f, 'K', 7, one, 1);
    assert_true (qy_inlet_finished (in));
    zmq_pollitem_t item = { back, 0, ZMQ_POLLIN, 0 };
    assert_int_equal (zmq_poll (&item, 1, 500), 1);
    uint8_t rid [256], b [16];
    assert_true (zmq_recv (back, rid, sizeof (rid), 0) > 0);
    assert_int_equal (zmq_recv (back, b, sizeof (b), 0), 15);
    assert_memory_equal (b, "QYD", 3);
    assert_memory_equal (b + 3, s_work_head + 3, 12);
    qy_inlet_destroy (&in);
    zmq_close (back);
}

//  An inlet's "done" waits for what the stage passed on.
static void test_done_after_ack (void **state)
{
    s_fix_t *f = *state;
    s_say (f, 'E', 7, NULL, 0);
    void *back;
    qy_inlet_t *in = s_inlet_working (f, &back);
    assert_int_equal (s_send (f, "passed on"), 1);
    qy_inlet_done (in);
    assert_false (qy_inlet_finished (in));
    zmq_pollitem_t item = { back, 0, ZMQ_POLLIN, 0 };
    assert_int_equal (zmq_poll (&item, 1, 50), 0);          //  no "done" yet
    s_done_heard (f, in, back);
}

//  Events appended share the open pack's number, nothing goes before the
//  flush, and the pack comes out whole, in order; a pack of one is plain.
static void test_pack_flush (void **state)
{
    s_fix_t *f = *state;
    qy_outlet_hold (f->out, true);
    s_say (f, 'E', 7, NULL, 0);
    assert_int_equal (s_append (f, "a"), 1);
    assert_int_equal (s_append (f, "b"), 1);
    assert_int_equal (s_append (f, "c"), 1);
    assert_int_equal (qy_outlet_next (f->out), 2);         //  acknowledged up to 2 covers the open pack
    assert_int_equal (qy_outlet_pending (f->out), 3);
    char body [256];
    assert_int_equal (s_message (f, body, sizeof (body)), 0);    //  no timer: it waits for the flush
    qy_outlet_flush (f->out);
    qy_outlet_flush (f->out);                               //  nothing open: nothing sent
    assert_int_equal (s_pack (f, body, sizeof (body)), 1);
    assert_int_equal (f->blen, 4 + 3 * (4 + 1));
    assert_string_equal (body, "a|b|c");
    assert_int_equal (s_send (f, "d"), 2);
    assert_int_equal (s_message (f, body, sizeof (body)), 2);
    assert_string_equal (body, "d");                       //  alone: plain, as from an older sender
    assert_int_equal (s_message (f, body, sizeof (body)), 0);
    uint64_t one [] = { 1 };
    s_say (f, 'K', 7, one, 1);
    assert_int_equal (qy_outlet_pending (f->out), 1);
    assert_int_equal (qy_outlet_acked (f->out), 2);
}

//  The window counts events: its last room sends the pack at once (else
//  nothing would free it), and then nothing more is taken.
static void test_window_in_events (void **state)
{
    s_fix_t *f = *state;
    qy_outlet_hold (f->out, true);
    s_say (f, 'E', 7, NULL, 0);
    for (int i = 1; i <= 16; i++)
        assert_int_equal (s_append (f, "m"), 1);
    assert_false (qy_outlet_room (f->out));
    assert_int_equal (s_append (f, "over"), 0);
    assert_int_equal (qy_outlet_pending (f->out), 16);
    char body [256];
    assert_int_equal (s_pack (f, body, sizeof (body)), 1);
    assert_string_equal (body, "m|m|m|m|m|m|m|m|m|m|m|m|m|m|m|m");
    uint64_t one [] = { 1 };
    s_say (f, 'K', 7, one, 1);
    assert_true (qy_outlet_room (f->out));
    assert_int_equal (s_append (f, "next"), 2);
}

//  A pack of QY_PACK_MAX goes at once; the next event opens another.
static void test_pack_full (void **state)
{
    s_fix_t *f = *state;
    qy_outlet_destroy (&f->out);
    f->out = qy_outlet_new (f->ctx, "inproc://front", 1000, "test");
    qy_outlet_hold (f->out, true);
    uint64_t seq;
    char body [1024];
    while (s_heard (f, &seq, body, sizeof (body)) != 'H')
        ;
    s_say (f, 'E', 7, NULL, 0);
    for (int i = 0; i < QY_PACK_MAX; i++)
        assert_int_equal (s_append (f, "e"), 1);
    assert_int_equal (s_pack (f, body, sizeof (body)), 1);
    assert_int_equal (strlen (body), 2 * QY_PACK_MAX - 1);
    assert_int_equal (s_append (f, "f"), 2);
    assert_int_equal (qy_outlet_pending (f->out), QY_PACK_MAX + 1);
}

//  The bus restarted: every unacknowledged pack goes again whole, with
//  its number; an acknowledged one does not.
static void test_pack_new_epoch (void **state)
{
    s_fix_t *f = *state;
    qy_outlet_hold (f->out, true);
    s_say (f, 'E', 7, NULL, 0);
    s_append (f, "a");
    s_append (f, "b");
    qy_outlet_flush (f->out);
    s_append (f, "c");
    s_append (f, "d");
    qy_outlet_flush (f->out);
    s_send (f, "e");
    char body [256];
    assert_int_equal (s_pack (f, body, sizeof (body)), 1);
    assert_int_equal (s_pack (f, body, sizeof (body)), 2);
    assert_int_equal (s_pack (f, body, sizeof (body)), 3);
    uint64_t two [] = { 2 };
    s_say (f, 'K', 7, two, 1);
    s_say (f, 'E', 8, NULL, 0);
    assert_int_equal (s_pack (f, body, sizeof (body)), 1);
    assert_string_equal (body, "a|b");
    assert_int_equal (s_pack (f, body, sizeof (body)), 3);
    assert_string_equal (body, "e");
    assert_int_equal (s_message (f, body, sizeof (body)), 0);
    uint64_t rest [] = { 1, 3 };
    s_say (f, 'K', 8, rest, 2);
    assert_int_equal (qy_outlet_pending (f->out), 0);
    assert_int_equal (qy_outlet_acked (f->out), 4);
}

//  qy_inlet_done sends the open packs of the outlets it waits for, and
//  says "done" once they are acknowledged.
static void test_done_flushes (void **state)
{
    s_fix_t *f = *state;
    s_say (f, 'E', 7, NULL, 0);
    void *back;
    qy_inlet_t *in = s_inlet_working (f, &back);
    assert_int_equal (s_append (f, "x"), 1);
    assert_int_equal (s_append (f, "y"), 1);
    char body [256];
    assert_int_equal (s_message (f, body, sizeof (body)), 0);
    qy_inlet_done (in);
    assert_int_equal (s_pack (f, body, sizeof (body)), 1);
    assert_string_equal (body, "x|y");
    zmq_pollitem_t item = { back, 0, ZMQ_POLLIN, 0 };
    assert_int_equal (zmq_poll (&item, 1, 50), 0);          //  no "done" before the pack is acknowledged
    s_done_heard (f, in, back);
}

//  Unheld (the default), each event goes at once, plain; an event taken
//  by a tied inlet holds the outlet until the stage's "done", which sends
//  the pack and lets go: what the stage sends after it goes at once again.
static void test_hold (void **state)
{
    s_fix_t *f = *state;
    s_say (f, 'E', 7, NULL, 0);
    char body [256];
    assert_int_equal (s_append (f, "alone"), 1);
    assert_int_equal (s_message (f, body, sizeof (body)), 1);
    assert_string_equal (body, "alone");
    void *back;
    qy_inlet_t *in = s_inlet_working (f, &back);
    assert_int_equal (s_append (f, "x"), 2);
    assert_int_equal (s_append (f, "y"), 2);
    assert_int_equal (s_message (f, body, sizeof (body)), 0);  //  held while the stage works
    qy_inlet_done (in);
    assert_int_equal (s_pack (f, body, sizeof (body)), 2);
    assert_string_equal (body, "x|y");
    assert_int_equal (s_append (f, "chore"), 3);
    assert_int_equal (s_message (f, body, sizeof (body)), 3);  //  let go: at once
    assert_string_equal (body, "chore");
    uint64_t acks [] = { 1, 2, 3 };
    s_say (f, 'K', 7, acks, 3);
    assert_true (qy_inlet_finished (in));
    qy_inlet_destroy (&in);
    zmq_close (back);
}

//  A front on TCP for the link tests: bound on port (0: any), the outlet
//  connected to it unless out is already there.
static void s_tcp_front (s_fix_t *f, int port)
{
    f->bus = zmq_socket (f->ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt (f->bus, ZMQ_LINGER, &zero, sizeof (zero));
    char ep [64];
    qy_snprintf (ep, sizeof (ep), port ? "tcp://127.0.0.1:%d" : "tcp://127.0.0.1:*", port);
    int rc = -1;
    for (int i = 0; i < 100 && (rc = zmq_bind (f->bus, ep)) != 0; i++)
        qy_sleep_ms (20);               //  the old front's port, until it is let go
    assert_int_equal (rc, 0);
    if (f->out)
        return;
    size_t len = sizeof (ep);
    zmq_getsockopt (f->bus, ZMQ_LAST_ENDPOINT, ep, &len);
    f->out = qy_outlet_new (f->ctx, ep, 4, "test");
    assert_non_null (f->out);
}

static bool s_linked_within (s_fix_t *f, bool want, int ms)
{
    for (int i = 0; i < ms / 10; i++, qy_sleep_ms (10)) {
        qy_outlet_poll (f->out);
        if (qy_outlet_linked (f->out) == want)
            return true;
    }
    return false;
}

//  The first handshake done long before anyone looks is still seen (a
//  monitor attached after connecting missed it under load: ingest was
//  never ready).
static void test_link_seen (void **state)
{
    (void) state;
    s_fix_t f = { .ctx = zmq_ctx_new () };
    s_tcp_front (&f, 0);
    qy_sleep_ms (300);
    assert_true (s_linked_within (&f, true, 1000));
    assert_null (qy_outlet_new (f.ctx, "tcp://127.0.0.1:1,tcp://127.0.0.1:2", 4, "two"));   //  one bus per hop
    qy_outlet_destroy (&f.out);
    zmq_close (f.bus);
    zmq_ctx_term (f.ctx);
}

//  The connection to the bus breaks, the bus does not restart (the same
//  epoch): what the connection held is gone, so what is unacknowledged is
//  sent again once the link is back, and what was acknowledged is not.
static void test_link_broken_resends (void **state)
{
    (void) state;
    s_fix_t f = { .ctx = zmq_ctx_new () };
    s_tcp_front (&f, 0);
    assert_true (s_linked_within (&f, true, 2000));
    char ep [64], body [64];
    size_t len = sizeof (ep);
    zmq_getsockopt (f.bus, ZMQ_LAST_ENDPOINT, ep, &len);
    int port = atoi (strrchr (ep, ':') + 1);
    uint64_t seq;
    while (s_heard (&f, &seq, body, sizeof (body)) == 'H')
        ;
    s_say (&f, 'E', 7, NULL, 0);
    assert_int_equal (s_send (&f, "a"), 1);
    assert_int_equal (s_send (&f, "b"), 2);
    assert_int_equal (s_send (&f, "c"), 3);
    for (uint64_t i = 1; i <= 3; i++)
        assert_int_equal (s_message (&f, body, sizeof (body)), i);
    uint64_t two [] = { 2 };
    s_say (&f, 'K', 7, two, 1);
    zmq_close (f.bus);                                      //  the connection breaks
    assert_true (s_linked_within (&f, false, 2000));
    s_tcp_front (&f, port);                                 //  the same bus, back
    assert_true (s_linked_within (&f, true, 3000));
    assert_int_equal (s_message (&f, body, sizeof (body)), 0);   //  nothing before it says which bus
    s_say (&f, 'E', 7, NULL, 0);
    assert_int_equal (s_message (&f, body, sizeof (body)), 1);
    assert_string_equal (body, "a");
    assert_int_equal (s_message (&f, body, sizeof (body)), 3);
    assert_string_equal (body, "c");
    assert_int_equal (s_message (&f, body, sizeof (body)), 0);   //  once
    uint64_t rest [] = { 1, 3 };
    s_say (&f, 'K', 7, rest, 2);
    assert_int_equal (qy_outlet_pending (f.out), 0);
    qy_outlet_destroy (&f.out);
    zmq_close (f.bus);
    zmq_ctx_term (f.ctx);
}

//  The socket full (the bus not reading): a message is committed all the
//  same, numbered and kept, and goes with a later qy_outlet_poll once there
//  is room; every number reaches the bus once, none lost or doubled. The
//  socket's and the bus's queues are made one message deep so that the
//  third message finds them full.
static void test_socket_full (void **state)
{
    (void) state;
    s_fix_t f = { .ctx = zmq_ctx_new () };
    f.bus = zmq_socket (f.ctx, ZMQ_ROUTER);
    int one = 1, zero = 0;
    zmq_setsockopt (f.bus, ZMQ_RCVHWM, &one, sizeof (one));
    zmq_setsockopt (f.bus, ZMQ_LINGER, &zero, sizeof (zero));
    assert_int_equal (zmq_bind (f.bus, "inproc://full"), 0);
    f.out = qy_outlet_open (f.ctx, 4, "full");
    zmq_setsockopt (qy_outlet_socket (f.out), ZMQ_SNDHWM, &one, sizeof (one));
    assert_int_equal (qy_outlet_connect (f.out, "inproc://full"), 0);
    uint64_t seq;
    char body [64];
    assert_int_equal (s_heard (&f, &seq, body, sizeof (body)), 'H');
    s_say (&f, 'E', 7, NULL, 0);
    const char *words [] = { "a", "b", "c", "d", "e", "f" };
    for (size_t i = 0; i < QY_ARRAY_LEN (words); i++)
        assert_int_equal (s_send (&f, words [i]), (uint64_t) i + 1);     //  committed, full or not
    assert_int_equal (qy_outlet_pending (f.out), 6);
    //  The bus reads again: each number once, whatever went late.
    int seen [7] = { 0 };
    for (int round = 0; round < 200; round++) {
        qy_outlet_poll (f.out);
        uint8_t b [16];
        int len = s_bus_heard (f.bus, f.id, sizeof (f.id), &f.idlen, b, sizeof (b), 10);
        if (len == 11 && b [2] == 'M') {
            seq = 0;
            for (int k = 0; k < 8; k++)
                seq = seq << 8 | b [3 + k];
            int n = zmq_recv (f.bus, body, sizeof (body) - 1, 0);
            assert_true (n == 1 && seq >= 1 && seq <= 6);
            assert_memory_equal (body, words [seq - 1], 1);
            seen [seq]++;
        }
    }
    for (int i = 1; i <= 6; i++)
        assert_int_equal (seen [i], 1);
    uint64_t all [] = { 1, 2, 3, 4, 5, 6 };
    s_say (&f, 'K', 7, all, 6);
    assert_int_equal (qy_outlet_pending (f.out), 0);
    qy_outlet_destroy (&f.out);
    zmq_close (f.bus);
    zmq_ctx_term (f.ctx);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_epoch_first, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_window_and_acks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_new_epoch_resends, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_done_after_ack, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_pack_flush, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_window_in_events, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_pack_full, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_pack_new_epoch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_done_flushes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_hold, s_setup, s_teardown),
        cmocka_unit_test (test_link_seen),
        cmocka_unit_test (test_link_broken_resends),
        cmocka_unit_test (test_socket_full),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
