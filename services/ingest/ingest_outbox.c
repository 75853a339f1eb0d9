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
    int64_t  *owed;
    size_t    head, n, cap;
} s_unacked_t;

struct ingest_outbox_t {
    qy_outlet_t *push;
    ingest_handon_t *handon;
    void    **data;
    size_t   *len;
    int64_t  *owed;            //  the ingest_owed row it belongs to
    size_t    n, head, cap;
    s_unacked_t unacked;
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
    self->owing = qy_map_new ();
    return self;
}

void ingest_outbox_bus_up (ingest_outbox_t *self, bool up)
{
    self->bus_up = up;
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

static void s_unacked_add (ingest_outbox_t *self, uint64_t seq, int64_t owed)
{
    s_unacked_t *u = &self->unacked;
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 1024;
        u->seq = qy_realloc (u->seq, u->cap * sizeof (uint64_t));
        u->owed = qy_realloc (u->owed, u->cap * sizeof (int64_t));
    }
    u->seq [u->n] = seq;
    u->owed [u->n++] = owed;
}

//  The map keeps finished rows (no delete): start it again from what is
//  in flight and waiting when it grows; compact the list once half of it
//  is done.
static void s_unacked_compact (ingest_outbox_t *self)
{
    s_unacked_t *u = &self->unacked;
    size_t live = u->n - u->head + self->n - self->head;
    if (qy_map_size (self->owing) > 4 * live + 4096) {
        qy_map_clear (self->owing);
        for (size_t i = u->head; i < u->n; i++)
            s_owing (self, u->owed [i], 1);
        for (size_t i = self->head; i < self->n; i++)
            s_owing (self, self->owed [i], 1);
    }
    if (u->head == u->n)
        u->head = u->n = 0;
    else
    if (u->head > u->cap / 2) {
        size_t left = u->n - u->head;
        memmove (u->seq, u->seq + u->head, left * sizeof (uint64_t));
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
        u->head++;
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
        self->owed = qy_realloc (self->owed, self->cap * sizeof (int64_t));
    }
    size_t len = qy__event__get_packed_size (ev);
    self->data [self->n] = qy_malloc (len ? len : 1);
    qy__event__pack (ev, self->data [self->n]);
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
        s_unacked_add (self, seq, owed);
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
        s_unacked_add (self, seq, self->owed [i]);
        free (self->data [i]);
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
    for (size_t i = self->head; i < self->n; i++)
        free (self->data [i]);
    free (self->data);
    free (self->len);
    free (self->owed);
    free (self->unacked.seq);
    free (self->unacked.owed);
    qy_map_destroy (&self->owing);
    free (self);
    *self_p = NULL;
}

bool ingest_outbox_room (ingest_outbox_t *self)
{
    return !s_busy (self) && self->bus_up && qy_outlet_room (self->push);
}

//  The owed rows of what is waiting here or unacknowledged: this ingest's
//  own, on their way (each once; a row's events are forwarded together).
static void s_mine (const ingest_outbox_t *self, qy_pg_cols_t *mine)
{
    const s_unacked_t *u = &self->unacked;
    int64_t last = 0;
    for (size_t i = u->head; i < u->n; i++)
        if (u->owed [i] != last) {
            qy_pg_cols_row (mine);
            qy_pg_cols_int (mine, 0, last = u->owed [i]);
        }
    for (size_t i = self->head; i < self->n; i++)
        if (self->owed [i] != last) {
            qy_pg_cols_row (mine);
            qy_pg_cols_int (mine, 0, last = self->owed [i]);
        }
}

int ingest_outbox_resend (ingest_outbox_t *self, long grace_s, long max)
{
    if (!ingest_outbox_room (self))
        return 0;
    //  Only rows nobody here is sending: another ingest's (or this one's
    //  before a restart) left by a crash. What was acknowledged is deleted
    //  first, and what is still on its way is left out: with the chain
    //  behind, acknowledgements take longer than resend.grace_s, and a
    //  row part acknowledged was sent again, its acknowledged events
    //  judged twice, at every search until the rest came back.
    ingest_handon_flush (self->handon);
    qy_pg_cols_t mine;
    qy_pg_cols_init (&mine, 1);
    s_mine (self, &mine);
    PGresult *res = ingest_handon_owed (self->handon, grace_s, max, &mine);
    qy_pg_cols_free (&mine);
    int rows = res ? PQntuples (res) : 0, n = 0;
    for (int r = 0; r < rows; r++) {
        Qy__Event ev;
        qy_archive_hold_t hold;
        qy_archive_event (res, r, &ev, &hold);
        ingest_outbox_forward (self, &ev, ingest_handon_owed_row (res, r));
        n++;
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
