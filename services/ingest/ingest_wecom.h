//  WeCom-shaped JSON → the request model (ingest_wecom.c): pure, no I/O,
//  the fuzz target.
#ifndef INGEST_WECOM_H
#define INGEST_WECOM_H
#include <stdbool.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "ingest.h"
#include "ingest_req.h"

//  times the body does not give. Returns the request, or NULL with the
//  envelope's problem in err and the field it names in field (the body is
//  not JSON, or not the expected shape). Items with problems of their own
//  are kept with their error set. A request that would become more than
//  INGEST_MAX_EVENTS events is refused ("too many events …", field the
//  list's name). Caller owns the result.
ingest_req_t *ingest_wecom_parse (ingest_ep_t ep, const char *brand, const char *body, size_t len,
                                  int64_t now_us, char *err, size_t errlen, char *field, size_t fieldlen);
//  The WeCom field an ingest_validate() reason names, for the endpoint's
//  shape ("missing field: group" → "roomid" for messages).
const char *ingest_wecom_field (ingest_ep_t ep, const char *reason);
//  Join scene of a callback's JoinScene (0, 1 invite, 3 QR) and of a
//  snapshot's join_scene (1, 2 invite, 3 QR).
Qy__JoinScene ingest_wecom_callback_scene (int scene);
Qy__JoinScene ingest_wecom_snapshot_scene (int scene, bool invited_by_staff);
// ----------------------------------------------------------- contacts
//  ingest_wecom_contact.c: WeCom's change_external_contact callbacks.

//  ChangeType → the change (CONTACT_CHANGE_UNSPECIFIED when unknown).
Qy__ContactChange ingest_contact_change (const char *change_type);
//  As stored (contact_events.change): added, edited, half_added,
//  deleted_by_staff, deleted_by_customer, transfer_failed; NULL when unknown.
const char *ingest_contact_change_name (Qy__ContactChange change);
//  One change_external_contact callback (item idx of req, WeCom's names)
//  → a CONTACT event in req->contacts, or the item's error. Pure.
void ingest_wecom_contact (ingest_req_t *req, size_t idx, json_t *cb);

#endif
