//  qyctl: gateways' HTTP credentials at rest and their rotation
//  (docs/gateway.md, "Rotation").
//    gateway credential rotate BRAND NAME --token-file F | --hmac-file F [--overlap-hours N]
//  A signing secret is stored sealed under the master key
//  ($QY_INGEST_GATEWAY_MASTER_KEY_FILE, the file ingest's
//  gateway.master_key_file names); a bearer token as its SHA-256 only.
//  Rotation keeps the previous token or secret valid for the overlap, so
//  the gateway can switch without a gap; after it ingest refuses it.
#include "qyctl.h"
#include "qy/seal.h"
#include "qy/util.h"
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

char *qyctl_seal_gateway_secret (const char *plain)
{
    const char *path = getenv ("QY_INGEST_GATEWAY_MASTER_KEY_FILE");
    if (!path || !*path)
        return NULL;
    unsigned char mk [32];
    char err [200];
    if (qy_master_key_load (path, mk, err, sizeof (err)))
        qyctl_die ("$QY_INGEST_GATEWAY_MASTER_KEY_FILE: %s", err);
    char *sealed = qy_seal (mk, plain, strlen (plain));
    OPENSSL_cleanse (mk, sizeof (mk));
    return sealed;
}

static const char *s_rotate_bearer =
    "UPDATE gateway_credentials SET prev_token_sha256 = token_sha256, prev_secret_sealed = NULL, "
    "  token_sha256 = encode (sha256 (convert_to ($3, 'UTF8')), 'hex'), "
    "  prev_not_after = now () + make_interval (hours => $4::int), rotated_at = now () "
    "WHERE name = $1 AND brand_id = $2 AND kind = 'bearer' "
    "RETURNING to_char (prev_not_after AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
//  The previous secret: sealed as it is, or sealed now ($5) if it was plain.
static const char *s_rotate_hmac =
    "UPDATE gateway_credentials SET prev_secret_sealed = coalesce (secret_sealed, $5), prev_token_sha256 = NULL, "
    "  secret = NULL, secret_sealed = $3, "
    "  prev_not_after = now () + make_interval (hours => $4::int), rotated_at = now () "
    "WHERE name = $1 AND brand_id = $2 AND kind = 'hmac' "
    "RETURNING to_char (prev_not_after AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

//  The credential's kind and its plain secret (only rows made before
//  sealing, or without the master key, hold one). Exits when unknown.
static char *s_current (const char *bid, const char *name, const char *brand, bool *hmac)
{
    const char *p [] = { name, bid };
    PGresult *res = qyctl_exec ("SELECT kind, secret FROM gateway_credentials WHERE name = $1 AND brand_id = $2", 2, p);
    if (PQntuples (res) == 0)
        qyctl_die ("no credential named %s in brand %s", name, brand);
    *hmac = strcmp (PQgetvalue (res, 0, 0), "hmac") == 0;
    char *plain = PQgetisnull (res, 0, 1) ? NULL : qy_strdup (PQgetvalue (res, 0, 1));
    PQclear (res);
    return plain;
}

int qyctl_gateway_credential_rotate (void)
{
    const char *brand = qyctl_arg (2), *name = qyctl_arg (3);
    long hours = qyctl_long ("--overlap-hours", qyctl_opt ("overlap-hours", "24"), 0, 24 * 90);
    char *token = qyctl_secret ("token", "QY_CREDENTIAL_TOKEN"), *secret = qyctl_secret ("hmac", "QY_CREDENTIAL_HMAC");
    if (!token == !secret)
        qyctl_usage_error ("give the new token (--token-file) or the new signing secret (--hmac-file)");
    if (strlen (token ? token : secret) < 16)
        qyctl_die ("a token or secret must be at least 16 characters");
    char bid [24], h [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
    qy_snprintf (h, sizeof (h), "%ld", hours);
    bool hmac;
    char *old_plain = s_current (bid, name, brand, &hmac);
    if (hmac != !!secret)
        qyctl_die ("credential %s is %s: rotate it with --%s-file", name, hmac ? "hmac" : "bearer", hmac ? "hmac" : "token");
    char *sealed = secret ? qyctl_seal_gateway_secret (secret) : NULL;
    char *old_sealed = old_plain ? qyctl_seal_gateway_secret (old_plain) : NULL;
    if (secret && !sealed)
        qyctl_die ("signing secrets are kept sealed: set $QY_INGEST_GATEWAY_MASTER_KEY_FILE (ingest's gateway.master_key_file)");
    const char *p [] = { name, bid, token ? token : sealed, h, old_sealed };
    PGresult *res = qyctl_exec (hmac ? s_rotate_hmac : s_rotate_bearer, hmac ? 5 : 4, p);
    char *until = qy_strdup (PQgetvalue (res, 0, 0));
    PQclear (res);
    qyctl_audit (atoll (bid), "gateway.credential.rotate", "gateway_credential", name);
    qyctl_ack ((const char *[]) { "credential", name, "kind", hmac ? "hmac" : "bearer", "previous_valid_until", until, NULL },
               "credential %s rotated; the previous %s is refused from %s", name, hmac ? "secret" : "token", until);
    if (token)
        OPENSSL_cleanse (token, strlen (token));
    if (secret)
        OPENSSL_cleanse (secret, strlen (secret));
    if (old_plain)
        OPENSSL_cleanse (old_plain, strlen (old_plain));
    free (token);
    free (secret);
    free (old_plain);
    free (sealed);
    free (old_sealed);
    free (until);
    return 0;
}

const qyctl_option_t qyctl_gatecred_rotate_opts [] = {
    { "token-file", QYCTL_VALUE, "FILE", "the new bearer token (16 characters or more), on FILE's first line "
                                         "(- : standard input; else $QY_CREDENTIAL_TOKEN)" },
    { "hmac-file",  QYCTL_VALUE, "FILE", "the new signing secret the same way (else $QY_CREDENTIAL_HMAC); sealed "
                                         "under $QY_INGEST_GATEWAY_MASTER_KEY_FILE" },
    { "overlap-hours", QYCTL_VALUE, "N", "how long the previous token or secret stays valid (default 24, 0: none)" },
    { "token", QYCTL_VALUE, "T",      "refused: a secret on the command line is seen by every user" },
    { "hmac",  QYCTL_VALUE, "SECRET", "refused, as --token" },
    { NULL }
};
