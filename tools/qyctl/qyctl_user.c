//  qyctl user: the console's people (services/console, docs/api.md).
//    create BRAND LOGIN --role hq|region|store|reviewer [--region CODE] [--store CODE]
//    create - LOGIN --role admin          a platform admin (every brand)
//    passwd LOGIN                         set a new password
//    disable LOGIN | enable LOGIN         (disabling also ends its sessions)
//    list BRAND|-                         users of a brand, or the admins
//    token LOGIN --name NAME [--days N] [--role ROLE]   an API token, printed once
//    revoke TOKEN_ID
//  Passwords are read from standard input (one line), never from argv,
//  where any user of the machine could read them; stored as argon2id.
#include "qyctl.h"
#include "qy/pg.h"
#include "console.h"
#include "qy/util.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A usage error found after parsing: message, usage, exit 2 (nothing done).
static int s_bad (const char *fmt, const char *what)
{
    char *msg = qy_printf (fmt, what);
    qyctl_usage_error ("user: %s", msg);
}

typedef struct {
    const char *role, *region, *store, *name, *days;
    int         nargs;
    const char *args [3];
} s_opts_t;

//  The options and arguments qyctl parsed from qyctl_user_commands
//  (unknown options, missing values and wrong counts were refused there).
static void s_parse (s_opts_t *o)
{
    memset (o, 0, sizeof (*o));
    o->role = qyctl_opt ("role", NULL);
    o->region = qyctl_opt ("region", NULL);
    o->store = qyctl_opt ("store", NULL);
    o->name = qyctl_opt ("name", NULL);
    o->days = qyctl_opt ("days", NULL);
    //  qyctl_arg (0) is the subcommand's word.
    while (o->nargs < (int) QY_ARRAY_LEN (o->args) && qyctl_arg (o->nargs + 1))
        o->args [o->nargs] = qyctl_arg (o->nargs + 1), o->nargs++;
}

//  The password from standard input, checked and hashed.
static void s_password_hash (char hash [crypto_pwhash_STRBYTES])
{
    char line [1100];
    if (!fgets (line, sizeof (line), stdin))
        qyctl_die ("no password on standard input");
    line [strcspn (line, "\r\n")] = 0;
    if (strlen (line) < 8 || strlen (line) > 1024)
        qyctl_die ("the password must be 8 to 1024 bytes");
    if (console_password_hash (line, hash))
        qyctl_die ("cannot hash the password (out of memory)");
    sodium_memzero (line, sizeof (line));
}

static int s_create (s_opts_t *o)
{
    console_role_t role = console_role_parse (o->role);
    const char *brand = o->args [0], *login = o->args [1];
    if (!role)
        return s_bad ("--role must be hq, region, store, reviewer or admin, not '%s'", o->role ? o->role : "");
    if ((role == CONSOLE_ADMIN) != (strcmp (brand, "-") == 0))
        return s_bad ("%s", "a platform admin is created with BRAND '-', every other role with a brand");
    if ((role == CONSOLE_REGION && !o->region) || (role == CONSOLE_STORE && !o->store))
        return s_bad ("--role %s needs its --region or --store", o->role);
    if ((o->region || o->store) && role != CONSOLE_REGION && role != CONSOLE_STORE && role != CONSOLE_REVIEWER)
        return s_bad ("--role %s takes no --region or --store", o->role);
    char bid [24] = "";
    if (role != CONSOLE_ADMIN)
        qy_pg_i64 (bid, qyctl_brand_id (brand));
    char hash [crypto_pwhash_STRBYTES];
    s_password_hash (hash);
    const char *p [] = { bid [0] ? bid : NULL, login, o->role, o->region, o->store, hash };
    PGresult *res = qyctl_exec (
        "INSERT INTO console_users (brand_id, login, role, region_id, store_id, password_hash) "
        "SELECT $1::bigint, $2, $3, (SELECT id FROM regions WHERE brand_id = $1::bigint AND code = $4), "
        "  (SELECT id FROM stores WHERE brand_id = $1::bigint AND code = $5), $6 "
        "WHERE ($4::text IS NULL OR EXISTS (SELECT 1 FROM regions WHERE brand_id = $1::bigint AND code = $4)) "
        "  AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM stores WHERE brand_id = $1::bigint AND code = $5)) "
        "ON CONFLICT (login) DO NOTHING RETURNING id", 6, p);
    if (PQntuples (res) == 0)
        qyctl_die ("user '%s' not created: the login is taken, or the region or store is not the brand's", login);
    printf ("user %s created (%s)\n", login, o->role);
    PQclear (res);
    qyctl_audit_detail (bid [0] ? atoll (bid) : 0, "console_user.create", "console_user", login, NULL);
    return 0;
}

