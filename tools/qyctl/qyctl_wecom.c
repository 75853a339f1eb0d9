//  qyctl wecom set BRAND --corp-id ID --agent-id N --token-file F --aes-key-file F
//        --secret-file F [--contact-secret-file F] [--archive-key-file F]
//        [--archive-secret-file F] [--capability official|gateway]
//  A brand's WeCom settings for qy-wecom (docs/wecom.md). Secrets are read
//  from files (never the command line, where ps would show them), sealed
//  with the master key ($QY_WECOM_MASTER_KEY_FILE) and only then stored.
//  The connector's own credential at ingest (wecom-<brand>) is made here too.
#include "qyctl.h"
#include "qy/pg.h"
#include "wecom.h"
#include "qy/util.h"
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A secret file's content without the trailing line break. Exits on error.
static char *s_read (const char *path, size_t max)
{
    FILE *f = fopen (path, "r");
    if (!f)
        qyctl_die ("cannot read %s", path);
    char *buf = qy_malloc (max + 1);
    size_t n = fread (buf, 1, max + 1, f);
    fclose (f);
    if (n > max)
        qyctl_die ("%s is larger than %zu bytes", path, max);
    while (n && (buf [n - 1] == '\n' || buf [n - 1] == '\r'))
        n--;
    buf [n] = 0;
    if (!n)
        qyctl_die ("%s is empty", path);
    return buf;
}

static char *s_sealed (const unsigned char mk [32], const char *path, size_t max)
{
    if (!path)
        return NULL;
    char *plain = s_read (path, max);
    char *sealed = qy_seal (mk, plain, strlen (plain));
    OPENSSL_cleanse (plain, strlen (plain));
    free (plain);
    return sealed;
}

enum { O_CORP = 1, O_AGENT, O_TOKEN, O_AES, O_SECRET, O_CONTACT, O_ARCHIVE, O_ARCHIVE_SECRET, O_CAP, O_N };

//  The options in O_ order (parsed by qyctl from qyctl_wecom_commands).
static const char *const s_names [O_N] = {
    NULL, "corp-id", "agent-id", "token-file", "aes-key-file", "secret-file", "contact-secret-file",
    "archive-key-file", "archive-secret-file", "capability"
};

