//  The staff task loop (docs/tasks.md) in the console: the tasks of the
//  user's scope (row-level security narrows staff_tasks by group), one
//  task with its evidence (the page the loop's notices link to), done by
//  a note as `qyctl tasks done` records it, and the completion report
//  with the very SQL `qyctl tasks report` prints (qy/tasks_report.h).
#include "console_int.h"
#include "qy/tasks_report.h"
#include <stdlib.h>
#include <string.h>

static const char *const s_states [] = { "open", "overdue", "done", "closed", "all", "reminded", "escalated",
                                         "done_by_note", "expired", "cancelled" };
static const char *const s_kinds [] = { "post", "answer", "remove", "recall_warn" };

static bool s_in (const char *v, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (v, set [i]) == 0)
            return true;
    return false;
}

#define S_OVERDUE "(t.state IN " QY_TASKS_OPEN_STATES " AND t.due_at < now ())"

void console_api_tasks (console_req_t *r)
{
    const char *state = console_arg (r, "state") ? console_arg (r, "state") : "open", *kind = console_arg (r, "kind");
    long limit = 50, after = 0;
    if (!s_in (state, s_states, QY_ARRAY_LEN (s_states))) {
        console_error (r, 400, "bad parameter state: want open, overdue, done, closed, all or one task state");
        return;
    }
    if (kind && !s_in (kind, s_kinds, QY_ARRAY_LEN (s_kinds))) {
        console_error (r, 400, "bad parameter kind: want post, answer, remove or recall_warn");
        return;
    }
    if (console_long_arg (console_arg (r, "limit"), 50, 1, 500, &limit)
     || console_long_arg (console_arg (r, "after"), 0, 0, 10000000, &after)) {
        console_error (r, 400, "bad parameter limit or after: want limit 1 to 500, after the next of a page");
        return;
    }
    char lim [24], off [24];
    qy_snprintf (lim, sizeof (lim), "%ld", limit);
    qy_snprintf (off, sizeof (off), "%ld", after);
    const char *p [] = { state, console_arg (r, "store"), console_arg (r, "assignee"), kind, lim, off };
    console_sql_json (r, "tasks",
        "WITH page AS (SELECT t.id, t.kind, t.state, " S_OVERDUE " AS overdue, g.code AS \"group\", g.name AS group_name, "
        "  s.code AS store, coalesce (ms.nickname, m.nickname, t.member_user) AS member, t.reason, t.assignee, "
        "  t.assignee_name, t.owner_userid AS owner, t.level, t.created_at, t.due_at, t.closed_at, t.closed_by, "
        "  t.close_evidence, count (*) OVER () AS total "
        " FROM staff_tasks t LEFT JOIN groups g ON g.id = t.group_id LEFT JOIN stores s ON s.id = t.store_id "
        " LEFT JOIN members m ON m.id = t.member_id "
        " LEFT JOIN memberships ms ON ms.group_id = t.group_id AND ms.member_id = t.member_id "
        " WHERE CASE $1 WHEN 'all' THEN true WHEN 'open' THEN t.state IN " QY_TASKS_OPEN_STATES " "
        "   WHEN 'overdue' THEN " S_OVERDUE " WHEN 'done' THEN t.state IN ('done', 'done_by_note') "
        "   WHEN 'closed' THEN t.state NOT IN " QY_TASKS_OPEN_STATES " ELSE t.state = $1 END "
        "   AND ($2::text IS NULL OR s.code = $2) AND ($3::text IS NULL OR t.assignee = $3 OR t.owner_userid = $3) "
        "   AND ($4::text IS NULL OR t.kind = $4) "
        " ORDER BY t.id DESC LIMIT $5::int OFFSET $6::int) "
        "SELECT json_build_object ('items', coalesce (json_agg (to_jsonb (page) - 'total' ORDER BY page.id DESC), '[]'), "
        " 'total', coalesce (max (total), 0), "
        " 'next', CASE WHEN max (total) > $5::int + $6::int THEN ($5::int + $6::int)::text END) FROM page", 6, p);
}

