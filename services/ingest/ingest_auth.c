//  Who may call the HTTP front door. A gateway authenticates either with a
//  bearer token (Authorization: Bearer …; we keep only its SHA-256) or by
//  signing: X-Qy-Gateway names the credential, X-Qy-Timestamp is unix
//  seconds, X-Qy-Signature is "sha256=" + hex HMAC-SHA256(secret,
//  timestamp "." body). A timestamp outside the replay window is refused,
//  so a captured request cannot be replayed later; inside the window a
//  replay is harmless because every item is idempotent by its id.
//  The main loop reloads the credentials; HTTP threads read them.
#include "ingest_auth.h"
#include "qy/util.h"
#include "qy/log.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char   *name;
    int64_t brand_id;
    char   *brand;
    bool    hmac;
    char   *token_sha256;
    char   *secret;
    bool    enabled;
} s_cred_t;

struct ingest_creds_t {
    pthread_rwlock_t lock;
    s_cred_t *creds;
    size_t    n, cap;
    bool      loaded;
};

ingest_creds_t *ingest_creds_new (void)
{
    ingest_creds_t *self = qy_calloc (1, sizeof (*self));
    pthread_rwlock_init (&self->lock, NULL);
    return self;
}

static void s_free_all (s_cred_t *creds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free (creds [i].name);
        free (creds [i].brand);
        free (creds [i].token_sha256);
        free (creds [i].secret);
    }
    free (creds);
}

void ingest_creds_destroy (ingest_creds_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_creds_t *self = *self_p;
    s_free_all (self->creds, self->n);
    pthread_rwlock_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

static void s_fill (s_cred_t *c, const char *name, int64_t brand_id, const char *brand, const char *kind,
                    const char *token_sha256, const char *secret, bool enabled)
{
    c->name = qy_strdup (name);
    c->brand_id = brand_id;
    c->brand = qy_strdup (brand);
    c->hmac = strcmp (kind, "hmac") == 0;
    c->token_sha256 = token_sha256 ? qy_strdup (token_sha256) : NULL;
    c->secret = secret ? qy_strdup (secret) : NULL;
    c->enabled = enabled;
}

void ingest_creds_add (ingest_creds_t *self, const char *name, int64_t brand_id, const char *brand,
                       const char *kind, const char *token_sha256, const char *secret, bool enabled)
{
    pthread_rwlock_wrlock (&self->lock);
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 8;
        self->creds = qy_realloc (self->creds, self->cap * sizeof (s_cred_t));
    }
    s_fill (&self->creds [self->n++], name, brand_id, brand, kind, token_sha256, secret, enabled);
    self->loaded = true;
    pthread_rwlock_unlock (&self->lock);
}

int ingest_creds_load (ingest_creds_t *self, qy_pg_t *pg)
{
    PGresult *res;
    if (!qy_pg_run (pg, "credentials",
            "SELECT c.name, c.brand_id, b.code, c.kind, c.token_sha256, c.secret, c.enabled "
            "FROM gateway_credentials c JOIN brands b ON b.id = c.brand_id", 0, NULL, &res))
        return -1;
    size_t n = (size_t) PQntuples (res);
    s_cred_t *creds = qy_calloc (n ? n : 1, sizeof (s_cred_t));
    for (size_t r = 0; r < n; r++) {
        int i = (int) r;
        s_fill (&creds [r], PQgetvalue (res, i, 0), qy_pg_int (res, i, 1), PQgetvalue (res, i, 2),
                PQgetvalue (res, i, 3), PQgetisnull (res, i, 4) ? NULL : PQgetvalue (res, i, 4),
                PQgetisnull (res, i, 5) ? NULL : PQgetvalue (res, i, 5), PQgetvalue (res, i, 6) [0] == 't');
    }
    PQclear (res);
    pthread_rwlock_wrlock (&self->lock);
    s_cred_t *old = self->creds;
    size_t old_n = self->n;
    bool first = !self->loaded;
    self->creds = creds;
    self->n = self->cap = n;
    self->loaded = true;
    pthread_rwlock_unlock (&self->lock);
    s_free_all (old, old_n);
    if (first)
        qy_log_info ("gateway credentials loaded count=%zu", n);
    return 0;
}

bool ingest_creds_loaded (ingest_creds_t *self)
{
    pthread_rwlock_rdlock (&self->lock);
    bool loaded = self->loaded;
    pthread_rwlock_unlock (&self->lock);
    return loaded;
}

