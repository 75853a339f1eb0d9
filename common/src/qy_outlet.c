//  A stage's sending end of a bus hop, with acknowledgement (qy/outlet.h).
#include "qy/outlet.h"
#include "qy/zmq_curve.h"
#include "qy/inlet.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/pack.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zmq.h>

#define S_HELLO_US 1000000

//  Message seq lives in slot seq % cap while low <= seq < next; the open
//  pack, not sent yet, will be message next.
struct qy_outlet_t {
    void      *sock;
    char       name [32];
    bool       known;            //  the bus's epoch is known
    uint32_t   epoch;
    uint64_t   next, low;
    size_t     cap;
    zmq_msg_t *msg;
    uint32_t  *sent_epoch;       //  the epoch it was last sent under
    int64_t   *sent_us;          //  first sent: for the unfinished deadline
    bool      *acked;
    uint32_t  *count;            //  events in the message (a pack, or 1)
    size_t     events;           //  events in sent messages not acknowledged
    qy_pack_t  open;             //  events appended, not sent yet
    bool       hold;             //  the open pack waits for qy_outlet_flush (qy_outlet_hold)
    size_t     stale;            //  unacknowledged, sent under another epoch
    int64_t    hello_us;
    bool       unfinished;       //  said once per spell
    void      *monitor;          //  PAIR reading the socket's handshakes and disconnections
    bool       linked;           //  a connection to the bus has finished its handshake
    bool       rejoin;           //  the link broke and came back: the bus's next epoch says whether it is the same bus
    qy_metric_t *m_unacked, *m_resent, *m_unfinished, *m_lost, *m_restarts;
};

static qy_metric_t *s_metric (const char *metric, const char *name, bool gauge, const char *help)
{
    char *full = qy_printf ("%s{hop=\"%s\"}", metric, name);
    qy_metric_t *m = gauge ? qy_gauge (full, help) : qy_counter (full, help);
    free (full);
    return m;
}

//  Watch the socket's handshakes and disconnections, before it connects
//  (a monitor attached later can miss the first handshake).
static void s_monitor_open (qy_outlet_t *self, void *ctx)
{
    char addr [64];
    qy_snprintf (addr, sizeof (addr), "inproc://qy-outlet-%p", (void *) self);
    if (zmq_socket_monitor (self->sock, addr, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) != 0
        || !(self->monitor = zmq_socket (ctx, ZMQ_PAIR))
        || zmq_connect (self->monitor, addr) != 0) {
        qy_log_error ("hop=%s outlet cannot monitor its socket: %s", self->name, zmq_strerror (zmq_errno ()));
        abort ();
    }
    int linger = 0;
    zmq_setsockopt (self->monitor, ZMQ_LINGER, &linger, sizeof (linger));
}

qy_outlet_t *qy_outlet_open (void *ctx, int window, const char *name)
{
    qy_outlet_t *self = qy_calloc (1, sizeof (*self));
    qy_strlcpy (self->name, name, sizeof (self->name));
    self->cap = window > 16 ? (size_t) window : 16;
    self->msg = qy_calloc (self->cap, sizeof (zmq_msg_t));
    self->sent_epoch = qy_calloc (self->cap, sizeof (uint32_t));
    self->sent_us = qy_calloc (self->cap, sizeof (int64_t));
    self->acked = qy_calloc (self->cap, sizeof (bool));
    self->count = qy_calloc (self->cap, sizeof (uint32_t));
    self->next = self->low = 1;
    //  Room for the whole window and the hellos: the window is the bound.
    self->sock = qy_zmq_socket (ctx, ZMQ_DEALER, (int) self->cap + 64, 0);
    //  A routing id of its own, so the bus's acknowledgements find this
    //  outlet again after a reconnection (first byte non-zero: libzmq's rule).
    uint8_t id [16];
    if (getrandom (id, sizeof (id), 0) != (ssize_t) sizeof (id))
        for (size_t i = 0; i < sizeof (id); i++)
            id [i] = (uint8_t) (qy_now_us () >> (i % 8));
    id [0] |= 0x80;
    zmq_setsockopt (self->sock, ZMQ_ROUTING_ID, id, sizeof (id));
    qy_inlet_heartbeats (self->sock, QY_INLET_TIMEOUT_MS);
    s_monitor_open (self, ctx);
    self->m_unacked = s_metric ("qy_outlet_unacked", name, true, "events sent to the bus (or packed) and not yet acknowledged (finished downstream)");
    self->m_resent = s_metric ("qy_outlet_resent_total", name, false, "events sent again because the bus restarted (a new epoch)");
    self->m_restarts = s_metric ("qy_outlet_bus_restarts_total", name, false, "times the bus was found with a new epoch");
    self->m_unfinished = s_metric ("qy_outlet_unfinished", name, true,
                                   "events unacknowledged for more than 60 s (nonzero: the chain is stuck or losing work)");
    self->m_lost = s_metric ("qy_outlet_lost_total", name, false,
                             "events unacknowledged when the outlet closed (re-sent from the sender's own record, or lost)");
    return self;
}

