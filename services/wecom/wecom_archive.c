//  The chat archive (会话内容存档) through WeCom's Finance SDK, a closed C
//  library loaded with dlopen from archive.sdk_path. Per brand with an
//  archive key: GetChatData from the cursor; each message's random key
//  decrypted with the brand's RSA private key (OpenSSL, PKCS#1 v1.5), then
//  DecryptData; group messages handed to ingest's /v1/messages. Several
//  GetChatData calls (up to archive.batch messages) make one hand-over:
//  as few requests as ingest's limits allow and one cursor move, so the
//  round trips and commits a message costs are shared by thousands. The
//  cursor (wecom_archive_cursor) moves in the same transaction that holds
//  its row locked (one replica pulls a brand at a time) and only past what
//  ingest answered for: after a crash the last hand-over is pulled again
//  and ingest answers its messages as duplicates.
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

//  A brand's archive private key (PEM), parsed. NULL when it is not one.
static EVP_PKEY *s_pkey_parse (const char *pem)
{
    BIO *bio = BIO_new_mem_buf (pem, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL);
    BIO_free (bio);
    ERR_clear_error ();
    return key;
}

//  encrypt_random_key (base64) decrypted with key, PKCS#1 v1.5. Caller frees it.
static char *s_rsa_decrypt (EVP_PKEY *key, const char *encrypted_b64)
{
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
    free (raw);
    return out;
}

//  Keys decrypted lately, by their encrypted form: an RSA decryption costs
//  a millisecond, and a key WeCom uses for several messages is done once.
#define S_KEYS 256
typedef struct { char *enc, *key; } s_key_t;

//  What is kept per brand: the SDK handle (Init binds it to a corp and
//  secret) and the private key parsed once, with the PEM it came from (a
//  new key set with qyctl is parsed again). Parsing and the RSA blinding
//  set-up of a fresh key cost more than a decryption with OpenSSL 3.
typedef struct {
    int64_t   brand_id;
    void     *handle;
    char     *pem;
    EVP_PKEY *pkey;
} s_brand_t;

struct wecom_archive_t {
    wecom_sdk_t *sdk;
    long         limit, batch, timeout_s;
    s_key_t      keys [S_KEYS];
    size_t       next_key;
    s_brand_t   *brands;
    size_t       n_brands;
};

static qy_metric_t *m_pulled, *m_skipped, *m_bad, *m_delay, *m_batches;

wecom_archive_t *wecom_archive_new (wecom_sdk_t *sdk, long limit, long batch, long timeout_s)
{
    wecom_archive_t *self = qy_calloc (1, sizeof (*self));
    self->sdk = sdk;
    self->limit = limit;
    self->batch = batch;
    self->timeout_s = timeout_s;
    m_pulled = qy_counter ("qy_wecom_archive_messages_total", "archive messages handed to ingest");
    m_skipped = qy_counter ("qy_wecom_archive_skipped_total", "archive messages not for ingest (1:1 chats, switch notices)");
    m_bad = qy_counter ("qy_wecom_archive_undecryptable_total", "archive messages whose key or content would not decrypt (dead letter)");
    m_delay = qy_histogram ("qy_wecom_archive_delay_seconds", "from a message's msgtime to its hand-over to ingest");
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
    for (size_t i = 0; i < self->n_brands; i++) {
        self->sdk->destroy_sdk (self->brands [i].handle);
        free (self->brands [i].pem);
        EVP_PKEY_free (self->brands [i].pkey);
    }
    free (self->brands);
    free (self);
    *self_p = NULL;
}

static const char *s_key (wecom_archive_t *self, s_brand_t *sb, const char *enc)
{
    for (size_t i = 0; i < S_KEYS; i++)
        if (self->keys [i].enc && strcmp (self->keys [i].enc, enc) == 0)
            return self->keys [i].key;
    char *key = s_rsa_decrypt (sb->pkey, enc);
    if (!key)
        return NULL;
    s_key_t *slot = &self->keys [self->next_key++ % S_KEYS];
    free (slot->enc);
    free (slot->key);
    slot->enc = qy_strdup (enc);
    slot->key = key;
    return key;
}

