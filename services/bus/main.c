//  qy-bus: the stable meeting point of every hop, so that any stage can run
//  as many replicas with no per-replica configuration. Each hop has a ROUTER
//  front (upstream outlets connect: qy/outlet.h; what a replica said done is
//  acknowledged to the outlet that sent it, and an outlet sends again what a
//  bus of another epoch held, so a killed bus loses nothing) and a ROUTER back that
//  downstream replicas connect to with credit (qy/inlet.h): a replica says
//  how many messages it may be sent, and the hop hands each message to a
//  replica with credit, in turn. A message waits in the hop (and upstream)
//  until some replica may take it, so a slow stage pushes back on the one
//  before it instead of growing memory, and a replica that stops (goodbye:
//  no more credit, then an answer once all it was sent is on its way)
//  leaves nothing behind. What a replica was sent stays owed until it says
//  done; a replica gone without a goodbye (found at a send or a probe
//  that cannot reach it) is forgotten and what it owed goes to another
//  (docs/architecture.md, "Owed work").
//  A message is a pack of events or one event plain (qy/pack.h): the hop
//  moves it whole, by reference, and never opens it, but counts its
//  events (the pack's first bytes) for credit, its queue and its metrics,
//  so that memory stays bounded in events: a replica with any credit is
//  sent a whole pack (its credit may go below 0 by QY_PACK_MAX - 1), the
//  hop's queue holds up to twice zmq.hwm events (plus one message), a
//  replica is owed no more than that whatever credit it says, and an
//  outlet's window is in events. The wire, per hop:
//    front (from outlets): [id] ["QYM" + sender's number (8)] [payload],
//      [id] ["QYH"] (hello); a plain DEALER: [id] [payload] (not acked).
//    front (to outlets): [id] ["QYE" + epoch (4)], [id] ["QYK" + epoch +
//      numbers (8 each)]: done downstream.
//    back (to replicas): [id] ["QYN" + epoch (4) + hop's number (8)]
//      [payload]; [id] ["QYA"] [""] (goodbye answered), [id] ["QYP"] [""].
//    back (from replicas): "QYC"/"QYS" + n (credit, in events), "QYB",
//      "QYD" + epoch + number (done up to that message).
#include "qy/zmq_curve.h"
#include "qy/inlet.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/pack.h"
#include "qy/service.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zmq.h>

typedef struct {
    qy_common_config_t common;
    char *hops;
    long  hwm;
    long  replica_timeout_ms;
} bus_config_t;

static const qy_option_t s_options [] = {
    QY_COMMON_OPTIONS (bus_config_t),
    { "hops", QY_STR, offsetof (bus_config_t, hops),
      "moderation=tcp://*:5550>tcp://*:5551;scoring=tcp://*:5552>tcp://*:5553;"
      "campaign=tcp://*:5554>tcp://*:5555;notifier=tcp://*:5556>tcp://*:5557", 0, 0,
      "hops as name=front>back;… (front: ROUTER bind, senders connect with acknowledgement; back: ROUTER bind, replicas connect with credit)" },
    { "zmq.hwm", QY_INT, offsetof (bus_config_t, hwm), "20000", 100, 10000000, "high-water mark per socket" },
    { "replica_timeout_ms", QY_INT, offsetof (bus_config_t, replica_timeout_ms), "5000", 1000, 600000,
      "a replica's link silent this long (ZeroMQ heartbeats every second) is cut: what it owed goes to another" },
};

#define S_PEERS 256
#define S_BURST 1024

//  Where a message came from: the sender's slot in the hop's table (with
//  the slot's generation, so a slot reused by another sender is never
//  acknowledged to) and the sender's own number. slot -1: a sender that
//  wants no acknowledgement (a plain DEALER: qyctl replay).
typedef struct {
    uint64_t seq;            //  the hop's number, as sent to a replica
    uint64_t sseq;
    int32_t  slot;
    uint32_t gen;
    uint32_t count;          //  events in it (qy_pack_count)
} s_meta_t;

