//  qyctl voc: the voice-of-customer summary of a brand's complaints
//  (issue 20 §4): per brand and per store, how many complaints in the
//  last days, how many a person resolved (a staff reply seen, or the task
//  made of it closed), how many are still open and went to HQ, the median
//  minutes to the first staff reply, their top topics and the products
//  they name. Moderation records each complaint it escalates (table
//  complaints) and tracks it to its resolution.
//    voc BRAND [--days N] [--store CODE] [--top N] [--format table|csv|json]
#include "qyctl.h"
#include "qy/pg.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  One line per scope (the brand, then each store with complaints):
//  counts, then "topic n" and "product n" lists, most frequent first.
static const char *s_sql =
    "WITH c AS (SELECT c.*, coalesce (s.code, '-') AS store FROM complaints c "
    "           LEFT JOIN stores s ON s.id = c.store_id "
    "           WHERE c.brand_id = $1 AND c.event_time >= now () - make_interval (days => $2::int) "
    "             AND ($3::text IS NULL OR s.code = $3)), "
    "scoped AS (SELECT '(brand)' AS scope, topic, products, event_time, answered_at, resolved_at, escalated_at FROM c "
    "           UNION ALL SELECT store, topic, products, event_time, answered_at, resolved_at, escalated_at FROM c), "
    "topics AS (SELECT scope, topic AS name, count (*) AS n FROM scoped GROUP BY 1, 2), "
    "products AS (SELECT scope, p AS name, count (*) AS n FROM scoped, unnest (products) p GROUP BY 1, 2), "
    "ranked AS (SELECT 't' AS kind, *, row_number () OVER (PARTITION BY scope ORDER BY n DESC, name) AS r FROM topics "
    "           UNION ALL "
    "           SELECT 'p', *, row_number () OVER (PARTITION BY scope ORDER BY n DESC, name) FROM products) "
    "SELECT s.scope, s.complaints, s.resolved, s.open, s.escalated, s.reply_p50_min, "
    "       coalesce ((SELECT string_agg (name || ' ' || n, ', ' ORDER BY r) FROM ranked "
    "                  WHERE kind = 't' AND scope = s.scope AND r <= $4::int), '') AS topics, "
    "       coalesce ((SELECT string_agg (name || ' ' || n, ', ' ORDER BY r) FROM ranked "
    "                  WHERE kind = 'p' AND scope = s.scope AND r <= $4::int), '') AS products "
    "FROM (SELECT scope, count (*) AS complaints, count (*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved, "
    "             count (*) FILTER (WHERE resolved_at IS NULL) AS open, "
    "             count (*) FILTER (WHERE escalated_at IS NOT NULL) AS escalated, "
    "             round ((percentile_cont (0.5) WITHIN GROUP "
    "                     (ORDER BY extract (epoch FROM answered_at - event_time) / 60))::numeric, 1) AS reply_p50_min "
    "      FROM scoped GROUP BY 1) s "
    "ORDER BY s.scope <> '(brand)', s.complaints DESC, s.scope";

int qyctl_voc (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *days = qyctl_opt ("days", "7"), *store = qyctl_opt ("store", NULL), *top = qyctl_opt ("top", "5");
    const char *format = qyctl_opt ("format", "table");
    qyctl_long ("--days", days, 1, 3660);
    qyctl_long ("--top", top, 1, 100);
    char bid [24];
    qy_pg_i64 (bid, qyctl_brand_id (qyctl_arg (0)));
    if (store) {
        //  A mistyped store would read as a store without complaints.
        const char *sp [] = { bid, store };
        PGresult *res = qyctl_exec ("SELECT 1 FROM stores WHERE brand_id = $1 AND code = $2", 2, sp);
        if (PQntuples (res) == 0)
            qyctl_die ("unknown store %s of %s", store, qyctl_arg (0));
        PQclear (res);
    }
    const char *p [] = { bid, days, store, top };
    PGresult *res = qyctl_exec (s_sql, 4, p);
    qyctl_print (res, format);
    PQclear (res);
    return 0;
}

static const qyctl_option_t s_voc_opts [] = {
    { "days",  QYCTL_VALUE, "N",    "the last N days (default 7: the weekly summary)" },
    { "store", QYCTL_VALUE, "CODE", "only that store" },
    { "top",   QYCTL_VALUE, "N",    "top N topics and products of each scope (default 5)" },
    { NULL }
};
const qyctl_command_t qyctl_voc_commands [] = {
    { "voc", "BRAND", 1, 1, s_voc_opts, "customers' complaints per brand and store: resolved, open, reply time, topics, products" },
    { NULL }
};
