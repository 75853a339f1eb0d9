//  The request model of ingest's HTTP front door: what a WeCom-shaped
//  request became (items, events, group changes, a snapshot), shared by
//  the parser (ingest_wecom.c), reconcile and the main-loop side.
#ifndef INGEST_REQ_H
#define INGEST_REQ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "qunyun.pb-c.h"

typedef enum {
    INGEST_EP_MESSAGES,      //  POST /v1/messages: chat-archive messages
    INGEST_EP_EVENTS,        //  POST /v1/events: change_external_chat and _contact callbacks
    INGEST_EP_SNAPSHOT,      //  POST /v1/groups/snapshot: groupchat/get result
    INGEST_EP__COUNT
} ingest_ep_t;

//  One item of a request as the gateway sent it, and the events it became.
typedef struct {
    char    *id;             //  msgid, or a derived id for callbacks
    char    *error;          //  NULL, or why the item itself is unusable
    char    *field;          //  the field the error names (WeCom's name)
    char    *raw;            //  the item's JSON, kept for a dead letter when it is rejected
    bool     duplicate;      //  a contact event already stored (its answer: duplicate)
} ingest_item_t;

//  A group-level change from a callback, applied before the events.
typedef enum { INGEST_GOP_CREATE, INGEST_GOP_RENAME, INGEST_GOP_OWNER, INGEST_GOP_DISMISS } ingest_gop_kind_t;
typedef struct {
    ingest_gop_kind_t kind;
    char   *group;           //  ChatId
    char   *value;           //  new name, or the owner's userid (may be NULL)
    int64_t at_us;
    size_t  item;            //  the item it came from
} ingest_gop_t;

//  One member of a snapshot (groupchat/get member_list).
typedef struct {
    char   *userid;
    int     type;            //  1 staff (企业成员), 2 customer (外部联系人)
    int64_t join_time_us;
    int     join_scene;      //  1 invite, 2 invite link, 3 QR code
    char   *invitor;
    char   *nickname;        //  group_nickname, else name
    char   *state;           //  channel code
    Qy__Role role;
} ingest_snap_member_t;

typedef struct {
    char    *group;          //  chat_id
    char    *name;
    char    *owner;
    int64_t  fetched_us;     //  when the gateway read it (fetched_at), else receipt time
    ingest_snap_member_t *members;
    size_t   n_members;
} ingest_snapshot_t;

//  Free a snapshot and what it holds; set *snap_p to NULL. Safe on NULL.
void ingest_snapshot_destroy (ingest_snapshot_t **snap_p);

//  A parsed request. Owns everything it points to.
typedef struct {
    ingest_ep_t    ep;
    int64_t        now_us;             //  when it was received
    char          *brand;              //  brand code (from the credential)
    ingest_item_t *items;
    size_t         n_items;
    Qy__Event    **events;
    size_t        *event_item;         //  the item each event came from
    size_t         n_events, cap_events;
    ingest_gop_t  *gops;
    size_t         n_gops;
    Qy__Event    **contacts;           //  kind CONTACT: stored by ingest_gateway_prepare, not sent on
    size_t        *contact_item;       //  the item each came from
    size_t         n_contacts;
    ingest_snapshot_t *snap;           //  INGEST_EP_SNAPSHOT only
    bool           too_many;           //  parsing stopped: over INGEST_MAX_EVENTS
} ingest_req_t;

#define INGEST_MAX_ITEMS 5000
//  Events one request may become (each MemChangeList entry is one); more:
//  the request is refused whole, 413.
#define INGEST_MAX_EVENTS 5000

void ingest_req_destroy (ingest_req_t **self_p);
//  Append an event that item produced (takes ownership); returns its index.
size_t ingest_req_add_event (ingest_req_t *self, size_t item, Qy__Event *ev);
//  A fresh event for the request's brand (all strings empty). Caller owns it.
Qy__Event *ingest_event_new (const char *brand);
//  A message id derived from what identifies a synthesized event (printf
//  style). Ids longer than 128 bytes are shortened to their prefix (up to
//  the first ':') and a 64-bit hash of the whole, so they stay valid and
//  deterministic. Caller owns it.
char *ingest_derived_id (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
#endif