//  Messages in order, by reference (zmq_msg_copy shares the bytes): what
//  a replica owes, or what waits to be handed out again.
typedef struct {
    zmq_msg_t *msg;
    s_meta_t  *seq;
    size_t     head, n, cap;
    size_t     events;       //  in all its messages
} s_fifo_t;

static void s_fifo_push (s_fifo_t *f, zmq_msg_t *m, s_meta_t seq)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        zmq_msg_t *msg = qy_calloc (cap, sizeof (zmq_msg_t));
        s_meta_t *sq = qy_calloc (cap, sizeof (s_meta_t));
        for (size_t i = 0; i < f->n; i++) {
            zmq_msg_init (&msg [i]);
            zmq_msg_move (&msg [i], &f->msg [(f->head + i) % f->cap]);
            zmq_msg_close (&f->msg [(f->head + i) % f->cap]);
            sq [i] = f->seq [(f->head + i) % f->cap];
        }
        free (f->msg);
        free (f->seq);
        f->msg = msg;
        f->seq = sq;
        f->cap = cap;
        f->head = 0;
    }
    size_t at = (f->head + f->n++) % f->cap;
    zmq_msg_init (&f->msg [at]);
    zmq_msg_move (&f->msg [at], m);
    f->seq [at] = seq;
    f->events += seq.count;
}

//  Take the oldest into m (init'ed by the caller). False when empty.
static bool s_fifo_pop (s_fifo_t *f, zmq_msg_t *m, s_meta_t *seq)
{
    if (!f->n)
        return false;
    zmq_msg_move (m, &f->msg [f->head]);
    zmq_msg_close (&f->msg [f->head]);
    if (seq)
        *seq = f->seq [f->head];
    f->events -= f->seq [f->head].count;
    f->head = (f->head + 1) % f->cap;
    f->n--;
    return true;
}

static void s_fifo_free (s_fifo_t *f)
{
    zmq_msg_t m;
    zmq_msg_init (&m);
    while (s_fifo_pop (f, &m, NULL))
        zmq_msg_close (&m);
    zmq_msg_close (&m);
    free (f->msg);
    free (f->seq);
    memset (f, 0, sizeof (*f));
}

typedef struct {
    uint8_t  id [256];
    size_t   idlen;
    int64_t  credit;
    int64_t  heard_us;       //  when it last said anything
    bool     leaving;        //  said goodbye: known only until it owes nothing
    s_fifo_t owed;           //  sent to it, not yet said done
} s_peer_t;

#define S_SENDERS 256

//  An upstream outlet (qy/outlet.h): what of its messages is done, to be
//  acknowledged to it.
typedef struct {
    uint8_t  id [256];
    size_t   idlen;
    uint32_t gen;            //  bumped when the slot is given to another sender
    int64_t  held;           //  its messages in the hop (queued or owed)
    int64_t  heard_us;
    qy_buf_t acks;           //  "QYK" + epoch, then numbers to say
} s_sender_t;

typedef struct {
    char      name [32];
    void     *front, *back;
    pthread_t thread;
    s_peer_t  peers [S_PEERS];
    int       npeers, next;
    uint32_t  epoch;         //  this bus's run: a "done" of another run is not ours
    uint64_t  seq;           //  number of the last message sent
    s_fifo_t  again;         //  owed by replicas found dead: handed out before the queue
    s_fifo_t  queue;         //  taken from the front, waiting for a replica with credit
    size_t    queue_max;
    s_sender_t senders [S_SENDERS];
    int       nsenders;
    s_meta_t  hand;          //  where the message in hand came from
    int64_t   next_probe_us;
    int       nacks;         //  senders with acknowledgements to say
    qy_metric_t *m_sent, *m_replicas, *m_byes, *m_again, *m_owed, *m_credit, *m_acked;
} s_hop_t;

static void s_forget (s_hop_t *hop, int i);

