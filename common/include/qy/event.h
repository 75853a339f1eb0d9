//  What every service asks of an event, answered once: is it a message a
//  person wrote, who wrote it (a customer, the brand's people, the brand's
//  robot), the trace stamp a hop adds, and a Delivery about it.
#ifndef QY_EVENT_H
#define QY_EVENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "qunyun.pb-c.h"

//  A message of any kind, text through QR code (a recall included).
bool qy_event_is_message (Qy__Kind kind);
//  A message that is read, judged and counted: a message but not a recall.
bool qy_event_is_chat (Qy__Kind kind);
//  A customer: a member, or a role the sender left out.
bool qy_role_is_member (Qy__Role role);
//  The brand's people: staff, admin or owner.
bool qy_role_is_staff (Qy__Role role);
//  The brand's side: its people or its own robot (exempt as staff are,
//  never counted as a customer).
bool qy_role_is_brand (Qy__Role role);
//  "staff", "admin", "owner", "bot", or "member" for the rest.
const char *qy_role_name (Qy__Role role);

//  A hop's stamp on an event's trace for one send: qy_event_stamp adds it
//  after the stamps the event came with, qy_event_unstamp gives the event
//  its own trace back (the stamp lives in this struct, so the event must
//  not be freed or sent after this struct goes).
typedef struct {
    Qy__Stamp   stamp;
    Qy__Stamp **trace;      //  the trace while stamped (owned)
    Qy__Stamp **old;        //  the event's own trace
    size_t      nold;
} qy_event_stamp_t;
void qy_event_stamp (Qy__Event *ev, qy_event_stamp_t *s, const char *stage, int64_t at_us);
void qy_event_unstamp (Qy__Event *ev, qy_event_stamp_t *s);

//  A Delivery about ev: its brand, group and message id (as event_id) with
//  the key, kind, priority and source given, created now; the caller adds
//  the rest. Borrows every string.
void qy_event_delivery (Qy__Delivery *d, const Qy__Event *ev, const char *key, const char *kind,
                        Qy__Priority priority, const char *source);
#endif
