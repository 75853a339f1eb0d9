//  qyctl gatekey: the CURVE keys of gateways on ingest's ZeroMQ door
//  (docs/gateway.md, "The ZeroMQ door with CURVE").
//    gatekey create BRAND NAME --secret-file FILE | --stdout
//    gatekey list BRAND
//    gatekey revoke BRAND NAME
//    gatekey keypair --secret-file FILE | --stdout     a server's or service's own pair
//    gatekey public --secret-file FILE                  the public key of a secret key
//  Only the public key goes into PostgreSQL; the secret key is written to
//  a new file (mode 0600) for the gateway, or to standard output when
//  asked with --stdout, and nowhere else.
#include "qyctl.h"
#include "qy/config.h"
#include "qy/util.h"
#include "qy/zmq_curve.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

//  Write the secret key to a file that did not exist, readable by its
//  owner only. Returns 0, or -1 with errno.
static int s_write_secret (const char *path, const char *secret)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -1;
    char line [QY_CURVE_KEY_LEN + 2];
    qy_snprintf (line, sizeof (line), "%s\n", secret);
    ssize_t n = write (fd, line, strlen (line));
    int e = errno;
    if (close (fd) != 0 || n != (ssize_t) strlen (line)) {
        errno = n < 0 ? e : EIO;
        unlink (path);
        return -1;
    }
    return 0;
}

static int s_create (void)
{
    const char *brand = qyctl_arg (1), *name = qyctl_arg (2), *file = qyctl_opt ("secret-file", NULL);
    bool to_stdout = qyctl_flag ("stdout");
    if (!file == !to_stdout)
        qyctl_usage_error ("give either --secret-file FILE or --stdout");
    int64_t id = qyctl_brand_id (brand);
    char public [QY_CURVE_KEY_LEN + 1], secret [QY_CURVE_KEY_LEN + 1], bid [24];
    if (zmq_curve_keypair (public, secret) != 0)
        qyctl_die ("cannot make a CURVE key pair: %s", zmq_strerror (errno));
    if (file && s_write_secret (file, secret) != 0)
        qyctl_die ("cannot create %s: %s (an existing file is never overwritten)", file, strerror (errno));
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) id);
    const char *p [] = { bid, name, public };
    PGresult *res = qyctl_exec ("INSERT INTO gateway_keys (brand_id, name, public_key) VALUES ($1, $2, $3) "
                                "ON CONFLICT (name) DO NOTHING RETURNING 1", 3, p);
    bool taken = PQntuples (res) == 0;
    PQclear (res);
    if (taken) {
        if (file)
            unlink (file);
        qyctl_die ("a gateway key named %s exists already (revoke it and choose another name)", name);
    }
    qyctl_audit (id, "gatekey.create", "gateway_key", name);
    if (to_stdout)
        printf ("%s\n", secret);
    explicit_bzero (secret, sizeof (secret));
    //  The secret went to stdout: say the rest on stderr, so it stays alone there.
    FILE *out = to_stdout ? stderr : stdout;
    fprintf (out, "gateway key %s for %s: public key %s%s%s\n", name, brand, public,
             file ? ", secret key in " : "", file ? file : "");
    return 0;
}

//  A key pair for a CURVE server or a service (ingest's door, the bus and
//  its clients): nothing is stored, the secret goes where create puts it.
static int s_keypair (void)
{
    const char *file = qyctl_opt ("secret-file", NULL);
    bool to_stdout = qyctl_flag ("stdout");
    if (!file == !to_stdout)
        qyctl_usage_error ("give either --secret-file FILE or --stdout");
    char public [QY_CURVE_KEY_LEN + 1], secret [QY_CURVE_KEY_LEN + 1];
    if (zmq_curve_keypair (public, secret) != 0)
        qyctl_die ("cannot make a CURVE key pair: %s", zmq_strerror (errno));
    if (file && s_write_secret (file, secret) != 0)
        qyctl_die ("cannot create %s: %s (an existing file is never overwritten)", file, strerror (errno));
    if (to_stdout)
        printf ("%s\n", secret);
    explicit_bzero (secret, sizeof (secret));
    fprintf (to_stdout ? stderr : stdout, "public key %s\n", public);
    return 0;
}

