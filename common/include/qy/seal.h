//  Secrets at rest (qy_seal.c): sealed with AES-256-GCM under a master key
//  that lives outside PostgreSQL (a file only the services and qyctl that
//  need it read), so a dump of the database holds no usable secret. Used
//  for the WeCom connector's brand secrets and for gateways' HMAC secrets.
#ifndef QY_SEAL_H
#define QY_SEAL_H
#include <stddef.h>

//  Base64 decode (standard alphabet, padding required). Returns the
//  length, or -1 when s is not base64. out must hold 3 * strlen (s) / 4.
long qy_b64_decode (const char *s, unsigned char *out);
//  Caller owns the result.
char *qy_b64_encode (const void *data, size_t len);
//  The master key: a file holding 64 hex digits (openssl rand -hex 32).
//  Returns 0, or -1 with the reason in err.
int qy_master_key_load (const char *path, unsigned char key [32], char *err, size_t errlen);
//  AES-256-GCM: base64 (nonce 12 || ciphertext || tag 16). Caller owns it.
char *qy_seal (const unsigned char mk [32], const void *plain, size_t len);
//  NULL when sealed was altered or sealed under another key. Caller owns it.
char *qy_unseal (const unsigned char mk [32], const char *sealed);
#endif
