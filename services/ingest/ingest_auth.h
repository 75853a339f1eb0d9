//  Who may call ingest's HTTP front door (ingest_auth.c): bearer tokens
//  and HMAC signatures checked against a cache of gateway_credentials.
//  HMAC secrets are kept sealed in PostgreSQL (qy_seal under the master
//  key) and unsealed only in this cache; a rotated credential's previous
//  token or secret stays valid until its not_after.
#ifndef INGEST_AUTH_H
#define INGEST_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "qy/pg.h"

#define INGEST_AUTH_OK 0
//  Who may call: a snapshot of gateway_credentials.
typedef struct ingest_creds_t ingest_creds_t;
ingest_creds_t *ingest_creds_new (void);
void ingest_creds_destroy (ingest_creds_t **self_p);
//  The master key HMAC secrets are sealed under (qy_master_key_load); NULL
//  (development): sealed secrets cannot be used, plain ones are.
void ingest_creds_set_master (ingest_creds_t *self, const unsigned char key [32]);
//  Replace the credentials with the table's current rows, first sealing
//  in place any HMAC secret still in a plain row (when the master key is
//  set). Returns 0 or -1 (PostgreSQL failed; the previous set stays).
int ingest_creds_load (ingest_creds_t *self, qy_pg_t *pg);

//  One credential as the cache holds it (secrets unsealed).
typedef struct {
    const char *name;
    int64_t     brand_id;
    const char *brand;
    const char *kind;                //  "bearer" or "hmac"
    const char *token_sha256;        //  bearer
    const char *secret;              //  hmac
    bool        enabled;
    const char *prev_token_sha256;   //  the previous one, rotated out: valid until prev_not_after_us
    const char *prev_secret;
    int64_t     prev_not_after_us;
} ingest_cred_row_t;
//  Add one credential (what ingest_creds_load does per row; for tests).
void ingest_creds_add (ingest_creds_t *self, const ingest_cred_row_t *row);
bool ingest_creds_loaded (ingest_creds_t *self);

typedef struct {
    const char *authorization;   //  "Bearer …"
    const char *gateway;         //  X-Qy-Gateway
    const char *timestamp;       //  X-Qy-Timestamp (unix seconds)
    const char *signature;       //  X-Qy-Signature ("sha256=" hex)
} ingest_auth_headers_t;

//  A request to check.
typedef struct {
    const ingest_auth_headers_t *headers;
    const char *body;
    size_t      len;
    int64_t     now_us;
    long        window_s;            //  HMAC replay window
} ingest_auth_request_t;

//  Who it came from.
typedef struct {
    char    brand [64];              //  brand code
    int64_t brand_id;
    char    gateway [64];            //  the credential's name
    bool    previous;                //  by the previous (rotated) token or secret, still in its overlap
    char    why [160];               //  why it was refused
} ingest_auth_result_t;

//  Check a request. Returns INGEST_AUTH_OK and fills out's brand, brand_id,
//  gateway and previous, or the HTTP status to answer (401 unknown or bad
//  credentials, stale timestamp, a previous credential past its
//  not_after; 403 revoked) with the reason in out->why. Thread-safe.
int ingest_creds_check (ingest_creds_t *self, const ingest_auth_request_t *req, ingest_auth_result_t *out);
//  Lower-case hex SHA-256 of data (out ≥ 65 bytes).
void ingest_sha256_hex (const void *data, size_t len, char *out);
//  Lower-case hex HMAC-SHA256(secret, timestamp "." body) (out ≥ 65 bytes).
void ingest_hmac_hex (const char *secret, const char *timestamp, const void *body, size_t len, char *out);
#endif
