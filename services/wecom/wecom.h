//  qy-wecom: the edge between WeCom's official API and Qunyun
//  (docs/wecom.md). Callbacks in (encrypted XML) → ingest's /v1/events and
//  /v1/groups/snapshot; the chat archive (Finance SDK) → /v1/messages;
//  notifier's deliveries for an official brand → WeCom's APIs.
//    wecom_crypto.c   signature, AES-256-CBC, PKCS#7, base64 (pure)
//    wecom_xml.c      callback XML → WeCom-named JSON (libxml2, pure)
//    wecom_map.c      callbacks, snapshots and archive messages → ingest's shapes (pure)
//    wecom_api.c      WeCom's HTTP API: tokens cached in Redis, single flight, retries
//    wecom_store.c    the brand settings and the callback table (PostgreSQL)
//    wecom_callback.c /wecom/<brand>/callback
//    wecom_forward.c  kept callbacks → ingest
//    wecom_deliver.c  /wecom/<brand>/deliver and the send-result poller
//    wecom_archive.c  the Finance SDK (dlopen) and the cursor
#ifndef WECOM_H
#define WECOM_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "qy/pg.h"
#include "qy/redis.h"
#include "qy/seal.h"
#include "qy/util.h"

// -------------------------------------------------------------- crypto

//  msg_signature: hex SHA1 of the four strings sorted and concatenated.
void wecom_signature (const char *token, const char *timestamp, const char *nonce,
                      const char *encrypt, char out [41]);
//  The AES key of an EncodingAESKey (43 characters). -1 when malformed.
int wecom_aes_key (const char *encoding_aes_key, unsigned char key [32]);
//  Bytes of PKCS#7 padding WeCom adds to len bytes (1..32).
size_t wecom_pkcs7_pad (size_t len);
//  The padded length's payload, or -1 when the padding is not PKCS#7 to 32.
long wecom_pkcs7_unpad (const unsigned char *buf, size_t len);

typedef enum {
    WECOM_OK = 0,
    WECOM_BAD_BASE64,       //  Encrypt is not base64, or not a whole number of blocks
    WECOM_BAD_PADDING,      //  decrypted, but not PKCS#7 to 32 (wrong key)
    WECOM_BAD_LENGTH,       //  the 4-byte length runs past the plaintext
    WECOM_BAD_RECEIVER,     //  the receive id is not the brand's corp id
} wecom_rc_t;
const char *wecom_rc_name (wecom_rc_t rc);
//  Decrypt Encrypt (base64) with key; the message must end with
//  receive_id. On WECOM_OK *msg is the message (NUL-terminated, caller
//  frees) and *len its length.
wecom_rc_t wecom_decrypt (const unsigned char key [32], const char *b64, const char *receive_id,
                          char **msg, size_t *len);
//  The reverse (the simulator's and the tests' side): random are the 16
//  leading bytes. Caller owns the base64 result.
char *wecom_encrypt (const unsigned char key [32], const unsigned char random [16],
                     const char *msg, size_t len, const char *receive_id);

// ----------------------------------------------------------------- xml

//  The outer body of a POSTed callback: Encrypt's text (caller frees), or
//  NULL when the body is not XML or has none.
char *wecom_xml_encrypt (const char *body, size_t len);
//  A decrypted callback as a JSON object with WeCom's element names: text
//  elements as strings (CreateTime, JoinScene, QuitScene, MemChangeCnt as
//  integers), MemChangeList as an array of its Items. NULL with err set
//  when not XML. Caller owns it.
json_t *wecom_xml_event (const char *xml, size_t len, char *err, size_t errlen);

// ----------------------------------------------------------------- map

