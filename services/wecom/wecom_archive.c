//  The chat archive (会话内容存档) through WeCom's Finance SDK, a closed C
//  library loaded with dlopen from archive.sdk_path. Per brand with an
//  archive key: GetChatData from the cursor; each message's random key
//  decrypted with the brand's RSA private key (OpenSSL, PKCS#1 v1.5), then
//  DecryptData; group messages handed to ingest's /v1/messages in one
//  request. The cursor (wecom_archive_cursor) moves in the same
//  transaction that holds its row locked (one replica pulls a brand at a
//  time) and only past what ingest answered for: after a crash the last
//  batch is pulled again and ingest answers its messages as duplicates.
#include "wecom.h"
#include "qy/deadletter.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

//  The SDK's C interface (WeWorkFinanceSdk_C.h).
typedef struct { char *buf; int len; } s_slice_t;
struct wecom_sdk_t {
    void *dl;
    void *(*new_sdk) (void);
    int (*init) (void *sdk, const char *corpid, const char *secret);
    int (*get_chat_data) (void *sdk, unsigned long long seq, unsigned int limit, const char *proxy,
                          const char *passwd, int timeout, s_slice_t *out);
    int (*decrypt_data) (const char *key, const char *msg, s_slice_t *out);
    s_slice_t *(*new_slice) (void);
    void (*free_slice) (s_slice_t *slice);
    char *(*content) (s_slice_t *slice);
    int (*slice_len) (s_slice_t *slice);
    void (*destroy_sdk) (void *sdk);
};

wecom_sdk_t *wecom_sdk_open (const char *path, char *err, size_t errlen)
{
    void *dl = dlopen (path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        qy_snprintf (err, errlen, "cannot load the Finance SDK: %s", dlerror ());
        return NULL;
    }
    wecom_sdk_t *self = qy_calloc (1, sizeof (*self));
    self->dl = dl;
    struct { const char *name; void **fn; } syms [] = {
        { "NewSdk", (void **) &self->new_sdk }, { "Init", (void **) &self->init },
        { "GetChatData", (void **) &self->get_chat_data }, { "DecryptData", (void **) &self->decrypt_data },
        { "NewSlice", (void **) &self->new_slice }, { "FreeSlice", (void **) &self->free_slice },
        { "GetContentFromSlice", (void **) &self->content }, { "GetSliceLen", (void **) &self->slice_len },
        { "DestroySdk", (void **) &self->destroy_sdk },
    };
    for (size_t i = 0; i < QY_ARRAY_LEN (syms); i++)
        if (!(*syms [i].fn = dlsym (dl, syms [i].name))) {
            qy_snprintf (err, errlen, "the Finance SDK %s has no %s", path, syms [i].name);
            wecom_sdk_close (&self);
            return NULL;
        }
    return self;
}

void wecom_sdk_close (wecom_sdk_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dlclose ((*self_p)->dl);
    free (*self_p);
    *self_p = NULL;
}

char *wecom_archive_key (const char *pem, const char *encrypted_b64)
{
    BIO *bio = BIO_new_mem_buf (pem, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL);
    BIO_free (bio);
    size_t n = strlen (encrypted_b64);
    unsigned char *raw = qy_malloc (n / 4 * 3 + 3);
    long rawlen = qy_b64_decode (encrypted_b64, raw);
    char *out = NULL;
    EVP_PKEY_CTX *ctx = key && rawlen > 0 ? EVP_PKEY_CTX_new (key, NULL) : NULL;
    size_t outlen = 0;
    if (ctx && EVP_PKEY_decrypt_init (ctx) > 0 && EVP_PKEY_CTX_set_rsa_padding (ctx, RSA_PKCS1_PADDING) > 0
    &&  EVP_PKEY_decrypt (ctx, NULL, &outlen, raw, (size_t) rawlen) > 0) {
        out = qy_malloc (outlen + 1);
        if (EVP_PKEY_decrypt (ctx, (unsigned char *) out, &outlen, raw, (size_t) rawlen) > 0)
            out [outlen] = 0;
        else {
            free (out);
            out = NULL;
        }
    }
    ERR_clear_error ();
    EVP_PKEY_CTX_free (ctx);
    EVP_PKEY_free (key);
    free (raw);
    return out;
}

//  Keys decrypted lately, by their encrypted form: an RSA decryption costs
//  a millisecond, and a key WeCom uses for several messages is done once.
#define S_KEYS 256
typedef struct { char *enc, *key; } s_key_t;

struct wecom_archive_t {
    wecom_sdk_t *sdk;
    long         limit, timeout_s;
    s_key_t      keys [S_KEYS];
    size_t       next_key;
    //  One SDK handle per brand (Init binds it to a corp and secret).
    int64_t     *brand_ids;
    void       **handles;
    size_t       n_handles;
};

