//  qyctl voc: the voice-of-customer summary of a brand's complaints
//  (issue 20 §4): per brand and per store, how many complaints in the
//  last days, their top topics and the products they name. Moderation
//  records each complaint it escalates (table complaints).
//    voc BRAND [--days N] [--store CODE] [--top N] [--format table|csv|json]
#include "qyctl.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_usage =
    "usage: qyctl voc BRAND [--days N] [--store CODE] [--top N] [--format table|csv|json]\n"
    "  the brand's and each store's complaints of the last N days (default 7: the weekly summary),\n"
    "  their top topics and the products they name (top N of each, default 5)\n";

//  One line per scope (the brand, then each store with complaints):
//  count, then "topic n" and "product n" lists, most frequent first.
static const char *s_sql =
    "WITH c AS (SELECT c.*, coalesce (s.code, '-') AS store FROM complaints c "
    "           LEFT JOIN stores s ON s.id = c.store_id "
    "           WHERE c.brand_id = $1 AND c.event_time >= now () - make_interval (days => $2::int) "
    "             AND ($3::text IS NULL OR s.code = $3)), "
    "scoped AS (SELECT '(brand)' AS scope, topic, products FROM c "
    "           UNION ALL SELECT store, topic, products FROM c), "
    "topics AS (SELECT scope, topic AS name, count (*) AS n FROM scoped GROUP BY 1, 2), "
    "products AS (SELECT scope, p AS name, count (*) AS n FROM scoped, unnest (products) p GROUP BY 1, 2), "
    "ranked AS (SELECT 't' AS kind, *, row_number () OVER (PARTITION BY scope ORDER BY n DESC, name) AS r FROM topics "
    "           UNION ALL "
    "           SELECT 'p', *, row_number () OVER (PARTITION BY scope ORDER BY n DESC, name) FROM products) "
    "SELECT s.scope, s.complaints, "
    "       coalesce ((SELECT string_agg (name || ' ' || n, ', ' ORDER BY r) FROM ranked "
    "                  WHERE kind = 't' AND scope = s.scope AND r <= $4::int), '') AS topics, "
    "       coalesce ((SELECT string_agg (name || ' ' || n, ', ' ORDER BY r) FROM ranked "
    "                  WHERE kind = 'p' AND scope = s.scope AND r <= $4::int), '') AS products "
    "FROM (SELECT scope, count (*) AS complaints FROM scoped GROUP BY 1) s "
    "ORDER BY s.scope <> '(brand)', s.complaints DESC, s.scope";

static int s_bad (const char *msg, const char *what)
{
    fprintf (stderr, "qyctl voc: %s%s%s\n%s", msg, what ? " " : "", what ? what : "", s_usage);
    return 2;
}

int qyctl_voc (int argc, char **argv)
{
    static const struct option opts [] = {
        { "days",   required_argument, NULL, 'd' },
        { "store",  required_argument, NULL, 's' },
        { "top",    required_argument, NULL, 't' },
        { "format", required_argument, NULL, 'f' },
        { "help",   no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *days = "7", *store = NULL, *top = "5", *format = "table";
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long (argc, argv, ":", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs (s_usage, stdout);
            return 0;
        }
        if (c == 'd')       days = optarg;
        else if (c == 's')  store = optarg;
        else if (c == 't')  top = optarg;
        else if (c == 'f')  format = optarg;
        else if (c == ':')  return s_bad ("missing value for", argv [optind - 1]);
        else                return s_bad ("unknown option", argv [optind - 1]);
    }
    if (optind + 1 != argc)
        return s_bad (optind == argc ? "missing BRAND" : "unexpected argument", optind < argc ? argv [optind + 1] : NULL);
    if (strcmp (format, "table") && strcmp (format, "csv") && strcmp (format, "json"))
        return s_bad ("--format must be table, csv or json, not", format);
    qyctl_long ("--days", days, 1, 3660);
    qyctl_long ("--top", top, 1, 100);
    char bid [24];
    snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (argv [optind]));
    const char *p [] = { bid, days, store, top };
    PGresult *res = qyctl_exec (s_sql, 4, p);
    qyctl_print (res, format);
    PQclear (res);
    return 0;
}
