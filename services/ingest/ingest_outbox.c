//  Accepted events that did not fit into the moderation hop yet. They are
//  durable already, so holding them is safe; ingest_outbox_room says no
//  while any wait, so new batches are refused until they went. What went
//  is handed on only once the bus acknowledges it (finished downstream,
//  qy/outlet.h): a bus that dies with it leaves it owed, and the outlet
//  sends it again. An archived batch's ingest_owed row (ingest_handon.c)
//  is finished once every event of it sent from here was acknowledged:
//  the outbox counts them per row.
#include "ingest_outbox.h"
#include "qy/archive.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

//  Sent, not yet acknowledged by the bus, in sending order.
typedef struct {
    uint64_t *seq;
    int64_t  *bid;
    char    **mid;
    int64_t  *owed;
    size_t    head, n, cap;
} s_unacked_t;

struct ingest_outbox_t {
    qy_outlet_t *push;
    ingest_handon_t *handon;
    void    **data;
    size_t   *len;
    int64_t  *bid;             //  brand and message id, to know what is in flight
    char    **mid;
    int64_t  *owed;            //  the ingest_owed row it belongs to
    size_t    n, head, cap;
    s_unacked_t unacked;
    //  "brand:msg" → 1 while unacknowledged (0 once acknowledged), so the
    //  archive's re-send skips what this ingest still has in flight: with
    //  the chain behind, acknowledgements take longer than resend.grace_s,
    //  and sending those again would only add to the backlog.
    qy_map_t *inflight;
    //  owed row id → its events waiting here or unacknowledged; the row is
    //  finished when that falls to 0 (zeros stay until the map is rebuilt).
    qy_map_t *owing;
    bool      bus_up;
};

ingest_outbox_t *ingest_outbox_new (qy_outlet_t *push, ingest_handon_t *handon)
{
    ingest_outbox_t *self = qy_calloc (1, sizeof (*self));
    self->push = push;
    self->handon = handon;
    self->inflight = qy_map_new ();
    self->owing = qy_map_new ();
    return self;
}

void ingest_outbox_bus_up (ingest_outbox_t *self, bool up)
{
    self->bus_up = up;
}

//  Whether the event is in flight here; put: record 1 (sent) or 0 (acknowledged) first.
static bool s_inflight (ingest_outbox_t *self, int64_t bid, const char *mid, const int64_t *put)
{
    char key [300];
    int64_t v = 0;
    qy_snprintf (key, sizeof (key), "%lld:%s", (long long) bid, mid);
    if (put)
        qy_map_put (self->inflight, key, *put);
    return qy_map_get (self->inflight, key, &v) && v;
}

//  Add delta to the count of owed row owed's events here; the new count.
static int64_t s_owing (ingest_outbox_t *self, int64_t owed, int64_t delta)
{
    char key [24];
    int64_t v = 0;
    qy_snprintf (key, sizeof (key), "%lld", (long long) owed);
    qy_map_get (self->owing, key, &v);
    qy_map_put (self->owing, key, v + delta);
    return v + delta;
}

static void s_unacked_add (ingest_outbox_t *self, uint64_t seq, int64_t bid, const char *mid, int64_t owed)
{
    s_unacked_t *u = &self->unacked;
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 1024;
        u->seq = qy_realloc (u->seq, u->cap * sizeof (uint64_t));
        u->bid = qy_realloc (u->bid, u->cap * sizeof (int64_t));
        u->mid = qy_realloc (u->mid, u->cap * sizeof (char *));
        u->owed = qy_realloc (u->owed, u->cap * sizeof (int64_t));
    }
    u->seq [u->n] = seq;
    u->bid [u->n] = bid;
    u->owed [u->n] = owed;
    u->mid [u->n++] = qy_strdup (mid);
    s_inflight (self, bid, mid, &(int64_t) { 1 });
}

//  The maps keep finished keys (no delete): start them again from what
//  is in flight and waiting when they grow; compact the list once half of
//  it is done.
static void s_unacked_compact (ingest_outbox_t *self)
{
    s_unacked_t *u = &self->unacked;
    size_t live = u->n - u->head + self->n - self->head;
    if (qy_map_size (self->inflight) > 4 * (u->n - u->head) + 4096 || qy_map_size (self->owing) > 4 * live + 4096) {
        qy_map_clear (self->inflight);
        qy_map_clear (self->owing);
        for (size_t i = u->head; i < u->n; i++) {
            s_inflight (self, u->bid [i], u->mid [i], &(int64_t) { 1 });
            s_owing (self, u->owed [i], 1);
        }
        for (size_t i = self->head; i < self->n; i++)
            s_owing (self, self->owed [i], 1);
    }
    if (u->head == u->n)
        u->head = u->n = 0;
    else
    if (u->head > u->cap / 2) {
        size_t left = u->n - u->head;
        memmove (u->seq, u->seq + u->head, left * sizeof (uint64_t));
        memmove (u->bid, u->bid + u->head, left * sizeof (int64_t));
        memmove (u->mid, u->mid + u->head, left * sizeof (char *));
        memmove (u->owed, u->owed + u->head, left * sizeof (int64_t));
        u->head = 0;
        u->n = left;
    }
}

