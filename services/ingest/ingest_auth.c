//  Who may call the HTTP front door. A gateway authenticates either with a
//  bearer token (Authorization: Bearer …; we keep only its SHA-256) or by
//  signing: X-Qy-Gateway names the credential, X-Qy-Timestamp is unix
//  seconds, X-Qy-Signature is "sha256=" + hex HMAC-SHA256(secret,
//  timestamp "." body). A timestamp outside the replay window is refused,
//  so a captured request cannot be replayed later; inside the window a
//  replay is harmless because every item is idempotent by its id.
//  The main loop reloads the credentials; HTTP threads read them.
//
//  HMAC secrets must be kept to verify signatures, so they are kept sealed
//  (AES-256-GCM under the master key, which PostgreSQL never sees) and
//  unsealed here only. Rotation keeps the previous token or secret next to
//  the new one until prev_not_after: a gateway switches within the
//  overlap, and anything signed with the old one after it is refused.
#include "ingest_auth.h"
#include "qy/util.h"
#include "qy/log.h"
#include "qy/seal.h"
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
    char   *prev_token_sha256;
    char   *prev_secret;
    int64_t prev_not_after_us;
} s_cred_t;

struct ingest_creds_t {
    pthread_rwlock_t lock;
    s_cred_t *creds;
    size_t    n, cap;
    bool      loaded;
    bool      has_master;
    unsigned char master [32];
    size_t    unusable;           //  sealed secrets that would not unseal, at the last load
};

ingest_creds_t *ingest_creds_new (void)
{
    ingest_creds_t *self = qy_calloc (1, sizeof (*self));
    pthread_rwlock_init (&self->lock, NULL);
    return self;
}

//  Wipe and free a secret.
static void s_forget (char *secret)
{
    if (secret)
        OPENSSL_cleanse (secret, strlen (secret));
    free (secret);
}

static void s_free_all (s_cred_t *creds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free (creds [i].name);
        free (creds [i].brand);
        free (creds [i].token_sha256);
        s_forget (creds [i].secret);
        free (creds [i].prev_token_sha256);
        s_forget (creds [i].prev_secret);
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
    OPENSSL_cleanse (self->master, sizeof (self->master));
    free (self);
    *self_p = NULL;
}

static char *s_dup (const char *s)
{
    return s ? qy_strdup (s) : NULL;
}

static void s_fill (s_cred_t *c, const ingest_cred_row_t *row)
{
    c->name = qy_strdup (row->name);
    c->brand_id = row->brand_id;
    c->brand = qy_strdup (row->brand);
    c->hmac = strcmp (row->kind, "hmac") == 0;
    c->token_sha256 = s_dup (row->token_sha256);
    c->secret = s_dup (row->secret);
    c->enabled = row->enabled;
    c->prev_token_sha256 = s_dup (row->prev_token_sha256);
    c->prev_secret = s_dup (row->prev_secret);
    c->prev_not_after_us = row->prev_not_after_us;
}

void ingest_creds_add (ingest_creds_t *self, const ingest_cred_row_t *row)
{
    pthread_rwlock_wrlock (&self->lock);
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 8;
        self->creds = qy_realloc (self->creds, self->cap * sizeof (s_cred_t));
    }
    s_fill (&self->creds [self->n++], row);
    self->loaded = true;
    pthread_rwlock_unlock (&self->lock);
}

void ingest_creds_set_master (ingest_creds_t *self, const unsigned char key [32])
{
    self->has_master = key != NULL;
    if (key)
        memcpy (self->master, key, sizeof (self->master));
}