static int s_set (const char *login, const char *sql, const char *what, const char *extra)
{
    const char *p [] = { login, extra };
    PGresult *res = qyctl_exec (sql, extra ? 2 : 1, p);
    if (PQntuples (res) == 0)
        qyctl_die ("no user '%s'", login);
    int64_t bid = atoll (PQgetvalue (res, 0, 0));
    PQclear (res);
    printf ("user %s %s\n", login, what);
    char action [48];
    qy_snprintf (action, sizeof (action), "console_user.%s", what);
    qyctl_audit_detail (bid, action, "console_user", login, NULL);
    return 0;
}

static int s_token (s_opts_t *o)
{
    long days = o->days ? qyctl_long ("--days", o->days, 1, 365) : 30;
    if (!o->name || !*o->name)
        return s_bad ("%s", "token needs --name");
    const char *p0 [] = { o->args [0] };
    PGresult *u = qyctl_exec ("SELECT id, role, coalesce (brand_id, 0) FROM console_users WHERE login = $1 AND NOT disabled", 1, p0);
    if (PQntuples (u) == 0)
        qyctl_die ("no enabled user '%s'", o->args [0]);
    console_role_t have = console_role_parse (PQgetvalue (u, 0, 1)), want = o->role ? console_role_parse (o->role) : have;
    if (!console_token_role_ok (have, want))
        qyctl_die ("a %s's token may have its own role or reviewer, not '%s'", PQgetvalue (u, 0, 1), o->role);
    unsigned char raw [32];
    char hex [65], token [80], sha [65];
    unsigned char h [crypto_hash_sha256_BYTES];
    randombytes_buf (raw, sizeof (raw));
    sodium_bin2hex (hex, sizeof (hex), raw, sizeof (raw));
    qy_snprintf (token, sizeof (token), "qyt_%s", hex);
    crypto_hash_sha256 (h, (const unsigned char *) token, strlen (token));
    sodium_bin2hex (sha, sizeof (sha), h, sizeof (h));
    char d [24];
    qy_snprintf (d, sizeof (d), "%ld", days);
    const char *p [] = { PQgetvalue (u, 0, 0), o->name, sha, console_role_name (want), d };
    PGresult *res = qyctl_exec ("INSERT INTO console_tokens (user_id, name, token_sha256, role, expires_at) "
                                "VALUES ($1, $2, $3, $4, now () + make_interval (days => $5::int)) RETURNING id", 5, p);
    printf ("token %s id %s (%s, %ld days; shown once)\n", token, PQgetvalue (res, 0, 0), console_role_name (want), days);
    qyctl_audit_detail (atoll (PQgetvalue (u, 0, 2)), "token.create", "console_token", o->name, NULL);
    PQclear (res);
    PQclear (u);
    return 0;
}

