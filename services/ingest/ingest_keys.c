//  CURVE keys of the gateways. libzmq asks the ZAP handler (RFC 27) about
//  every client completing a CURVE handshake on the door; the answer names
//  the key, and every message of that connection then carries the name as
//  its User-Id, so the door knows which brand may send over it. A key
//  revoked while its connection is open stops that connection's batches
//  from the next reload, not only its next handshake.
#include "ingest_keys.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct ingest_keys_t {
    ingest_key_t *keys;
    size_t        n, cap;
};

ingest_keys_t *ingest_keys_new (void)
{
    return qy_calloc (1, sizeof (ingest_keys_t));
}

void ingest_keys_destroy (ingest_keys_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->keys);
    free (*self_p);
    *self_p = NULL;
}

void ingest_keys_add (ingest_keys_t *self, const char *name, const char *public_key, int64_t brand_id,
                      const char *brand, bool enabled)
{
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 16;
        self->keys = qy_realloc (self->keys, self->cap * sizeof (ingest_key_t));
    }
    ingest_key_t *k = &self->keys [self->n++];
    memset (k, 0, sizeof (*k));
    qy_strlcpy (k->name, name, sizeof (k->name));
    qy_strlcpy (k->public_key, public_key, sizeof (k->public_key));
    qy_strlcpy (k->brand, brand, sizeof (k->brand));
    k->brand_id = brand_id;
    k->enabled = enabled;
}

size_t ingest_keys_count (const ingest_keys_t *self)
{
    return self->n;
}

int ingest_keys_load (ingest_keys_t *self, qy_pg_t *pg)
{
    PGresult *res;
    if (!qy_pg_run (pg, "gateway keys", "SELECT k.name, k.public_key, k.brand_id, b.code, k.enabled "
                    "FROM gateway_keys k JOIN brands b ON b.id = k.brand_id", 0, NULL, &res))
        return -1;
    self->n = 0;
    for (int r = 0; r < PQntuples (res); r++)
        ingest_keys_add (self, PQgetvalue (res, r, 0), PQgetvalue (res, r, 1), qy_pg_int (res, r, 2),
                         PQgetvalue (res, r, 3), PQgetvalue (res, r, 4) [0] == 't');
    PQclear (res);
    return 0;
}

ingest_key_verdict_t ingest_keys_admit (const ingest_keys_t *self, const char *public_key, const ingest_key_t **key)
{
    *key = NULL;
    for (size_t i = 0; i < self->n; i++)
        if (strcmp (self->keys [i].public_key, public_key) == 0) {
            *key = &self->keys [i];
            return self->keys [i].enabled ? INGEST_KEY_OK : INGEST_KEY_REVOKED;
        }
    return INGEST_KEY_UNKNOWN;
}

const ingest_key_t *ingest_keys_by_name (const ingest_keys_t *self, const char *name)
{
    for (size_t i = 0; name && i < self->n; i++)
        if (strcmp (self->keys [i].name, name) == 0)
            return &self->keys [i];
    return NULL;
}

const char *ingest_keys_batch_problem (const ingest_key_t *key, const Qy__Batch *batch, char *why, size_t whylen)
{
    if (!key)
        return "gateway key unknown: refused";
    if (!key->enabled) {
        qy_snprintf (why, whylen, "gateway key %s revoked: refused", key->name);
        return why;
    }
    for (size_t i = 0; i < batch->n_events; i++) {
        const char *b = batch->events [i]->brand;
        if (strcmp (b ? b : "", key->brand) != 0) {
            qy_snprintf (why, whylen, "gateway key %s is brand %s's: an event for brand %.64s refused, "
                         "nothing of the batch stored", key->name, key->brand,
                         qy_utf8_valid (b ? b : "") ? b : "(not UTF-8)");
            return why;
        }
    }
    return NULL;
}

int ingest_zap_answer (void *zap, const ingest_keys_t *keys, ingest_zap_t *out)
{
    memset (out, 0, sizeof (*out));
    qy_zap_request_t req;
    if (qy_zap_recv (zap, &req))
        return -1;
    out->answered = true;
    out->verdict = INGEST_KEY_UNKNOWN;
    const ingest_key_t *key = NULL;
    if (req.curve)
        out->verdict = ingest_keys_admit (keys, req.public_key, &key);
    qy_strlcpy (out->address, req.address, sizeof (out->address));
    qy_strlcpy (out->public_key, req.public_key, sizeof (out->public_key));
    if (key)
        qy_strlcpy (out->name, key->name, sizeof (out->name));
    bool ok = out->verdict == INGEST_KEY_OK;
    qy_zap_reply (zap, &req, ok, ok ? key->name : NULL);
    return 0;
}