//  Seal in place the HMAC secrets still in plain rows, so none stays
//  readable in PostgreSQL. Only the row whose plain secret is still the
//  one read is changed (another replica may have sealed it meanwhile).
static void s_seal_plain (ingest_creds_t *self, qy_pg_t *pg)
{
    PGresult *res;
    if (!self->has_master || !qy_pg_run (pg, "credentials to seal",
            "SELECT id, secret FROM gateway_credentials WHERE secret IS NOT NULL", 0, NULL, &res))
        return;
    for (int r = 0; r < PQntuples (res); r++) {
        const char *plain = PQgetvalue (res, r, 1);
        char *sealed = qy_seal (self->master, plain, strlen (plain));
        const char *p [] = { PQgetvalue (res, r, 0), sealed, plain };
        qy_pg_run (pg, "seal credential", "UPDATE gateway_credentials SET secret_sealed = $2, secret = NULL "
                   "WHERE id = $1 AND secret = $3", 3, p, NULL);
        free (sealed);
    }
    if (PQntuples (res))
        qy_log_info ("gateway credentials sealed in place count=%d", PQntuples (res));
    PQclear (res);
}

//  A sealed secret unsealed (NULL when none, or when it will not unseal:
//  counted in *unusable).
static char *s_unseal (ingest_creds_t *self, PGresult *res, int r, int c, size_t *unusable)
{
    if (PQgetisnull (res, r, c))
        return NULL;
    char *plain = self->has_master ? qy_unseal (self->master, PQgetvalue (res, r, c)) : NULL;
    if (!plain)
        (*unusable)++;
    return plain;
}

static const char *s_opt (PGresult *res, int r, int c)
{
    return PQgetisnull (res, r, c) ? NULL : PQgetvalue (res, r, c);
}

//  The rows as the cache holds them. Caller frees with s_free_all.
static s_cred_t *s_read (ingest_creds_t *self, PGresult *res, size_t *unusable)
{
    size_t n = (size_t) PQntuples (res);
    s_cred_t *creds = qy_calloc (n ? n : 1, sizeof (s_cred_t));
    for (int r = 0; r < (int) n; r++) {
        char *secret = s_unseal (self, res, r, 7, unusable), *prev = s_unseal (self, res, r, 9, unusable);
        ingest_cred_row_t row = {
            PQgetvalue (res, r, 0), qy_pg_int (res, r, 1), PQgetvalue (res, r, 2), PQgetvalue (res, r, 3),
            s_opt (res, r, 4), secret ? secret : s_opt (res, r, 5), PQgetvalue (res, r, 6) [0] == 't',
            s_opt (res, r, 8), prev, qy_pg_int (res, r, 10)
        };
        s_fill (&creds [r], &row);
        s_forget (secret);
        s_forget (prev);
    }
    return creds;
}