//  The brand's SDK handle and key, made on first use. NULL when the SDK
//  refuses Init.
static s_brand_t *s_brand_state (wecom_archive_t *self, const wecom_brand_t *b)
{
    s_brand_t *sb = NULL;
    for (size_t i = 0; i < self->n_brands && !sb; i++)
        if (self->brands [i].brand_id == b->brand_id)
            sb = &self->brands [i];
    if (!sb) {
        void *h = self->sdk->new_sdk ();
        int rc = self->sdk->init (h, b->corp_id, b->archive_secret);
        if (rc != 0) {
            qy_log_error ("brand=%s the Finance SDK refused Init rc=%d (corp id or archive secret)", b->code, rc);
            self->sdk->destroy_sdk (h);
            return NULL;
        }
        self->brands = qy_realloc (self->brands, (self->n_brands + 1) * sizeof (s_brand_t));
        sb = &self->brands [self->n_brands++];
        *sb = (s_brand_t) { b->brand_id, h, NULL, NULL };
    }
    if (!sb->pem || strcmp (sb->pem, b->archive_key) != 0) {
        free (sb->pem);
        EVP_PKEY_free (sb->pkey);
        sb->pem = qy_strdup (b->archive_key);
        sb->pkey = s_pkey_parse (b->archive_key);      //  NULL: every key is then a dead letter, as before
    }
    return sb;
}

//  A /v1/messages request being filled: its items as JSON text, sent when
//  it reaches ingest's limits (S_POST_ITEMS items, S_POST_BYTES bytes: under
//  gateway.max_body's default of 4 MiB, whatever the messages hold).
#define S_POST_ITEMS 5000
#define S_POST_BYTES (1024 * 1024)
typedef struct {
    qy_buf_t body;
    long     items;
    bool     failed;            //  ingest did not take one: nothing more is sent
} s_post_t;

//  Send what p holds. 200: taken (each item accepted, duplicate or rejected
//  and dead-lettered by ingest); 400: all rejected, dead-lettered.
static void s_post_flush (s_post_t *p, wecom_ctx_t *ctx, const wecom_brand_t *b)
{
    if (!p->items || p->failed)
        return;
    qy_buf_puts (&p->body, "]}");
    long st = wecom_ingest_post_text (ctx, b, "/v1/messages", p->body.data, p->body.len, NULL);
    if (st == 200 || st == 400)
        qy_metric_add (m_pulled, p->items);
    else {
        qy_log_warn ("brand=%s archive batch not taken by ingest, pulled again status=%ld", b->code, st);
        p->failed = true;
    }
    qy_buf_reset (&p->body);
    p->items = 0;
}

//  One item, as JSON text (len bytes).
static void s_post_add (s_post_t *p, wecom_ctx_t *ctx, const wecom_brand_t *b, const char *text, size_t len)
{
    if (p->items && (p->items >= S_POST_ITEMS || p->body.len + len + 2 > S_POST_BYTES))
        s_post_flush (p, ctx, b);
    qy_buf_puts (&p->body, p->items ? "," : "{\"messages\":[");
    qy_buf_append (&p->body, text, len);
    p->items++;
}

