//  bus_credit's C half: the bus counts a pack's events, not its messages,
//  for a replica's credit. An outlet (held, so it packs) sends 200 events
//  onto a hop: three packs of QY_PACK_MAX (64) and one of 8. A replica,
//  a plain DEALER speaking the hop's words, gives 100 events of credit:
//  it must be sent two packs (128 events; a replica with any credit left
//  gets a whole pack) and then nothing, until it gives 100 more and gets
//  the other two. Its done for the last message acknowledges all 200 to
//  the outlet. Counted per message, the first 100 of credit would have
//  let all four packs through.
//  usage: bus_credit FRONT BACK   (prints one line per check; exit 1 on a failure)
#include "qy/outlet.h"
#include "qy/pack.h"
#include "qy/util.h"
#include "qunyun.pb-c.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static int s_failed;

static void s_check (const char *what, long long got, long long want)
{
    printf ("%s: %s = %lld (want %lld)\n", got == want ? "ok" : "FAIL", what, got, want);
    if (got != want)
        s_failed = 1;
}

//  Say a word with a 4-byte big-endian number: "QYS" n (credit set), "QYC" n (more).
static void s_credit (void *replica, char word, uint32_t n)
{
    uint8_t b [7] = { 'Q', 'Y', (uint8_t) word, (uint8_t) (n >> 24), (uint8_t) (n >> 16), (uint8_t) (n >> 8), (uint8_t) n };
    zmq_send (replica, b, sizeof (b), 0);
}

//  What the replica is sent until quiet_ms pass with nothing: messages and
//  their events; the last message's header ("QYN" + epoch + number) kept.
static void s_take (void *replica, int quiet_ms, int *msgs, int *events, uint8_t last [15])
{
    *msgs = *events = 0;
    zmq_pollitem_t item = { replica, 0, ZMQ_POLLIN, 0 };
    while (zmq_poll (&item, 1, quiet_ms) > 0) {
        zmq_msg_t head, body;
        zmq_msg_init (&head);
        zmq_msg_init (&body);
        if (zmq_msg_recv (&head, replica, 0) < 0)
            break;
        bool data = zmq_msg_size (&head) == 15 && memcmp (zmq_msg_data (&head), "QYN", 3) == 0;
        if (zmq_msg_more (&head))
            zmq_msg_recv (&body, replica, 0);
        if (data) {
            memcpy (last, zmq_msg_data (&head), 15);
            (*msgs)++;
            *events += (int) qy_pack_count (zmq_msg_data (&body), zmq_msg_size (&body));
        }
        zmq_msg_close (&head);
        zmq_msg_close (&body);
    }
}

int main (int argc, char **argv)
{
    if (argc != 3) {
        fprintf (stderr, "usage: bus_credit FRONT BACK\n");
        return 2;
    }
    void *ctx = zmq_ctx_new ();
    void *replica = zmq_socket (ctx, ZMQ_DEALER);
    zmq_connect (replica, argv [2]);
    s_credit (replica, 'S', 100);
    qy_outlet_t *out = qy_outlet_new (ctx, argv [1], 10000, "bus_credit");
    for (int i = 0; i < 500 && !qy_outlet_linked (out); i++) {
        qy_outlet_poll (out);
        qy_sleep_ms (10);
    }
    s_check ("outlet linked to the hop", qy_outlet_linked (out), 1);
    qy_outlet_hold (out, true);
    for (int i = 0; i < 200; i++) {
        char id [16];
        qy_snprintf (id, sizeof (id), "c%d", i);
        Qy__Event ev = QY__EVENT__INIT;
        ev.msg_id = id;
        ev.brand = "b";
        qy_outlet_send_pb (out, &ev.base);
    }
    qy_outlet_flush (out);
    int msgs, events;
    uint8_t last [15] = { 0 };
    s_take (replica, 1000, &msgs, &events, last);
    s_check ("events sent for 100 of credit (whole packs)", events, 128);
    s_check ("packs sent for 100 of credit", msgs, 2);
    s_credit (replica, 'C', 100);
    s_take (replica, 1000, &msgs, &events, last);
    s_check ("events sent for 100 more", events, 72);
    s_check ("packs sent for 100 more", msgs, 2);
    //  Done up to the last message: "QYD" + epoch + the hop's number, as the
    //  "QYN" named them.
    last [2] = 'D';
    zmq_send (replica, last, sizeof (last), 0);
    for (int i = 0; i < 300 && qy_outlet_pending (out) > 0; i++) {
        qy_outlet_poll (out);
        qy_sleep_ms (10);
    }
    s_check ("events the outlet still owes once the replica said done", (long long) qy_outlet_pending (out), 0);
    qy_outlet_destroy (&out);
    zmq_setsockopt (replica, ZMQ_LINGER, &(int) { 0 }, sizeof (int));
    zmq_close (replica);
    zmq_ctx_term (ctx);
    return s_failed;
}