static void s_hex (const unsigned char *d, size_t n, char *out)
{
    static const char digits [] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out [2 * i] = digits [d [i] >> 4];
        out [2 * i + 1] = digits [d [i] & 15];
    }
    out [2 * n] = 0;
}

void ingest_sha256_hex (const void *data, size_t len, char *out)
{
    unsigned char md [SHA256_DIGEST_LENGTH];
    SHA256 (data, len, md);
    s_hex (md, sizeof (md), out);
}

void ingest_hmac_hex (const char *secret, const char *timestamp, const void *body, size_t len, char *out)
{
    //  timestamp "." body, signed as one message without copying the body.
    EVP_MAC *mac = EVP_MAC_fetch (NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new (mac);
    OSSL_PARAM params [] = {
        OSSL_PARAM_construct_utf8_string ("digest", (char *) "SHA256", 0),
        OSSL_PARAM_construct_end ()
    };
    unsigned char md [EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    if (!mac || !ctx || !EVP_MAC_init (ctx, (const unsigned char *) secret, strlen (secret), params)
        || !EVP_MAC_update (ctx, (const unsigned char *) timestamp, strlen (timestamp))
        || !EVP_MAC_update (ctx, (const unsigned char *) ".", 1)
        || !EVP_MAC_update (ctx, body, len)
        || !EVP_MAC_final (ctx, md, &mdlen, sizeof (md))) {
        qy_log_error ("openssl hmac failed");
        abort ();               //  a broken crypto library is not something to run on
    }
    EVP_MAC_CTX_free (ctx);
    EVP_MAC_free (mac);
    s_hex (md, mdlen, out);
}

static bool s_equal (const char *a, const char *b)
{
    size_t la = strlen (a), lb = strlen (b);
    return la == lb && CRYPTO_memcmp (a, b, la) == 0;
}

static int s_refuse (int status, char *why, size_t whylen, const char *reason)
{
    qy_strlcpy (why, reason, whylen);
    return status;
}

int ingest_creds_check (ingest_creds_t *self, const ingest_auth_headers_t *h, const char *body, size_t len,
                        int64_t now_us, long window_s, char *brand, size_t brandlen, int64_t *brand_id,
                        char *gateway, size_t gatewaylen, char *why, size_t whylen)
{
    char want [65];
    bool bearer = h->authorization && strncasecmp (h->authorization, "Bearer ", 7) == 0;
    if (!bearer && !(h->gateway && h->signature))
        return s_refuse (401, why, whylen, "missing credentials: Authorization: Bearer, or X-Qy-Gateway with X-Qy-Signature");
    if (!bearer) {
        if (!h->timestamp)
            return s_refuse (401, why, whylen, "missing header: X-Qy-Timestamp");
        char *end;
        long long ts = strtoll (h->timestamp, &end, 10);
        if (!*h->timestamp || *end)
            return s_refuse (401, why, whylen, "bad header: X-Qy-Timestamp (unix seconds)");
        long long skew = now_us / 1000000 - ts;
        if (skew > window_s || skew < -window_s)
            return s_refuse (401, why, whylen, "stale request: X-Qy-Timestamp outside the replay window");
    }
    else
        ingest_sha256_hex (h->authorization + 7, strlen (h->authorization + 7), want);
    int rc = 401;
    qy_strlcpy (why, bearer ? "unknown token" : "unknown gateway or bad signature", whylen);
    pthread_rwlock_rdlock (&self->lock);
    for (size_t i = 0; i < self->n; i++) {
        s_cred_t *c = &self->creds [i];
        bool match;
        if (bearer)
            match = !c->hmac && c->token_sha256 && s_equal (c->token_sha256, want);
        else {
            if (!c->hmac || strcmp (c->name, h->gateway) != 0 || !c->secret)
                continue;
            char sig [65], given [80];
            ingest_hmac_hex (c->secret, h->timestamp, body, len, sig);
            const char *s = h->signature;
            if (strncmp (s, "sha256=", 7) == 0)
                s += 7;
            qy_strlcpy (given, s, sizeof (given));
            for (char *p = given; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                    *p = (char) (*p - 'A' + 'a');
            match = s_equal (sig, given);
        }
        if (!match)
            continue;
        if (!c->enabled) {
            rc = 403;
            qy_strlcpy (why, "credential revoked", whylen);
        }
        else {
            rc = INGEST_AUTH_OK;
            qy_strlcpy (brand, c->brand, brandlen);
            *brand_id = c->brand_id;
            qy_strlcpy (gateway, c->name, gatewaylen);
            why [0] = 0;
        }
        break;
    }
    pthread_rwlock_unlock (&self->lock);
    return rc;
}
