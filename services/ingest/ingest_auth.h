//  Who may call ingest's HTTP front door (ingest_auth.c): bearer tokens
//  and HMAC signatures checked against a cache of gateway_credentials.
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
#endif
