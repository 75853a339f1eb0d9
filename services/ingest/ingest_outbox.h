//  The outbox (ingest_outbox.c): accepted events on their way to the bus.
//  Those that do not fit into the moderation hop wait here; while any
//  wait, new batches are refused (busy / 429), so this never holds more
//  than one turn's events: backpressure reaches the gateway, not memory.
#ifndef INGEST_OUTBOX_H
#define INGEST_OUTBOX_H
#include <stdbool.h>
#include "ingest.h"
#include "qy/outlet.h"

typedef struct ingest_outbox_t ingest_outbox_t;
//  An outbox sending on push (the outlet to the bus) and telling handon
//  which owed rows the bus acknowledged whole. Both are borrowed and must outlive it.
ingest_outbox_t *ingest_outbox_new (qy_outlet_t *push, ingest_handon_t *handon);
//  The link to the bus is up (its socket's monitor): with it down nothing
//  new is taken (busy / 429), though what the outlet holds is safe.
void ingest_outbox_bus_up (ingest_outbox_t *self, bool up);
//  Take what the bus acknowledged, oldest first; an owed row whose events
//  all were is finished (ingest_handon_done).
void ingest_outbox_settle (ingest_outbox_t *self);
//  Events waiting here or sent and not acknowledged yet.
bool ingest_outbox_pending (const ingest_outbox_t *self);
//  Drop what still waits (logged: archived and still owed, so it is
//  re-sent from the archive) and destroy; sets *self_p to NULL.
void ingest_outbox_destroy (ingest_outbox_t **self_p);
//  Hand an archived event of owed row owed on to the bus, or keep a copy
//  when it is full. A batch's events are all forwarded before the next
//  ingest_outbox_settle, so its row is not finished before the last went.
void ingest_outbox_forward (ingest_outbox_t *self, const Qy__Event *ev, int64_t owed);
//  Send what waits, without blocking, and the outlet's open pack (call it
//  after a hand-on: nothing waits for more). Returns true when all went.
bool ingest_outbox_flush (ingest_outbox_t *self);
//  Is there room downstream for a new batch?
bool ingest_outbox_room (ingest_outbox_t *self);
//  Re-send the events of the rows owed for grace_s, whole rows up to about
//  max events, while the bus takes them: rows nobody here is sending (a
//  crashed ingest's). The rows acknowledged are deleted first; those on
//  their way from here are left out whole. Returns how many.
int ingest_outbox_resend (ingest_outbox_t *self, long grace_s, long max);
#endif