//  The task, what caused it (the violation, or the campaign step of a
//  post), the customer's message in the archive (its id as search gives
//  it) and the notices the loop sent about it.
void console_api_task (console_req_t *r)
{
    console_sql_json (r, "task",
        "SELECT to_jsonb (x) FROM (SELECT t.id, t.kind, t.state, " S_OVERDUE " AS overdue, t.level, t.stage, "
        "  g.code AS \"group\", g.name AS group_name, s.code AS store, s.name AS store_name, t.member_user AS user_id, "
        "  coalesce (ms.nickname, m.nickname) AS member, t.content, t.target_msg_id, t.mute_until, t.reason, "
        "  t.owner_userid AS owner, t.assignee, t.assignee_name, t.handovers, t.created_at, t.due_at, t.notified_at, "
        "  t.reminded_at, t.escalated_at, t.closed_at, t.closed_by, t.close_evidence, t.note, "
        "  (SELECT json_build_object ('id', v.id, 'category', v.category, 'action', v.action, 'status', v.status, "
        "     'rules', v.rules, 'excerpt', v.excerpt, 'created_at', v.created_at) FROM violations v WHERE v.id = t.violation_id) AS violation, "
        "  (SELECT json_build_object ('job', j.id, 'campaign', c.name, 'step', j.step, 'period', j.period, 'due_at', j.due_at, "
        "     'status', j.status, 'text', j.text) FROM campaign_jobs j JOIN campaigns c ON c.id = j.campaign_id "
        "   WHERE j.id = t.campaign_job_id) AS campaign_step, "
        "  json_build_object ('msg_id', t.evidence_msg_id, 'text', t.evidence_text, 'at', t.evidence_at, "
        "   'id', (SELECT (extract (epoch FROM mm.event_time) * 1000000)::bigint || '.' || mm.msg_id FROM messages mm "
        "     WHERE mm.brand_id = t.brand_id AND mm.msg_id = t.evidence_msg_id "
        "       AND mm.event_time >= coalesce (t.evidence_at, t.created_at) - interval '1 day' "
        "       AND mm.event_time <= coalesce (t.evidence_at, t.created_at) + interval '1 day' LIMIT 1)) AS message, "
        "  (SELECT coalesce (json_agg (json_build_object ('key', d.key, 'touser', d.payload ->> 'touser', 'status', d.status, "
        "     'created_at', d.created_at, 'delivered_at', d.delivered_at) ORDER BY d.created_at), '[]') FROM deliveries d "
        "   WHERE d.brand_id = t.brand_id AND d.source = 'tasks' AND d.key LIKE 'task:' || t.id || ':%') AS notices "
        " FROM staff_tasks t LEFT JOIN groups g ON g.id = t.group_id LEFT JOIN stores s ON s.id = t.store_id "
        " LEFT JOIN members m ON m.id = t.member_id "
        " LEFT JOIN memberships ms ON ms.group_id = t.group_id AND ms.member_id = t.member_id "
        " WHERE t.id = $1::bigint) x", 1, (const char *[]) { r->seg [1] });
}

//  Done by hand, as `qyctl tasks done` records it: done_by_note with the
//  note and who, never as evidence. A task outside the scope is not
//  found; one already closed is a conflict.
void console_api_task_done (console_req_t *r)
{
    const char *note = json_string_value (json_object_get (r->json, "note"));
    if (!note || !*note || strlen (note) > 1000) {
        console_error (r, 400, "send {\"note\": \"what was done\"} (1–1000 bytes)");
        return;
    }
    char by [160];
    qy_snprintf (by, sizeof (by), "console:%s", r->who.login);
    const char *p [] = { r->seg [1], note, by };
    PGresult *res = console_sql (r,
        "UPDATE staff_tasks SET state = 'done_by_note', closed_at = now (), closed_by = $3, note = $2, "
        "  close_evidence = 'note: ' || $2 WHERE id = $1::bigint AND state IN " QY_TASKS_OPEN_STATES " RETURNING brand_id", 3, p);
    if (!res)
        return;
    if (PQntuples (res) == 1) {
        char *json = qy_printf ("{\"id\":%s,\"state\":\"done_by_note\"}", r->seg [1]);
        console_audited_reply (r, console_brand_of (r, PQgetvalue (res, 0, 0)), "task.done_by_note", "staff_task", r->seg [1], json);
        free (json);
        PQclear (res);
        return;
    }
    PQclear (res);
    res = console_sql (r, "SELECT state FROM staff_tasks WHERE id = $1::bigint", 1, p);
    if (!res)
        return;
    if (PQntuples (res) == 0)
        console_error (r, 404, "no such task");
    else
        console_error (r, 409, "task %s is %s, not open", r->seg [1], PQgetvalue (res, 0, 0));
    PQclear (res);
}

//  Completion per store and kind and per staff member, as `qyctl tasks
//  report` prints it, over the rows of the scope (since/until: days).
void console_api_tasks_report (console_req_t *r)
{
    const char *bid = console_brand (r);
    if (!bid)
        return;
    const char *p [] = { bid, console_arg (r, "since"), console_arg (r, "until") };
    console_sql_json (r, "report",
        "SELECT json_build_object ("
        " 'stores', (SELECT coalesce (json_agg (x), '[]') FROM (" QY_TASKS_PER_STORE_SQL ") x), "
        " 'staff', (SELECT coalesce (json_agg (y), '[]') FROM (" QY_TASKS_PER_STAFF_SQL ") y))", 3, p);
}
