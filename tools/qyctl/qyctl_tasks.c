//  qyctl tasks: the staff task loop (docs/tasks.md) as operators see it:
//  list, show, done (with a note), reassign, the managers tasks escalate to,
//  and completion reports per store and per staff member.
#include "qyctl.h"
#include "qy/util.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_usage =
    "usage: qyctl tasks list BRAND [--state open|closed|all|STATE] [--kind K] [--store CODE] [--assignee U] [--limit N] [--format F]\n"
    "       qyctl tasks show BRAND ID [--format F]\n"
    "       qyctl tasks done BRAND ID --note TEXT [--by USERID]\n"
    "       qyctl tasks reassign BRAND ID --to USERID [--name NAME]\n"
    "       qyctl tasks managers BRAND (--store CODE | --region CODE) --userid U [--name NAME]\n"
    "       qyctl tasks report BRAND [--since DATE] [--until DATE] [--format F]\n"
    "  F is table, csv or json; kinds: post, answer, remove, recall_warn;\n"
    "  states: open, reminded, escalated, done, done_by_note, expired, cancelled";

typedef struct {
    const char *state, *kind, *store, *region, *assignee, *limit, *format, *note, *by, *to, *name, *userid, *since, *until;
    const char *pos [4];
    int npos;
} s_args_t;

//  Parse argv (argv[0] "tasks") with getopt_long. --help prints usage and
//  exits 0; an unknown option, a missing value or a stray argument exits 2.
static void s_parse (int argc, char **argv, s_args_t *a)
{
    static const struct option opts [] = {
        { "state", required_argument, NULL, 's' }, { "kind", required_argument, NULL, 'k' },
        { "store", required_argument, NULL, 'S' }, { "region", required_argument, NULL, 'R' },
        { "assignee", required_argument, NULL, 'a' }, { "limit", required_argument, NULL, 'l' },
        { "format", required_argument, NULL, 'f' }, { "note", required_argument, NULL, 'n' },
        { "by", required_argument, NULL, 'b' }, { "to", required_argument, NULL, 't' },
        { "name", required_argument, NULL, 'N' }, { "userid", required_argument, NULL, 'u' },
        { "since", required_argument, NULL, 'F' }, { "until", required_argument, NULL, 'U' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    memset (a, 0, sizeof (*a));
    a->format = "table";
    a->limit = "100";
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
            case 's': a->state = optarg; break;
            case 'k': a->kind = optarg; break;
            case 'S': a->store = optarg; break;
            case 'R': a->region = optarg; break;
            case 'a': a->assignee = optarg; break;
            case 'l': a->limit = optarg; break;
            case 'f': a->format = optarg; break;
            case 'n': a->note = optarg; break;
            case 'b': a->by = optarg; break;
            case 't': a->to = optarg; break;
            case 'N': a->name = optarg; break;
            case 'u': a->userid = optarg; break;
            case 'F': a->since = optarg; break;
            case 'U': a->until = optarg; break;
            case 'h': printf ("%s\n", s_usage); exit (0);
            case ':': fprintf (stderr, "qyctl tasks: option %s needs a value\n%s\n", argv [optind - 1], s_usage); exit (2);
            default:  fprintf (stderr, "qyctl tasks: unknown option %s\n%s\n", argv [optind - 1], s_usage); exit (2);
        }
    }
    for (int i = optind; i < argc; i++) {
        if (a->npos == (int) QY_ARRAY_LEN (a->pos)) {
            fprintf (stderr, "qyctl tasks: unexpected argument '%s'\n%s\n", argv [i], s_usage);
            exit (2);
        }
        a->pos [a->npos++] = argv [i];
    }
}

//  The positional arguments a subcommand takes (its word, BRAND, maybe ID):
//  fewer or more is a usage error, before any connection.
static void s_want (const s_args_t *a, int n)
{
    if (a->npos < n) {
        fprintf (stderr, "qyctl tasks %s: missing argument\n%s\n", a->pos [0], s_usage);
        exit (2);
    }
    if (a->npos > n) {
        fprintf (stderr, "qyctl tasks %s: unexpected argument '%s'\n%s\n", a->pos [0], a->pos [n], s_usage);
        exit (2);
    }
    if (strcmp (a->format, "table") && strcmp (a->format, "csv") && strcmp (a->format, "json")) {
        fprintf (stderr, "qyctl tasks: --format must be table, csv or json\n%s\n", s_usage);
        exit (2);
    }
}

