//  What the C halves of the bus's cases (bus_credit, bus_garbage) share:
//  a check line, a replica's words to a hop, and an outlet's linking and
//  acknowledgements awaited.
#ifndef QY_HOP_TEST_H
#define QY_HOP_TEST_H
#include "qy/outlet.h"
#include "qy/util.h"
#include "qunyun.pb-c.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

static int hop_failed;

//  One line per check; a failure makes the program's exit status 1.
static inline void hop_check (const char *what, long long got, long long want)
{
    printf ("%s: %s = %lld (want %lld)\n", got == want ? "ok" : "FAIL", what, got, want);
    if (got != want)
        hop_failed = 1;
}

//  A replica's word with a 4-byte big-endian number: "QYS" n (credit set),
//  "QYC" n (more).
static inline void hop_credit (void *replica, char word, uint32_t n)
{
    uint8_t b [7] = { 'Q', 'Y', (uint8_t) word, (uint8_t) (n >> 24), (uint8_t) (n >> 16), (uint8_t) (n >> 8), (uint8_t) n };
    zmq_send (replica, b, sizeof (b), 0);
}

//  Whether the outlet is linked and knows the hop's epoch (up to 5 s).
static inline bool hop_link (qy_outlet_t *out)
{
    for (int i = 0; i < 500 && !(qy_outlet_linked (out) && qy_outlet_known (out)); i++) {
        qy_outlet_poll (out);
        qy_sleep_ms (10);
    }
    return qy_outlet_linked (out) && qy_outlet_known (out);
}

//  n events with ids PREFIX0, PREFIX1 … sent by the outlet.
static inline void hop_send (qy_outlet_t *out, const char *prefix, int n)
{
    for (int i = 0; i < n; i++) {
        char id [32];
        qy_snprintf (id, sizeof (id), "%s%d", prefix, i);
        Qy__Event ev = QY__EVENT__INIT;
        ev.msg_id = id;
        ev.brand = "b";
        qy_outlet_send_pb (out, &ev.base);
    }
}

//  What the replica is sent until quiet_ms pass with no work (the hop's
//  probes, once a second, do not count): each message's payload given to
//  each (with arg), the last one's header ("QYN" + epoch + the hop's
//  number) kept in last. Returns the messages.
static inline int hop_take (void *replica, int quiet_ms, uint8_t last [15],
                            void (*each) (const void *data, size_t len, void *arg), void *arg)
{
    int msgs = 0;
    zmq_pollitem_t item = { replica, 0, ZMQ_POLLIN, 0 };
    int64_t quiet_since = qy_mono_us ();
    while (qy_mono_us () - quiet_since < quiet_ms * 1000LL) {
        if (zmq_poll (&item, 1, 100) <= 0)
            continue;
        zmq_msg_t head, body;
        zmq_msg_init (&head);
        zmq_msg_init (&body);
        if (zmq_msg_recv (&head, replica, 0) < 0)
            break;
        bool data = zmq_msg_size (&head) == 15 && memcmp (zmq_msg_data (&head), "QYN", 3) == 0;
        if (zmq_msg_more (&head))
            zmq_msg_recv (&body, replica, 0);
        if (data) {
            quiet_since = qy_mono_us ();
            memcpy (last, zmq_msg_data (&head), 15);
            msgs++;
            each (zmq_msg_data (&body), zmq_msg_size (&body), arg);
        }
        zmq_msg_close (&head);
        zmq_msg_close (&body);
    }
    return msgs;
}

//  The replica says done up to the message whose header ("QYN" + epoch +
//  the hop's number) is last; returns what the outlet still owes after up
//  to 3 s of acknowledgements.
static inline long long hop_done (void *replica, uint8_t last [15], qy_outlet_t *out)
{
    last [2] = 'D';
    zmq_send (replica, last, 15, 0);
    for (int i = 0; i < 300 && qy_outlet_pending (out) > 0; i++) {
        qy_outlet_poll (out);
        qy_sleep_ms (10);
    }
    return (long long) qy_outlet_pending (out);
}
//  Everything closed; the program's exit status.
static inline int hop_end (void *ctx, qy_outlet_t **out, void *replica)
{
    qy_outlet_destroy (out);
    zmq_setsockopt (replica, ZMQ_LINGER, &(int) { 0 }, sizeof (int));
    zmq_close (replica);
    zmq_ctx_term (ctx);
    return hop_failed;
}
#endif