//  The replica of this routing id, known from now on. With the table full,
//  the one heard from longest ago among those without credit makes room
//  (one killed while it had none is never sent to, so never found gone; a
//  live one evicted is known again at its next word, and says its whole
//  credit after a quiet second).
static s_peer_t *s_peer (s_hop_t *hop, const uint8_t *id, size_t len)
{
    for (int i = 0; i < hop->npeers; i++)
        if (hop->peers [i].idlen == len && memcmp (hop->peers [i].id, id, len) == 0)
            return &hop->peers [i];
    if (len > sizeof (hop->peers [0].id))
        return NULL;
    if (hop->npeers == S_PEERS) {
        int oldest = -1;
        for (int i = 0; i < hop->npeers; i++)
            if (hop->peers [i].credit <= 0 && (oldest < 0 || hop->peers [i].heard_us < hop->peers [oldest].heard_us))
                oldest = i;
        if (oldest < 0)
            return NULL;
        s_forget (hop, oldest);
    }
    s_peer_t *p = &hop->peers [hop->npeers++];
    memset (p, 0, sizeof (*p));         //  the slot may hold a forgotten replica's copy
    memcpy (p->id, id, len);
    p->idlen = len;
    return p;
}

//  Replicas that take work (not leaving), and what all of them owe.
static void s_gauges (s_hop_t *hop)
{
    int64_t live = 0, owed = 0;
    for (int i = 0; i < hop->npeers; i++) {
        live += !hop->peers [i].leaving;
        owed += (int64_t) hop->peers [i].owed.events;
    }
    qy_metric_set (hop->m_replicas, live);
    qy_metric_set (hop->m_owed, owed);
}

//  Forget replica i; what it still owed is handed out again, first.
static void s_forget (s_hop_t *hop, int i)
{
    s_peer_t *p = &hop->peers [i];
    if (p->owed.n) {
        qy_log_warn ("hop=%s a replica gone with work owed: handed to another count=%zu messages=%zu",
                     hop->name, p->owed.events, p->owed.n);
        qy_metric_add (hop->m_again, (int64_t) p->owed.events);
        zmq_msg_t m;
        zmq_msg_init (&m);
        s_meta_t seq;
        while (s_fifo_pop (&p->owed, &m, &seq))
            s_fifo_push (&hop->again, &m, seq);
        zmq_msg_close (&m);
    }
    s_fifo_free (&p->owed);
    hop->peers [i] = hop->peers [--hop->npeers];
    if (hop->next >= hop->npeers)
        hop->next = 0;
    s_gauges (hop);
}

//  The sender of this routing id (its slot), known from now on; -1 when
//  the table is full of senders whose messages are still in the hop or
//  whose acknowledgements are still to be said (a sender never asks again
//  for one lost: its window would never move). A slot given to another
//  sender gets a new generation, so nothing of the former one is ever
//  acknowledged to the new one.
static int s_sender (s_hop_t *hop, const uint8_t *id, size_t len)
{
    for (int i = 0; i < hop->nsenders; i++)
        if (hop->senders [i].idlen == len && memcmp (hop->senders [i].id, id, len) == 0)
            return i;
    if (len > sizeof (hop->senders [0].id))
        return -1;
    int at = hop->nsenders < S_SENDERS ? hop->nsenders++ : -1;
    for (int i = 0; at < 0 && i < S_SENDERS; i++)
        if (hop->senders [i].held <= 0 && !hop->senders [i].acks.len)
            at = i;
    if (at < 0)
        return -1;
    s_sender_t *x = &hop->senders [at];
    if (!x->acks.data)
        qy_buf_init (&x->acks);
    memcpy (x->id, id, len);
    x->idlen = len;
    x->gen++;
    x->held = 0;
    return at;
}

//  Message of meta is done downstream: acknowledge it to its sender (with
//  the others, at the end of the turn).
static void s_ack_later (s_hop_t *hop, s_meta_t meta)
{
    if (meta.slot < 0 || hop->senders [meta.slot].gen != meta.gen)
        return;
    s_sender_t *x = &hop->senders [meta.slot];
    x->held--;
    if (!x->acks.len) {
        uint8_t head [7] = { 'Q', 'Y', 'K', (uint8_t) (hop->epoch >> 24), (uint8_t) (hop->epoch >> 16),
                             (uint8_t) (hop->epoch >> 8), (uint8_t) hop->epoch };
        qy_buf_append (&x->acks, head, sizeof (head));
        hop->nacks++;
    }
    uint8_t n [8];
    for (int k = 0; k < 8; k++)
        n [k] = (uint8_t) (meta.sseq >> (56 - 8 * k));
    qy_buf_append (&x->acks, n, sizeof (n));
    qy_metric_add (hop->m_acked, meta.count);
}