int qyctl_user (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *sub = qyctl_arg (0);
    s_opts_t o;
    s_parse (&o);
    if (sodium_init () < 0)
        qyctl_die ("libsodium failed to initialise");
    if (strcmp (sub, "create") == 0)
        return s_create (&o);
    if (strcmp (sub, "token") == 0)
        return s_token (&o);
    if (strcmp (sub, "passwd") == 0) {
        char hash [crypto_pwhash_STRBYTES];
        s_password_hash (hash);
        //  A new password is what an operator reaches for after a leak: the
        //  user's sessions end and its tokens are revoked with it.
        return s_set (o.args [0],
                      "WITH u AS (UPDATE console_users SET password_hash = $2 WHERE login = $1 "
                      "           RETURNING id, coalesce (brand_id, 0) AS b), "
                      "s AS (DELETE FROM console_sessions WHERE user_id IN (SELECT id FROM u)), "
                      "t AS (UPDATE console_tokens SET revoked_at = now () WHERE user_id IN (SELECT id FROM u) AND revoked_at IS NULL) "
                      "SELECT b FROM u",
                      "passwd", hash);
    }
    if (strcmp (sub, "disable") == 0 || strcmp (sub, "enable") == 0) {
        bool off = strcmp (sub, "disable") == 0;
        int r = s_set (o.args [0], off ? "UPDATE console_users SET disabled = true WHERE login = $1 RETURNING coalesce (brand_id, 0)"
                                       : "UPDATE console_users SET disabled = false WHERE login = $1 RETURNING coalesce (brand_id, 0)",
                       sub, NULL);
        if (off) {
            const char *p [] = { o.args [0] };
            PQclear (qyctl_exec ("DELETE FROM console_sessions WHERE user_id = (SELECT id FROM console_users WHERE login = $1)", 1, p));
        }
        return r;
    }
    if (strcmp (sub, "revoke") == 0) {
        const char *p [] = { o.args [0] };
        qyctl_long ("TOKEN_ID", o.args [0], 1, INT64_MAX);
        PGresult *res = qyctl_exec ("UPDATE console_tokens SET revoked_at = now () WHERE id = $1::bigint AND revoked_at IS NULL "
                                    "RETURNING id", 1, p);
        if (PQntuples (res) == 0)
            qyctl_die ("no live token %s", o.args [0]);
        printf ("token %s revoked\n", o.args [0]);
        PQclear (res);
        return 0;
    }
    const char *p [] = { strcmp (o.args [0], "-") ? o.args [0] : NULL };
    PGresult *res = qyctl_exec ("SELECT u.login, u.role, r.code AS region, s.code AS store, u.disabled, u.created_at "
                                "FROM console_users u LEFT JOIN brands b ON b.id = u.brand_id LEFT JOIN regions r ON r.id = u.region_id "
                                "LEFT JOIN stores s ON s.id = u.store_id WHERE b.code IS NOT DISTINCT FROM $1 ORDER BY u.login", 1, p);
    qyctl_print (res, qyctl_opt ("format", "table"));
    PQclear (res);
    return 0;
}

static const char *const s_roles [] = { "hq", "region", "store", "reviewer", "admin", NULL };
static const qyctl_option_t s_create_opts [] = {
    { "role",   QYCTL_VALUE, "ROLE", "hq, region, store, reviewer (with BRAND) or admin (BRAND -); required", s_roles },
    { "region", QYCTL_VALUE, "CODE", "a region manager's region" },
    { "store",  QYCTL_VALUE, "CODE", "a store user's (or a reviewer's) store" },
    { NULL }
};
static const qyctl_option_t s_token_opts [] = {
    { "name", QYCTL_VALUE, "NAME", "what the token is for (required)" },
    { "days", QYCTL_VALUE, "N",    "how long it lives (default 30, at most 365)" },
    { "role", QYCTL_VALUE, "ROLE", "the user's own role (default) or reviewer", s_roles },
    { NULL }
};
const qyctl_command_t qyctl_user_commands [] = {
    { "user create", "BRAND|- LOGIN", 2, 2, s_create_opts, "a console user; the password is read from standard input" },
    { "user passwd", "LOGIN", 1, 1, NULL, "a new password, read from standard input" },
    { "user disable", "LOGIN", 1, 1, NULL, "no more logins; the user's sessions end" },
    { "user enable", "LOGIN", 1, 1, NULL, "logins again" },
    { "user list", "BRAND|-", 1, 1, NULL, "a brand's console users (- : platform admins)" },
    { "user token", "LOGIN", 1, 1, s_token_opts, "an API token for integrations, hashed, expiring (shown once)" },
    { "user revoke", "TOKEN_ID", 1, 1, NULL, "revoke an API token" },
    { NULL }
};