static void s_need (const char *value, const char *what)
{
    if (!value || !*value) {
        fprintf (stderr, "qyctl tasks: %s is required\n%s\n", what, s_usage);
        exit (2);
    }
}

static void s_print (PGresult *res, const char *format)
{
    qyctl_print (res, format);
    PQclear (res);
}

//  One section of a report of several (JSON: one object of them all).
static void s_section (const char *title, PGresult *res, const char *format)
{
    qyctl_section (title, res, format);
    PQclear (res);
}

#define S_OPEN_STATES "('open', 'reminded', 'escalated')"

static int s_list (const s_args_t *a, const char *bid)
{
    const char *state = a->state ? a->state : "open";
    qyctl_long ("--limit", a->limit, 1, 1000000);
    const char *p [] = { bid, state, a->kind, a->store, a->assignee, a->limit };
    s_print (qyctl_exec (
        "SELECT t.id, t.kind, t.state, coalesce (g.name, '') AS grp, coalesce (s.code, '') AS store, "
        "  coalesce (ms.nickname, m.nickname, t.member_user, '') AS member, coalesce (t.assignee, '') AS assignee, "
        "  t.level, to_char (t.created_at, 'YYYY-MM-DD HH24:MI:SS') AS created, "
        "  coalesce (to_char (t.due_at, 'YYYY-MM-DD HH24:MI:SS'), '') AS due, "
        "  coalesce (to_char (t.closed_at, 'YYYY-MM-DD HH24:MI:SS'), '') AS closed, coalesce (t.close_evidence, '') AS evidence "
        "FROM staff_tasks t LEFT JOIN groups g ON g.id = t.group_id LEFT JOIN stores s ON s.id = t.store_id "
        "LEFT JOIN members m ON m.id = t.member_id "
        "LEFT JOIN memberships ms ON ms.group_id = t.group_id AND ms.member_id = t.member_id "
        "WHERE t.brand_id = $1 "
        "  AND CASE $2 WHEN 'all' THEN true WHEN 'open' THEN t.state IN " S_OPEN_STATES " "
        "             WHEN 'closed' THEN t.state NOT IN " S_OPEN_STATES " ELSE t.state = $2 END "
        "  AND ($3::text IS NULL OR t.kind = $3) AND ($4::text IS NULL OR s.code = $4) "
        "  AND ($5::text IS NULL OR t.assignee = $5 OR t.owner_userid = $5) "
        "ORDER BY t.id LIMIT $6::bigint", 6, p), a->format);
    return 0;
}

static int s_show (const s_args_t *a, const char *bid)
{
    const char *id = a->pos [2];
    qyctl_long ("ID", id, 1, INT64_MAX);
    const char *p [] = { bid, id };
    PGresult *res = qyctl_exec (
        "SELECT t.id, t.kind, t.state, t.level, t.stage, coalesce (g.code, '') AS group_code, coalesce (g.name, '') AS group_name, "
        "  coalesce (s.code, '') AS store, coalesce (t.member_user, '') AS member, "
        "  coalesce (ms.nickname, m.nickname, '') AS member_name, coalesce (t.content, '') AS content, "
        "  coalesce (t.target_msg_id, '') AS target_msg_id, coalesce (t.mute_until::text, '') AS mute_until, "
        "  coalesce (t.reason, '') AS reason, coalesce (t.violation_id::text, '') AS violation_id, "
        "  coalesce (t.delivery_key, '') AS delivery_key, coalesce (t.campaign_job_id::text, '') AS campaign_job_id, "
        "  coalesce (t.evidence_msg_id, '') AS evidence_msg_id, coalesce (t.evidence_text, '') AS evidence_text, "
        "  coalesce (t.owner_userid, '') AS owner, coalesce (t.assignee, '') AS assignee, "
        "  coalesce (t.assignee_name, '') AS assignee_name, t.handovers, t.created_at, t.due_at, t.notified_at, "
        "  t.reminded_at, t.escalated_at, t.closed_at, coalesce (t.closed_by, '') AS closed_by, "
        "  coalesce (t.close_evidence, '') AS close_evidence, coalesce (t.note, '') AS note, t.source_key "
        "FROM staff_tasks t LEFT JOIN groups g ON g.id = t.group_id LEFT JOIN stores s ON s.id = t.store_id "
        "LEFT JOIN members m ON m.id = t.member_id "
        "LEFT JOIN memberships ms ON ms.group_id = t.group_id AND ms.member_id = t.member_id "
        "WHERE t.brand_id = $1 AND t.id = $2::bigint", 2, p);
    if (PQntuples (res) == 0)
        qyctl_die ("no task %s in brand %s", id, a->pos [1]);
    if (strcmp (a->format, "table") == 0)
        for (int c = 0; c < PQnfields (res); c++)
            printf ("%-16s %s\n", PQfname (res, c), PQgetvalue (res, 0, c));
    else
        qyctl_print (res, a->format);
    PQclear (res);
    if (strcmp (a->format, "table") == 0) {
        //  The notices the loop queued for it, and what became of them.
        printf ("\nnotices\n");
        s_print (qyctl_exec ("SELECT d.key, coalesce (d.payload->>'touser', '') AS touser, d.status, d.created_at, d.delivered_at "
                             "FROM deliveries d WHERE d.brand_id = $1 AND d.source = 'tasks' AND d.key LIKE 'task:' || $2 || ':%' "
                             "ORDER BY d.created_at", 2, p), a->format);
    }
    return 0;
}

