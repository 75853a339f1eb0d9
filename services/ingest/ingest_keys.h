//  The gateways' CURVE keys (ingest_keys.c): who may open the ZeroMQ door
//  when it runs with CURVE (gateway.curve_secret_key set), and for which
//  brand. A snapshot of gateway_keys, reloaded with the credentials; the
//  decisions are pure functions over it, the ZAP handler answers libzmq.
#ifndef INGEST_KEYS_H
#define INGEST_KEYS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "qunyun.pb-c.h"
#include "qy/pg.h"
#include "qy/zmq_curve.h"

typedef struct {
    char    name [65];                       //  the connection's User-Id
    char    public_key [QY_CURVE_KEY_LEN + 1];
    int64_t brand_id;
    char    brand [64];                      //  brand code
    bool    enabled;
} ingest_key_t;

typedef struct ingest_keys_t ingest_keys_t;
ingest_keys_t *ingest_keys_new (void);
void ingest_keys_destroy (ingest_keys_t **self_p);
//  Replace the keys with the table's current rows. Returns 0, or -1 when
//  PostgreSQL failed (the previous set stays).
int ingest_keys_load (ingest_keys_t *self, qy_pg_t *pg);
//  Add one key (what ingest_keys_load does per row; for tests).
void ingest_keys_add (ingest_keys_t *self, const char *name, const char *public_key, int64_t brand_id,
                      const char *brand, bool enabled);
size_t ingest_keys_count (const ingest_keys_t *self);

typedef enum { INGEST_KEY_OK, INGEST_KEY_UNKNOWN, INGEST_KEY_REVOKED } ingest_key_verdict_t;
//  May a client with this public key (Z85) connect? Sets *key to its row
//  when known (revoked or not).
ingest_key_verdict_t ingest_keys_admit (const ingest_keys_t *self, const char *public_key, const ingest_key_t **key);
//  The key a connection authenticated as (its User-Id), NULL when unknown.
const ingest_key_t *ingest_keys_by_name (const ingest_keys_t *self, const char *name);
//  May a batch that came over key be taken? NULL when so, else why not:
//  the key is unknown or revoked by now, or an event names a brand other
//  than the key's (the first such brand is named in why).
const char *ingest_keys_batch_problem (const ingest_key_t *key, const Qy__Batch *batch, char *why, size_t whylen);

//  What one ZAP request came to, for the caller's metrics and log.
typedef struct {
    bool        answered;        //  false: no request was waiting
    ingest_key_verdict_t verdict;
    char        address [64];    //  the peer's IP address
    char        public_key [QY_CURVE_KEY_LEN + 1];   //  the client's public key (not a secret)
    char        name [65];       //  the key's name when known
} ingest_zap_t;

//  Answer one ZAP request waiting on zap (a REP socket bound at
//  QY_ZAP_ENDPOINT), never blocking: 200 with the key's name as User-Id
//  for an enabled key, 400 otherwise (and for any mechanism but CURVE).
//  Fills out. Returns 0, or -1 when none was waiting.
int ingest_zap_answer (void *zap, const ingest_keys_t *keys, ingest_zap_t *out);
#endif