//  change_external_chat → the item ingest's /v1/events takes, enriched
//  from the group's groupchat/get answer when there is one (NULL): each
//  joining member's channel (state), nickname, inviter and type, the new
//  owner (change_owner) and name (create, change_name). Caller owns it.
json_t *wecom_map_callback (json_t *cb, json_t *groupchat);
//  groupchat/get's answer → /v1/groups/snapshot's body (fetched_at added).
json_t *wecom_map_snapshot (json_t *groupchat, int64_t fetched_at_s);
//  A decrypted archive message → a /v1/messages item, or NULL with why
//  set when it is not a group message ingest takes (1:1 chats, switch).
//  Every type but mixed is taken as it is: the result is msg itself
//  (a new reference), so the caller may send the text it parsed msg from.
json_t *wecom_map_archive (json_t *msg, const char **why);
//  A member's name in groupchat/get's answer (group nickname, else name), or NULL.
const char *wecom_member_name (json_t *groupchat, const char *userid);
//  text with the delivery's member ids (mentions, member) replaced by their
//  names from the group, or by placeholder (WeCom's %NICKNAME%) when given,
//  which replaces their names too (a template names no one member): never
//  greet a member by id. Caller frees it.
char *wecom_greet_names (json_t *groupchat, json_t *delivery, const char *text, const char *placeholder);
//  What WeCom's API can do with one of notifier's deliveries.
typedef enum {
    WECOM_WAY_BAD,             //  not a delivery we know
    WECOM_WAY_MASS_SEND,       //  post, warn: add_msg_template, the owner confirms
    WECOM_WAY_WELCOME,         //  a join's welcome: the group welcome template
    WECOM_WAY_APP_MESSAGE,     //  alert, task, notice: message/send text card
    WECOM_WAY_NOT_PERMITTED,   //  recall, mute, remove: 422, a staff task
} wecom_way_t;
wecom_way_t wecom_deliver_way (json_t *delivery);
//  Whether get_groupmsg_task's status says the member sent the mass send (2).
bool wecom_task_sent (long status);
//  get_groupmsg_send_result's status for one chat as wecom_sends has it
//  ("sent", "not_sent"), NULL while pending.
const char *wecom_send_status (long status);
//  Whether a callback is a group change (change_external_chat).
bool wecom_is_chat_event (json_t *cb);
//  Whether a callback is a 1:1 contact change (change_external_contact):
//  forwarded as it is, ingest stores it (docs/wecom.md).
bool wecom_is_contact_event (json_t *cb);

// ----------------------------------------------------------------- api

typedef struct wecom_api_t wecom_api_t;
typedef enum {
    WECOM_API_OK,          //  errcode 0: *answer holds the JSON
    WECOM_API_ERRCODE,     //  a final errcode: *answer holds it
    WECOM_API_BUSY,        //  a frequency errcode (45009, 45033, …): paused, try later
    WECOM_API_DOWN,        //  no answer, or not JSON: try later
} wecom_api_rc_t;
//  base: WeCom's API base (https://qyapi.weixin.qq.com). redis shared by
//  the replicas (token cache, single flight, pauses). Borrows redis.
wecom_api_t *wecom_api_new (const char *base, qy_redis_t *redis, int timeout_ms, int pause_ms);
void wecom_api_destroy (wecom_api_t **self_p);
//  A token for (corp, secret): from Redis, else fetched by one replica
//  while the others wait for it; never stale (the one WeCom just refused,
//  or NULL). NULL when WeCom cannot be reached. Caller frees it.
char *wecom_api_token (wecom_api_t *self, const char *corp, const char *secret, const char *stale);
//  POST body (or GET when NULL) to path?access_token=…; on 40014/42001/
//  40001 the token is refreshed once and the call retried. *answer is
//  set (caller json_decrefs) unless DOWN.
wecom_api_rc_t wecom_api_call (wecom_api_t *self, const char *corp, const char *secret,
                               const char *path, json_t *body, json_t **answer);
//  Whether errcode is one of WeCom's frequency limits.
bool wecom_errcode_busy (long errcode);
//  Whether errcode says the access token is invalid or expired.
bool wecom_errcode_token (long errcode);

// --------------------------------------------------------------- store

typedef struct {
    int64_t brand_id;
    char   *code, *corp_id;
    long    agent_id;
    char   *token, *aes_key, *secret, *contact_secret, *archive_key, *archive_secret, *ingest_token;
    char   *gateway_token;          //  brands.gateway_token: what notifier sends to /deliver
    bool    official;
} wecom_brand_t;
//  Read and unseal a brand's settings by code (or id when code is NULL).
//  Returns NULL when there is none (or on error: logged). Caller frees it.
wecom_brand_t *wecom_brand_load (qy_pg_t *pg, const unsigned char mk [32], const char *code, int64_t id);
void wecom_brand_destroy (wecom_brand_t **self_p);
//  The secret for the customer-contact APIs (the contact secret, else the app's).
const char *wecom_brand_contact_secret (const wecom_brand_t *b);
#endif

