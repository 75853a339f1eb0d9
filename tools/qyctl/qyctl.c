#include "qyctl.h"
#include "qy/config.h"
#include "qy/util.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static PGconn *s_conn;
static const char *s_dsn;

void qyctl_die (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fputs ("qyctl: ", stderr);
    vfprintf (stderr, fmt, ap);
    fputs ("\n", stderr);
    va_end (ap);
    exit (1);
}

long qyctl_long (const char *what, const char *s, long min, long max)
{
    char *end = NULL;
    errno = 0;
    long v = s ? strtol (s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < min || v > max)
        qyctl_die ("%s must be a whole number from %ld to %ld, not '%s'", what, min, max, s ? s : "");
    return v;
}

PGconn *qyctl_pg (void)
{
    if (s_conn)
        return s_conn;
    static char dsn_file [QY_CONFIG_FILE_MAX];   //  QY_PG_DSN_FILE: the DSN (with its password) kept in a secret file
    const char *dsn = s_dsn, *env = NULL;
    char err [512];
    if (!dsn && qy_config_env ("QY_PG_DSN", dsn_file, sizeof (dsn_file), &env, err, sizeof (err)))
        qyctl_die ("%s", err);
    dsn = dsn ? dsn : env;
    if (!dsn)
        dsn = "host=127.0.0.1 port=5432 dbname=qunyun user=qunyun";
    s_conn = PQconnectdb (dsn);
    if (PQstatus (s_conn) != CONNECTION_OK)
        qyctl_die ("cannot connect to PostgreSQL: %s", PQerrorMessage (s_conn));
    PQclear (PQexec (s_conn, "SET client_min_messages = warning"));
    return s_conn;
}

PGresult *qyctl_exec (const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams (qyctl_pg (), sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus (res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        qyctl_die ("%s", PQresultErrorMessage (res));
    return res;
}

int64_t qyctl_brand_id (const char *code)
{
    if (!code)
        qyctl_die ("a brand code is needed");
    const char *p [] = { code };
    PGresult *res = qyctl_exec ("SELECT id FROM brands WHERE code = $1", 1, p);
    if (PQntuples (res) == 0)
        qyctl_die ("unknown brand '%s'", code);
    int64_t id = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    return id;
}

const char *qyctl_opt (int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp (argv [i], name) == 0)
            return argv [i + 1];
    return def;
}

bool qyctl_flag (int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (strcmp (argv [i], name) == 0)
            return true;
    return false;
}

//  Options that take no value; every other --option takes one.
static bool s_bare (const char *opt)
{
    return strcmp (opt, "--garbage") == 0 || strcmp (opt, "--quiet") == 0 || strcmp (opt, "--dry-run") == 0
        || strcmp (opt, "--open") == 0 || strcmp (opt, "--summary") == 0 || strcmp (opt, "--verify") == 0
        || strcmp (opt, "--force") == 0 || strcmp (opt, "--strict") == 0;
}

const char *qyctl_arg (int argc, char **argv, int n)
{
    int k = 0;
    for (int i = 1; i < argc; i++) {
        if (strncmp (argv [i], "--", 2) == 0) {
            if (!s_bare (argv [i]))
                i++;
            continue;
        }
        if (k++ == n)
            return argv [i];
    }
    return NULL;
}

//  Display width: East Asian characters take two columns.
static int s_width (const char *s)
{
    int w = 0;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if ((*p & 0xC0) == 0x80)
            continue;
        w += *p >= 0xE0 ? 2 : 1;
    }
    return w;
}

//  One CSV field (RFC 4180): quoted when it holds a comma, a quote or a
//  line break of either kind.
static void s_csv_field (const char *v)
{
    if (!strpbrk (v, ",\"\r\n")) {
        fputs (v, stdout);
        return;
    }
    putchar ('"');
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            putchar ('"');
        putchar (*p);
    }
    putchar ('"');
}

void qyctl_print (PGresult *res, const char *format)
{
    int rows = PQntuples (res), cols = PQnfields (res);
    if (format && strcmp (format, "csv") == 0) {
        for (int c = 0; c < cols; c++) {
            printf ("%s", c ? "," : "");
            s_csv_field (PQfname (res, c));
        }
        printf ("\n");
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                printf ("%s", c ? "," : "");
                s_csv_field (PQgetvalue (res, r, c));
            }
            printf ("\n");
        }
        return;
    }
    if (format && strcmp (format, "json") == 0) {
        qy_buf_t b;
        qy_buf_init (&b);
        qy_buf_puts (&b, "[");
        for (int r = 0; r < rows; r++) {
            qy_buf_puts (&b, r ? ",\n {" : "{");
            for (int c = 0; c < cols; c++) {
                if (c)
                    qy_buf_puts (&b, ",");
                qy_buf_json_str (&b, PQfname (res, c));
                qy_buf_puts (&b, ":");
                if (PQgetisnull (res, r, c))
                    qy_buf_puts (&b, "null");
                else
                    qy_buf_json_str (&b, PQgetvalue (res, r, c));
            }
            qy_buf_puts (&b, "}");
        }
        qy_buf_puts (&b, "]\n");
        fputs (b.data, stdout);
        qy_buf_free (&b);
        return;
    }
    int *w = qy_calloc ((size_t) cols, sizeof (int));
    for (int c = 0; c < cols; c++) {
        w [c] = s_width (PQfname (res, c));
        for (int r = 0; r < rows; r++) {
            int x = s_width (PQgetvalue (res, r, c));
            if (x > w [c])
                w [c] = x > 60 ? 60 : x;
        }
    }
    for (int c = 0; c < cols; c++)
        printf ("%s%-*s", c ? "  " : "", w [c], PQfname (res, c));
    printf ("\n");
    for (int c = 0; c < cols; c++) {
        printf ("%s", c ? "  " : "");
        for (int i = 0; i < w [c]; i++)
            putchar ('-');
    }
    printf ("\n");
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            const char *v = PQgetvalue (res, r, c);
            int pad = w [c] - s_width (v);
            printf ("%s%s", c ? "  " : "", v);
            for (int i = 0; i < pad && c + 1 < cols; i++)
                putchar (' ');
        }
        printf ("\n");
    }
    printf ("(%d row%s)\n", rows, rows == 1 ? "" : "s");
    free (w);
}

