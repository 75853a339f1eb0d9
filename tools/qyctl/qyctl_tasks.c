//  qyctl tasks: the staff task loop (docs/tasks.md) as operators see it:
//  list, show, done (with a note), reassign, the managers tasks escalate to,
//  and completion reports per store and per staff member.
#include "qyctl.h"
#include "qy/pg.h"
#include "qy/tasks_report.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *state, *kind, *store, *region, *assignee, *limit, *format, *note, *by, *to, *name, *userid, *since, *until;
    const char *pos [4];
    int npos;
} s_args_t;

//  The options and words qyctl parsed from qyctl_tasks_commands (before
//  anything connected: unknown options, missing values, values outside
//  their sets and wrong argument counts were refused there, exit 2).
static void s_parse (s_args_t *a)
{
    memset (a, 0, sizeof (*a));
    a->state = qyctl_opt ("state", NULL);
    a->kind = qyctl_opt ("kind", NULL);
    a->store = qyctl_opt ("store", NULL);
    a->region = qyctl_opt ("region", NULL);
    a->assignee = qyctl_opt ("assignee", NULL);
    a->limit = qyctl_opt ("limit", "100");
    a->format = qyctl_opt ("format", "table");
    a->note = qyctl_opt ("note", NULL);
    a->by = qyctl_opt ("by", NULL);
    a->to = qyctl_opt ("to", NULL);
    a->name = qyctl_opt ("name", NULL);
    a->userid = qyctl_opt ("userid", NULL);
    a->since = qyctl_opt ("since", NULL);
    a->until = qyctl_opt ("until", NULL);
    while (a->npos < (int) QY_ARRAY_LEN (a->pos) && qyctl_arg (a->npos))
        a->pos [a->npos] = qyctl_arg (a->npos), a->npos++;
}

static void s_need (const char *value, const char *what)
{
    if (!value || !*value)
        qyctl_usage_error ("%s is required", what);
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

#define S_OPEN_STATES QY_TASKS_OPEN_STATES

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
        "  handovers = handovers + 1, next_at = now (), ladder_from = now () "
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
    if (!!a->store == !!a->region)
        qyctl_usage_error ("tasks managers: give exactly one of --store or --region");
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
    s_section ("staff tasks per store", qyctl_exec (QY_TASKS_PER_STORE_SQL, 3, p), format);
    s_section ("staff tasks per staff member (group owner)", qyctl_exec (QY_TASKS_PER_STAFF_SQL, 3, p), format);
}

int qyctl_tasks (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    s_args_t a;
    s_parse (&a);
    const char *sub = a.pos [0];
    if (strcmp (sub, "done") == 0)
        s_need (a.note, "--note");
    if (strcmp (sub, "reassign") == 0)
        s_need (a.to, "--to");
    if (strcmp (sub, "managers") == 0)
        s_need (a.userid, "--userid");
    int64_t brand_id = qyctl_brand_id (a.pos [1]);
    char bid [24];
    qy_pg_i64 (bid, brand_id);
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

static const char *const s_kinds [] = { "post", "answer", "remove", "recall_warn", NULL };
static const char *const s_states [] = { "open", "closed", "all", "reminded", "escalated", "done", "done_by_note",
                                         "expired", "cancelled", NULL };
static const qyctl_option_t s_list_opts [] = {
    { "state",    QYCTL_VALUE, "S",    "open (default: open, reminded, escalated), closed, all, or one state", s_states },
    { "kind",     QYCTL_VALUE, "K",    "only tasks of that kind", s_kinds },
    { "store",    QYCTL_VALUE, "CODE", "only that store's" },
    { "assignee", QYCTL_VALUE, "U",    "only those assigned to that WeCom userid" },
    { "limit",    QYCTL_VALUE, "N",    "rows to show (default 100)" },
    { NULL }
};
static const qyctl_option_t s_done_opts [] = {
    { "note", QYCTL_VALUE, "TEXT",   "what was done (required; recorded as done_by_note)" },
    { "by",   QYCTL_VALUE, "USERID", "who did it (default: the assignee)" },
    { NULL }
};
static const qyctl_option_t s_reassign_opts [] = {
    { "to",   QYCTL_VALUE, "USERID", "the staff member's WeCom userid (required)" },
    { "name", QYCTL_VALUE, "NAME",   "their name, for the notice" },
    { NULL }
};
static const qyctl_option_t s_managers_opts [] = {
    { "store",  QYCTL_VALUE, "CODE",   "the store whose manager this is" },
    { "region", QYCTL_VALUE, "CODE",   "the region whose manager this is" },
    { "userid", QYCTL_VALUE, "USERID", "the manager's WeCom userid (required)" },
    { "name",   QYCTL_VALUE, "NAME",   "their name" },
    { NULL }
};
static const qyctl_option_t s_report_opts [] = {
    { "since", QYCTL_VALUE, "DATE", "from this day (default: 29 days ago)" },
    { "until", QYCTL_VALUE, "DATE", "to this day, included (default: today)" },
    { NULL }
};
const qyctl_command_t qyctl_tasks_commands [] = {
    { "tasks list", "BRAND", 1, 1, s_list_opts, "staff tasks (docs/tasks.md)" },
    { "tasks show", "BRAND ID", 2, 2, NULL, "one task with its evidence and notices" },
    { "tasks done", "BRAND ID", 2, 2, s_done_opts, "close a task by a staff member's word, with a note" },
    { "tasks reassign", "BRAND ID", 2, 2, s_reassign_opts, "hand a task to another staff member (notified at once)" },
    { "tasks managers", "BRAND", 1, 1, s_managers_opts, "set the store or region manager tasks escalate to" },
    { "tasks report", "BRAND", 1, 1, s_report_opts, "completion and time to complete per store and staff member" },
    { NULL }
};
