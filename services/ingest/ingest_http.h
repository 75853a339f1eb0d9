//  ingest's HTTP front door (docs/gateway.md): WeCom-shaped JSON in, the
//  same Event batches as the ZeroMQ path out. Four parts, one file each:
//    ingest_wecom.c      JSON → events (pure: the fuzz target)
//    ingest_auth.c       bearer tokens and HMAC signatures, credential cache
//    ingest_reconcile.c  member-list snapshots → the joins and leaves missed
//    ingest_http.c       the libmicrohttpd server and the queue to the main loop
//    ingest_gateway.c    main-loop side: group changes, reconcile, answers
#ifndef INGEST_HTTP_H
#define INGEST_HTTP_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "ingest.h"
#include "qy/pg.h"
#include "qy/util.h"

// ------------------------------------------------------------- parsing

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

//  Parse body for endpoint ep on behalf of brand. now_us stands in for
//  times the body does not give. Returns the request, or NULL with the
//  envelope's problem in err and the field it names in field (the body is
//  not JSON, or not the expected shape). Items with problems of their own
//  are kept with their error set. A request that would become more than
//  INGEST_MAX_EVENTS events is refused ("too many events …", field the
//  list's name). Caller owns the result.
ingest_req_t *ingest_wecom_parse (ingest_ep_t ep, const char *brand, const char *body, size_t len,
                                  int64_t now_us, char *err, size_t errlen, char *field, size_t fieldlen);
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

// -------------------------------------------------------------- auth

#define INGEST_AUTH_OK 0
//  Who may call: a snapshot of gateway_credentials.
typedef struct ingest_creds_t ingest_creds_t;
ingest_creds_t *ingest_creds_new (void);
void ingest_creds_destroy (ingest_creds_t **self_p);
//  Replace the credentials with the table's current rows. Returns 0 or -1
//  (PostgreSQL failed; the previous set stays).
int ingest_creds_load (ingest_creds_t *self, qy_pg_t *pg);
//  Add one credential (what ingest_creds_load does per row; for tests).
void ingest_creds_add (ingest_creds_t *self, const char *name, int64_t brand_id, const char *brand,
                       const char *kind, const char *token_sha256, const char *secret, bool enabled);
bool ingest_creds_loaded (ingest_creds_t *self);

typedef struct {
    const char *authorization;   //  "Bearer …"
    const char *gateway;         //  X-Qy-Gateway
    const char *timestamp;       //  X-Qy-Timestamp (unix seconds)
    const char *signature;       //  X-Qy-Signature ("sha256=" hex)
} ingest_auth_headers_t;

//  Check a request. Returns INGEST_AUTH_OK and fills brand (code) and
//  brand_id and gateway (the credential's name), or the HTTP status to
//  answer (401 unknown or bad credentials, stale timestamp; 403 revoked)
//  with the reason in why. Thread-safe.
int ingest_creds_check (ingest_creds_t *self, const ingest_auth_headers_t *h, const char *body, size_t len,
                        int64_t now_us, long window_s, char *brand, size_t brandlen, int64_t *brand_id,
                        char *gateway, size_t gatewaylen, char *why, size_t whylen);
//  Lower-case hex SHA-256 of data (out ≥ 65 bytes).
void ingest_sha256_hex (const void *data, size_t len, char *out);
//  Lower-case hex HMAC-SHA256(secret, timestamp "." body) (out ≥ 65 bytes).
void ingest_hmac_hex (const char *secret, const char *timestamp, const void *body, size_t len, char *out);

// --------------------------------------------------------- reconcile

//  A membership as the archive knows it.
typedef struct {
    const char *userid;
    int64_t     joined_us;      //  0: joined before anyone reported it
    int64_t     left_us;        //  0: still in the group
} ingest_known_t;

//  Compare a snapshot with the memberships of its group and append to req
//  the events that were missed: a join for each member present in the
//  snapshot but not in the group (or who left before the join the snapshot
//  shows), a leave for each member in the group who joined before the
//  snapshot was taken and is not in it. Message ids are derived from the
//  group, the member and the stint, so a repeated snapshot adds nothing
//  new. Returns the number of events appended.
size_t ingest_reconcile (ingest_req_t *req, size_t item, const ingest_snapshot_t *snap,
                         const ingest_known_t *known, size_t n_known, Qy__LeaveReason reason);

// ------------------------------------------------- the HTTP server side

//  A request waiting for the main loop. The HTTP thread fills the input,
//  the main loop fills status and answer and sets done.
typedef struct {
    ingest_req_t *req;          //  NULL when the envelope was bad
    int64_t       brand_id;
    char          brand [64];
    char          gateway [64];
    char         *body;         //  the raw body (for dead letters)
    size_t        len;
    char          envelope_error [200];
    char          envelope_field [64];
    //  answer
    unsigned      status;
    unsigned      retry_after_s;
    qy_buf_t      answer;
    bool          done;
} ingest_job_t;

typedef struct ingest_http_t ingest_http_t;

typedef struct {
    const char *bind;
    long        port;
    long        max_body;        //  bytes; larger bodies get 413
    long        queue;           //  jobs waiting for the main loop; beyond: 429
    long        max_conns;       //  connections at once
    long        max_conns_per_ip;//  from one address (0: no limit); more are closed at once
    long        conn_timeout_s;  //  an idle connection is closed after this
    long        window_s;        //  HMAC replay window
} ingest_http_config_t;

//  Start the server. creds is borrowed (must outlive it). Returns NULL if
//  it cannot listen.
ingest_http_t *ingest_http_new (const ingest_http_config_t *cfg, ingest_creds_t *creds);
//  Answer whatever still waits with 503 and stop.
void ingest_http_destroy (ingest_http_t **self_p);
int ingest_http_port (ingest_http_t *self);
//  The fd that becomes readable when jobs wait (for zmq_poll).
int ingest_http_fd (ingest_http_t *self);
//  Take up to max waiting jobs holding up to max_events events between
//  them (always one, however many it holds). They stay owned by their HTTP
//  threads.
size_t ingest_http_take (ingest_http_t *self, ingest_job_t **jobs, size_t max, size_t max_events);
//  Hand answered jobs back (each has status and answer set): marks them
//  done and wakes their HTTP threads.
void ingest_http_complete (ingest_http_t *self, ingest_job_t **jobs, size_t n);

// ----------------------------------------------- the main-loop side

//  Before the batch is written: apply the job's group changes and, for a
//  snapshot or a dismissal, reconcile against the archive (adding events).
//  Returns 0, or -1 when PostgreSQL failed (answer 503).
int ingest_gateway_prepare (qy_pg_t *pg, int64_t brand_id, ingest_req_t *req);
//  After the batch committed: write the answer for a job whose events got
//  results[0 .. req->n_events).
void ingest_gateway_answer (ingest_job_t *job, const ingest_result_t *results);
//  Answer an error (status, JSON error naming field, Retry-After seconds).
void ingest_gateway_error (ingest_job_t *job, unsigned status, const char *error, const char *field,
                           unsigned retry_after_s);
#endif
