//  A stand-in for WeCom's Finance SDK (libWeWorkFinanceSdk_C.so): the same
//  C functions, serving a scripted chat archive so the connector's
//  archive path can be tested without WeCom. Messages 1..QY_FAKESDK_COUNT
//  of room QY_FAKESDK_ROOM cycle through every message type; each random
//  key (one per QY_FAKESDK_KEY_EVERY messages) is RSA-encrypted (PKCS#1
//  v1.5) with the public key in QY_FAKESDK_PUBKEY, as WeCom encrypts it
//  with the brand's; DecryptData reverses this library's own content
//  encryption (AES-256-CBC under SHA-256 of the key), as the vendor's does
//  its own. msgtime is QY_FAKESDK_T0_MS + seq, so a message pulled again
//  is the same message. With QY_FAKESDK_RATE (messages a second) the
//  archive grows in real time instead: message seq is sent at
//  T0 + seq / RATE and served only from then on (the archive's delay).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { char *buf; int len; } Slice_t;
typedef struct { char corp [128]; } WeWorkFinanceSdk_t;

static long s_count, s_key_every, s_rate;
static long long s_t0_ms;
static const char *s_room;
static EVP_PKEY *s_pub;
static char **s_enc_keys;          //  encrypted random key per key index, made once

Slice_t *NewSlice (void) { return calloc (1, sizeof (Slice_t)); }
void FreeSlice (Slice_t *s) { if (s) { free (s->buf); free (s); } }
char *GetContentFromSlice (Slice_t *s) { return s->buf; }
int GetSliceLen (Slice_t *s) { return s->len; }

static void s_put (Slice_t *s, const char *data, size_t len)
{
    free (s->buf);
    s->buf = malloc (len + 1);
    memcpy (s->buf, data, len);
    s->buf [len] = 0;
    s->len = (int) len;
}

WeWorkFinanceSdk_t *NewSdk (void)
{
    return calloc (1, sizeof (WeWorkFinanceSdk_t));
}

void DestroySdk (WeWorkFinanceSdk_t *sdk)
{
    free (sdk);
}

int Init (WeWorkFinanceSdk_t *sdk, const char *corpid, const char *secret)
{
    if (!sdk || !corpid || !secret || !*secret)
        return 10002;
    snprintf (sdk->corp, sizeof (sdk->corp), "%s", corpid);
    if (s_pub)
        return 0;
    const char *pub = getenv ("QY_FAKESDK_PUBKEY");
    FILE *f = pub ? fopen (pub, "r") : NULL;
    if (!f)
        return 10001;
    s_pub = PEM_read_PUBKEY (f, NULL, NULL, NULL);
    fclose (f);
    s_count = getenv ("QY_FAKESDK_COUNT") ? atol (getenv ("QY_FAKESDK_COUNT")) : 1000;
    s_key_every = getenv ("QY_FAKESDK_KEY_EVERY") ? atol (getenv ("QY_FAKESDK_KEY_EVERY")) : 100;
    s_t0_ms = getenv ("QY_FAKESDK_T0_MS") ? atoll (getenv ("QY_FAKESDK_T0_MS")) : 1795201200000LL;
    s_room = getenv ("QY_FAKESDK_ROOM") ? getenv ("QY_FAKESDK_ROOM") : "wrA";
    s_rate = getenv ("QY_FAKESDK_RATE") ? atol (getenv ("QY_FAKESDK_RATE")) : 0;
    if (s_key_every < 1)
        s_key_every = 1;
    s_enc_keys = calloc ((size_t) (s_count / s_key_every + 2), sizeof (char *));
    return s_pub ? 0 : 10001;
}

static void s_random_key (long idx, char out [33])
{
    snprintf (out, 33, "%032lx", (unsigned long) (idx * 2654435761UL) ^ 0x5a5a5a5aUL);
}

