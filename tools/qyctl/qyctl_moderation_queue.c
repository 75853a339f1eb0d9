//  qyctl moderation list: the review queue (docs/moderation.md, "The review
//  queue"): open decisions a person should look at, highest risk first.
//    moderation list BRAND [--limit N] [--format table|csv|json]
//  Enforcement records (a muted member's recalled messages), behaviour
//  reminders and slow-downs, dry-run rows and confident recalls are not
//  in it; reviews, mutes, blocks, members' reports and impersonation flags are.
#include "qyctl.h"
#include "qy/util.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_USAGE "usage: qyctl moderation list BRAND [--limit N] [--format table|csv|json]"

int qyctl_moderation_list (int argc, char **argv)
{
    static const struct option opts [] = {
        { "limit", required_argument, NULL, 'l' }, { "format", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    const char *limit = "50", *format = "table";
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long (argc, argv, ":", opts, NULL)) != -1) {
        if (c == 'h') {
            puts (S_USAGE);
            return 0;
        }
        if (c == 'l')
            limit = optarg;
        else
        if (c == 'f')
            format = optarg;
        else {
            fprintf (stderr, "qyctl moderation list: %s '%s'\n%s\n", c == ':' ? "missing value for" : "unknown option",
                     argv [optind - 1], S_USAGE);
            return 2;
        }
    }
    //  argv [0] is "list" (getopt's program name): one positional argument, the brand.
    if (argc - optind != 1) {
        fprintf (stderr, "qyctl moderation list: %s\n%s\n", argc - optind < 1 ? "missing BRAND" : "stray argument",
                 S_USAGE);
        return 2;
    }
    if (strcmp (format, "table") && strcmp (format, "csv") && strcmp (format, "json")) {
        fprintf (stderr, "qyctl moderation list: --format must be table, csv or json, not '%s'\n%s\n", format, S_USAGE);
        return 2;
    }
    const char *brand = argv [optind];
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