static qy_metric_t *m_pulled, *m_skipped, *m_bad, *m_delay, *m_batches;

wecom_archive_t *wecom_archive_new (wecom_sdk_t *sdk, long limit, long timeout_s)
{
    wecom_archive_t *self = qy_calloc (1, sizeof (*self));
    self->sdk = sdk;
    self->limit = limit;
    self->timeout_s = timeout_s;
    m_pulled = qy_counter ("qy_wecom_archive_messages_total", "archive messages handed to ingest");
    m_skipped = qy_counter ("qy_wecom_archive_skipped_total", "archive messages not for ingest (1:1 chats, switch notices)");
    m_bad = qy_counter ("qy_wecom_archive_undecryptable_total", "archive messages whose key or content would not decrypt (dead letter)");
    m_delay = qy_summary ("qy_wecom_archive_delay_seconds", "from a message's msgtime to its hand-over to ingest");
    m_batches = qy_counter ("qy_wecom_archive_batches_total", "GetChatData calls that returned messages");
    return self;
}

void wecom_archive_destroy (wecom_archive_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wecom_archive_t *self = *self_p;
    for (size_t i = 0; i < S_KEYS; i++) {
        free (self->keys [i].enc);
        free (self->keys [i].key);
    }
    for (size_t i = 0; i < self->n_handles; i++)
        self->sdk->destroy_sdk (self->handles [i]);
    free (self->handles);
    free (self->brand_ids);
    free (self);
    *self_p = NULL;
}

static const char *s_key (wecom_archive_t *self, const char *pem, const char *enc)
{
    for (size_t i = 0; i < S_KEYS; i++)
        if (self->keys [i].enc && strcmp (self->keys [i].enc, enc) == 0)
            return self->keys [i].key;
    char *key = wecom_archive_key (pem, enc);
    if (!key)
        return NULL;
    s_key_t *slot = &self->keys [self->next_key++ % S_KEYS];
    free (slot->enc);
    free (slot->key);
    slot->enc = qy_strdup (enc);
    slot->key = key;
    return key;
}

static void *s_handle (wecom_archive_t *self, const wecom_brand_t *b)
{
    for (size_t i = 0; i < self->n_handles; i++)
        if (self->brand_ids [i] == b->brand_id)
            return self->handles [i];
    void *h = self->sdk->new_sdk ();
    int rc = self->sdk->init (h, b->corp_id, b->archive_secret);
    if (rc != 0) {
        qy_log_error ("brand=%s the Finance SDK refused Init rc=%d (corp id or archive secret)", b->code, rc);
        self->sdk->destroy_sdk (h);
        return NULL;
    }
    self->brand_ids = qy_realloc (self->brand_ids, (self->n_handles + 1) * sizeof (int64_t));
    self->handles = qy_realloc (self->handles, (self->n_handles + 1) * sizeof (void *));
    self->brand_ids [self->n_handles] = b->brand_id;
    self->handles [self->n_handles++] = h;
    return h;
}

//  One chatdata entry → a /v1/messages item appended to list (or skipped/dead-lettered).
static void s_entry (wecom_archive_t *self, wecom_ctx_t *ctx, const wecom_brand_t *b, json_t *e, json_t *list)
{
    const char *enc_key = json_string_value (json_object_get (e, "encrypt_random_key"));
    const char *enc_msg = json_string_value (json_object_get (e, "encrypt_chat_msg"));
    const char *msgid = json_string_value (json_object_get (e, "msgid"));
    const char *key = enc_key ? s_key (self, b->archive_key, enc_key) : NULL;
    s_slice_t *slice = self->sdk->new_slice ();
    json_t *msg = NULL;
    if (key && enc_msg && self->sdk->decrypt_data (key, enc_msg, slice) == 0)
        msg = json_loadb (self->sdk->content (slice), (size_t) self->sdk->slice_len (slice), 0, NULL);
    self->sdk->free_slice (slice);
    if (!json_is_object (msg)) {
        qy_metric_add (m_bad, 1);
        char *raw = json_dumps (e, JSON_COMPACT);
        qy_deadletter (ctx->pg, b->brand_id, b->code, "wecom", msgid ? msgid : "",
                       key ? "archive message does not decrypt" : "archive random key does not decrypt (publickey_ver?)", raw, strlen (raw));
        free (raw);
        json_decref (msg);
        return;
    }
    const char *why = NULL;
    json_t *item = wecom_map_archive (msg, &why);
    if (item) {
        json_int_t at_ms = json_integer_value (json_object_get (item, "msgtime"));
        if (at_ms > 0)
            qy_metric_observe (m_delay, qy_now_us () - (int64_t) at_ms * 1000);
        json_array_append_new (list, item);
    }
    else
        qy_metric_add (m_skipped, 1);
    json_decref (msg);
}