int qy_outlet_connect (qy_outlet_t *self, const char *endpoint)
{
    //  One bus per hop: acknowledgements of several would never add up.
    if (strpbrk (endpoint, ", ")) {
        qy_log_error ("outlet: one bus endpoint per hop, not '%s'", endpoint);
        return -1;
    }
    //  CURVE on the hops when configured (qy/zmq_curve.h), as the inlet.
    if (qy_zmq_curve_hop (self->sock, false) || qy_zmq_connect (self->sock, endpoint))
        return -1;
    qy_outlet_poll (self);
    return 0;
}

qy_outlet_t *qy_outlet_new (void *ctx, const char *endpoint, int window, const char *name)
{
    qy_outlet_t *self = qy_outlet_open (ctx, window, name);
    if (qy_outlet_connect (self, endpoint))
        qy_outlet_destroy (&self);
    return self;
}

void qy_outlet_destroy (qy_outlet_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    qy_outlet_t *self = *self_p;
    if (qy_outlet_pending (self)) {
        size_t n = qy_outlet_pending (self);
        qy_log_warn ("hop=%s outlet closed with events not acknowledged count=%zu "
                     "(the bus re-hands what this stage owed, ingest re-sends from its archive)", self->name, n);
        if (self->m_lost)
            qy_metric_add (self->m_lost, (int64_t) n);
    }
    for (uint64_t s = self->low; s < self->next; s++)
        if (!self->acked [s % self->cap])
            zmq_msg_close (&self->msg [s % self->cap]);
    zmq_socket_monitor (self->sock, NULL, 0);
    zmq_close (self->monitor);
    zmq_close (self->sock);
    free (self->msg);
    free (self->sent_epoch);
    free (self->sent_us);
    free (self->acked);
    free (self->count);
    qy_pack_reset (&self->open);
    free (self);
    *self_p = NULL;
}

void *qy_outlet_socket (qy_outlet_t *self)
{
    return self->sock;
}