//  Done by hand: recorded as such (done_by_note), never as evidence.
static int s_done (const s_args_t *a, const char *bid, int64_t brand_id)
{
    const char *id = a->pos [2];
    qyctl_long ("ID", id, 1, INT64_MAX);
    const char *by = a->by ? a->by : getenv ("QY_OPERATOR") ? getenv ("QY_OPERATOR") : getenv ("USER") ? getenv ("USER") : "qyctl";
    const char *p [] = { bid, id, a->note, by };
    PGresult *res = qyctl_exec (
        "UPDATE staff_tasks SET state = 'done_by_note', closed_at = now (), closed_by = $4, note = $3, "
        "  close_evidence = 'note: ' || $3 WHERE brand_id = $1 AND id = $2::bigint AND state IN " S_OPEN_STATES " RETURNING id", 4, p);
    bool changed = PQntuples (res) == 1;
    PQclear (res);
    if (!changed)
        qyctl_die ("task %s is not open in brand %s (qyctl tasks show %s %s)", id, a->pos [1], a->pos [1], id);
    qy_buf_t detail;
    qy_buf_init (&detail);
    qy_buf_puts (&detail, "{\"note\":");
    qy_buf_json_str (&detail, a->note);
    qy_buf_puts (&detail, ",\"by\":");
    qy_buf_json_str (&detail, by);
    qy_buf_puts (&detail, "}");
    qyctl_audit_detail (brand_id, "task.done_by_note", "staff_task", id, detail.data);
    qy_buf_free (&detail);
    printf ("task %s done by note\n", id);
    return 0;
}

//  Another person: the loop hands it over again at once (a new notice key).
static int s_reassign (const s_args_t *a, const char *bid, int64_t brand_id)
{
    const char *id = a->pos [2];
    qyctl_long ("ID", id, 1, INT64_MAX);
    const char *p [] = { bid, id, a->to, a->name };
    PGresult *res = qyctl_exec (
        "UPDATE staff_tasks SET assignee = $3, assignee_name = $4, level = 'owner', state = 'open', stage = 0, "
        "  handovers = handovers + 1, next_at = now () "
        "WHERE brand_id = $1 AND id = $2::bigint AND state IN " S_OPEN_STATES " RETURNING id", 4, p);
    bool changed = PQntuples (res) == 1;
    PQclear (res);
    if (!changed)
        qyctl_die ("task %s is not open in brand %s", id, a->pos [1]);
    qy_buf_t detail;
    qy_buf_init (&detail);
    qy_buf_puts (&detail, "{\"to\":");
    qy_buf_json_str (&detail, a->to);
    qy_buf_puts (&detail, "}");
    qyctl_audit_detail (brand_id, "task.reassign", "staff_task", id, detail.data);
    qy_buf_free (&detail);
    printf ("task %s reassigned to %s\n", id, a->to);
    return 0;
}