//  Say the acknowledgements. One that cannot go because the sender's pipe
//  is full is kept for the next turn: a sender only sends again what a bus
//  of another epoch holds, so a lost one is never made up. A sender with
//  no connection any more gets none: its link came back (it sends all it
//  still holds again, the stages dedup by message id) or it is gone, and
//  its slot may serve another.
static void s_ack_flush (s_hop_t *hop)
{
    for (int i = 0; hop->nacks && i < hop->nsenders; i++) {
        s_sender_t *x = &hop->senders [i];
        if (!x->acks.len)
            continue;
        if (zmq_send (hop->front, x->id, x->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
            if (errno == EHOSTUNREACH) {
                qy_buf_reset (&x->acks);
                hop->nacks--;
            }
            continue;
        }
        zmq_send (hop->front, x->acks.data, x->acks.len, 0);
        qy_buf_reset (&x->acks);
        hop->nacks--;
    }
}

//  "Which bus is this?": the epoch, so a sender knows a restart.
static void s_hello (s_hop_t *hop, zmq_msg_t *id)
{
    uint8_t e [7] = { 'Q', 'Y', 'E', (uint8_t) (hop->epoch >> 24), (uint8_t) (hop->epoch >> 16),
                      (uint8_t) (hop->epoch >> 8), (uint8_t) hop->epoch };
    if (zmq_send (hop->front, zmq_msg_data (id), zmq_msg_size (id), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send (hop->front, e, sizeof (e), 0);
}

//  "Done up to seq": the replica's owed work up to it is durable.
static void s_done (s_hop_t *hop, int i, const uint8_t *b)
{
    s_peer_t *p = &hop->peers [i];
    uint32_t epoch = (uint32_t) b [3] << 24 | (uint32_t) b [4] << 16 | (uint32_t) b [5] << 8 | b [6];
    uint64_t upto = 0;
    for (int k = 0; k < 8; k++)
        upto = upto << 8 | b [7 + k];
    if (epoch != hop->epoch)
        return;         //  of a bus that ran before this one
    zmq_msg_t m;
    zmq_msg_init (&m);
    s_meta_t meta;
    while (p->owed.n && p->owed.seq [p->owed.head].seq <= upto && s_fifo_pop (&p->owed, &m, &meta)) {
        zmq_msg_close (&m);
        s_ack_later (hop, meta);
    }
    zmq_msg_close (&m);
    if (p->leaving && !p->owed.n)
        s_forget (hop, i);
}

//  Is each replica still there? A probe it cannot be sent means its
//  connection is gone (the process died, or heartbeats cut a silent link):
//  what it owed goes to another, and an idle one is not counted any more.
static void s_probe (s_hop_t *hop)
{
    for (int i = hop->npeers - 1; i >= 0; i--) {
        s_peer_t *p = &hop->peers [i];
        if (zmq_send (hop->back, p->id, p->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
            if (errno == EHOSTUNREACH)
                s_forget (hop, i);
            continue;
        }
        zmq_send (hop->back, "QYP", 3, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send (hop->back, "", 0, ZMQ_DONTWAIT);
    }
}

//  A replica's credit after it said n more (or n in all, set): at most the
//  hop's bound. A replica's window is smaller than that; one that says
//  more (confused, or hostile) must not make the bus hold more for it,
//  nor overflow the sum by saying it again and again.
static int64_t s_credit_said (int64_t credit, int64_t n, int64_t bound, bool set)
{
    int64_t c = set ? n : credit + n;
    return c < bound ? c : bound;
}

//  Whether replica p may be sent more: credit, not leaving, and fewer
//  than the hop's bound owed (a replica that never says done is not sent
//  more than the bound however much credit it says).
static bool s_may_send (const s_hop_t *hop, const s_peer_t *p)
{
    return p->credit > 0 && !p->leaving && p->owed.events < hop->queue_max;
}

//  A replica's word: credit, credit in all, or goodbye (answered).
static void s_hear (s_hop_t *hop)
{
    zmq_msg_t id, body;
    zmq_msg_init (&id);
    zmq_msg_init (&body);
    while (zmq_msg_recv (&id, hop->back, ZMQ_DONTWAIT) >= 0) {
        if (!zmq_msg_more (&id) || zmq_msg_recv (&body, hop->back, ZMQ_DONTWAIT) < 0)
            continue;
        while (zmq_msg_more (&body) && zmq_msg_recv (&body, hop->back, ZMQ_DONTWAIT) >= 0)
            ;                                   //  nothing of ours has more frames
        const uint8_t *b = zmq_msg_data (&body);
        size_t len = zmq_msg_size (&body);
        if (len < 3 || b [0] != 'Q' || b [1] != 'Y')
            continue;
        s_peer_t *p = s_peer (hop, zmq_msg_data (&id), zmq_msg_size (&id));
        if (!p)
            continue;
        p->heard_us = qy_mono_us ();
        int64_t n = len >= 7 ? (int64_t) ((uint32_t) b [3] << 24 | (uint32_t) b [4] << 16 | (uint32_t) b [5] << 8 | b [6]) : 0;
        if (b [2] == 'D' && len == 15)
            s_done (hop, (int) (p - hop->peers), b);
        else
        if (p->leaving)
            ;                   //  credit from a replica that said goodbye: none
        else
        if (b [2] == 'C')
            p->credit = s_credit_said (p->credit, n, (int64_t) hop->queue_max, false);
        else
        if (b [2] == 'S')
            p->credit = s_credit_said (p->credit, n, (int64_t) hop->queue_max, true);
        else
        if (b [2] == 'B') {
            p->credit = 0;
            qy_metric_add (hop->m_byes, 1);
            qy_log_limited (QY_LOG_INFO, "hop=%s a replica said goodbye", hop->name);
            //  After everything sent to it before: the same pipe, in order.
            if (zmq_send (hop->back, zmq_msg_data (&id), zmq_msg_size (&id), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
                zmq_send (hop->back, "QYA", 3, ZMQ_SNDMORE | ZMQ_DONTWAIT);
                zmq_send (hop->back, "", 0, ZMQ_DONTWAIT);
            }
            //  It is going: no replica of this hop any more, known until it owes nothing.
            p->leaving = true;
            if (!p->owed.n)
                s_forget (hop, (int) (p - hop->peers));
        }
    }
    zmq_msg_close (&id);
    zmq_msg_close (&body);
}

//  Hand the message to the next replica with credit. Returns true when
//  sent; false leaves it in hand (no replica may take it now).
static bool s_hand (s_hop_t *hop, zmq_msg_t *m)
{
    for (int tried = 0; tried < hop->npeers; ) {
        int i = hop->next % hop->npeers;
        s_peer_t *p = &hop->peers [i];
        if (!s_may_send (hop, p)) {
            hop->next = i + 1;
            tried++;
            continue;
        }
        if (zmq_send (hop->back, p->id, p->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
            if (errno == EHOSTUNREACH) {            //  gone without a goodbye
                qy_log_limited (QY_LOG_INFO, "hop=%s a replica left", hop->name);
                s_forget (hop, i);
            }
            else {                                  //  its queue is full: it says its credit again when quiet
                p->credit = 0;
                hop->next = i + 1;
            }
            tried++;
            continue;
        }
        //  The routing frame went: so do the number and the message, kept as owed.
        uint8_t head [15] = { 'Q', 'Y', 'N', (uint8_t) (hop->epoch >> 24), (uint8_t) (hop->epoch >> 16),
                              (uint8_t) (hop->epoch >> 8), (uint8_t) hop->epoch };
        uint64_t seq = ++hop->seq;
        for (int k = 0; k < 8; k++)
            head [7 + k] = (uint8_t) (seq >> (56 - 8 * k));
        zmq_send (hop->back, head, sizeof (head), ZMQ_SNDMORE);
        zmq_msg_t keep;
        zmq_msg_init (&keep);
        zmq_msg_copy (&keep, m);
        zmq_msg_send (m, hop->back, 0);
        hop->hand.seq = seq;
        s_fifo_push (&p->owed, &keep, hop->hand);
        zmq_msg_close (&keep);
        p->credit -= hop->hand.count;       //  a whole pack: below 0 by its rest at most
        qy_metric_add (hop->m_sent, hop->hand.count);
        hop->next = i + 1;
        return true;
    }
    return false;
}

//  What the hop's replicas may still be sent, in all: 0 while they are
//  full (the hop holds what comes, and pushes back upstream).
static int64_t s_credit (const s_hop_t *hop)
{
    int64_t sum = 0;
    for (int i = 0; i < hop->npeers; i++)
        sum += hop->peers [i].credit > 0 ? hop->peers [i].credit : 0;
    return sum;
}

static bool s_any_credit (const s_hop_t *hop)
{
    for (int i = 0; i < hop->npeers; i++)
        if (s_may_send (hop, &hop->peers [i]))
            return true;
    return false;
}

//  Skip the rest of a message of more frames than ours.
static void s_skip (void *sock, zmq_msg_t *m)
{
    while (zmq_msg_more (m) && zmq_msg_recv (m, sock, ZMQ_DONTWAIT) >= 0)
        ;
}

//  The next message from the front into m, with where it came from in
//  meta; hellos are answered on the way. An outlet's message is
//  [id] ["QYM" + number] [payload]; a plain DEALER's (qyctl) [id] [payload]
//  wants no acknowledgement.
static bool s_take (s_hop_t *hop, zmq_msg_t *m, s_meta_t *meta)
{
    zmq_msg_t id;
    zmq_msg_init (&id);
    bool got = false;
    while (!got && zmq_msg_recv (&id, hop->front, ZMQ_DONTWAIT) >= 0) {
        if (!zmq_msg_more (&id) || zmq_msg_recv (m, hop->front, ZMQ_DONTWAIT) < 0)
            continue;
        const uint8_t *b = zmq_msg_data (m);
        size_t len = zmq_msg_size (m);
        *meta = (s_meta_t) { .slot = -1, .count = 1 };
        if (!zmq_msg_more (m) && len == 3 && memcmp (b, "QYH", 3) == 0) {
            s_hello (hop, &id);
            continue;
        }
        if (zmq_msg_more (m) && len == 11 && memcmp (b, "QYM", 3) == 0) {
            uint64_t sseq = 0;
            for (int k = 0; k < 8; k++)
                sseq = sseq << 8 | b [3 + k];
            if (zmq_msg_recv (m, hop->front, ZMQ_DONTWAIT) < 0)
                continue;
            if (zmq_msg_more (m)) {
                s_skip (hop->front, m);
                continue;
            }
            int slot = s_sender (hop, zmq_msg_data (&id), zmq_msg_size (&id));
            if (slot < 0)
                qy_log_limited (QY_LOG_ERROR, "hop=%s unfinished: sender table full, a message taken without "
                                "acknowledgement (its sender reports it unfinished)", hop->name);
            else {
                *meta = (s_meta_t) { 0, sseq, slot, hop->senders [slot].gen, 1 };
                hop->senders [slot].held++;
                hop->senders [slot].heard_us = qy_mono_us ();
            }
            got = true;
            continue;
        }
        if (zmq_msg_more (m)) {
            s_skip (hop->front, m);
            continue;
        }
        got = true;
    }
    zmq_msg_close (&id);
    if (got)
        meta->count = (uint32_t) qy_pack_count (zmq_msg_data (m), zmq_msg_size (m));
    return got;
}

//  Take what the front holds into the hop's queue, up to a burst.
static void s_fill (s_hop_t *hop)
{
    zmq_msg_t m;
    zmq_msg_init (&m);
    s_meta_t meta;
    for (int k = 0; k < S_BURST && hop->queue.events < hop->queue_max && s_take (hop, &m, &meta); k++)
        s_fifo_push (&hop->queue, &m, meta);
    zmq_msg_close (&m);
}

//  The next message to hand out: owed by a dead replica first, then the queue.
static bool s_next (s_hop_t *hop, zmq_msg_t *m)
{
    return s_fifo_pop (&hop->again, m, &hop->hand) || s_fifo_pop (&hop->queue, m, &hop->hand);
}

static void *s_run (void *arg)
{
    s_hop_t *hop = arg;
    zmq_msg_t m;
    zmq_msg_init (&m);
    bool held = false;
    for (;;) {
        bool credit = s_any_credit (hop);
        zmq_pollitem_t items [2] = { { hop->back, 0, ZMQ_POLLIN, 0 }, { hop->front, 0, ZMQ_POLLIN, 0 } };
        //  The front is read while the hop's queue has room, credit or not:
        //  an outlet's unacknowledged messages are bounded by its window,
        //  and hellos are answered at once (a sender learns the epoch with
        //  no replica there yet). Past the bound (a plain DEALER has no
        //  window) the front waits, and its pipes push back.
        int n = hop->queue.events < hop->queue_max ? 2 : 1;
        bool ready = credit && (held || hop->again.n || hop->queue.n);
        if (zmq_poll (items, n, ready ? 0 : 100) < 0) {
            if (errno == ETERM)
                break;
            continue;
        }
        if (items [0].revents & ZMQ_POLLIN)
            s_hear (hop);
        if (n == 2 && (items [1].revents & ZMQ_POLLIN))
            s_fill (hop);
        if (qy_mono_us () >= hop->next_probe_us) {
            s_probe (hop);
            hop->next_probe_us = qy_mono_us () + 1000000;
        }
        s_gauges (hop);
        //  Hand out what the hop holds while replicas may take it, up to a
        //  burst (a poll per message would cost more than the message).
        for (int k = 0; k < S_BURST; k++) {
            if (!held && !(held = s_next (hop, &m)))
                break;
            if (!s_any_credit (hop) || !s_hand (hop, &m))
                break;
            held = false;
            zmq_msg_init (&m);
        }
        s_ack_flush (hop);
        qy_metric_set (hop->m_credit, s_credit (hop));
    }
    //  What the hop holds at shutdown is not acknowledged: its senders send
    //  it again to the next bus (a plain DEALER's, qyctl's, is not kept).
    size_t owed = hop->again.events + hop->queue.events + (held ? hop->hand.count : 0);
    for (int i = 0; i < hop->npeers; i++)
        owed += hop->peers [i].owed.events;
    if (owed)
        qy_log_info ("hop=%s stopping with messages not finished downstream, their senders send them again count=%zu",
                     hop->name, owed);
    zmq_msg_close (&m);
    for (int i = 0; i < hop->npeers; i++)
        s_fifo_free (&hop->peers [i].owed);
    s_fifo_free (&hop->again);
    s_fifo_free (&hop->queue);
    for (int i = 0; i < hop->nsenders; i++)
        qy_buf_free (&hop->senders [i].acks);
    zmq_close (hop->front);
    zmq_close (hop->back);
    return NULL;
}

//  One of the hop's metrics, labelled with its name.
static qy_metric_t *s_hop_metric (s_hop_t *hop, const char *metric, bool gauge, const char *help)
{
    char *name = qy_printf ("%s{hop=\"%s\"}", metric, hop->name);
    qy_metric_t *m = gauge ? qy_gauge (name, help) : qy_counter (name, help);
    free (name);
    return m;
}

int main (int argc, char **argv)
{
    bus_config_t cfg = { 0 };
    qy_service_start ("bus", argc, argv, s_options, QY_ARRAY_LEN (s_options), &cfg, &cfg.common);
    void *ctx = zmq_ctx_new ();
    if (qy_zmq_curve_hop_zap_start (ctx))       //  CURVE hops with zmq.curve_clients: before any bind
        return 2;
    s_hop_t *hops = qy_calloc (16, sizeof (s_hop_t));     //  a replica table each: not on the stack
    int nhops = 0;
    char *list = qy_strdup (cfg.hops), *save = NULL;
    for (char *h = strtok_r (list, ";", &save); h && nhops < 16; h = strtok_r (NULL, ";", &save)) {
        char *eq = strchr (h, '='), *gt = eq ? strchr (eq, '>') : NULL;
        if (!eq || !gt) {
            qy_log_error ("bad hop '%s': expected name=front>back", h);
            return 2;
        }
        *eq = 0; *gt = 0;
        s_hop_t *hop = &hops [nhops];
        qy_strlcpy (hop->name, h, sizeof (hop->name));
        hop->m_sent = s_hop_metric (hop, "qy_bus_sent_total", false, "events handed to a replica (in packs or alone)");
        hop->m_replicas = s_hop_metric (hop, "qy_bus_replicas", true,
                                        "replicas the hop knows (credit given at least once, not yet gone)");
        hop->m_byes = s_hop_metric (hop, "qy_bus_goodbyes_total", false, "replicas that said goodbye (stopping)");
        hop->m_again = s_hop_metric (hop, "qy_bus_redelivered_total", false,
                                     "events a replica owed when it was found gone, handed to another");
        hop->m_owed = s_hop_metric (hop, "qy_bus_owed", true, "events sent to replicas and not yet said done");
        hop->m_credit = s_hop_metric (hop, "qy_bus_credit", true,
                                      "events the hop's replicas may still be sent (0: all full, the hop holds back)");
        hop->m_acked = s_hop_metric (hop, "qy_bus_acked_total", false,
                                     "events acknowledged to their sender (a replica said them done)");
        //  Random, so that a "done" said to a bus that ran before never matches.
        if (getrandom (&hop->epoch, sizeof (hop->epoch), 0) != (ssize_t) sizeof (hop->epoch))
            hop->epoch = (uint32_t) qy_now_us ();
        //  The hop's queue (a replica holds only its window): twice the mark
        //  in events, as deep as the PUSH/PULL pipes before credit were.
        hop->front = qy_zmq_socket (ctx, ZMQ_ROUTER, (int) cfg.hwm, 0);
        hop->queue_max = (size_t) cfg.hwm * 2;
        hop->back = qy_zmq_socket (ctx, ZMQ_ROUTER, (int) cfg.hwm, 0);
        qy_inlet_heartbeats (hop->back, (int) cfg.replica_timeout_ms);
        int one = 1;
        zmq_setsockopt (hop->back, ZMQ_ROUTER_MANDATORY, &one, sizeof (one));   //  unroutable: say so, keep the message
        //  The front: an acknowledgement that cannot go now is kept, and a
        //  sender reconnecting under its routing id takes its place.
        qy_inlet_heartbeats (hop->front, (int) cfg.replica_timeout_ms);
        zmq_setsockopt (hop->front, ZMQ_ROUTER_MANDATORY, &one, sizeof (one));
        zmq_setsockopt (hop->front, ZMQ_ROUTER_HANDOVER, &one, sizeof (one));
        if (qy_zmq_curve_hop (hop->front, true) || qy_zmq_curve_hop (hop->back, true)
            || qy_zmq_bind (hop->front, eq + 1) || qy_zmq_bind (hop->back, gt + 1))
            return 2;
        qy_log_info ("hop configured hop=%s front=%s back=%s", hop->name, eq + 1, gt + 1);
        nhops++;
    }
    free (list);
    for (int i = 0; i < nhops; i++)
        pthread_create (&hops [i].thread, NULL, s_run, &hops [i]);
    qy_service_ready ();
    while (qy_service_running ()) {
        qy_service_heartbeat ();
        qy_sleep_ms (200);
    }
    zmq_ctx_shutdown (ctx);
    for (int i = 0; i < nhops; i++)
        pthread_join (hops [i].thread, NULL);
    qy_zmq_curve_hop_zap_stop ();
    zmq_ctx_term (ctx);
    free (hops);
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    return 0;
}
