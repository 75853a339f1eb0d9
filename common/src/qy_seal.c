//  Secrets at rest: sealed with AES-256-GCM under a master key that lives
//  outside PostgreSQL (a file only the services and qyctl that need it
//  read), so a dump of the database holds no usable secret. Moved here
//  from the WeCom connector so ingest seals gateways' HMAC secrets alike.
#include "qy/seal.h"
#include "qy/util.h"
#include <openssl/crypto.h>
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NONCE 12
#define S_TAG 16

long qy_b64_decode (const char *s, unsigned char *out)
{
    size_t n = strlen (s);
    if (n % 4)
        return -1;
    if (n == 0)
        return 0;
    int len = EVP_DecodeBlock (out, (const unsigned char *) s, (int) n);
    if (len < 0)
        return -1;
    //  EVP_DecodeBlock counts the padding's bytes as data.
    if (s [n - 1] == '=')
        len--;
    if (s [n - 2] == '=')
        len--;
    return len;
}

char *qy_b64_encode (const void *data, size_t len)
{
    char *out = qy_malloc (4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock ((unsigned char *) out, data, (int) len);
    return out;
}


int qy_master_key_load (const char *path, unsigned char key [32], char *err, size_t errlen)
{
    FILE *f = path && *path ? fopen (path, "r") : NULL;
    if (!f) {
        qy_snprintf (err, errlen, "cannot read the master key file '%s'", path ? path : "");
        return -1;
    }
    char hex [80] = "";
    size_t n = fread (hex, 1, sizeof (hex) - 1, f);
    fclose (f);
    while (n && isspace ((unsigned char) hex [n - 1]))
        n--;
    hex [n] = 0;
    for (size_t i = 0; i < 32 && n == 64; i++) {
        unsigned v;
        if (!isxdigit ((unsigned char) hex [2 * i]) || !isxdigit ((unsigned char) hex [2 * i + 1])
        ||  sscanf (hex + 2 * i, "%2x", &v) != 1)
            break;
        key [i] = (unsigned char) v;
        if (i == 31)
            return 0;
    }
    qy_snprintf (err, errlen, "master key file '%s' must hold 64 hex digits (openssl rand -hex 32)", path);
    return -1;
}

char *qy_seal (const unsigned char mk [32], const void *plain, size_t len)
{
    unsigned char *buf = qy_malloc (S_NONCE + len + S_TAG);
    if (RAND_bytes (buf, S_NONCE) != 1)
        abort ();                  //  no randomness: nothing safe to do
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
    int n = 0, fin = 0;
    if (!EVP_EncryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, mk, buf)
    ||  !EVP_EncryptUpdate (ctx, buf + S_NONCE, &n, plain, (int) len)
    ||  !EVP_EncryptFinal_ex (ctx, buf + S_NONCE + n, &fin)
    ||  !EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, S_TAG, buf + S_NONCE + len))
        abort ();
    EVP_CIPHER_CTX_free (ctx);
    char *out = qy_b64_encode (buf, S_NONCE + len + S_TAG);
    OPENSSL_cleanse (buf, S_NONCE + len + S_TAG);
    free (buf);
    return out;
}

char *qy_unseal (const unsigned char mk [32], const char *sealed)
{
    if (!sealed)
        return NULL;
    unsigned char *buf = qy_malloc (strlen (sealed) / 4 * 3 + 3);
    long n = qy_b64_decode (sealed, buf);
    char *out = NULL;
    if (n >= S_NONCE + S_TAG) {
        size_t len = (size_t) n - S_NONCE - S_TAG;
        out = qy_malloc (len + 1);
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
        int k = 0, fin = 0;
        bool ok = EVP_DecryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, mk, buf)
               && EVP_DecryptUpdate (ctx, (unsigned char *) out, &k, buf + S_NONCE, (int) len)
               && EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, S_TAG, buf + S_NONCE + len)
               && EVP_DecryptFinal_ex (ctx, (unsigned char *) out + k, &fin) > 0;
        EVP_CIPHER_CTX_free (ctx);
        if (ok)
            out [len] = 0;
        else {
            OPENSSL_cleanse (out, len + 1);
            free (out);
            out = NULL;
        }
    }
    free (buf);
    return out;
}