static int s_set (void)
{
    const char *v [O_N] = { NULL };
    for (int o = O_CORP; o < O_N; o++)
        v [o] = qyctl_opt (s_names [o], NULL);
    const char *brand = qyctl_arg (1);
    if (!v [O_CORP] || !v [O_AGENT] || !v [O_TOKEN] || !v [O_AES] || !v [O_SECRET])
        qyctl_usage_error ("wecom set needs --corp-id, --agent-id, --token-file, --aes-key-file and --secret-file");
    long agent = qyctl_long ("--agent-id", v [O_AGENT], 0, 2147483647L);
    char err [256];
    unsigned char mk [32];
    if (qy_master_key_load (getenv ("QY_WECOM_MASTER_KEY_FILE"), mk, err, sizeof (err)))
        qyctl_die ("%s (set QY_WECOM_MASTER_KEY_FILE)", err);
    char *aes = s_read (v [O_AES], 64);
    unsigned char key [32];
    if (wecom_aes_key (aes, key))
        qyctl_die ("%s: an EncodingAESKey is 43 characters of base64", v [O_AES]);
    OPENSSL_cleanse (aes, strlen (aes));
    free (aes);
    //  The connector's bearer token at ingest: random, kept sealed, its SHA-256 at ingest.
    unsigned char rnd [24];
    if (RAND_bytes (rnd, sizeof (rnd)) != 1)
        qyctl_die ("no randomness for the ingest token");
    qy_buf_t tok;
    qy_buf_init (&tok);
    qy_buf_hex (&tok, rnd, sizeof (rnd));
    int64_t id = qyctl_brand_id (brand);
    char bid [24], aid [24];
    qy_pg_i64 (bid, id);
    qy_snprintf (aid, sizeof (aid), "%ld", agent);
    char *sealed [] = { s_sealed (mk, v [O_TOKEN], 256), s_sealed (mk, v [O_AES], 64), s_sealed (mk, v [O_SECRET], 512),
                        s_sealed (mk, v [O_CONTACT], 512), s_sealed (mk, v [O_ARCHIVE], 16384),
                        s_sealed (mk, v [O_ARCHIVE_SECRET], 512), qy_seal (mk, tok.data, tok.len) };
    char *cred = qy_printf ("wecom-%s", brand);
    PQclear (qyctl_exec ("BEGIN", 0, NULL));
    const char *p [] = { bid, v [O_CORP], aid, sealed [0], sealed [1], sealed [2], sealed [3], sealed [4], sealed [5], sealed [6] };
    PQclear (qyctl_exec ("INSERT INTO wecom_brands (brand_id, corp_id, agent_id, token_sealed, aes_key_sealed, secret_sealed, "
                         "  contact_secret_sealed, archive_key_sealed, archive_secret_sealed, ingest_token_sealed) "
                         "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (brand_id) DO UPDATE SET "
                         "  corp_id = EXCLUDED.corp_id, agent_id = EXCLUDED.agent_id, token_sealed = EXCLUDED.token_sealed, "
                         "  aes_key_sealed = EXCLUDED.aes_key_sealed, secret_sealed = EXCLUDED.secret_sealed, "
                         "  contact_secret_sealed = EXCLUDED.contact_secret_sealed, archive_key_sealed = EXCLUDED.archive_key_sealed, "
                         "  archive_secret_sealed = EXCLUDED.archive_secret_sealed, ingest_token_sealed = EXCLUDED.ingest_token_sealed, "
                         "  updated_at = now ()", 10, p));
    const char *c2 [] = { bid, cred, tok.data };
    PGresult *res = qyctl_exec ("INSERT INTO gateway_credentials (brand_id, name, kind, token_sha256) "
                                "VALUES ($1, $2, 'bearer', encode (sha256 (convert_to ($3, 'UTF8')), 'hex')) "
                                "ON CONFLICT (name) DO UPDATE SET token_sha256 = EXCLUDED.token_sha256, enabled = true "
                                "WHERE gateway_credentials.brand_id = EXCLUDED.brand_id RETURNING 1", 3, c2);
    if (PQntuples (res) == 0)
        qyctl_die ("credential name %s taken by another brand", cred);
    PQclear (res);
    if (v [O_CAP]) {
        const char *e [] = { bid, v [O_CAP] };
        PQclear (qyctl_exec ("INSERT INTO brand_edges (brand_id, capability) VALUES ($1, $2) ON CONFLICT (brand_id) "
                             "DO UPDATE SET capability = EXCLUDED.capability, updated_at = now ()", 2, e));
    }
    PQclear (qyctl_exec ("COMMIT", 0, NULL));
    qyctl_audit (id, "wecom.set", "brand", brand);
    printf ("wecom settings of %s: corp %s, agent %ld%s%s\n", brand, v [O_CORP], agent,
            v [O_CAP] ? ", capability " : "", v [O_CAP] ? v [O_CAP] : "");
    OPENSSL_cleanse (tok.data, tok.len);
    qy_buf_free (&tok);
    for (size_t i = 0; i < QY_ARRAY_LEN (sealed); i++)
        free (sealed [i]);
    free (cred);
    return 0;
}

int qyctl_wecom (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    return s_set ();              //  "wecom set", the only subcommand
}

static const char *const s_caps [] = { "official", "gateway", NULL };
static const qyctl_option_t s_set_opts [] = {
    { "corp-id",             QYCTL_VALUE, "ID",   "the corp id (企业ID; required)" },
    { "agent-id",            QYCTL_VALUE, "N",    "the application's AgentId (required)" },
    { "token-file",          QYCTL_VALUE, "FILE", "the callback Token (required)" },
    { "aes-key-file",        QYCTL_VALUE, "FILE", "the callback EncodingAESKey, 43 characters (required)" },
    { "secret-file",         QYCTL_VALUE, "FILE", "the application's Secret (required)" },
    { "contact-secret-file", QYCTL_VALUE, "FILE", "the customer-contact Secret" },
    { "archive-key-file",    QYCTL_VALUE, "FILE", "the chat archive's RSA private key (PEM)" },
    { "archive-secret-file", QYCTL_VALUE, "FILE", "the chat archive's Secret" },
    { "capability",          QYCTL_VALUE, "C",    "what the brand's edge can do: official (WeCom's API) or gateway", s_caps },
    { NULL }
};
const qyctl_command_t qyctl_wecom_commands [] = {
    { "wecom set", "BRAND", 1, 1, s_set_opts,
      "a brand's WeCom settings; secrets are read from files and sealed with $QY_WECOM_MASTER_KEY_FILE's key" },
    { NULL }
};