int ingest_creds_load (ingest_creds_t *self, qy_pg_t *pg)
{
    s_seal_plain (self, pg);
    PGresult *res;
    if (!qy_pg_run (pg, "credentials",
            "SELECT c.name, c.brand_id, b.code, c.kind, c.token_sha256, c.secret, c.enabled, c.secret_sealed, "
            "  c.prev_token_sha256, c.prev_secret_sealed, "
            "  (extract (epoch FROM c.prev_not_after) * 1000000)::bigint "
            "FROM gateway_credentials c JOIN brands b ON b.id = c.brand_id", 0, NULL, &res))
        return -1;
    size_t n = (size_t) PQntuples (res), unusable = 0;
    s_cred_t *creds = s_read (self, res, &unusable);
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
    if (unusable != self->unusable)
        qy_log_error ("gateway HMAC secrets that cannot be unsealed count=%zu (%s); their gateways are refused 401",
                      unusable, self->has_master ? "sealed under another master key, or altered"
                                                 : "gateway.master_key_file is not set");
    self->unusable = unusable;
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

static int s_refuse (int status, ingest_auth_result_t *out, const char *reason)
{
    qy_strlcpy (out->why, reason, sizeof (out->why));
    return status;
}

//  Does the signature header hold HMAC-SHA256(secret, timestamp "." body)?
static bool s_signed_by (const char *secret, const ingest_auth_request_t *req)
{
    if (!secret)
        return false;
    char sig [65], given [80];
    ingest_hmac_hex (secret, req->headers->timestamp, req->body, req->len, sig);
    const char *s = req->headers->signature;
    if (strncmp (s, "sha256=", 7) == 0)
        s += 7;
    qy_strlcpy (given, s, sizeof (given));
    for (char *p = given; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char) (*p - 'A' + 'a');
    return s_equal (sig, given);
}

typedef enum { S_NO, S_CURRENT, S_PREVIOUS } s_match_t;

//  Is this credential the request's, by its current or its previous token
//  or secret? want: the bearer token's SHA-256 (NULL for a signed request).
static s_match_t s_match (const s_cred_t *c, const ingest_auth_request_t *req, const char *want)
{
    if (want) {
        if (c->hmac)
            return S_NO;
        if (c->token_sha256 && s_equal (c->token_sha256, want))
            return S_CURRENT;
        return c->prev_token_sha256 && s_equal (c->prev_token_sha256, want) ? S_PREVIOUS : S_NO;
    }
    if (!c->hmac || strcmp (c->name, req->headers->gateway) != 0)
        return S_NO;
    if (s_signed_by (c->secret, req))
        return S_CURRENT;
    return s_signed_by (c->prev_secret, req) ? S_PREVIOUS : S_NO;
}

//  The headers' own problem (none: NULL); for a bearer token its SHA-256
//  goes to want.
static const char *s_headers (const ingest_auth_request_t *req, bool *bearer, char want [65])
{
    const ingest_auth_headers_t *h = req->headers;
    *bearer = h->authorization && strncasecmp (h->authorization, "Bearer ", 7) == 0;
    if (*bearer) {
        ingest_sha256_hex (h->authorization + 7, strlen (h->authorization + 7), want);
        return NULL;
    }
    if (!(h->gateway && h->signature))
        return "missing credentials: Authorization: Bearer, or X-Qy-Gateway with X-Qy-Signature";
    if (!h->timestamp)
        return "missing header: X-Qy-Timestamp";
    char *end;
    long long ts = strtoll (h->timestamp, &end, 10);
    if (!*h->timestamp || *end)
        return "bad header: X-Qy-Timestamp (unix seconds)";
    //  Compared as a range, not a difference: a timestamp near LLONG_MIN
    //  would overflow now - ts.
    long long now = req->now_us / 1000000;
    if (ts < now - req->window_s || ts > now + req->window_s)
        return "stale request: X-Qy-Timestamp outside the replay window";
    return NULL;
}

//  What a matching credential answers.
static int s_verdict (const s_cred_t *c, s_match_t m, const ingest_auth_request_t *req, ingest_auth_result_t *out)
{
    if (!c->enabled)
        return s_refuse (403, out, "credential revoked");
    if (m == S_PREVIOUS && req->now_us >= c->prev_not_after_us)
        return s_refuse (401, out, "credential rotated: the previous token or secret expired");
    qy_strlcpy (out->brand, c->brand, sizeof (out->brand));
    out->brand_id = c->brand_id;
    qy_strlcpy (out->gateway, c->name, sizeof (out->gateway));
    out->previous = m == S_PREVIOUS;
    out->why [0] = 0;
    return INGEST_AUTH_OK;
}

int ingest_creds_check (ingest_creds_t *self, const ingest_auth_request_t *req, ingest_auth_result_t *out)
{
    memset (out, 0, sizeof (*out));
    char want [65];
    bool bearer;
    const char *problem = s_headers (req, &bearer, want);
    if (problem)
        return s_refuse (401, out, problem);
    int rc = s_refuse (401, out, bearer ? "unknown token" : "unknown gateway or bad signature");
    pthread_rwlock_rdlock (&self->lock);
    for (size_t i = 0; i < self->n; i++) {
        s_match_t m = s_match (&self->creds [i], req, bearer ? want : NULL);
        if (m != S_NO) {
            rc = s_verdict (&self->creds [i], m, req, out);
            break;
        }
    }
    pthread_rwlock_unlock (&self->lock);
    return rc;
}