static int s_managers (const s_args_t *a, const char *bid, int64_t brand_id)
{
    if (!!a->store == !!a->region) {
        fprintf (stderr, "qyctl tasks managers: give exactly one of --store or --region\n%s\n", s_usage);
        exit (2);
    }
    const char *p [] = { bid, a->store ? a->store : a->region, a->userid, a->name };
    PGresult *res = qyctl_exec (a->store
        ? "UPDATE stores SET manager_userid = $3, manager_name = $4 WHERE brand_id = $1 AND code = $2 RETURNING id"
        : "UPDATE regions SET manager_userid = $3, manager_name = $4 WHERE brand_id = $1 AND code = $2 RETURNING id", 4, p);
    bool changed = PQntuples (res) == 1;
    PQclear (res);
    if (!changed)
        qyctl_die ("unknown %s '%s'", a->store ? "store" : "region", p [1]);
    qyctl_audit (brand_id, a->store ? "task.store_manager" : "task.region_manager", a->store ? "store" : "region", p [1]);
    printf ("%s %s manager %s\n", a->store ? "store" : "region", p [1], a->userid);
    return 0;
}

//  Completion per store and per staff member (the group's owner, who was
//  asked first): how many, how many done on evidence or by note, still
//  open, expired, escalated, and the time to complete (median and p90).
#define S_TASK_STATS \
    "count (*) AS tasks, count (*) FILTER (WHERE t.state = 'done') AS done, " \
    "count (*) FILTER (WHERE t.state = 'done_by_note') AS by_note, " \
    "count (*) FILTER (WHERE t.state IN " S_OPEN_STATES ") AS open, " \
    "count (*) FILTER (WHERE t.state = 'expired') AS expired, count (*) FILTER (WHERE t.state = 'cancelled') AS cancelled, " \
    "count (*) FILTER (WHERE t.escalated_at IS NOT NULL) AS escalated, " \
    "coalesce (round (100.0 * count (*) FILTER (WHERE t.state IN ('done', 'done_by_note')) " \
    "  / nullif (count (*) FILTER (WHERE t.state <> 'cancelled'), 0), 1), 100) AS completion_pct, " \
    "coalesce (round ((percentile_cont (0.5) WITHIN GROUP (ORDER BY extract (epoch FROM t.closed_at - t.created_at)) " \
    "  FILTER (WHERE t.state IN ('done', 'done_by_note')))::numeric / 60, 1)::text, '') AS median_min, " \
    "coalesce (round ((percentile_cont (0.9) WITHIN GROUP (ORDER BY extract (epoch FROM t.closed_at - t.created_at)) " \
    "  FILTER (WHERE t.state IN ('done', 'done_by_note')))::numeric / 60, 1)::text, '') AS p90_min "
#define S_TASK_WINDOW \
    "t.brand_id = $1 AND t.created_at >= coalesce ($2::date, current_date - 29) " \
    "AND t.created_at < coalesce ($3::date, current_date) + 1"

void qyctl_tasks_report (const char *bid, const char *since, const char *until, const char *format, bool always)
{
    const char *p [] = { bid, since, until };
    if (!always) {
        //  A brand that never had a task (a gateway brand) reads as before.
        PGresult *res = qyctl_exec ("SELECT 1 FROM staff_tasks WHERE brand_id = $1 LIMIT 1", 1, p);
        bool any = PQntuples (res) > 0;
        PQclear (res);
        if (!any)
            return;
    }
    s_section ("staff tasks per store", qyctl_exec ("SELECT coalesce (s.code, '-') AS store, coalesce (s.name, '') AS name, t.kind, " S_TASK_STATS
                         "FROM staff_tasks t LEFT JOIN stores s ON s.id = t.store_id WHERE " S_TASK_WINDOW " "
                         "GROUP BY s.code, s.name, t.kind ORDER BY 1, 3", 3, p), format);
    s_section ("staff tasks per staff member (group owner)", qyctl_exec ("SELECT coalesce (t.owner_userid, '-') AS staff, "
                         "  coalesce ((SELECT coalesce (o.nickname, m.nickname) FROM members m "
                         "             LEFT JOIN memberships o ON o.member_id = m.id AND o.role = 'owner' "
                         "             WHERE m.brand_id = t.brand_id AND m.user_id = t.owner_userid "
                         "             ORDER BY o.nickname IS NULL LIMIT 1), '') AS name, " S_TASK_STATS
                         "FROM staff_tasks t WHERE " S_TASK_WINDOW " GROUP BY t.brand_id, t.owner_userid ORDER BY 1", 3, p), format);
}

