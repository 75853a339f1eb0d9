//  A stage's end of a bus hop, with credit (qy/inlet.h).
#include "qy/zmq_curve.h"
#include "qy/inlet.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/outlet.h"
#include "qy/pack.h"
#include "qy/service.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_OUTLETS 4
#define S_DONES   64

//  A "done" waiting for what the stage passed on before it to be
//  acknowledged downstream: the bus's number of the last message taken,
//  and each outlet's next number at the time.
typedef struct {
    uint8_t  last [12];
    uint64_t mark [S_OUTLETS];
} s_done_t;

//  A quiet stage with credit left says again how much it has this often:
//  a bus that restarted knows nothing of it.
#define S_REFRESH_US 1000000

struct qy_inlet_t {
    void   *sock;
    int     window;
    int     credit;          //  what the bus may still send (granted, not received)
    int     taken;           //  received since the last grant
    bool    bye, drained, gave_up;
    int64_t last_rx_us, last_refresh_us;
    //  Owed work (docs/architecture.md): the bus's epoch and number of the
    //  last message taken whole, and whether its "done" is still to be said.
    uint8_t last [12];
    bool    undone;
    //  The pack in hand, its events taken one by one: its number becomes
    //  the last taken only with its last event (a "done" said before then
    //  must not cover the rest; the bus's numbers of one replica are not
    //  consecutive, so the previous one is kept until then).
    zmq_msg_t      pack;
    qy_pack_iter_t rest;
    bool           in_pack, pack_numbered;
    uint8_t        pack_num [12];
    int            pack_events;     //  of the last payload taken (1: a plain event)
    //  Outlets whose acknowledgements a "done" waits for, and the dones
    //  waiting (oldest first; a later one covers an earlier one).
    qy_outlet_t *outlets [S_OUTLETS];
    int      noutlets;
    s_done_t dones [S_DONES];
    int      ndones;
    qy_metric_t *m_credit;   //  qy_inlet_credit: 0 while the stage has all it may take
};

static void s_say_done (qy_inlet_t *self);

//  ZeroMQ's heartbeats on the link to the bus: a bus or link gone silent
//  is cut (and reconnected) within the timeout.
void qy_inlet_heartbeats (void *sock, int timeout_ms)
{
    int ivl = 1000;
    zmq_setsockopt (sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof (ivl));
    zmq_setsockopt (sock, ZMQ_HEARTBEAT_TIMEOUT, &timeout_ms, sizeof (timeout_ms));
    zmq_setsockopt (sock, ZMQ_HEARTBEAT_TTL, &timeout_ms, sizeof (timeout_ms));
}

static void s_tell (qy_inlet_t *self, char op, int n)
{
    uint8_t f [7] = { 'Q', 'Y', (uint8_t) op, (uint8_t) (n >> 24), (uint8_t) (n >> 16), (uint8_t) (n >> 8), (uint8_t) n };
    //  A full or absent bus: the credit is said again after a quiet second.
    if (zmq_send (self->sock, f, op == 'B' ? 3 : sizeof (f), ZMQ_DONTWAIT) < 0 && op != 'S')
        qy_log_debug ("inlet: %c not sent: %s", op, zmq_strerror (errno));
}

qy_inlet_t *qy_inlet_new (void *ctx, const char *endpoints, int window)
{
    //  One bus per hop: grants spread over several would never add up.
    if (strpbrk (endpoints, ", ")) {
        qy_log_error ("inlet: one bus endpoint per hop, not '%s'", endpoints);
        return NULL;
    }
    qy_inlet_t *self = qy_calloc (1, sizeof (*self));
    self->window = window > 4 ? window : 4;
    self->sock = qy_zmq_socket (ctx, ZMQ_DEALER, self->window * 2, 0);
    qy_inlet_heartbeats (self->sock, QY_INLET_TIMEOUT_MS);
    if (qy_zmq_curve_hop (self->sock, false) || qy_zmq_connect (self->sock, endpoints)) {
        qy_inlet_destroy (&self);
        return NULL;
    }
    zmq_msg_init (&self->pack);
    self->credit = self->window;
    self->m_credit = qy_gauge ("qy_inlet_credit", "events the bus may still send this stage (granted, not received)");
    qy_metric_set (self->m_credit, self->credit);
    self->last_rx_us = self->last_refresh_us = qy_mono_us ();
    s_tell (self, 'C', self->credit);
    return self;
}