//  One chatdata entry → a /v1/messages item added to p (or skipped/dead-lettered).
static void s_entry (wecom_archive_t *self, wecom_ctx_t *ctx, const wecom_brand_t *b, s_brand_t *sb, json_t *e, s_post_t *p)
{
    const char *enc_key = json_string_value (json_object_get (e, "encrypt_random_key"));
    const char *enc_msg = json_string_value (json_object_get (e, "encrypt_chat_msg"));
    const char *msgid = json_string_value (json_object_get (e, "msgid"));
    const char *key = enc_key ? s_key (self, sb, enc_key) : NULL;
    s_slice_t *slice = self->sdk->new_slice ();
    json_t *msg = NULL;
    if (key && enc_msg && self->sdk->decrypt_data (key, enc_msg, slice) == 0)
        msg = json_loadb (self->sdk->content (slice), (size_t) self->sdk->slice_len (slice), 0, NULL);
    if (!json_is_object (msg)) {
        self->sdk->free_slice (slice);
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
        if (item == msg)        //  as it is: the text it came as (parsed, so JSON), not dumped again
            s_post_add (p, ctx, b, self->sdk->content (slice), (size_t) self->sdk->slice_len (slice));
        else {
            char *text = json_dumps (item, JSON_COMPACT);
            s_post_add (p, ctx, b, text, strlen (text));
            free (text);
        }
        json_decref (item);
    }
    else
        qy_metric_add (m_skipped, 1);
    self->sdk->free_slice (slice);
    json_decref (msg);
}

//  One GetChatData from *seq: its entries added to p, *seq moved to the
//  last. Returns how many entries it gave, -1 when it failed.
static long s_fetch (wecom_archive_t *self, wecom_ctx_t *ctx, const wecom_brand_t *b, s_brand_t *sb, long long *seq, s_post_t *p)
{
    s_slice_t *slice = self->sdk->new_slice ();
    int rc = self->sdk->get_chat_data (sb->handle, (unsigned long long) *seq, (unsigned) self->limit, NULL, NULL, (int) self->timeout_s, slice);
    json_t *a = rc == 0 ? json_loadb (self->sdk->content (slice), (size_t) self->sdk->slice_len (slice), 0, NULL) : NULL;
    self->sdk->free_slice (slice);
    if (!a || json_integer_value (json_object_get (a, "errcode")) != 0) {
        qy_log_warn ("brand=%s GetChatData failed rc=%d errcode=%lld", b->code, rc, (long long) json_integer_value (json_object_get (a, "errcode")));
        json_decref (a);
        return -1;
    }
    json_t *data = json_object_get (a, "chatdata"), *e;
    size_t i;
    json_array_foreach (data, i, e) {
        s_entry (self, ctx, b, sb, e, p);
        long long s = (long long) json_integer_value (json_object_get (e, "seq"));
        *seq = s > *seq ? s : *seq;
    }
    long n = (long) json_array_size (data);
    if (n)
        qy_metric_add (m_batches, 1);
    json_decref (a);
    return n;
}

//  One brand's pull, in the transaction that holds its cursor row:
//  GetChatData until batch entries or the archive's end, then the cursor
//  moved past them once ingest took them all.
static long s_brand (wecom_archive_t *self, wecom_ctx_t *ctx, const wecom_brand_t *b, long long seq)
{
    s_brand_t *sb = s_brand_state (self, b);
    if (!sb)
        return -1;
    s_post_t p = { .items = 0 };
    qy_buf_init (&p.body);
    long long last = seq;
    long total = 0, n = 0;
    while (total < self->batch && !p.failed && (n = s_fetch (self, ctx, b, sb, &last, &p)) >= 0) {
        total += n;
        if (n < self->limit)
            break;                  //  the archive's end, for now
    }
    s_post_flush (&p, ctx, b);
    qy_buf_free (&p.body);
    if (p.failed || (total == 0 && last == seq))
        return p.failed || n < 0 ? -1 : 0;
    char bid [24], sq [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) b->brand_id);
    qy_snprintf (sq, sizeof (sq), "%lld", last);
    const char *q [] = { bid, sq };
    return qy_pg_run (ctx->pg, "wecom archive cursor", "UPDATE wecom_archive_cursor SET seq = $2, updated_at = now () "
                      "WHERE brand_id = $1", 2, q, NULL) ? total : -1;
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
