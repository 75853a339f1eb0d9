//  A stage's sending end of a bus hop, with acknowledgement: events go
//  in packs (qy/pack.h: up to QY_PACK_MAX events, QY_PACK_BYTES), a
//  stage's batch as few bus messages; what the stage sends stays kept
//  (by reference) until the bus says a downstream
//  replica finished it (its effects durable, and what it passed on
//  acknowledged in turn), and is sent again when the bus restarted since
//  (a new epoch). A bus killed with what it held loses nothing. The
//  window counts events (sent or packed, not acknowledged): a full window
//  is backpressure (qy_service_send waits), so the outlet holds at most
//  window events whatever the packs. An event goes at once, unless the
//  outlet is held (qy_outlet_hold: while a stage works on a batch): then
//  it waits in the open pack, which goes out when full (QY_PACK_MAX
//  events, QY_PACK_BYTES, or the window's last room) or at qy_outlet_flush:
//  no timer, a stage flushes when its batch (or what it hands on) is
//  finished, and qy_inlet_done flushes the outlets tied with
//  qy_inlet_after and lets them go. The wire
//  (services/bus/main.c):
//    stage → bus: "QYH": hello (every second: which bus is this?);
//                 a message, two frames: "QYM" + its number (8 bytes,
//                 big-endian, this outlet's own), then the payload: a
//                 pack, or one event plain (a pack of one is sent plain).
//    bus → stage: "QYE" + epoch (4): the bus's epoch, answering hello;
//                 "QYK" + epoch (4) + numbers (8 each): these are done.
//  The outlet sends nothing before it knows the bus's epoch; a message
//  sent under an epoch that is no longer the bus's is sent again, and so
//  is everything unacknowledged when the link broke and came back to the
//  same bus (what the connection held is gone): at least once, every
//  stage is idempotent by (brand, message id).
#ifndef QY_OUTLET_H
#define QY_OUTLET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>
#include <zmq.h>

typedef struct qy_outlet_t qy_outlet_t;

//  Connect to the hop's front (one endpoint) with a window of events
//  unacknowledged at most (16 at least). name labels its metrics (the hop, "moderation").
//  NULL (logged) when the endpoint is wrong.
qy_outlet_t *qy_outlet_new (void *ctx, const char *endpoint, int window, const char *name);
//  The same in two steps (the socket may be set up in between).
//  qy_outlet_connect: 0, or -1 (logged).
qy_outlet_t *qy_outlet_open (void *ctx, int window, const char *name);
int qy_outlet_connect (qy_outlet_t *self, const char *endpoint);
//  Whether a connection to the bus has finished its handshake and not
//  gone away, as of the last qy_outlet_poll (the socket's monitor,
//  attached before connecting). Down and up are logged.
bool qy_outlet_linked (const qy_outlet_t *self);
//  Whether the bus has said its epoch (answered a hello): until then the
//  outlet sends nothing and has no room, however linked it is.
bool qy_outlet_known (const qy_outlet_t *self);
//  The monitor's socket, for zmq_poll (POLLIN: the link changed; call
//  qy_outlet_poll).
void *qy_outlet_link_socket (qy_outlet_t *self);
//  Close; what is still unacknowledged is counted and logged (its sender
//  re-sends it from its own durable record: ingest's archive, or the bus's
//  owed work of the stage that did not say done).
void qy_outlet_destroy (qy_outlet_t **self_p);
//  The socket, for zmq_poll (POLLIN: acknowledgements).
void *qy_outlet_socket (qy_outlet_t *self);
//  Append msg to the open pack (sent at once unless held), kept until
//  acknowledged. Returns the number of the message (pack) it is in (> 0),
//  or 0 with errno EAGAIN when the window is full or the bus's epoch is
//  not known yet (call qy_outlet_poll, wait, retry). A full socket is no
//  refusal: the pack is kept and goes with a later qy_outlet_poll.
uint64_t qy_outlet_send_pb (qy_outlet_t *self, const ProtobufCMessage *msg);
//  Same, for bytes already packed (copied).
uint64_t qy_outlet_send (qy_outlet_t *self, const void *data, size_t len);
//  Send the open pack now (nothing when none is open). A stage calls it
//  when what it passes on is finished: a batch, a hand-on.
void qy_outlet_flush (qy_outlet_t *self);
//  Whether events wait in the open pack for qy_outlet_flush (on) or each
//  goes at once (off, the default; turning it off sends the open pack).
//  Held, only what the bus will hand again may wait: a stage's batch whose
//  input it still owes (qy_inlet_recv holds the outlets tied with
//  qy_inlet_after, qy_inlet_done lets them go), or ingest's hand-on of
//  what its archive keeps. A send whose only record is written right
//  after it (a scheduled post committed as sent, a chore's alert) goes at
//  once, unheld: a pack left open would die with the process.
void qy_outlet_hold (qy_outlet_t *self, bool on);
//  Take what the bus said (acknowledgements, its epoch), say hello once a
//  second, and send again what a restarted bus lost. Never waits.
void qy_outlet_poll (qy_outlet_t *self);
//  Every message numbered below this is acknowledged (the next number
//  when nothing is outstanding).
uint64_t qy_outlet_acked (const qy_outlet_t *self);
//  The number after the last message with an event in it (the open
//  pack's included): acknowledged up to it, everything sent so far is.
uint64_t qy_outlet_next (const qy_outlet_t *self);
//  Whether an event may be sent now: the bus's epoch known, the window
//  not full.
bool qy_outlet_room (const qy_outlet_t *self);
//  Events sent (or packed) and not yet acknowledged.
size_t qy_outlet_pending (const qy_outlet_t *self);
//  An outlet's window: what the chain may hold between this stage and the
//  end of the chain (the acknowledgement comes back only from there).
int qy_outlet_window (long hwm);
//  A stand-in for a bus's front, for tests and taps: wait up to
//  timeout_ms for one message on a bound ROUTER that outlets connect to,
//  answering hellos (epoch 1) and acknowledging the message at once.
//  0 with m filled (init'ed by the caller), -1 when none came. m is a
//  hop's payload: walk its events with qy_pack_iter.
int qy_outlet_tap (void *router, zmq_msg_t *m, int timeout_ms);
//  A message unacknowledged this long is reported unfinished (an error
//  line and qy_outlet_unfinished).
#define QY_OUTLET_UNFINISHED_US 60000000
#endif