void qy_inlet_destroy (qy_inlet_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    //  The last "done" should reach the bus (else what it names is sent
    //  to another replica again: harmless, but work).
    int linger = 1000;
    zmq_setsockopt ((*self_p)->sock, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_close ((*self_p)->sock);
    zmq_msg_close (&(*self_p)->pack);
    free (*self_p);
    *self_p = NULL;
}

void *qy_inlet_socket (qy_inlet_t *self)
{
    return self->sock;
}

//  One event was taken: counted against the credit, granted again a
//  quarter window at a time.
static void s_taken (qy_inlet_t *self)
{
    self->last_rx_us = qy_mono_us ();
    self->credit--;         //  below 0 when the bus sent more than granted (a refresh crossed a send, a pack)
    if (!self->bye && ++self->taken >= self->window / 4) {
        s_tell (self, 'C', self->taken);
        self->credit += self->taken;
        self->taken = 0;
    }
    qy_metric_set (self->m_credit, self->credit);
}

//  The next event of the pack in hand into m (a copy); with its last, the
//  pack is taken whole and its number is the last taken.
static void s_from_pack (qy_inlet_t *self, zmq_msg_t *m)
{
    const void *data;
    size_t len;
    if (qy_pack_next (&self->rest, &data, &len)) {
        zmq_msg_close (m);
        zmq_msg_init_size (m, len);
        if (len)
            memcpy (zmq_msg_data (m), data, len);
    }
    if (self->rest.left)
        return;
    self->in_pack = false;
    zmq_msg_close (&self->pack);
    zmq_msg_init (&self->pack);
    if (self->pack_numbered) {
        memcpy (self->last, self->pack_num, sizeof (self->last));
        self->undone = true;
    }
}

//  A payload received (numbered when num): a pack is kept in hand and its
//  first event put in m; a plain event stays in m, taken whole.
static void s_payload (qy_inlet_t *self, zmq_msg_t *m, const uint8_t *num)
{
    self->pack_events = (int) qy_pack_count (zmq_msg_data (m), zmq_msg_size (m));
    if (self->pack_events > 1) {
        zmq_msg_move (&self->pack, m);
        qy_pack_iter (&self->rest, zmq_msg_data (&self->pack), zmq_msg_size (&self->pack));
        self->in_pack = true;
        self->pack_numbered = num != NULL;
        if (num)
            memcpy (self->pack_num, num, sizeof (self->pack_num));
        s_from_pack (self, m);
    }
    else
    if (num) {
        memcpy (self->last, num, sizeof (self->last));
        self->undone = true;
    }
    s_taken (self);
}

//  An event handed to the stage: what it passes on until its "done"
//  waits in the tied outlets' packs (the bus hands the event again if the
//  stage dies before then).
static void s_hold (qy_inlet_t *self)
{
    for (int i = 0; i < self->noutlets; i++)
        qy_outlet_hold (self->outlets [i], true);
}

bool qy_inlet_expect_more (int pack_events, int credit, bool bye)
{
    return pack_events >= QY_PACK_MAX && credit > 0 && !bye;
}

//  Whether the next pack of the sender's batch is worth a moment's wait
//  (qy_inlet_expect_more), and if so whether it came within it.
static bool s_more_came (qy_inlet_t *self)
{
    if (!qy_inlet_expect_more (self->pack_events, self->credit, self->bye))
        return false;
    self->pack_events = 0;          //  once per pack
    zmq_pollitem_t item = { self->sock, 0, ZMQ_POLLIN, 0 };
    return zmq_poll (&item, 1, QY_INLET_MORE_MS) > 0;
}

//  The next payload from the bus into m (0), or -1 when none is there.
static int s_receive (qy_inlet_t *self, zmq_msg_t *m)
{
    while (zmq_msg_recv (m, self->sock, ZMQ_DONTWAIT) >= 0) {
        uint8_t num [12];
        bool numbered = false;
        if (zmq_msg_more (m) && zmq_msg_size (m) == 15 && memcmp (zmq_msg_data (m), "QYN", 3) == 0) {
            //  A numbered message: its number, then its payload (same message: all frames are there).
            memcpy (num, (uint8_t *) zmq_msg_data (m) + 3, sizeof (num));
            numbered = true;
            if (zmq_msg_recv (m, self->sock, ZMQ_DONTWAIT) < 0 || zmq_msg_more (m))
                continue;
        }
        else
        if (zmq_msg_more (m)) {
            //  A control message from the bus: the goodbye's answer, or a probe.
            bool ack = zmq_msg_size (m) == 3 && memcmp (zmq_msg_data (m), "QYA", 3) == 0;
            while (zmq_msg_more (m) && zmq_msg_recv (m, self->sock, ZMQ_DONTWAIT) >= 0)
                ;
            if (ack && self->bye)
                self->drained = true;
            continue;
        }
        s_payload (self, m, numbered ? num : NULL);
        s_hold (self);
        return 0;
    }
    return -1;
}

int qy_inlet_recv (qy_inlet_t *self, zmq_msg_t *m)
{
    if (self->ndones)
        s_say_done (self);
    if (self->in_pack) {
        s_from_pack (self, m);
        s_taken (self);
        s_hold (self);
        return 0;
    }
    if (s_receive (self, m) == 0 || (s_more_came (self) && s_receive (self, m) == 0))
        return 0;
    //  Nothing waiting: the stage's batch ends here, so what it passed on
    //  goes now (no pack waits for more); the outlets take their
    //  acknowledgements and say hello even while the stage sends nothing
    //  (a restarted bus is noticed, and what it lost sent again, without
    //  waiting for traffic).
    for (int i = 0; i < self->noutlets; i++) {
        qy_outlet_flush (self->outlets [i]);
        qy_outlet_poll (self->outlets [i]);
    }
    int64_t now = qy_mono_us ();
    if (!self->bye && now - self->last_rx_us >= S_REFRESH_US && now - self->last_refresh_us >= S_REFRESH_US) {
        //  Quiet: whatever was taken is granted again, and the whole said.
        self->credit += self->taken;
        self->taken = 0;
        s_tell (self, 'S', self->credit > 0 ? self->credit : 0);
        qy_metric_set (self->m_credit, self->credit);
        self->last_refresh_us = now;
    }
    return -1;
}

void qy_inlet_after (qy_inlet_t *self, qy_outlet_t *out)
{
    if (out && self->noutlets < S_OUTLETS)
        self->outlets [self->noutlets++] = out;
}

//  Say the newest "done" whose passed-on messages are all acknowledged.
static void s_say_done (qy_inlet_t *self)
{
    for (int i = 0; i < self->noutlets; i++)
        qy_outlet_poll (self->outlets [i]);
    int ready = 0;
    while (ready < self->ndones) {
        bool acked = true;
        for (int i = 0; i < self->noutlets; i++)
            acked = acked && qy_outlet_acked (self->outlets [i]) >= self->dones [ready].mark [i];
        if (!acked)
            break;
        ready++;
    }
    if (!ready)
        return;
    uint8_t f [15] = { 'Q', 'Y', 'D' };
    memcpy (f + 3, self->dones [ready - 1].last, sizeof (self->dones [0].last));
    //  Not sent (the bus away or full): said with the next one, which covers it.
    if (zmq_send (self->sock, f, sizeof (f), ZMQ_DONTWAIT) != (int) sizeof (f))
        return;
    memmove (self->dones, self->dones + ready, (size_t) (self->ndones - ready) * sizeof (s_done_t));
    self->ndones -= ready;
}

void qy_inlet_done (qy_inlet_t *self)
{
    self->pack_events = 0;          //  the batch is over: nothing to wait for
    //  What was passed on goes now (the marks name its packs), and what
    //  the stage sends until its next event goes at once.
    for (int i = 0; i < self->noutlets; i++)
        qy_outlet_hold (self->outlets [i], false);
    if (self->undone) {
        //  Full: the newest waits with the marks of now, which cover the older ones.
        s_done_t *d = &self->dones [self->ndones < S_DONES ? self->ndones++ : S_DONES - 1];
        memcpy (d->last, self->last, sizeof (d->last));
        for (int i = 0; i < self->noutlets; i++)
            d->mark [i] = qy_outlet_next (self->outlets [i]);
        self->undone = false;
    }
    if (self->ndones)
        s_say_done (self);
}

bool qy_inlet_finished (qy_inlet_t *self)
{
    if (self->ndones)
        s_say_done (self);
    return !self->undone && !self->ndones;
}

void qy_inlet_bye (qy_inlet_t *self)
{
    if (self->bye)
        return;
    self->bye = true;
    s_tell (self, 'B', 0);
}

bool qy_inlet_drained (qy_inlet_t *self)
{
    return self->drained;
}

bool qy_inlet_serving (qy_inlet_t *self)
{
    if (qy_service_running ())
        return true;
    qy_inlet_bye (self);
    //  Drained, and every "done" said (what it passed on acknowledged).
    if ((self->drained && qy_inlet_finished (self)) || self->gave_up)
        return false;
    if (qy_service_waiting ())
        return true;
    qy_log_warn ("inlet: stopping grace over before the bus's answer to goodbye was taken (the bus away, or more sent than could be finished)");
    self->gave_up = true;       //  said once; what is still queued: qy_deadletter_rest
    return false;
}

int qy_inlet_window (long batch, long hwm)
{
    long w = batch * 16;
    return (int) (w < hwm ? w : hwm);
}
