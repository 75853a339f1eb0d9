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
#include "../hop_test.h"
#include "qy/outlet.h"
#include "qy/pack.h"
#include "qy/util.h"
#include "qunyun.pb-c.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

//  A message's events, added to *arg.
static void s_count (const void *data, size_t len, void *arg)
{
    *(int *) arg += (int) qy_pack_count (data, len);
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
    hop_credit (replica, 'S', 100);
    qy_outlet_t *out = qy_outlet_new (ctx, argv [1], 10000, "bus_credit");
    hop_check ("outlet linked to the hop", hop_link (out), 1);
    qy_outlet_hold (out, true);
    hop_send (out, "c", 200);
    qy_outlet_flush (out);
    int msgs, events;
    uint8_t last [15] = { 0 };
    events = 0;
    msgs = hop_take (replica, 1000, last, s_count, &events);
    hop_check ("events sent for 100 of credit (whole packs)", events, 128);
    hop_check ("packs sent for 100 of credit", msgs, 2);
    hop_credit (replica, 'C', 100);
    events = 0;
    msgs = hop_take (replica, 1000, last, s_count, &events);
    hop_check ("events sent for 100 more", events, 72);
    hop_check ("packs sent for 100 more", msgs, 2);
    //  Done up to the last message: the hop's number, as the "QYN" named it.
    hop_check ("events the outlet still owes once the replica said done", hop_done (replica, last, out), 0);
    return hop_end (ctx, &out, replica);
}