//  Send message seq (kept in its slot) now: header, then a copy of the
//  payload. False when the socket is full (nothing sent).
static bool s_put (qy_outlet_t *self, uint64_t seq)
{
    uint8_t head [11] = { 'Q', 'Y', 'M' };
    for (int k = 0; k < 8; k++)
        head [3 + k] = (uint8_t) (seq >> (56 - 8 * k));
    if (zmq_send (self->sock, head, sizeof (head), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return false;
    //  The first frame went: the rest of the message does too (atomic).
    zmq_msg_t copy;
    zmq_msg_init (&copy);
    zmq_msg_copy (&copy, &self->msg [seq % self->cap]);
    if (zmq_msg_send (&copy, self->sock, 0) < 0)
        zmq_msg_close (&copy);
    self->sent_epoch [seq % self->cap] = self->epoch;
    return true;
}

static void s_free (void *data, void *hint)
{
    (void) data;
    free (hint);
}

//  Send the open pack as message next, kept until acknowledged. It is
//  committed even when the socket is full: marked as sent under another
//  epoch, it goes with the next qy_outlet_poll's resend.
static void s_ship (qy_outlet_t *self)
{
    if (!self->open.n)
        return;
    uint64_t seq = self->next;
    size_t at = seq % self->cap;
    const uint8_t *wire;
    size_t len = qy_pack_seal (&self->open, &wire);
    //  The bytes are handed over (a pack of one: the event alone, plain).
    zmq_msg_init_data (&self->msg [at], (void *) wire, len, s_free, self->open.data);
    self->count [at] = (uint32_t) self->open.n;
    self->acked [at] = false;
    self->sent_us [at] = qy_mono_us ();
    self->events += self->open.n;
    self->next++;
    self->open.data = NULL;
    qy_pack_reset (&self->open);
    if (!s_put (self, seq)) {
        self->sent_epoch [at] = self->epoch + 1;
        self->stale++;
    }
    qy_metric_set (self->m_unacked, (int64_t) self->events);
}

//  Room in the open pack for an event of len bytes: the pack full by
//  then goes first; 0 (errno EAGAIN) when the window is full (the open
//  pack goes too, so that its acknowledgement can free the window).
static bool s_room_for (qy_outlet_t *self, size_t len)
{
    if (self->open.n && self->open.len + QY_PACK_LEN + len > QY_PACK_BYTES)
        s_ship (self);
    if (qy_outlet_room (self))
        return true;
    s_ship (self);
    errno = EAGAIN;
    return false;
}

//  The event is in the open pack, message next: unheld, or a full pack
//  (events, bytes, or the window's last room), it goes at once.
static uint64_t s_added (qy_outlet_t *self)
{
    uint64_t seq = self->next;
    if (!self->hold || self->open.n >= QY_PACK_MAX || self->open.len >= QY_PACK_BYTES
        || self->events + self->open.n >= self->cap)
        s_ship (self);
    qy_metric_set (self->m_unacked, (int64_t) (self->events + self->open.n));
    return seq;
}

uint64_t qy_outlet_send_pb (qy_outlet_t *self, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size (msg);
    if (!s_room_for (self, len))
        return 0;
    protobuf_c_message_pack (msg, qy_pack_add (&self->open, len));
    return s_added (self);
}

uint64_t qy_outlet_send (qy_outlet_t *self, const void *data, size_t len)
{
    if (!s_room_for (self, len))
        return 0;
    uint8_t *at = qy_pack_add (&self->open, len);
    if (len)
        memcpy (at, data, len);
    return s_added (self);
}

void qy_outlet_flush (qy_outlet_t *self)
{
    s_ship (self);
}

void qy_outlet_hold (qy_outlet_t *self, bool on)
{
    self->hold = on;
    if (!on)
        s_ship (self);
}

//  Messages (packs) sent and not acknowledged.
static size_t s_unacked (const qy_outlet_t *self)
{
    size_t n = 0;
    for (uint64_t s = self->low; s < self->next; s++)
        n += !self->acked [s % self->cap];
    return n;
}

//  The same bus after the link broke: what went down with the connection
//  (in the kernel's buffers, or the bus's socket) is never acknowledged,
//  so everything unacknowledged is sent again, as if the bus had
//  restarted. Some of it arrived: a stage is idempotent by message id.
static void s_rejoined (qy_outlet_t *self)
{
    self->rejoin = false;
    size_t n = s_unacked (self);
    if (!n)
        return;
    qy_log_warn ("hop=%s the link to the bus broke: sending again what it had not acknowledged count=%zu",
                 self->name, self->events);
    for (uint64_t s = self->low; s < self->next; s++)
        self->sent_epoch [s % self->cap] = self->epoch + 1;      //  as if under another epoch
    self->stale = n;
}

//  The bus said its epoch: a new one (restarted) loses what the old held.
static void s_epoch (qy_outlet_t *self, uint32_t epoch, bool hello)
{
    if (self->known && epoch == self->epoch) {
        if (self->rejoin && hello)
            s_rejoined (self);
        return;
    }
    self->rejoin = false;
    if (self->known) {
        qy_metric_add (self->m_restarts, 1);
        qy_log_warn ("hop=%s the bus restarted: sending again what it had not acknowledged count=%zu",
                     self->name, self->events);
    }
    self->known = true;
    self->epoch = epoch;
    self->stale = s_unacked (self);
}

static void s_ack (qy_outlet_t *self, uint64_t seq)
{
    if (seq < self->low || seq >= self->next || self->acked [seq % self->cap])
        return;
    size_t at = seq % self->cap;
    self->acked [at] = true;
    self->events -= self->count [at];
    zmq_msg_close (&self->msg [at]);
    if (self->sent_epoch [at] != self->epoch && self->stale)
        self->stale--;
    while (self->low < self->next && self->acked [self->low % self->cap])
        self->low++;
}

//  Send again what was sent under another epoch, while the socket takes it.
static void s_resend (qy_outlet_t *self)
{
    for (uint64_t s = self->low; s < self->next && self->stale; s++) {
        size_t at = s % self->cap;
        if (self->acked [at] || self->sent_epoch [at] == self->epoch)
            continue;
        if (!s_put (self, s))
            return;
        self->stale--;
        qy_metric_add (self->m_resent, self->count [at]);
    }
    self->stale = 0;
}

//  Oldest unacknowledged past the deadline: said once, until it clears.
static void s_check_unfinished (qy_outlet_t *self, int64_t now)
{
    size_t late = 0;
    for (uint64_t s = self->low; s < self->next; s++) {
        size_t at = s % self->cap;
        if (self->acked [at])
            continue;
        if (now - self->sent_us [at] < QY_OUTLET_UNFINISHED_US)
            break;          //  sent in order: the rest are younger
        late += self->count [at];
    }
    qy_metric_set (self->m_unfinished, (int64_t) late);
    if (late && !self->unfinished)
        qy_log_error ("hop=%s unfinished: events unacknowledged for more than %d s count=%zu "
                      "(the chain downstream is stuck, or lost them)", self->name, QY_OUTLET_UNFINISHED_US / 1000000, late);
    self->unfinished = late > 0;
}

//  The monitor's events: two frames each, 16-bit event and 32-bit value,
//  then the endpoint. One bus endpoint per outlet: a flag says it all.
static void s_link_events (qy_outlet_t *self)
{
    zmq_msg_t head, where;
    zmq_msg_init (&head);
    zmq_msg_init (&where);
    while (zmq_msg_recv (&head, self->monitor, ZMQ_DONTWAIT) >= 0) {
        if (zmq_msg_more (&head))
            zmq_msg_recv (&where, self->monitor, 0);
        uint16_t event = 0;
        if (zmq_msg_size (&head) >= sizeof (event))
            memcpy (&event, zmq_msg_data (&head), sizeof (event));
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && !self->linked) {
            self->linked = true;
            qy_log_info ("hop=%s link to the bus up endpoint=%.*s", self->name,
                         (int) zmq_msg_size (&where), (const char *) zmq_msg_data (&where));
            if (self->rejoin)
                self->hello_us = 0;         //  ask which bus this is, now
        }
        else
        if (event == ZMQ_EVENT_DISCONNECTED && self->linked) {
            //  (a connection that never finished its handshake going away changes nothing)
            self->linked = false;
            self->rejoin = self->known;
            qy_log_warn ("hop=%s link to the bus down endpoint=%.*s", self->name,
                         (int) zmq_msg_size (&where), (const char *) zmq_msg_data (&where));
        }
    }
    zmq_msg_close (&head);
    zmq_msg_close (&where);
}

void qy_outlet_poll (qy_outlet_t *self)
{
    s_link_events (self);
    zmq_msg_t m;
    zmq_msg_init (&m);
    while (zmq_msg_recv (&m, self->sock, ZMQ_DONTWAIT) >= 0) {
        const uint8_t *b = zmq_msg_data (&m);
        size_t len = zmq_msg_size (&m);
        if (len < 7 || b [0] != 'Q' || b [1] != 'Y' || (b [2] != 'E' && b [2] != 'K'))
            continue;
        s_epoch (self, (uint32_t) b [3] << 24 | (uint32_t) b [4] << 16 | (uint32_t) b [5] << 8 | b [6], b [2] == 'E');
        for (size_t at = 7; b [2] == 'K' && at + 8 <= len; at += 8) {
            uint64_t seq = 0;
            for (int k = 0; k < 8; k++)
                seq = seq << 8 | b [at + k];
            s_ack (self, seq);
        }
    }
    zmq_msg_close (&m);
    if (self->stale)
        s_resend (self);
    int64_t now = qy_mono_us ();
    if (now - self->hello_us >= S_HELLO_US) {
        self->hello_us = now;
        zmq_send (self->sock, "QYH", 3, ZMQ_DONTWAIT);
        s_check_unfinished (self, now);
    }
    qy_metric_set (self->m_unacked, (int64_t) qy_outlet_pending (self));
}

bool qy_outlet_linked (const qy_outlet_t *self)
{
    return self->linked;
}

bool qy_outlet_known (const qy_outlet_t *self)
{
    return self->known;
}

void *qy_outlet_link_socket (qy_outlet_t *self)
{
    return self->monitor;
}

uint64_t qy_outlet_acked (const qy_outlet_t *self)
{
    return self->low;
}

//  The window counts events (sent or packed); a message slot for the
//  open pack is there whenever an event is (a message holds one or more).
bool qy_outlet_room (const qy_outlet_t *self)
{
    return self->known && self->events + self->open.n < self->cap && self->next - self->low < self->cap;
}

uint64_t qy_outlet_next (const qy_outlet_t *self)
{
    return self->open.n ? self->next + 1 : self->next;
}

size_t qy_outlet_pending (const qy_outlet_t *self)
{
    return self->events + self->open.n;
}

int qy_outlet_window (long hwm)
{
    return (int) (hwm > 16 ? hwm : 16);
}

int qy_outlet_tap (void *router, zmq_msg_t *m, int timeout_ms)
{
    int64_t until = qy_mono_us () + (int64_t) timeout_ms * 1000;
    zmq_msg_t id;
    zmq_msg_init (&id);
    int rc = -1;
    for (int64_t left; rc < 0 && (left = until - qy_mono_us ()) > 0; ) {
        zmq_pollitem_t item = { router, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, (long) (left / 1000) + 1) <= 0)
            continue;
        if (zmq_msg_recv (&id, router, 0) < 0 || !zmq_msg_more (&id) || zmq_msg_recv (m, router, 0) < 0)
            continue;
        const uint8_t *b = zmq_msg_data (m);
        uint8_t reply [15] = { 'Q', 'Y', 'K', 0, 0, 0, 1 };
        size_t rlen = 7;
        if (zmq_msg_size (m) == 3 && memcmp (b, "QYH", 3) == 0)
            reply [2] = 'E';
        else
        if (zmq_msg_more (m) && zmq_msg_size (m) == 11 && memcmp (b, "QYM", 3) == 0) {
            memcpy (reply + 7, b + 3, 8);
            rlen = sizeof (reply);
            rc = zmq_msg_recv (m, router, 0) < 0 ? -1 : 0;
        }
        else
            rc = 0;         //  a plain DEALER's message
        zmq_send (router, zmq_msg_data (&id), zmq_msg_size (&id), ZMQ_SNDMORE);
        zmq_send (router, reply, rlen, 0);
    }
    zmq_msg_close (&id);
    return rc;
}