//  One brand's pull, in the transaction that holds its cursor row.
static long s_brand (wecom_archive_t *self, wecom_ctx_t *ctx, const wecom_brand_t *b, long long seq)
{
    void *h = s_handle (self, b);
    if (!h)
        return -1;
    s_slice_t *slice = self->sdk->new_slice ();
    int rc = self->sdk->get_chat_data (h, (unsigned long long) seq, (unsigned) self->limit, NULL, NULL, (int) self->timeout_s, slice);
    json_t *a = rc == 0 ? json_loadb (self->sdk->content (slice), (size_t) self->sdk->slice_len (slice), 0, NULL) : NULL;
    self->sdk->free_slice (slice);
    if (!a || json_integer_value (json_object_get (a, "errcode")) != 0) {
        qy_log_warn ("brand=%s GetChatData failed rc=%d errcode=%lld", b->code, rc, (long long) json_integer_value (json_object_get (a, "errcode")));
        json_decref (a);
        return -1;
    }
    json_t *data = json_object_get (a, "chatdata"), *e, *list = json_array ();
    size_t i;
    long long last = seq;
    json_array_foreach (data, i, e) {
        s_entry (self, ctx, b, e, list);
        long long s = (long long) json_integer_value (json_object_get (e, "seq"));
        last = s > last ? s : last;
    }
    long n = (long) json_array_size (list), out = 0;
    json_t *body = json_pack ("{s:o}", "messages", list);
    long st = n ? wecom_ingest_post (ctx, b, "/v1/messages", body, NULL) : 200;
    json_decref (body);
    //  200: taken (each item accepted, duplicate or rejected and dead-lettered by ingest); 400: all rejected, dead-lettered.
    if (st == 200 || st == 400) {
        char bid [24], sq [24];
        qy_snprintf (bid, sizeof (bid), "%lld", (long long) b->brand_id);
        qy_snprintf (sq, sizeof (sq), "%lld", last);
        const char *p [] = { bid, sq };
        out = qy_pg_run (ctx->pg, "wecom archive cursor", "UPDATE wecom_archive_cursor SET seq = $2, updated_at = now () "
                         "WHERE brand_id = $1", 2, p, NULL) ? (long) json_array_size (data) : -1;
        if (json_array_size (data))
            qy_metric_add (m_batches, 1);
        qy_metric_add (m_pulled, n);
    }
    else {
        qy_log_warn ("brand=%s archive batch not taken by ingest status=%ld seq=%lld: pulled again", b->code, st, seq);
        out = -1;
    }
    json_decref (a);
    return out;
}

long wecom_archive_pull (wecom_archive_t *self, wecom_ctx_t *ctx)
{
    PGresult *res = NULL;
    if (!qy_pg_run (ctx->pg, "wecom archive brands",
                    "INSERT INTO wecom_archive_cursor (brand_id) SELECT brand_id FROM wecom_brands "
                    "WHERE archive_key_sealed IS NOT NULL AND archive_secret_sealed IS NOT NULL ON CONFLICT DO NOTHING", 0, NULL, NULL)
    ||  !qy_pg_run (ctx->pg, "wecom archive list", "SELECT brand_id FROM wecom_archive_cursor ORDER BY brand_id", 0, NULL, &res))
        return -1;
    long total = 0;
    for (int i = 0; i < PQntuples (res); i++) {
        const char *p [] = { PQgetvalue (res, i, 0) };
        PGresult *cur = NULL;
        if (!qy_pg_run (ctx->pg, "wecom archive begin", "BEGIN", 0, NULL, NULL))
            break;
        //  SKIP LOCKED: another replica pulling this brand now is left to it.
        if (qy_pg_run (ctx->pg, "wecom archive lock", "SELECT seq FROM wecom_archive_cursor WHERE brand_id = $1 FOR UPDATE SKIP LOCKED",
                       1, p, &cur) && PQntuples (cur) == 1) {
            wecom_brand_t *b = wecom_brand_load (ctx->pg, ctx->env->master, NULL, qy_pg_int (res, i, 0));
            long n = b && b->archive_key && b->archive_secret ? s_brand (self, ctx, b, (long long) qy_pg_int (cur, 0, 0)) : -1;
            total += n > 0 ? n : 0;
            wecom_brand_destroy (&b);
        }
        PQclear (cur);
        qy_pg_run (ctx->pg, "wecom archive commit", "COMMIT", 0, NULL, NULL);
    }
    PQclear (res);
    return total;
}
