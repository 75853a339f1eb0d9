//  A stage's end of a bus hop, with credit: the stage tells the bus how
//  many more events it may send (a window), and the bus sends a stage
//  nothing once that is spent. Credit counts events, not messages: a
//  message may be a pack of up to QY_PACK_MAX (qy/pack.h, its count in
//  its first bytes), and the bus sends a whole pack to a replica with any
//  credit left, so a replica holds at most window + QY_PACK_MAX - 1
//  events (its credit goes below 0 by the pack's rest). What the bus has
//  not sent stays with the bus (and upstream) for the other replicas, so
//  a stage that stops says goodbye, takes in what was already on its way,
//  and leaves nothing behind: a rolling restart loses nothing. The wire (services/bus/main.c):
//    stage → bus, one frame: "QYC" + n (4 bytes, big-endian): n more;
//                            "QYS" + n: n in all (after a quiet second, so
//                            that a bus that restarted learns it again);
//                            "QYB": goodbye, send nothing more.
//                            "QYD" + epoch (4) + number (8): everything
//                            up to that message is finished (durable).
//    bus → stage: a message, two frames: "QYN" + the bus's epoch (4 bytes)
//                 + its number (8), then the payload: a pack or one
//                 event plain (a payload alone, as a plain DEALER's: accepted
//                 too, unnumbered); or two frames "QYA", "": the
//                 goodbye is done, everything sent before has arrived; or
//                 "QYP", "": a probe (is the replica still there?).
//  What the bus sent a replica stays owed until the replica says it is
//  done; a replica that dies gets its owed work handed to another
//  (docs/architecture.md, "Owed work").
#ifndef QY_INLET_H
#define QY_INLET_H
#include <stdbool.h>
#include <stddef.h>
#include <zmq.h>

typedef struct qy_inlet_t qy_inlet_t;

//  Connect to the hop's back (comma-separated endpoints) and grant window.
//  NULL (logged) when an endpoint is wrong.
qy_inlet_t *qy_inlet_new (void *ctx, const char *endpoints, int window);
void qy_inlet_destroy (qy_inlet_t **self_p);
//  The socket, for zmq_poll (POLLIN).
void *qy_inlet_socket (qy_inlet_t *self);
//  Take one event without waiting: 0 with m filled (init'ed by the
//  caller, as zmq_msg_recv), -1 when none is there. A pack's events come
//  one by one (copied out of it); a plain message is one event. An event
//  taken holds the outlets tied with qy_inlet_after (qy_outlet_hold: what
//  the stage passes on waits in packs until its "done"). With nothing
//  there, those outlets are flushed (the stage's batch ends): nothing
//  passed on waits for more.
int qy_inlet_recv (qy_inlet_t *self, zmq_msg_t *m);
//  Everything taken so far is finished: its effects are durable, it was
//  passed on or set aside. Call it with nothing in hand (after a batch).
//  The bus hears the number of the last message taken whole: with a pack
//  half taken, its number waits for its last event (the pack stays owed
//  and goes whole to another replica if this one dies: what was done of
//  it is done again, harmless by message id). The outlets tied with
//  qy_inlet_after are flushed first and let go: what the stage sends
//  before its next event (a chore, a scheduled post) goes at once.
//  The bus hears it once everything passed on before it on the outlets
//  named with qy_inlet_after is acknowledged (durable downstream), so the
//  hop acknowledges its own sender only then: a "done" said (and an
//  acknowledgement) means durable to the end of the chain.
void qy_inlet_done (qy_inlet_t *self);
//  Tie the "done" to an outlet's acknowledgements (up to four outlets).
typedef struct qy_outlet_t qy_outlet_t;
void qy_inlet_after (qy_inlet_t *self, qy_outlet_t *out);
//  True when every "done" was said to the bus (nothing waits for an
//  acknowledgement): a stopping stage waits for it within its grace.
bool qy_inlet_finished (qy_inlet_t *self);
//  How long a silent link lasts before ZeroMQ cuts it (heartbeats every
//  second, both ends).
#define QY_INLET_TIMEOUT_MS 5000
void qy_inlet_heartbeats (void *sock, int timeout_ms);
//  Stopping: ask for nothing more (once; later calls do nothing).
void qy_inlet_bye (qy_inlet_t *self);
//  After qy_inlet_bye: true once the bus answered it, i.e. everything it
//  had sent this stage has been taken with qy_inlet_recv.
bool qy_inlet_drained (qy_inlet_t *self);
//  A stage's loop condition: true while the service runs; once it is
//  stopping, says goodbye and stays true until the bus answered (all it
//  sent has been taken) or the stop deadline passed (the bus is away).
bool qy_inlet_serving (qy_inlet_t *self);
//  A full pack (QY_PACK_MAX events) was the last taken and nothing waits:
//  the sender's batch most likely goes on in its next pack, microseconds
//  behind (an outlet sends a batch's packs back to back when the batch is
//  finished). qy_inlet_recv then waits up to QY_INLET_MORE_MS for it
//  rather than end the stage's batch there: ended, the rest would wait a
//  whole batch behind the first part (at 5,000 events/s a gateway batch
//  of 200 was judged as about 110 and then 90). Not when the bus may send
//  nothing more (no credit, or saying goodbye). Pure.
#define QY_INLET_MORE_MS 1
bool qy_inlet_expect_more (int pack_events, int credit, bool bye);
//  The window a stage grants: sixteen batches (fewer starve its batches
//  while the bus refills), at most its high-water mark.
int qy_inlet_window (long batch, long hwm);
#endif
