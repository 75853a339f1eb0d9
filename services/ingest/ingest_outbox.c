//  Accepted events that did not fit into the moderation hop yet. They are
//  durable already, so holding them is safe; ingest_outbox_room says no
//  while any wait, so new batches are refused until they went.
#include "ingest_outbox.h"
#include "qy/archive.h"
#include "qy/log.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include <stdlib.h>
#include <zmq.h>

struct ingest_outbox_t {
    void     *push;
    ingest_handon_t *handon;
    void    **data;
    size_t   *len;
    int64_t  *bid;             //  brand and message id, to mark it handed on once sent
    char    **mid;
    size_t    n, head, cap;
};

ingest_outbox_t *ingest_outbox_new (void *push, ingest_handon_t *handon)
{
    ingest_outbox_t *self = qy_calloc (1, sizeof (*self));
    self->push = push;
    self->handon = handon;
    return self;
}

static void s_add (ingest_outbox_t *self, const Qy__Event *ev)
{
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 256;
        self->data = qy_realloc (self->data, self->cap * sizeof (void *));
        self->len = qy_realloc (self->len, self->cap * sizeof (size_t));
        self->bid = qy_realloc (self->bid, self->cap * sizeof (int64_t));
        self->mid = qy_realloc (self->mid, self->cap * sizeof (char *));
    }
    size_t len = qy__event__get_packed_size (ev);
    self->data [self->n] = qy_malloc (len ? len : 1);
    qy__event__pack (ev, self->data [self->n]);
    self->bid [self->n] = ev->brand_id;
    self->mid [self->n] = qy_strdup (ev->msg_id);
    self->len [self->n++] = len;
}

static bool s_busy (ingest_outbox_t *self)
{
    return self->head < self->n;
}

void ingest_outbox_forward (ingest_outbox_t *self, const Qy__Event *ev)
{
    if (s_busy (self) || qy_zmq_send_pb (self->push, &ev->base, ZMQ_DONTWAIT) != 0)
        s_add (self, ev);
    else
        ingest_handon_sent (self->handon, ev->brand_id, ev->msg_id);
}

bool ingest_outbox_flush (ingest_outbox_t *self)
{
    while (self->head < self->n) {
        size_t i = self->head;
        if (zmq_send (self->push, self->data [i], self->len [i], ZMQ_DONTWAIT) < 0)
            return false;
        ingest_handon_sent (self->handon, self->bid [i], self->mid [i]);
        free (self->data [i]);
        free (self->mid [i]);
        self->head++;
    }
    self->n = self->head = 0;
    return true;
}

void ingest_outbox_destroy (ingest_outbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_outbox_t *self = *self_p;
    if (self->head < self->n)
        qy_log_warn ("events not forwarded at shutdown; archived and not marked handed on: "
                     "re-sent from the archive by ingest count=%zu", self->n - self->head);
    for (size_t i = self->head; i < self->n; i++) {
        free (self->data [i]);
        free (self->mid [i]);
    }
    free (self->data);
    free (self->len);
    free (self->bid);
    free (self->mid);
    free (self);
    *self_p = NULL;
}

bool ingest_outbox_room (ingest_outbox_t *self)
{
    if (s_busy (self))
        return false;
    zmq_pollitem_t out = { self->push, 0, ZMQ_POLLOUT, 0 };
    return zmq_poll (&out, 1, 0) > 0;
}

int ingest_outbox_resend (ingest_outbox_t *self, long grace_s, long max)
{
    if (!ingest_outbox_room (self))
        return 0;
    PGresult *res = ingest_handon_owed (self->handon, grace_s, max);
    int n = res ? PQntuples (res) : 0;
    for (int r = 0; r < n; r++) {
        Qy__Event ev;
        qy_archive_hold_t hold;
        qy_archive_event (res, r, &ev, &hold);
        ingest_outbox_forward (self, &ev);
        qy_archive_release (&hold);
    }
    if (n)
        qy_log_warn ("msg_id=%s brand=%s archived events not handed on, re-sent from the archive count=%d",
                     PQgetvalue (res, 0, 0), PQgetvalue (res, 0, 14), n);
    if (res)
        PQclear (res);
    return n;
}