static char *s_b64 (const unsigned char *data, size_t len)
{
    char *out = malloc (4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock ((unsigned char *) out, data, (int) len);
    return out;
}

static const char *s_enc_key (long idx)
{
    if (s_enc_keys [idx])
        return s_enc_keys [idx];
    char key [33];
    s_random_key (idx, key);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new (s_pub, NULL);
    unsigned char out [1024];
    size_t outlen = sizeof (out);
    EVP_PKEY_encrypt_init (ctx);
    EVP_PKEY_CTX_set_rsa_padding (ctx, RSA_PKCS1_PADDING);
    EVP_PKEY_encrypt (ctx, out, &outlen, (unsigned char *) key, strlen (key));
    EVP_PKEY_CTX_free (ctx);
    s_enc_keys [idx] = s_b64 (out, outlen);
    return s_enc_keys [idx];
}

//  AES-256-CBC under SHA-256 (key), IV zero: this library's own content cipher.
static int s_cipher (int enc, const char *key, const unsigned char *in, int len, unsigned char *out)
{
    unsigned char k [32], iv [16] = { 0 };
    unsigned int klen = 0;
    EVP_Digest (key, strlen (key), k, &klen, EVP_sha256 (), NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
    int n = 0, f = 0;
    int ok = EVP_CipherInit_ex (ctx, EVP_aes_256_cbc (), NULL, k, iv, enc)
          && EVP_CipherUpdate (ctx, out, &n, in, len) && EVP_CipherFinal_ex (ctx, out + n, &f);
    EVP_CIPHER_CTX_free (ctx);
    return ok ? n + f : -1;
}

//  Message seq as the archive's JSON (the vendor's decrypted form).
static int s_message (long seq, char *buf, size_t len)
{
    static const char *types [] = { "text", "image", "link", "weapp", "card", "revoke", "voice", "video", "file",
                                    "emotion", "redpacket", "mixed" };
    const char *t = types [seq % 12];
    long long at = s_rate > 0 ? s_t0_ms + seq * 1000 / s_rate : s_t0_ms + seq;
    char body [512];
    if (!strcmp (t, "text"))           snprintf (body, sizeof (body), "\"text\":{\"content\":\"消息 %ld\"}", seq);
    else if (!strcmp (t, "link"))      snprintf (body, sizeof (body), "\"link\":{\"title\":\"t%ld\",\"link_url\":\"https://e.x/%ld\"}", seq, seq);
    else if (!strcmp (t, "weapp"))     snprintf (body, sizeof (body), "\"weapp\":{\"title\":\"w\",\"displayname\":\"app\",\"username\":\"gh_1@app\"}");
    else if (!strcmp (t, "card"))      snprintf (body, sizeof (body), "\"card\":{\"corpname\":\"c\",\"userid\":\"u%ld\"}", seq);
    else if (!strcmp (t, "revoke"))    snprintf (body, sizeof (body), "\"revoke\":{\"pre_msgid\":\"fake-%ld\"}", seq - 1);
    else if (!strcmp (t, "file"))      snprintf (body, sizeof (body), "\"file\":{\"filename\":\"f%ld.pdf\",\"fileext\":\"pdf\"}", seq);
    else if (!strcmp (t, "redpacket")) snprintf (body, sizeof (body), "\"redpacket\":{\"type\":1,\"wish\":\"恭喜\",\"totalamount\":100}");
    else if (!strcmp (t, "mixed"))     snprintf (body, sizeof (body), "\"mixed\":{\"item\":[{\"type\":\"text\",\"content\":\"{\\\"content\\\":\\\"mixed %ld\\\"}\"}]}", seq);
    else                               snprintf (body, sizeof (body), "\"%s\":{\"md5sum\":\"m%ld\"}", t, seq);
    return snprintf (buf, len, "{\"msgid\":\"fake-%ld\",\"action\":\"%s\",\"from\":\"wmF%ld\",\"tolist\":[\"zhang\"],"
                     "\"roomid\":\"%s\",\"msgtime\":%lld,\"msgtype\":\"%s\",%s}", seq, strcmp (t, "revoke") ? "send" : "recall",
                     seq % 97, s_room, at, t, body);
}

int GetChatData (WeWorkFinanceSdk_t *sdk, unsigned long long seq, unsigned int limit, const char *proxy,
                 const char *passwd, int timeout, Slice_t *out)
{
    (void) proxy; (void) passwd; (void) timeout;
    if (!sdk || !s_pub || !out)
        return 10002;
    if (limit > 1000)
        limit = 1000;
    size_t cap = 4096 + (size_t) limit * 2048, n = 0;
    char *json = malloc (cap);
    n += (size_t) snprintf (json, cap, "{\"errcode\":0,\"errmsg\":\"ok\",\"chatdata\":[");
    long avail = s_count;
    if (s_rate > 0) {
        struct timespec ts;
        clock_gettime (CLOCK_REALTIME, &ts);
        long long now_ms = (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        long sent = now_ms < s_t0_ms ? 0 : (long) ((now_ms - s_t0_ms) * s_rate / 1000);
        avail = sent < s_count ? sent : s_count;
    }
    for (unsigned long long s = seq + 1; s <= seq + limit && (long) s <= avail; s++) {
        char msg [1024];
        int mlen = s_message ((long) s, msg, sizeof (msg));
        long idx = (long) s / s_key_every;
        char key [33];
        s_random_key (idx, key);
        unsigned char enc [1200];
        int elen = s_cipher (1, key, (unsigned char *) msg, mlen, enc);
        char *b64 = s_b64 (enc, (size_t) elen);
        n += (size_t) snprintf (json + n, cap - n, "%s{\"seq\":%llu,\"msgid\":\"fake-%llu\",\"publickey_ver\":1,"
                                "\"encrypt_random_key\":\"%s\",\"encrypt_chat_msg\":\"%s\"}", s > seq + 1 ? "," : "", s, s,
                                s_enc_key (idx), b64);
        free (b64);
    }
    n += (size_t) snprintf (json + n, cap - n, "]}");
    s_put (out, json, n);
    free (json);
    return 0;
}

int DecryptData (const char *encrypt_key, const char *encrypt_msg, Slice_t *msg)
{
    size_t n = strlen (encrypt_msg);
    unsigned char *raw = malloc (n / 4 * 3 + 3), *plain = malloc (n / 4 * 3 + 32);
    int rawlen = EVP_DecodeBlock (raw, (const unsigned char *) encrypt_msg, (int) n);
    if (n >= 1 && encrypt_msg [n - 1] == '=') rawlen--;
    if (n >= 2 && encrypt_msg [n - 2] == '=') rawlen--;
    int len = rawlen > 0 ? s_cipher (0, encrypt_key, raw, rawlen, plain) : -1;
    if (len >= 0)
        s_put (msg, (char *) plain, (size_t) len);
    free (raw);
    free (plain);
    return len >= 0 ? 0 : 10003;
}

//  The library's state goes with it when the connector unloads it.
__attribute__ ((destructor)) static void s_unload (void)
{
    if (s_enc_keys)
        for (long i = 0; i < s_count / s_key_every + 2; i++)
            free (s_enc_keys [i]);
    free (s_enc_keys);
    EVP_PKEY_free (s_pub);
    s_enc_keys = NULL;
    s_pub = NULL;
}
