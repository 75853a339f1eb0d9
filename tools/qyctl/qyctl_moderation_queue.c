//  qyctl moderation list and replies: what needs a person (docs/moderation.md,
//  "The review queue" and "Unanswered customers").
//    moderation list BRAND [--limit N] [--format table|csv|json]
//      open decisions a person should look at, highest risk first:
//      reviews, mutes, blocks, members' reports and impersonation flags;
//      not enforcement records (a muted member's recalled messages),
//      behaviour reminders and slow-downs, dry-run rows or confident recalls.
//    moderation replies BRAND [--days N] [--format table|csv|json]
//      how fast staff answer customers' questions: per store, then per
//      staff member of the store: questions, answered, median and p90
//      reply time in seconds, and (per store) the share left unanswered.
#include "qyctl.h"
#include "qy/util.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Both take BRAND, one numeric option (--limit or --days) and --format.
//  Returns -1 to go on (values set), else the exit code (0 after --help,
//  2 for a bad command line, nothing connected yet).
static int s_parse (int argc, char **argv, const char *usage, const char *num_opt, const char **num,
                    const char **format, const char **brand)
{
    const struct option opts [] = {
        { num_opt, required_argument, NULL, 'n' }, { "format", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long (argc, argv, ":", opts, NULL)) != -1) {
        if (c == 'h') {
            puts (usage);
            return 0;
        }
        if (c == 'n')
            *num = optarg;
        else
        if (c == 'f')
            *format = optarg;
        else {
            fprintf (stderr, "qyctl moderation %s: %s '%s'\n%s\n", argv [0], c == ':' ? "missing value for" : "unknown option",
                     argv [optind - 1], usage);
            return 2;
        }
    }
    //  argv [0] is the subcommand (getopt's program name): one positional argument, the brand.
    const char *why = argc - optind < 1 ? "missing BRAND" : argc - optind > 1 ? "stray argument"
                    : strcmp (*format, "table") && strcmp (*format, "csv") && strcmp (*format, "json")
                    ? "--format must be table, csv or json" : NULL;
    if (why) {
        fprintf (stderr, "qyctl moderation %s: %s\n%s\n", argv [0], why, usage);
        return 2;
    }
    *brand = argv [optind];
    return -1;
}

int qyctl_moderation_list (int argc, char **argv)
{
    const char *limit = "50", *format = "table", *brand;
    int rc = s_parse (argc, argv, "usage: qyctl moderation list BRAND [--limit N] [--format table|csv|json]", "limit",
                      &limit, &format, &brand);
    if (rc >= 0)
        return rc;
    char lim [24], bid [24];
    qy_snprintf (lim, sizeof (lim), "%ld", qyctl_long ("--limit", limit, 1, 100000));
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
    const char *p [] = { bid, lim };
    PGresult *res = qyctl_exec (
        "SELECT q.id, round (q.priority::numeric, 2) AS priority, q.kind, q.category, q.action, q.reports, "
        "       to_char (q.event_time, 'MM-DD HH24:MI:SS') AS at, g.code AS grp, m.user_id AS member, "
        "       left (coalesce (q.excerpt, ''), 40) AS excerpt "
        "FROM moderation_queue q LEFT JOIN groups g ON g.id = q.group_id AND g.brand_id = q.brand_id "
        "LEFT JOIN members m ON m.id = q.member_id AND m.brand_id = q.brand_id "
        "WHERE q.brand_id = $1 ORDER BY q.priority DESC, q.id LIMIT $2::int", 2, p);
    qyctl_print (res, format);
    PQclear (res);
    return 0;
}

int qyctl_moderation_replies (int argc, char **argv)
{
    const char *days = "7", *format = "table", *brand;
    int rc = s_parse (argc, argv, "usage: qyctl moderation replies BRAND [--days N] [--format table|csv|json]", "days",
                      &days, &format, &brand);
    if (rc >= 0)
        return rc;
    char d [24], bid [24];
    qy_snprintf (d, sizeof (d), "%ld", qyctl_long ("--days", days, 1, 3650));
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
    const char *p [] = { bid, d };
    PGresult *res = qyctl_exec (
        "SELECT coalesce (s.code, '-') AS store, "
        "       CASE WHEN grouping (st.user_id) = 1 THEN '*' ELSE coalesce (st.user_id, '(unanswered)') END AS staff, "
        "       count (*) AS questions, count (q.answered_at) AS answered, "
        "       round (percentile_cont (0.5) WITHIN GROUP (ORDER BY extract (epoch FROM q.answered_at - q.asked_at))::numeric, 1) "
        "         AS median_s, "
        "       round (percentile_cont (0.9) WITHIN GROUP (ORDER BY extract (epoch FROM q.answered_at - q.asked_at))::numeric, 1) "
        "         AS p90_s, "
        "       CASE WHEN grouping (st.user_id) = 1 "
        "            THEN round (100.0 * count (*) FILTER (WHERE q.answered_at IS NULL) / count (*), 1)::text ELSE '' END "
        "         AS unanswered_pct "
        "FROM moderation_questions q LEFT JOIN stores s ON s.id = q.store_id AND s.brand_id = q.brand_id "
        "LEFT JOIN members st ON st.id = q.answered_by AND st.brand_id = q.brand_id "
        "WHERE q.brand_id = $1 AND q.asked_at > now () - $2::int * interval '1 day' "
        "GROUP BY GROUPING SETS ((s.code), (s.code, st.user_id)) "
        "ORDER BY 1, grouping (st.user_id) DESC, 2", 2, p);
    qyctl_print (res, format);
    PQclear (res);
    return 0;
}
