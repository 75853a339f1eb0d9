//  WeCom's callback crypto (加解密方案说明), pure: the signature is SHA1
//  over the sorted Token, timestamp, nonce and Encrypt; the message is
//  AES-256-CBC with the key Base64(EncodingAESKey + "=") and the IV its
//  first 16 bytes, padded PKCS#7 to 32 bytes, holding 16 random bytes, a
//  4-byte network-order length, the message and the receive id.
#include "wecom.h"
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define S_BLOCK 32        //  WeCom pads to 32, not AES's 16

static int s_cmp (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

void wecom_signature (const char *token, const char *timestamp, const char *nonce,
                      const char *encrypt, char out [41])
{
    const char *parts [4] = { token ? token : "", timestamp ? timestamp : "", nonce ? nonce : "", encrypt ? encrypt : "" };
    qsort (parts, 4, sizeof (parts [0]), s_cmp);
    qy_buf_t all;
    qy_buf_init (&all);
    for (int i = 0; i < 4; i++)
        qy_buf_puts (&all, parts [i] ? parts [i] : "");
    unsigned char md [EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_Digest (all.data, all.len, md, &mdlen, EVP_sha1 (), NULL);
    qy_buf_free (&all);
    for (unsigned i = 0; i < mdlen && i < 20; i++)
        qy_snprintf (out + 2 * i, 3, "%02x", md [i]);
}

int wecom_aes_key (const char *encoding_aes_key, unsigned char key [32])
{
    if (!encoding_aes_key || strlen (encoding_aes_key) != 43)
        return -1;
    char padded [45];
    qy_snprintf (padded, sizeof (padded), "%s=", encoding_aes_key);
    unsigned char buf [33];
    if (qy_b64_decode (padded, buf) != 32)
        return -1;
    memcpy (key, buf, 32);
    return 0;
}

size_t wecom_pkcs7_pad (size_t len)
{
    return S_BLOCK - len % S_BLOCK;
}

long wecom_pkcs7_unpad (const unsigned char *buf, size_t len)
{
    if (len == 0 || len % 16)
        return -1;
    unsigned pad = buf [len - 1];
    if (pad < 1 || pad > S_BLOCK || pad > len)
        return -1;
    for (size_t i = len - pad; i < len; i++)
        if (buf [i] != pad)
            return -1;
    return (long) (len - pad);
}

const char *wecom_rc_name (wecom_rc_t rc)
{
    static const char *names [] = { "ok", "bad base64", "bad padding", "bad length", "receive id mismatch" };
    return rc <= WECOM_BAD_RECEIVER ? names [rc] : "?";
}

//  AES-256-CBC without OpenSSL's own padding (WeCom's is to 32).
static int s_cipher (bool enc, const unsigned char key [32], const unsigned char *in, size_t len, unsigned char *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
    int n1 = 0, n2 = 0;
    int ok = EVP_CipherInit_ex (ctx, EVP_aes_256_cbc (), NULL, key, key, enc ? 1 : 0)
          && EVP_CIPHER_CTX_set_padding (ctx, 0)
          && EVP_CipherUpdate (ctx, out, &n1, in, (int) len)
          && EVP_CipherFinal_ex (ctx, out + n1, &n2);
    EVP_CIPHER_CTX_free (ctx);
    return ok && (size_t) (n1 + n2) == len ? 0 : -1;
}

wecom_rc_t wecom_decrypt (const unsigned char key [32], const char *b64, const char *receive_id,
                          char **msg, size_t *len)
{
    size_t n = strlen (b64);
    unsigned char *raw = qy_malloc (n / 4 * 3 + 3), *plain = qy_malloc (n / 4 * 3 + 3);
    wecom_rc_t rc = WECOM_BAD_BASE64;
    long rawlen = qy_b64_decode (b64, raw);
    if (rawlen < 32 || rawlen % 16 || s_cipher (false, key, raw, (size_t) rawlen, plain))
        goto done;
    long body = wecom_pkcs7_unpad (plain, (size_t) rawlen);
    rc = WECOM_BAD_PADDING;
    if (body < 20)
        goto done;
    size_t mlen = ((size_t) plain [16] << 24) | ((size_t) plain [17] << 16) | ((size_t) plain [18] << 8) | plain [19];
    rc = WECOM_BAD_LENGTH;
    if (mlen > (size_t) body - 20)
        goto done;
    const char *rid = (const char *) plain + 20 + mlen;
    size_t ridlen = (size_t) body - 20 - mlen;
    rc = WECOM_BAD_RECEIVER;
    if (!receive_id || strlen (receive_id) != ridlen || memcmp (rid, receive_id, ridlen) != 0)
        goto done;
    *msg = qy_strndup ((const char *) plain + 20, mlen);
    *len = mlen;
    rc = WECOM_OK;
done:
    free (raw);
    free (plain);
    return rc;
}

char *wecom_encrypt (const unsigned char key [32], const unsigned char random [16],
                     const char *msg, size_t len, const char *receive_id)
{
    size_t ridlen = strlen (receive_id), body = 20 + len + ridlen, pad = wecom_pkcs7_pad (body);
    unsigned char *plain = qy_malloc (body + pad), *enc = qy_malloc (body + pad);
    memcpy (plain, random, 16);
    plain [16] = (unsigned char) (len >> 24);
    plain [17] = (unsigned char) (len >> 16);
    plain [18] = (unsigned char) (len >> 8);
    plain [19] = (unsigned char) len;
    memcpy (plain + 20, msg, len);
    memcpy (plain + 20 + len, receive_id, ridlen);
    memset (plain + body, (int) pad, pad);
    char *out = NULL;
    if (s_cipher (true, key, plain, body + pad, enc) == 0)
        out = qy_b64_encode (enc, body + pad);
    free (plain);
    free (enc);
    return out;
}