static int s_public (void)
{
    char *secret = qyctl_secret ("secret", "QY_CURVE_SECRET");
    if (!secret)
        qyctl_usage_error ("give --secret-file FILE (- : standard input) or $QY_CURVE_SECRET");
    char public [QY_CURVE_KEY_LEN + 1];
    int rc = qy_zmq_curve_public (secret, public);
    explicit_bzero (secret, strlen (secret));
    free (secret);
    if (rc)
        qyctl_die ("not a CURVE secret key (40 characters of Z85)");
    printf ("%s\n", public);
    return 0;
}

void qyctl_hop_curve (void *sock)
{
    char server [QY_CONFIG_FILE_MAX], secret [QY_CONFIG_FILE_MAX], err [200];
    const char *sv = NULL, *sk = NULL;
    if (qy_config_env ("QY_ZMQ_CURVE_SERVER_KEY", server, sizeof (server), &sv, err, sizeof (err))
    ||  qy_config_env ("QY_ZMQ_CURVE_SECRET_KEY", secret, sizeof (secret), &sk, err, sizeof (err)))
        qyctl_die ("%s", err);
    if (!sv || !*sv)
        return;                     //  plain hops
    if (!sk || !*sk)
        qyctl_die ("CURVE hops ($QY_ZMQ_CURVE_SERVER_KEY) need qyctl's own key: $QY_ZMQ_CURVE_SECRET_KEY_FILE");
    if (qy_zmq_curve_client (sock, sv, sk, err, sizeof (err)))
        qyctl_die ("CURVE on the hops: %s", err);
    explicit_bzero (secret, sizeof (secret));
}

static int s_revoke (void)
{
    const char *brand = qyctl_arg (1), *name = qyctl_arg (2);
    int64_t id = qyctl_brand_id (brand);
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) id);
    const char *p [] = { name, bid };
    //  Another brand's key is as unknown as a missing one.
    PGresult *res = qyctl_exec ("UPDATE gateway_keys SET enabled = false, revoked_at = coalesce (revoked_at, now ()) "
                                "WHERE name = $1 AND brand_id = $2 RETURNING 1", 2, p);
    if (PQntuples (res) == 0)
        qyctl_die ("no gateway key named %s in brand %s", name, brand);
    PQclear (res);
    qyctl_audit (id, "gatekey.revoke", "gateway_key", name);
    qyctl_ack ((const char *[]) { "gateway_key", name, "revoked", "true", NULL }, "gateway key %s revoked", name);
    return 0;
}

int qyctl_gatekey (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *sub = qyctl_arg (0);
    if (sub && strcmp (sub, "create") == 0)
        return s_create ();
    if (sub && strcmp (sub, "revoke") == 0)
        return s_revoke ();
    if (sub && strcmp (sub, "keypair") == 0)
        return s_keypair ();
    if (sub && strcmp (sub, "public") == 0)
        return s_public ();
    if (sub && strcmp (sub, "list") == 0) {
        qyctl_list ("SELECT name, public_key, enabled, created_at, revoked_at FROM gateway_keys "
                    "WHERE brand_id = $1 ORDER BY name", qyctl_arg (1));
        return 0;
    }
    qyctl_usage_error ("these arguments do not go together");
}

static const qyctl_option_t s_create_opts [] = {
    { "secret-file", QYCTL_VALUE, "FILE", "write the gateway's secret key to FILE (created, mode 0600; never overwritten)" },
    { "stdout",      QYCTL_FLAG,  NULL,   "print the secret key on standard output instead (the rest goes to stderr)" },
    { NULL }
};

static const qyctl_option_t s_public_opts [] = {
    { "secret-file", QYCTL_VALUE, "FILE", "the secret key, on FILE's first line (- : standard input; else $QY_CURVE_SECRET)" },
    { "secret",      QYCTL_VALUE, "K",    "refused: a secret on the command line is seen by every user" },
    { NULL }
};

const qyctl_command_t qyctl_gatekey_commands [] = {
    { "gatekey create", "BRAND NAME", 2, 2, s_create_opts, "a CURVE key pair for a gateway on ingest's ZeroMQ door" },
    { "gatekey list", "BRAND", 1, 1, NULL, "the brand's gateway keys (public keys only)" },
    { "gatekey revoke", "BRAND NAME", 2, 2, NULL, "refuse a gateway key from the next reload on" },
    { "gatekey keypair", "", 0, 0, s_create_opts, "a key pair for ingest's door or a hop (nothing stored)" },
    { "gatekey public", "", 0, 0, s_public_opts, "the public key of a secret key (to give gateways ingest's)" },
    { NULL }
};
