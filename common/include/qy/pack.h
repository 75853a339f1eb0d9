//  Many events in one bus message (a pack), so that a stage's batch
//  crosses each hop as a few ZeroMQ messages instead of one per event (the
//  bus's and every stage's cost is per ZeroMQ message, not per byte). The
//  encoding:
//    0x00, 0x01 (version), count (2 bytes, big-endian, 2 to QY_PACK_MAX),
//    then each event: its length (4 bytes, big-endian) and its bytes.
//  A protobuf payload never starts with 0x00 (field number 0 is invalid),
//  so a plain single-event message (qyctl replay's DEALER, an older sender,
//  a pack of one: sent plain) is told apart by its first byte; a message
//  that starts with 0x00 and does not walk exactly as above is read as one
//  plain event (and set aside as undecodable, as any bad payload). Every
//  reader of a hop (the inlet, the bus's credit, taps) goes through here.
#ifndef QY_PACK_H
#define QY_PACK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Events in a pack at most (credit may be overdrawn by one pack less one
//  event: qy/inlet.h), and the size past which a pack is closed (an event
//  bigger than that goes alone).
#define QY_PACK_MAX   64
#define QY_PACK_BYTES (256 * 1024)
//  A pack's header, and each event's length before it.
#define QY_PACK_HEAD  4
#define QY_PACK_LEN   4

//  Events in a hop's message: a well-formed pack's count, else 1.
size_t qy_pack_count (const void *data, size_t len);

//  Reading: the events of a hop's message, in order (the message itself
//  when it is plain). The message must outlive the walk.
typedef struct {
    const uint8_t *at, *end;
    size_t left;             //  events not yet returned
    bool   plain;
} qy_pack_iter_t;
void qy_pack_iter (qy_pack_iter_t *it, const void *data, size_t len);
//  The next event: true with data and len set, false at the end.
bool qy_pack_next (qy_pack_iter_t *it, const void **data, size_t *len);

//  Writing: events appended to a growing buffer (the header's count is
//  written by qy_pack_seal). data is malloc'ed: the caller may take it.
typedef struct {
    uint8_t *data;
    size_t   len, cap;
    size_t   n;              //  events in it
} qy_pack_t;
//  Room for an event of len bytes at the end: returns where to write it.
uint8_t *qy_pack_add (qy_pack_t *p, size_t len);
//  Write the count into the header; returns the bytes that go on the wire:
//  the whole pack, or for one event the event alone (*data past the
//  header, plain), so that a pack of one reads as it always did.
size_t qy_pack_seal (qy_pack_t *p, const uint8_t **data);
//  Empty it (keeping nothing: data freed unless the caller took it,
//  in which case set p->data to NULL first).
void qy_pack_reset (qy_pack_t *p);
#endif