void ingest_outbox_settle (ingest_outbox_t *self)
{
    s_unacked_t *u = &self->unacked;
    qy_outlet_poll (self->push);
    uint64_t acked = qy_outlet_acked (self->push);
    while (u->head < u->n && u->seq [u->head] < acked) {
        if (s_owing (self, u->owed [u->head], -1) == 0)
            ingest_handon_done (self->handon, u->owed [u->head]);
        s_inflight (self, u->bid [u->head], u->mid [u->head], &(int64_t) { 0 });
        free (u->mid [u->head++]);
    }
    s_unacked_compact (self);
}

bool ingest_outbox_pending (const ingest_outbox_t *self)
{
    return self->head < self->n || qy_outlet_pending (self->push);
}

static void s_add (ingest_outbox_t *self, const Qy__Event *ev, int64_t owed)
{
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 256;
        self->data = qy_realloc (self->data, self->cap * sizeof (void *));
        self->len = qy_realloc (self->len, self->cap * sizeof (size_t));
        self->bid = qy_realloc (self->bid, self->cap * sizeof (int64_t));
        self->mid = qy_realloc (self->mid, self->cap * sizeof (char *));
        self->owed = qy_realloc (self->owed, self->cap * sizeof (int64_t));
    }
    size_t len = qy__event__get_packed_size (ev);
    self->data [self->n] = qy_malloc (len ? len : 1);
    qy__event__pack (ev, self->data [self->n]);
    self->bid [self->n] = ev->brand_id;
    self->mid [self->n] = qy_strdup (ev->msg_id);
    self->owed [self->n] = owed;
    self->len [self->n++] = len;
}

static bool s_busy (ingest_outbox_t *self)
{
    return self->head < self->n;
}

void ingest_outbox_forward (ingest_outbox_t *self, const Qy__Event *ev, int64_t owed)
{
    s_owing (self, owed, 1);
    uint64_t seq = s_busy (self) ? 0 : qy_outlet_send_pb (self->push, &ev->base);
    if (!seq)
        s_add (self, ev, owed);
    else
        s_unacked_add (self, seq, ev->brand_id, ev->msg_id, owed);
}

bool ingest_outbox_flush (ingest_outbox_t *self)
{
    while (self->head < self->n) {
        size_t i = self->head;
        uint64_t seq = qy_outlet_send (self->push, self->data [i], self->len [i]);
        if (!seq) {
            qy_outlet_flush (self->push);
            return false;
        }
        s_unacked_add (self, seq, self->bid [i], self->mid [i], self->owed [i]);
        free (self->data [i]);
        free (self->mid [i]);
        self->head++;
    }
    self->n = self->head = 0;
    qy_outlet_flush (self->push);       //  what was handed on goes now: no pack waits for more
    return true;
}

void ingest_outbox_destroy (ingest_outbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_outbox_t *self = *self_p;
    if (self->head < self->n)
        qy_log_warn ("events not forwarded at shutdown; archived and still owed: "
                     "re-sent from the archive by ingest count=%zu", self->n - self->head);
    for (size_t i = self->head; i < self->n; i++) {
        free (self->data [i]);
        free (self->mid [i]);
    }
    free (self->data);
    free (self->len);
    free (self->bid);
    free (self->mid);
    free (self->owed);
    for (size_t i = self->unacked.head; i < self->unacked.n; i++)
        free (self->unacked.mid [i]);
    free (self->unacked.seq);
    free (self->unacked.bid);
    free (self->unacked.mid);
    free (self->unacked.owed);
    qy_map_destroy (&self->inflight);
    qy_map_destroy (&self->owing);
    free (self);
    *self_p = NULL;
}

bool ingest_outbox_room (ingest_outbox_t *self)
{
    return !s_busy (self) && self->bus_up && qy_outlet_room (self->push);
}

int ingest_outbox_resend (ingest_outbox_t *self, long grace_s, long max)
{
    if (!ingest_outbox_room (self))
        return 0;
    PGresult *res = ingest_handon_owed (self->handon, grace_s, max);
    int rows = res ? PQntuples (res) : 0, n = 0;
    for (int r = 0; r < rows; r++) {
        Qy__Event ev;
        qy_archive_hold_t hold;
        qy_archive_event (res, r, &ev, &hold);
        if (!s_inflight (self, ev.brand_id, ev.msg_id, NULL)) {
            ingest_outbox_forward (self, &ev, ingest_handon_owed_row (res, r));
            n++;
        }
        qy_archive_release (&hold);
    }
    ingest_outbox_flush (self);
    if (n)
        qy_log_warn ("msg_id=%s brand=%s archived events not handed on, re-sent from the archive count=%d",
                     PQgetvalue (res, 0, 0), PQgetvalue (res, 0, 14), n);
    if (res)
        PQclear (res);
    return n;
}
