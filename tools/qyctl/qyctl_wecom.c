//  qyctl wecom set BRAND --corp-id ID --agent-id N --token-file F --aes-key-file F
//        --secret-file F [--contact-secret-file F] [--archive-key-file F]
//        [--archive-secret-file F] [--capability official|gateway]
//  A brand's WeCom settings for qy-wecom (docs/wecom.md). Secrets are read
//  from files (never the command line, where ps would show them), sealed
//  with the master key ($QY_WECOM_MASTER_KEY_FILE) and only then stored.
//  The connector's own credential at ingest (wecom-<brand>) is made here too.
#include "qyctl.h"
#include "wecom.h"
#include "qy/util.h"
#include <getopt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_USAGE \
    "usage: qyctl wecom set BRAND --corp-id ID --agent-id N --token-file F --aes-key-file F --secret-file F\n" \
    "                 [--contact-secret-file F] [--archive-key-file F] [--archive-secret-file F]\n" \
    "                 [--capability official|gateway]\n" \
    "  secrets are sealed with the key in $QY_WECOM_MASTER_KEY_FILE (64 hex digits)\n"

static int s_usage_error (const char *fmt, const char *arg)
{
    fprintf (stderr, "qyctl wecom: ");
    fprintf (stderr, fmt, arg);
    fprintf (stderr, "\n%s", S_USAGE);
    return 2;
}

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
    char *sealed = wecom_seal (mk, plain, strlen (plain));
    OPENSSL_cleanse (plain, strlen (plain));
    free (plain);
    return sealed;
}

enum { O_CORP = 1, O_AGENT, O_TOKEN, O_AES, O_SECRET, O_CONTACT, O_ARCHIVE, O_ARCHIVE_SECRET, O_CAP, O_HELP };

static int s_set (int argc, char **argv)
{
    static const struct option opts [] = {
        { "corp-id", required_argument, NULL, O_CORP }, { "agent-id", required_argument, NULL, O_AGENT },
        { "token-file", required_argument, NULL, O_TOKEN }, { "aes-key-file", required_argument, NULL, O_AES },
        { "secret-file", required_argument, NULL, O_SECRET }, { "contact-secret-file", required_argument, NULL, O_CONTACT },
        { "archive-key-file", required_argument, NULL, O_ARCHIVE },
        { "archive-secret-file", required_argument, NULL, O_ARCHIVE_SECRET },
        { "capability", required_argument, NULL, O_CAP }, { "help", no_argument, NULL, O_HELP }, { NULL, 0, NULL, 0 },
    };
    const char *v [O_HELP] = { NULL };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long (argc, argv, ":", opts, NULL)) != -1) {
        if (c == O_HELP) {
            fputs (S_USAGE, stdout);
            return 0;
        }
        if (c == ':')
            return s_usage_error ("option needs a value: %s", argv [optind - 1]);
        if (c == '?')
            return s_usage_error ("unknown option: %s", argv [optind - 1]);
        v [c] = optarg;
    }
    if (optind + 1 != argc)
        return s_usage_error (optind >= argc ? "a brand code is needed%s" : "unexpected argument: %s",
                              optind >= argc ? "" : argv [optind + 1 < argc ? optind + 1 : optind]);
    const char *brand = argv [optind];
    if (!v [O_CORP] || !v [O_AGENT] || !v [O_TOKEN] || !v [O_AES] || !v [O_SECRET])
        return s_usage_error ("missing %s", "--corp-id, --agent-id, --token-file, --aes-key-file or --secret-file");
    if (v [O_CAP] && strcmp (v [O_CAP], "official") != 0 && strcmp (v [O_CAP], "gateway") != 0)
        return s_usage_error ("--capability must be official or gateway, not '%s'", v [O_CAP]);
    long agent = qyctl_long ("--agent-id", v [O_AGENT], 0, 2147483647L);
    char err [256];
    unsigned char mk [32];
    if (wecom_master_key_load (getenv ("QY_WECOM_MASTER_KEY_FILE"), mk, err, sizeof (err)))
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
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) id);
    qy_snprintf (aid, sizeof (aid), "%ld", agent);
    char *sealed [] = { s_sealed (mk, v [O_TOKEN], 256), s_sealed (mk, v [O_AES], 64), s_sealed (mk, v [O_SECRET], 512),
                        s_sealed (mk, v [O_CONTACT], 512), s_sealed (mk, v [O_ARCHIVE], 16384),
                        s_sealed (mk, v [O_ARCHIVE_SECRET], 512), wecom_seal (mk, tok.data, tok.len) };
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
    if (argc >= 2 && strcmp (argv [1], "set") == 0)
        return s_set (argc - 1, argv + 1);
    if (argc >= 2 && (strcmp (argv [1], "--help") == 0 || strcmp (argv [1], "help") == 0)) {
        fputs (S_USAGE, stdout);
        return 0;
    }
    fprintf (stderr, "qyctl wecom: %s\n%s", argc >= 2 ? "unknown subcommand" : "a subcommand is needed", S_USAGE);
    return 2;
}