// ------------------------------------------------------------- service

//  The connector's settings (main.c's config table) and key, shared
//  read-only by every thread once started.
typedef struct {
    unsigned char master [32];
    const char *api_base, *ingest_url;
    long  api_timeout_ms, api_pause_ms, window_s, deadletter_max;
} wecom_env_t;

//  What one thread owns: its own PostgreSQL and Redis connections and API
//  client (none of them may be shared between threads).
typedef struct {
    const wecom_env_t *env;
    qy_pg_t     *pg;
    qy_redis_t  *redis;
    wecom_api_t *api;
} wecom_ctx_t;
wecom_ctx_t *wecom_ctx_new (const wecom_env_t *env, const char *pg_dsn, const char *redis_host, int redis_port);
void wecom_ctx_destroy (wecom_ctx_t **self_p);

//  /wecom/<brand>/callback and /wecom/<brand>/deliver (qy_http router).
//  arg is a wecom_router_t; each HTTP thread makes its own context.
typedef struct {
    const wecom_env_t *env;
    const char *pg_dsn, *redis_host;
    int redis_port;
    _Atomic bool ready;              //  set once the fields above are
} wecom_router_t;
struct qy_http_req_t;
unsigned wecom_route (void *arg, struct qy_http_req_t *req, qy_buf_t *out, const char **type);

//  One request to /wecom/<code>/callback: WeCom's query parameters are
//  NULL when absent; body is borrowed.
typedef struct {
    const char *code, *method;
    const char *sig, *ts, *nonce, *echostr;     //  msg_signature, timestamp, nonce, echostr
    const char *body;
    size_t      len;
} wecom_callback_req_t;
//  The callback's answer, given its parts (no I/O but the nonce cache and
//  the table in ctx). Fills out and returns the HTTP status.
unsigned wecom_callback (wecom_ctx_t *ctx, const wecom_callback_req_t *req, qy_buf_t *out);
//  notifier's delivery (docs/gateway.md "Out") → WeCom's API. Fills out, returns the status.
unsigned wecom_deliver (wecom_ctx_t *ctx, const char *code, const char *auth, const char *idem,
                        const char *body, size_t len, qy_buf_t *out);
//  Read back the outcome of up to max pending sends into wecom_sends. Returns how many were checked.
int wecom_poll_sends (wecom_ctx_t *ctx, int max, long every_s);
//  POST body to ingest's path with the brand's credential: the HTTP
//  status, 0 when ingest did not answer; *answer (when given) its JSON
//  answer or NULL (caller json_decrefs).
long wecom_ingest_post (wecom_ctx_t *ctx, const wecom_brand_t *b, const char *path, json_t *body, json_t **answer);
//  The same with the body as JSON text already (len bytes).
long wecom_ingest_post_text (wecom_ctx_t *ctx, const wecom_brand_t *b, const char *path, const char *payload, size_t len,
                             json_t **answer);
//  Forward up to max kept callbacks to ingest. Returns how many were handled.
int wecom_forward (wecom_ctx_t *ctx, int max);

// ------------------------------------------------------------- archive

//  The vendor's Finance SDK, loaded with dlopen (it is never linked).
typedef struct wecom_sdk_t wecom_sdk_t;
//  NULL with err set when the library or one of its functions is missing.
wecom_sdk_t *wecom_sdk_open (const char *path, char *err, size_t errlen);
void wecom_sdk_close (wecom_sdk_t **self_p);

typedef struct wecom_archive_t wecom_archive_t;
//  limit: messages per GetChatData (WeCom: ≤ 1000); batch: messages per
//  hand-over (several GetChatData calls under one cursor move).
wecom_archive_t *wecom_archive_new (wecom_sdk_t *sdk, long limit, long batch, long timeout_s);
void wecom_archive_destroy (wecom_archive_t **self_p);
//  One pull for every brand with an archive key: from its cursor, up to
//  batch messages, into ingest's /v1/messages; the cursor moves only past
//  what ingest answered for. Returns the archive entries pulled (batch or
//  more: some brand has more waiting), -1 on error.
long wecom_archive_pull (wecom_archive_t *self, wecom_ctx_t *ctx);