static const struct {
    const char *name;
    int (*fn) (int, char **);
    const char *help;
} s_commands [] = {
    { "migrate",     qyctl_migrate,     "migrate [--dir DIR]                       apply SQL migrations (safe to run twice)" },
    { "brand",       qyctl_brand,       "brand create CODE NAME [--gateway-url U] [--token T] [--tz MIN] | list" },
    { "region",      qyctl_region,      "region create BRAND CODE NAME | list BRAND" },
    { "store",       qyctl_store,       "store create BRAND CODE NAME [--region CODE] [--phone P] | list BRAND" },
    { "group",       qyctl_group,       "group create BRAND CODE NAME [--store CODE] [--type T] [--capacity N] | list BRAND" },
    { "channel",     qyctl_channel,     "channel create BRAND CODE KIND [--store CODE] [--name N] | list BRAND" },
    { "rules",       qyctl_rules,       "rules load BRAND [--file TSV] | list BRAND | set BRAND NAME KIND CATEGORY WEIGHT PATTERN" },
    { "campaign",    qyctl_campaign,    "campaign apply FILE | list|jobs|report BRAND | welcome BRAND TEMPLATE | …  (qyctl campaign help)" },
    { "demo",        qyctl_demo,        "demo load [--brand CODE [--force]] [--stores N] [--groups N] [--gateway-url U]" },
    { "violations",  qyctl_violations,  "violations BRAND [--limit N] [--format table|csv|json]" },
    { "deliveries",  qyctl_deliveries,  "deliveries BRAND [--status S] [--limit N] [--format F]" },
    { "deadletters", qyctl_deadletters, "deadletters [BRAND] [--open] [--service S] [--summary] | show BRAND ID | replay BRAND ID…|--open | resolve BRAND ID… --reason R" },
    { "report",      qyctl_report,      "report BRAND [--format F]                 activity, moderation and delivery summary" },
    { "gateway",     qyctl_gateway,     "gateway set BRAND URL [--token T]                where notifier delivers the brand's messages" },
    { "replay",      qyctl_replay,      "replay BRAND [--since T] [--until T] [--endpoint E]  re-send archived events into the chain" },
    { "housekeep",   qyctl_housekeep,   "housekeep [--dry-run] [--every S] [--archive-days N] [--deliveries-days N] [--deadletters-days N] [--jobs-days N] [--stats-days N]  retention (0 keeps forever)" },
    { "send",        qyctl_send,        "send FILE|- [--endpoint E] [--batch N] [--strict] [--garbage [--brand B] [--push E]]  send JSON-lines events to ingest; one ack line per batch; exit 1 when ingest does not answer, 3 with --strict when it refused any event" },
    { "moderation",  qyctl_moderation,      "moderation train|eval|violations|confirm|overturn|dict|allow|block|policy|precision|backtest …  (qyctl moderation: usage)" },
};

int main (int argc, char **argv)
{
    int i = 1;
    for (; i + 1 < argc && strcmp (argv [i], "--dsn") == 0; i += 2)
        s_dsn = argv [i + 1];
    if (i >= argc || strcmp (argv [i], "--help") == 0 || strcmp (argv [i], "help") == 0) {
        printf ("usage: qyctl [--dsn DSN] COMMAND …   (DSN defaults to $QY_PG_DSN)\n\n");
        for (size_t c = 0; c < QY_ARRAY_LEN (s_commands); c++)
            printf ("  %s\n", s_commands [c].help);
        return i >= argc ? 2 : 0;
    }
    for (size_t c = 0; c < QY_ARRAY_LEN (s_commands); c++)
        if (strcmp (argv [i], s_commands [c].name) == 0) {
            int rc = s_commands [c].fn (argc - i, argv + i);
            if (s_conn)
                PQfinish (s_conn);
            return rc;
        }
    fprintf (stderr, "qyctl: unknown command '%s' (try qyctl --help)\n", argv [i]);
    return 2;
}
