//  bus_garbage's C half: what a confused peer says to a hop never stops the
//  bus. A DEALER on the hop's back (where replicas connect) sends 3,000
//  messages of one to four random frames, most of them starting like the
//  hop's words ("QYD", "QYC", "QYS", "QYB", "QYH", "QYM") with the wrong
//  lengths, then goes away; a DEALER on the front (where outlets connect)
//  sends 3,000 more: hellos with extra frames, "QYM" with short or long
//  numbers and with none, two or three payload frames, and packs whose
//  header lies about their events. Then a real outlet sends
//  20 events and a replica, a plain DEALER speaking the hop's words, gives
//  credit: it must get all 20 (among whatever garbage the front's plain
//  messages became: the stages set those aside), and its done must reach
//  the outlet as acknowledgements.
//  usage: bus_garbage FRONT BACK   (prints one line per check; exit 1 on a failure)
#include "../hop_test.h"
#include "qy/outlet.h"
#include "qy/pack.h"
#include "qy/util.h"
#include "qunyun.pb-c.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define S_GARBAGE 3000

//  A small deterministic generator: the same garbage every run.
static uint32_t s_rand (void)
{
    static uint32_t x = 2463534242u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

//  One random frame of up to 40 bytes; most start with one of the hop's
//  words (or a pack's header), so the bus's parsing of each is reached.
static size_t s_frame (uint8_t *b)
{
    static const char *words [] = { "QYD", "QYC", "QYS", "QYB", "QYH", "QYM", "QYN", "QYK", "QY", "Q" };
    size_t len = s_rand () % 41;
    for (size_t i = 0; i < len; i++)
        b [i] = (uint8_t) s_rand ();
    uint32_t pick = s_rand () % 14;
    if (pick < 10) {
        size_t w = strlen (words [pick]);
        memcpy (b, words [pick], w < len ? w : len);
    }
    else if (pick < 12 && len >= QY_PACK_HEAD) {
        b [0] = 0x00;           //  a pack header with a random count
        b [1] = 0x01;
    }
    return len;
}

//  n messages of one to four random frames on sock.
static void s_spray (void *sock, int n)
{
    uint8_t b [64];
    for (int i = 0; i < n; i++) {
        int frames = 1 + (int) (s_rand () % 4);
        for (int f = 0; f < frames; f++) {
            size_t len = s_frame (b);
            zmq_send (sock, b, len, f + 1 < frames ? ZMQ_SNDMORE : 0);
        }
    }
}

//  The good events (ids g0 … g19) in a message, marked in the 20 flags at
//  arg: the front's garbage that became plain messages is among what the
//  replica is sent, and only those exact ids count, each once.
static void s_good (const void *data, size_t len, void *arg)
{
    bool *seen = arg;
    qy_pack_iter_t it;
    const void *ev;
    size_t evlen;
    qy_pack_iter (&it, data, len);
    while (qy_pack_next (&it, &ev, &evlen)) {
        Qy__Event *e = qy__event__unpack (NULL, evlen, ev);
        int n;
        char end;
        if (e && e->msg_id && sscanf (e->msg_id, "g%d%c", &n, &end) == 1 && n >= 0 && n < 20) {
            char again [16];
            qy_snprintf (again, sizeof (again), "g%d", n);
            if (strcmp (again, e->msg_id) == 0)
                seen [n] = true;
        }
        qy__event__free_unpacked (e, NULL);
    }
}

static void *s_dealer (void *ctx, const char *endpoint)
{
    void *s = zmq_socket (ctx, ZMQ_DEALER);
    zmq_setsockopt (s, ZMQ_LINGER, &(int) { 2000 }, sizeof (int));
    zmq_setsockopt (s, ZMQ_SNDHWM, &(int) { 0 }, sizeof (int));
    zmq_connect (s, endpoint);
    return s;
}

int main (int argc, char **argv)
{
    if (argc != 3) {
        fprintf (stderr, "usage: bus_garbage FRONT BACK\n");
        return 2;
    }
    void *ctx = zmq_ctx_new ();
    //  The back, then the front. What the front's garbage becomes may be
    //  handed to the confused replica while its link lasts; the bus finds
    //  it gone at a probe and hands that on (its garbage may have said
    //  goodbye too, or not).
    void *bad = s_dealer (ctx, argv [2]);
    s_spray (bad, S_GARBAGE);
    zmq_close (bad);
    bad = s_dealer (ctx, argv [1]);
    s_spray (bad, S_GARBAGE);
    zmq_close (bad);
    //  The bus forgets a replica that is gone at its next probe (once a
    //  second); the garbage is taken in meanwhile.
    qy_sleep_ms (1500);
    void *replica = s_dealer (ctx, argv [2]);
    hop_credit (replica, 'S', 100000);
    qy_outlet_t *out = qy_outlet_new (ctx, argv [1], 10000, "bus_garbage");
    hop_check ("outlet linked to the hop after the garbage", hop_link (out), 1);
    hop_send (out, "g", 20);
    uint8_t last [15] = { 0 };
    bool seen [20] = { false };
    hop_take (replica, 1500, last, s_good, seen);
    int good = 0;
    for (int i = 0; i < 20; i++)
        good += seen [i];
    hop_check ("good events the replica was sent", good, 20);
    hop_check ("events the outlet still owes once the replica said done", hop_done (replica, last, out), 0);
    return hop_end (ctx, &out, replica);
}
