//  The request model (ingest_req.h): building and freeing what a request
//  became.
#include "ingest_req.h"
#include "qy/util.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

Qy__Event *ingest_event_new (const char *brand)
{
    Qy__Event *ev = qy_malloc (sizeof (*ev));
    qy__event__init (ev);
    ev->brand = qy_strdup (brand ? brand : "");
    return ev;
}

char *ingest_derived_id (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    qy_buf_t b;
    qy_buf_init (&b);
    qy_buf_vprintf (&b, fmt, ap);
    va_end (ap);
    if (b.len <= 128)
        return b.data;
    size_t prefix = strcspn (b.data, ":");
    char *id = qy_printf ("%.*s:h%016llx", (int) (prefix < 64 ? prefix : 64), b.data,
                         (unsigned long long) qy_hash64 (b.data, b.len));
    qy_buf_free (&b);
    return id;
}

size_t ingest_req_add_event (ingest_req_t *self, size_t item, Qy__Event *ev)
{
    if (self->n_events == self->cap_events) {
        self->cap_events = self->cap_events ? self->cap_events * 2 : 16;
        self->events = qy_realloc (self->events, self->cap_events * sizeof (Qy__Event *));
        self->event_item = qy_realloc (self->event_item, self->cap_events * sizeof (size_t));
    }
    self->events [self->n_events] = ev;
    self->event_item [self->n_events] = item;
    return self->n_events++;
}

void ingest_snapshot_destroy (ingest_snapshot_t **snap_p)
{
    ingest_snapshot_t *snap = snap_p ? *snap_p : NULL;
    if (!snap)
        return;
    for (size_t i = 0; i < snap->n_members; i++) {
        ingest_snap_member_t *m = &snap->members [i];
        free (m->userid);
        free (m->invitor);
        free (m->nickname);
        free (m->state);
    }
    free (snap->members);
    free (snap->group);
    free (snap->name);
    free (snap->owner);
    free (snap);
    *snap_p = NULL;
}

void ingest_req_destroy (ingest_req_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_req_t *self = *self_p;
    free (self->brand);
    for (size_t i = 0; i < self->n_items; i++) {
        free (self->items [i].id);
        free (self->items [i].error);
        free (self->items [i].field);
        free (self->items [i].raw);
    }
    free (self->items);
    for (size_t i = 0; i < self->n_events; i++)
        qy__event__free_unpacked (self->events [i], NULL);
    free (self->events);
    free (self->event_item);
    for (size_t i = 0; i < self->n_contacts; i++)
        qy__event__free_unpacked (self->contacts [i], NULL);
    free (self->contacts);
    free (self->contact_item);
    for (size_t i = 0; i < self->n_gops; i++) {
        free (self->gops [i].group);
        free (self->gops [i].value);
    }
    free (self->gops);
    ingest_snapshot_destroy (&self->snap);
    free (self);
    *self_p = NULL;
}