int qyctl_tasks (int argc, char **argv)
{
    s_args_t a;
    s_parse (argc, argv, &a);
    const char *sub = a.npos ? a.pos [0] : "";
    int want = strcmp (sub, "show") == 0 || strcmp (sub, "done") == 0 || strcmp (sub, "reassign") == 0 ? 3
             : strcmp (sub, "list") == 0 || strcmp (sub, "managers") == 0 || strcmp (sub, "report") == 0 ? 2 : 0;
    if (!want) {
        fprintf (stderr, "qyctl tasks: %s\n%s\n", *sub ? "unknown subcommand" : "missing subcommand", s_usage);
        return 2;
    }
    s_want (&a, want);
    if (strcmp (sub, "done") == 0)
        s_need (a.note, "--note");
    if (strcmp (sub, "reassign") == 0)
        s_need (a.to, "--to");
    if (strcmp (sub, "managers") == 0)
        s_need (a.userid, "--userid");
    int64_t brand_id = qyctl_brand_id (a.pos [1]);
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) brand_id);
    if (strcmp (sub, "list") == 0)
        return s_list (&a, bid);
    if (strcmp (sub, "show") == 0)
        return s_show (&a, bid);
    if (strcmp (sub, "done") == 0)
        return s_done (&a, bid, brand_id);
    if (strcmp (sub, "reassign") == 0)
        return s_reassign (&a, bid, brand_id);
    if (strcmp (sub, "managers") == 0)
        return s_managers (&a, bid, brand_id);
    qyctl_tasks_report (bid, a.since, a.until, a.format, true);
    qyctl_sections_end (a.format);
    return 0;
}

//  Our attempt on the official API is a mass send its owner must confirm:
//  only a send WeCom reports sent counts as staff's, shown beside ours
//  (the jobs campaign sent). Same jobs as campaign report's compliance.
void qyctl_tasks_compliance (const char *const *p, const char *format)
{
    PGresult *res = qyctl_exec ("SELECT 1 FROM brand_edges WHERE brand_id = $1 AND capability = 'official'", 1, p);
    bool official = PQntuples (res) == 1;
    PQclear (res);
    if (!official)
        return;
    //  Titled as campaign report's parts are (a line before it), but in JSON.
    const char *title = "SOP compliance per store: posts staff sent (WeCom's official API)";
    res = qyctl_exec (
        "SELECT coalesce (s.code, '-') AS store, coalesce (s.name, '') AS name, "
        "  count (*) FILTER (WHERE j.status = 'sent') AS we_sent, count (t.id) AS need_staff, "
        "  count (*) FILTER (WHERE w.status = 'sent') AS staff_sent, "
        "  count (t.id) FILTER (WHERE t.state IN " S_OPEN_STATES ") AS waiting, "
        "  count (t.id) FILTER (WHERE t.state IN ('expired', 'cancelled')) AS staff_missed, "
        "  coalesce (round (100.0 * count (*) FILTER (WHERE w.status = 'sent') / nullif (count (t.id), 0), 1)::text, '') AS staff_pct "
        "FROM campaign_jobs j JOIN groups g ON g.id = j.group_id AND g.brand_id = j.brand_id "
        "LEFT JOIN stores s ON s.id = g.store_id AND s.brand_id = j.brand_id "
        "LEFT JOIN staff_tasks t ON t.brand_id = j.brand_id AND t.source_key = j.delivery_key "
        "LEFT JOIN wecom_sends w ON w.brand_id = j.brand_id AND w.delivery_key = j.delivery_key "
        "WHERE j.brand_id = $1 AND j.period !~ '^w[0-9]+$' AND j.due_at >= $2::timestamptz "
        "  AND j.due_at < least ($3::timestamptz, now ()) "
        "GROUP BY s.code, s.name ORDER BY 1", 3, p);
    if (strcmp (format, "json") == 0) {
        s_section (title, res, format);
        return;
    }
    printf ("\n%s\n", title);
    s_print (res, format);
}
