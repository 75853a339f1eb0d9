//  The staff task loop's storage: tasks recorded at notifier's intake, and
//  the periodic pass that closes them on evidence and moves the rest along
//  their ladder (docs/tasks.md). Decisions are in notifier_tasks_rules.c.
#include "notifier_tasks.h"
#include "notifier.h"
#include "qy/log.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

//  ------------------------------------------------------------ intake

//  One task to record, merged by source key within a batch (the recall,
//  warning and mute of one message arrive together, and one statement may
//  not touch a row twice).
typedef struct {
    int64_t     brand_id, group_id, until_us;
    char       *source_key;
    tasks_kind_t kind;
    const char *group, *member, *content, *target, *reason, *delivery_key, *event_id;
} s_row_t;

//  Which brands of the batch are official. Returns a map (brand id → 1) or
//  NULL if PostgreSQL failed; an empty map when none is.
static qy_map_t *s_official (qy_pg_t *pg, Qy__Delivery **ds, size_t n)
{
    qy_pg_cols_t ids;
    qy_pg_cols_init (&ids, 1);
    for (size_t i = 0; i < n; i++) {
        qy_pg_cols_row (&ids);
        qy_pg_cols_int (&ids, 0, ds [i]->brand_id);
    }
    const char *p [1];
    qy_pg_cols_params (&ids, p);
    PGresult *res;
    bool ok = qy_pg_run (pg, "task edges", "SELECT brand_id FROM brand_edges WHERE capability = 'official' "
                         "AND brand_id = ANY ($1::bigint[])", 1, p, &res);
    qy_pg_cols_free (&ids);
    if (!ok)
        return NULL;
    qy_map_t *official = qy_map_new ();
    for (int r = 0; r < PQntuples (res); r++)
        qy_map_put (official, PQgetvalue (res, r, 0), 1);
    PQclear (res);
    return official;
}

//  The task a delivery makes: a post is its own delivery; moderation's
//  recall, warning and mute of one message in one group are one task.
static void s_row_of (const Qy__Delivery *d, tasks_kind_t kind, s_row_t *row)
{
    memset (row, 0, sizeof (*row));
    row->brand_id = d->brand_id;
    row->group_id = d->group_id;
    row->kind = kind;
    row->member = row->content = row->target = row->delivery_key = "";
    row->group = d->group ? d->group : "";
    row->reason = d->reason ? d->reason : "";
    row->event_id = d->event_id ? d->event_id : "";
    row->source_key = notifier_tasks_source_key (d, kind);
    if (kind == TASKS_K_ANSWER && d->kind && strcmp (d->kind, "alert") == 0) {
        //  A customer to answer (a complaint, a question left waiting): no
        //  post of ours to confirm; the evidence is their message.
        row->content = d->text ? d->text : "";
        row->member = d->member ? d->member : "";
        return;
    }
    if (kind == TASKS_K_POST || kind == TASKS_K_ANSWER) {
        row->delivery_key = d->key;
        row->content = d->text ? d->text : "";
        row->member = kind == TASKS_K_ANSWER ? d->mentions [0] : "";
        return;
    }
    row->member = d->member ? d->member : "";
    row->content = d->text ? d->text : "";      //  the warning, or the notice of the removal
    row->target = d->action == QY__ACTION__RECALL && d->target_msg_id ? d->target_msg_id : "";
    row->until_us = d->action == QY__ACTION__MUTE ? d->until_us : 0;
}

static void s_merge (s_row_t *into, const s_row_t *row)
{
    if (!*into->content)
        into->content = row->content;
    if (!*into->target)
        into->target = row->target;
    if (row->until_us > into->until_us)
        into->until_us = row->until_us;
}

#define S_COLS 12
static bool s_insert (qy_pg_t *pg, const s_row_t *rows, size_t n)
{
    qy_pg_cols_t a;
    qy_pg_cols_init (&a, S_COLS);
    for (size_t i = 0; i < n; i++) {
        const s_row_t *r = &rows [i];
        qy_pg_cols_row (&a);
        qy_pg_cols_int (&a, 0, r->brand_id);
        qy_pg_cols_text (&a, 1, r->source_key);
        qy_pg_cols_text (&a, 2, notifier_tasks_kind_name (r->kind));
        qy_pg_cols_int (&a, 3, r->group_id);
        qy_pg_cols_text (&a, 4, r->group);
        qy_pg_cols_text (&a, 5, r->member);
        qy_pg_cols_text (&a, 6, r->content);
        qy_pg_cols_text (&a, 7, r->target);
        qy_pg_cols_int (&a, 8, r->until_us);
        qy_pg_cols_text (&a, 9, r->reason);
        qy_pg_cols_text (&a, 10, r->delivery_key);
        qy_pg_cols_text (&a, 11, r->event_id);
    }
    const char *p [S_COLS];
    qy_pg_cols_params (&a, p);
    //  The group by id (or by code when the producer gave none), the member
    //  by user id, a post's SOP job, and the violation that is the evidence:
    //  the message's own, or for a removal the block's.
    bool ok = qy_pg_run (pg, "task insert",
        "INSERT INTO staff_tasks (brand_id, source_key, kind, group_id, store_id, member_id, member_user, content, "
        "  target_msg_id, mute_until, reason, violation_id, delivery_key, campaign_job_id, evidence_msg_id, evidence_text, evidence_at) "
        "SELECT x.b, x.sk, x.k, g.id, g.store_id, m.id, nullif (x.mu, ''), nullif (x.c, ''), nullif (x.tm, ''), "
        "  CASE WHEN x.u > 0 THEN 'epoch'::timestamptz + x.u * interval '1 microsecond' END, nullif (x.r, ''), "
        "  v.id, nullif (x.dk, ''), j.id, coalesce (v.msg_id, nullif (x.ev, '')), v.excerpt, v.event_time "
        "FROM unnest ($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], "
        "             $9::bigint[], $10::text[], $11::text[], $12::text[]) AS x (b, sk, k, gid, gc, mu, c, tm, u, r, dk, ev) "
        "LEFT JOIN LATERAL (SELECT id, store_id FROM groups WHERE brand_id = x.b AND id = x.gid "
        "                   UNION ALL SELECT id, store_id FROM groups WHERE x.gid = 0 AND brand_id = x.b AND code = x.gc LIMIT 1) g ON true "
        "LEFT JOIN members m ON m.brand_id = x.b AND m.user_id = nullif (x.mu, '') "
        "LEFT JOIN campaign_jobs j ON j.brand_id = x.b AND j.delivery_key = nullif (x.dk, '') "
        "LEFT JOIN LATERAL (SELECT id, msg_id, excerpt, event_time FROM violations WHERE x.k IN ('remove', 'recall_warn') "
        "                     AND brand_id = x.b AND msg_id = x.ev "
        "                   UNION ALL SELECT vv.id, vv.msg_id, vv.excerpt, vv.event_time FROM blocks bl "
        "                     JOIN violations vv ON vv.id = bl.violation_id "
        "                   WHERE x.k = 'remove' AND bl.brand_id = x.b AND bl.member_id = m.id AND bl.lifted_at IS NULL "
        "                   LIMIT 1) v ON true "
        "ON CONFLICT (brand_id, source_key) DO UPDATE SET "
        "  target_msg_id = coalesce (staff_tasks.target_msg_id, EXCLUDED.target_msg_id), "
        "  content = coalesce (staff_tasks.content, EXCLUDED.content), "
        "  mute_until = greatest (staff_tasks.mute_until, EXCLUDED.mute_until) "
        "WHERE staff_tasks.state IN ('open', 'reminded', 'escalated')", S_COLS, p, NULL);
    qy_pg_cols_free (&a);
    return ok;
}

int notifier_tasks_intake (qy_pg_t *pg, Qy__Delivery **ds, size_t n, bool *keep)
{
    for (size_t i = 0; i < n; i++)
        keep [i] = true;
    qy_map_t *official = s_official (pg, ds, n);
    if (!official)
        return -1;
    if (!qy_map_size (official)) {
        qy_map_destroy (&official);
        return 0;
    }
    s_row_t *rows = qy_calloc (n, sizeof (s_row_t));
    qy_map_t *at = qy_map_new ();       //  source key → index in rows
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        char bid [24];
        qy_snprintf (bid, sizeof (bid), "%lld", (long long) ds [i]->brand_id);
        tasks_kind_t kind;
        tasks_route_t route = notifier_tasks_route (qy_map_get (official, bid, NULL) ? TASKS_CAP_OFFICIAL
                                                                                    : TASKS_CAP_GATEWAY, ds [i], &kind);
        if (route == TASKS_DELIVER)
            continue;
        keep [i] = route == TASKS_BOTH;
        s_row_of (ds [i], kind, &rows [nr]);
        int64_t k;
        if (qy_map_get (at, rows [nr].source_key, &k)) {
            s_merge (&rows [k], &rows [nr]);
            free (rows [nr].source_key);
            continue;
        }
        qy_map_put (at, rows [nr].source_key, (int64_t) nr);
        qy_log_info ("task opened delivery=%s brand=%lld kind=%s source=%s sent=%s", ds [i]->key, (long long) ds [i]->brand_id,
                     notifier_tasks_kind_name (kind), rows [nr].source_key, keep [i] ? "also" : "no: official edge");
        nr++;
    }
    int rc = nr == 0 ? 0 : s_insert (pg, rows, nr) ? (int) nr : -1;
    for (size_t i = 0; i < nr; i++)
        free (rows [i].source_key);
    free (rows);
    qy_map_destroy (&at);
    qy_map_destroy (&official);
    return rc;
}

//  ------------------------------------------------------------ closing on evidence

#define S_OPEN "('open', 'reminded', 'escalated')"

//  Each statement closes the tasks one kind of evidence proves done. They
//  touch only open rows, so replicas running them at once close each task
//  once (the second finds it closed). WeCom's callbacks carry whole
//  seconds: archive evidence counts from the second its cause happened.
static const struct { const char *name, *sql; } s_closers [] = {
    //  The connector read the mass send's result: sent (done) or failed.
    { "task close sends",
      "UPDATE staff_tasks t SET state = CASE w.status WHEN 'sent' THEN 'done' ELSE 'cancelled' END, "
      "  closed_at = coalesce (w.sent_at, w.checked_at, now ()), closed_by = 'wecom', "
      "  close_evidence = 'wecom_sends ' || w.status || ' msgid=' || w.msgid, next_at = now () "
      "FROM wecom_sends w WHERE t.state IN " S_OPEN " AND t.kind IN ('post', 'answer') "
      "AND w.brand_id = t.brand_id AND w.delivery_key = t.delivery_key AND w.status IN ('sent', 'failed')" },
    //  The post's delivery was refused for good: nobody can confirm it.
    { "task close dead",
      "UPDATE staff_tasks t SET state = 'cancelled', closed_at = now (), closed_by = 'notifier', "
      "  close_evidence = 'delivery dead: ' || coalesce (d.last_error, ''), next_at = now () "
      "FROM deliveries d WHERE t.state IN " S_OPEN " AND t.kind IN ('post', 'answer') "
      "AND d.key = t.delivery_key AND d.status = 'dead'" },
    //  The archive shows the owner writing in the group after the task was
    //  made (the post, the answer, or the warning given by hand). One look
    //  per group and owner: their latest message since the oldest such task.
    { "task close posted",
      "WITH p AS (SELECT t.brand_id, t.group_id, t.owner_userid, min (t.created_at) AS since FROM staff_tasks t "
      "           WHERE t.state IN " S_OPEN " AND t.owner_userid IS NOT NULL "
      "             AND (t.kind IN ('post', 'answer') OR (t.kind = 'recall_warn' AND t.target_msg_id IS NULL)) "
      "           GROUP BY 1, 2, 3), "
      "e AS (SELECT p.brand_id, p.group_id, p.owner_userid, x.msg_id, x.event_time FROM p "
      "      JOIN members o ON o.brand_id = p.brand_id AND o.user_id = p.owner_userid "
      "      JOIN LATERAL (SELECT m.msg_id, m.event_time FROM messages m "
      "                    WHERE m.brand_id = p.brand_id AND m.group_id = p.group_id AND m.member_id = o.id "
      "                      AND m.event_time >= date_trunc ('second', p.since) "
      "                      AND m.kind NOT IN ('join', 'leave', 'rename', 'revoke', 'purchase', 'coupon_redeemed') "
      "                    ORDER BY m.event_time DESC LIMIT 1) x ON true) "
      "UPDATE staff_tasks t SET state = 'done', closed_at = e.event_time, closed_by = 'archive', "
      "  close_evidence = 'message ' || e.msg_id || ' from the owner', next_at = now () "
      "FROM e WHERE t.brand_id = e.brand_id AND t.group_id = e.group_id AND t.owner_userid = e.owner_userid "
      "  AND t.state IN " S_OPEN " AND e.event_time >= date_trunc ('second', t.created_at) "
      "  AND (t.kind IN ('post', 'answer') OR (t.kind = 'recall_warn' AND t.target_msg_id IS NULL))" },
    //  The member was removed by an admin from that group after the offence
    //  (WeCom's del_member with QuitScene 1 → a leave 'removed'): the
    //  membership says so (one key look-up), the archive names the leave.
    { "task close removed",
      "UPDATE staff_tasks t SET state = 'done', closed_at = ms.left_at, closed_by = 'archive', "
      "  close_evidence = 'leave ' || coalesce ((SELECT m.msg_id FROM messages m WHERE m.brand_id = t.brand_id "
      "      AND m.group_id = t.group_id AND m.event_time = ms.left_at AND m.member_id = t.member_id AND m.kind = 'leave' LIMIT 1), '') "
      "    || ' removed by admin', next_at = now () "
      "FROM memberships ms WHERE t.state IN " S_OPEN " AND t.kind = 'remove' "
      "  AND ms.group_id = t.group_id AND ms.member_id = t.member_id AND ms.leave_reason = 'removed' "
      "  AND ms.left_at >= date_trunc ('second', least (t.evidence_at, t.created_at))" },
    //  The customer's complaint or question was answered by a staff member
    //  (moderation saw their message in the group after it), named by their
    //  user id as the console and qyctl show people, not members.id.
    { "task close complaint answered",
      "UPDATE staff_tasks t SET state = 'done', closed_at = c.answered_at, closed_by = 'archive', "
      "  close_evidence = 'answered by staff member ' || coalesce ((SELECT m.user_id FROM members m WHERE m.id = c.answered_by), "
      "                                                  c.answered_by::text), next_at = now () "
      "FROM complaints c WHERE t.state IN " S_OPEN " AND t.kind = 'answer' AND t.reason = 'complaint' "
      "  AND c.brand_id = t.brand_id AND c.msg_id = t.evidence_msg_id AND c.answered_at IS NOT NULL" },
    { "task close question answered",
      "UPDATE staff_tasks t SET state = 'done', closed_at = q.answered_at, closed_by = 'archive', "
      "  close_evidence = 'answered by staff member ' || coalesce ((SELECT m.user_id FROM members m WHERE m.id = q.answered_by), "
      "                                                  q.answered_by::text), next_at = now () "
      "FROM moderation_questions q WHERE t.state IN " S_OPEN " AND t.kind = 'answer' AND t.reason = 'unanswered' "
      "  AND q.brand_id = t.brand_id AND q.msg_id = t.evidence_msg_id AND q.answered_at IS NOT NULL" },
    //  The offending message was recalled (a revoke of it in the archive).
    //  One look per group at its revokes since its oldest such task.
    { "task close recalled",
      "WITH g AS (SELECT brand_id, group_id, min (least (evidence_at, created_at)) AS since FROM staff_tasks "
      "           WHERE state IN " S_OPEN " AND kind = 'recall_warn' AND target_msg_id IS NOT NULL GROUP BY 1, 2), "
      "r AS (SELECT m.brand_id, m.group_id, m.msg_id, m.event_time, m.extra->>'ref_msg_id' AS ref FROM g "
      "      JOIN messages m ON m.brand_id = g.brand_id AND m.group_id = g.group_id "
      "       AND m.event_time >= date_trunc ('second', g.since) AND m.kind = 'revoke') "
      "UPDATE staff_tasks t SET state = 'done', closed_at = r.event_time, closed_by = 'archive', "
      "  close_evidence = 'revoke ' || r.msg_id || ' of ' || t.target_msg_id, next_at = now () "
      "FROM r WHERE t.brand_id = r.brand_id AND t.group_id = r.group_id AND t.target_msg_id = r.ref "
      "  AND t.kind = 'recall_warn' AND t.state IN " S_OPEN },
};

//  One replica at a time looks for evidence (a transaction-scoped advisory
//  lock; the others skip it this pass): two closers locking the same rows
//  in different orders could deadlock each other.

static int64_t s_close (qy_pg_t *pg)
{
    PGresult *res;
    if (!qy_pg_run (pg, "task begin", "BEGIN", 0, NULL, NULL))
        return -1;
    if (!qy_pg_run (pg, "task close lock", "SELECT pg_try_advisory_xact_lock (7405065, 1)", 0, NULL, &res)) {
        qy_pg_run (pg, "task rollback", "ROLLBACK", 0, NULL, NULL);
        return -1;
    }
    bool mine = PQgetvalue (res, 0, 0) [0] == 't';
    PQclear (res);
    int64_t closed = 0;
    for (size_t i = 0; mine && i < QY_ARRAY_LEN (s_closers); i++) {
        if (!qy_pg_run (pg, s_closers [i].name, s_closers [i].sql, 0, NULL, &res)) {
            qy_pg_run (pg, "task rollback", "ROLLBACK", 0, NULL, NULL);
            return -1;
        }
        int n = atoi (PQcmdTuples (res));
        PQclear (res);
        if (n > 0)
            qy_log_info ("tasks closed=%d evidence=%s", n, s_closers [i].name + strlen ("task close "));
        closed += n;
    }
    if (!qy_pg_run (pg, "task commit", "COMMIT", 0, NULL, NULL)) {
        qy_pg_run (pg, "task rollback", "ROLLBACK", 0, NULL, NULL);
        return -1;
    }
    return closed;
}

//  ------------------------------------------------------------ the ladder

enum { C_ID, C_BRAND, C_KIND, C_STAGE, C_FROM, C_HANDOVERS, C_SETTINGS, C_TZ, C_BCODE, C_GID, C_GCODE, C_GNAME,
       C_SNAME, C_MEMBER, C_OWNER, C_OWNER_NAME, C_SMGR, C_SMGR_NAME, C_RMGR, C_RMGR_NAME, C_CONTENT, C_EVIDENCE,
       C_REASON, C_ASSIGNEE, C_ASSIGNEE_NAME, C_DUE, C_SOURCE, C_NCOLS };

//  The due tasks, locked for this pass (another replica skips them), with
//  the names their notices need: the group, store, member (group nickname
//  first), the group's owner now, and the managers above.
static const char *s_due_sql =
    "SELECT t.id, t.brand_id, t.kind, t.stage, (extract (epoch FROM coalesce (t.ladder_from, t.created_at)) * 1000000)::bigint, "
    "       t.handovers, "
    "  coalesce (b.settings, '{}')::text, qy_tz_offset_min (b.tz_name, b.tz_offset_min), b.code, coalesce (t.group_id, 0), coalesce (g.code, ''), "
    "  coalesce (g.name, ''), coalesce (s.name, ''), "
    "  coalesce (ms.nickname, m.nickname, t.member_user, ''), coalesce (own.user_id, ''), "
    "  coalesce (own.gnick, own.nickname, own.user_id, ''), coalesce (s.manager_userid, ''), "
    "  coalesce (s.manager_name, s.manager_userid, ''), coalesce (r.manager_userid, ''), "
    "  coalesce (r.manager_name, r.manager_userid, ''), coalesce (t.content, ''), coalesce (t.evidence_text, ''), "
    "  coalesce (t.reason, ''), coalesce (t.assignee, ''), coalesce (t.assignee_name, ''), "
    "  coalesce ((extract (epoch FROM t.due_at) * 1000000)::bigint, 0), t.source_key "
    "FROM staff_tasks t JOIN brands b ON b.id = t.brand_id "
    "LEFT JOIN groups g ON g.id = t.group_id "
    "LEFT JOIN stores s ON s.id = t.store_id "
    "LEFT JOIN regions r ON r.id = s.region_id "
    "LEFT JOIN members m ON m.id = t.member_id "
    "LEFT JOIN memberships ms ON ms.group_id = t.group_id AND ms.member_id = t.member_id "
    "LEFT JOIN LATERAL (SELECT mm.user_id, mm.nickname, o.nickname AS gnick FROM memberships o "
    "                   JOIN members mm ON mm.id = o.member_id "
    "                   WHERE o.group_id = t.group_id AND o.role = 'owner' AND o.left_at IS NULL LIMIT 1) own ON true "
    "WHERE t.state IN " S_OPEN " AND t.next_at <= now () "
    "ORDER BY t.next_at LIMIT $1 FOR UPDATE OF t SKIP LOCKED";

//  Who a step goes to: the assignee (an operator's reassignment, else the
//  group's owner) for the hand-over and the reminder; the store manager,
//  then the region; whoever is missing, the next one up; nobody at all:
//  HQ (an ordinary alert, routed like any other).
static const char *s_target (PGresult *res, int r, tasks_step_t step, const char **name, const char **level)
{
    const char *cand [3][3] = {
        { PQgetvalue (res, r, C_ASSIGNEE), PQgetvalue (res, r, C_ASSIGNEE_NAME), "owner" },
        { PQgetvalue (res, r, C_SMGR), PQgetvalue (res, r, C_SMGR_NAME), "manager" },
        { PQgetvalue (res, r, C_RMGR), PQgetvalue (res, r, C_RMGR_NAME), "region" },
    };
    if (!*cand [0][0]) {
        cand [0][0] = PQgetvalue (res, r, C_OWNER);
        cand [0][1] = PQgetvalue (res, r, C_OWNER_NAME);
    }
    int from = step == TASKS_STEP_MANAGER ? 1 : step == TASKS_STEP_REGION ? 2 : 0;
    for (int i = from; i < 3; i++)
        if (*cand [i][0]) {
            *name = *cand [i][1] ? cand [i][1] : cand [i][0];
            *level = cand [i][2];
            return cand [i][0];
        }
    *name = "";
    *level = "hq";
    return "";
}

//  Queue the notice of one step: an application message to touser through
//  the brand's edge (the connector's message/send), or with nobody to send
//  it to an alert routed to HQ. Idempotent by key.
static bool s_notice (qy_pg_t *pg, PGresult *res, int r, tasks_step_t step, const char *touser, const char *base_url,
                      int64_t due_us)
{
    tasks_notice_t n = {
        .id = qy_pg_int (res, r, C_ID), .kind = notifier_tasks_kind_of (PQgetvalue (res, r, C_KIND)), .step = step,
        .group_name = PQgetvalue (res, r, C_GNAME), .store_name = PQgetvalue (res, r, C_SNAME),
        .member_name = PQgetvalue (res, r, C_MEMBER), .owner_name = PQgetvalue (res, r, C_OWNER_NAME),
        .content = PQgetvalue (res, r, C_CONTENT), .evidence = PQgetvalue (res, r, C_EVIDENCE),
        .reason = PQgetvalue (res, r, C_REASON), .base_url = base_url, .due_us = due_us,
        .tz_offset_min = (int) qy_pg_int (res, r, C_TZ),
    };
    if (!*n.group_name)
        n.group_name = PQgetvalue (res, r, C_GCODE);
    qy_buf_t title, text, url, body;
    qy_buf_init (&title);
    qy_buf_init (&text);
    qy_buf_init (&url);
    qy_buf_init (&body);
    notifier_tasks_notice (&n, &title, &text, &url);
    char *key = qy_printf ("task:%lld:%lld:%s", (long long) n.id, (long long) qy_pg_int (res, r, C_HANDOVERS),
                           notifier_tasks_step_name (step));
    bool ok;
    if (*touser) {
        qy_buf_puts (&body, "{\"key\":");
        qy_buf_json_str (&body, key);
        qy_buf_puts (&body, ",\"brand\":");
        qy_buf_json_str (&body, PQgetvalue (res, r, C_BCODE));
        qy_buf_puts (&body, ",\"group\":");
        qy_buf_json_str (&body, PQgetvalue (res, r, C_GCODE));
        qy_buf_printf (&body, ",\"kind\":\"alert\",\"task_id\":%lld,\"task_kind\":\"%s\",\"step\":\"%s\",\"touser\":",
                       (long long) n.id, notifier_tasks_kind_name (n.kind), notifier_tasks_step_name (step));
        qy_buf_json_str (&body, touser);
        qy_buf_puts (&body, ",\"title\":");
        qy_buf_json_str (&body, title.data);
        qy_buf_puts (&body, ",\"text\":");
        qy_buf_json_str (&body, text.data);
        qy_buf_puts (&body, ",\"url\":");
        qy_buf_json_str (&body, url.len ? url.data : "");
        qy_buf_printf (&body, ",\"source\":\"tasks\",\"created_us\":%lld}", (long long) qy_now_us ());
        const char *p [] = { key, PQgetvalue (res, r, C_BRAND), qy_pg_int (res, r, C_GID) ? PQgetvalue (res, r, C_GID) : NULL,
                             body.data, PQgetvalue (res, r, C_SOURCE) };
        ok = qy_pg_run (pg, "task notice",
            "INSERT INTO deliveries (key, brand_id, group_id, kind, priority, payload, source, event_id) "
            "VALUES ($1, $2, $3, 'alert', 2, $4::jsonb, 'tasks', $5) ON CONFLICT (key) DO NOTHING", 5, p, NULL);
    }
    else {
        qy_buf_printf (&body, "%s\n%s%s%s", title.data, text.data, url.len ? "\n" : "", url.len ? url.data : "");
        Qy__Delivery d = QY__DELIVERY__INIT;
        Qy__Delivery *dp = &d;
        d.key = key;
        d.brand = PQgetvalue (res, r, C_BCODE);
        d.brand_id = qy_pg_int (res, r, C_BRAND);
        d.group_id = qy_pg_int (res, r, C_GID);
        d.group = PQgetvalue (res, r, C_GCODE);
        d.priority = QY__PRIORITY__P_ALERT;
        d.kind = "alert";
        d.text = body.data;
        d.reason = "task.unassigned";
        d.source = "tasks";
        d.event_id = PQgetvalue (res, r, C_SOURCE);
        d.created_us = qy_now_us ();
        ok = notifier_store_insert (pg, &dp, 1, NULL) >= 0;
    }
    free (key);
    qy_buf_free (&title);
    qy_buf_free (&text);
    qy_buf_free (&url);
    qy_buf_free (&body);
    return ok;
}

//  Take one task's step: its notice, and its new stage, state and next look.
static bool s_step (qy_pg_t *pg, PGresult *res, int r, const char *base_url, int64_t now_us, tasks_pass_t *out)
{
    tasks_kind_t kind = notifier_tasks_kind_of (PQgetvalue (res, r, C_KIND));
    json_t *settings = json_loads (PQgetvalue (res, r, C_SETTINGS), 0, NULL);
    tasks_ladder_t ladder;
    char err [160];
    if (notifier_tasks_ladder_parse (settings, kind, &ladder, err, sizeof (err))) {
        qy_log_warn ("task=%s brand=%s bad ladder, defaults used error=%s", PQgetvalue (res, r, C_ID),
                     PQgetvalue (res, r, C_BCODE), err);
        ladder = notifier_tasks_ladder_default (kind);
    }
    json_decref (settings);
    //  The ladder runs from the task's creation, or from its last reassign.
    int64_t from = qy_pg_int (res, r, C_FROM), next;
    int stage = (int) qy_pg_int (res, r, C_STAGE);
    tasks_step_t step = notifier_tasks_next (&ladder, stage, from, now_us, &next);
    int64_t due = from + ladder.deadline_s * 1000000;
    const char *name = "", *level = "hq", *who = "";
    if (step != TASKS_STEP_NONE && step != TASKS_STEP_EXPIRE) {
        who = s_target (res, r, step, &name, &level);
        if (!s_notice (pg, res, r, step, who, base_url, due))
            return false;
    }
    char st [8], nx [QY_PG_I64_LEN], du [QY_PG_I64_LEN];
    qy_snprintf (st, sizeof (st), "%d", step != TASKS_STEP_NONE ? (int) step : stage);
    qy_pg_i64 (nx, next == INT64_MAX ? now_us + 86400000000LL * 365 : next);
    qy_pg_i64 (du, due);
    const char *state = step == TASKS_STEP_EXPIRE ? "expired" : step == TASKS_STEP_REMIND ? "reminded"
                      : step >= TASKS_STEP_MANAGER ? "escalated" : NULL;
    const char *p [] = { PQgetvalue (res, r, C_ID), st, nx, notifier_tasks_step_name (step), state, who, name, level,
                         PQgetvalue (res, r, C_OWNER), du };
    //  Who is asked is recorded at each step; the owner and deadline when handed over.
    if (!qy_pg_run (pg, "task step",
        "UPDATE staff_tasks SET stage = $2::smallint, next_at = 'epoch'::timestamptz + $3::bigint * interval '1 microsecond', "
        "  state = coalesce ($5, state), "
        "  assignee = CASE WHEN $4 IN ('notify', 'remind', 'manager', 'region') THEN nullif ($6, '') ELSE assignee END, "
        "  assignee_name = CASE WHEN $4 IN ('notify', 'remind', 'manager', 'region') THEN nullif ($7, '') ELSE assignee_name END, "
        "  level = CASE WHEN $4 IN ('notify', 'remind', 'manager', 'region') THEN $8 ELSE level END, "
        "  owner_userid = CASE WHEN $4 = 'notify' THEN coalesce (nullif ($9, ''), owner_userid) ELSE owner_userid END, "
        "  due_at = CASE WHEN $4 = 'notify' THEN 'epoch'::timestamptz + $10::bigint * interval '1 microsecond' ELSE due_at END, "
        "  notified_at = CASE WHEN $4 = 'notify' THEN now () ELSE notified_at END, "
        "  reminded_at = CASE WHEN $4 = 'remind' THEN now () ELSE reminded_at END, "
        "  escalated_at = CASE WHEN $4 IN ('manager', 'region') THEN now () ELSE escalated_at END, "
        "  closed_at = CASE WHEN $4 = 'expire' THEN now () ELSE closed_at END, "
        "  closed_by = CASE WHEN $4 = 'expire' THEN 'notifier' ELSE closed_by END, "
        "  close_evidence = CASE WHEN $4 = 'expire' THEN 'not done: the ladder ran out' ELSE close_evidence END "
        "WHERE id = $1", 10, p, NULL))
        return false;
    if (step != TASKS_STEP_NONE) {
        if (step == TASKS_STEP_EXPIRE) {
            qy_log_info ("task=%s brand=%s kind=%s expired (not done in time)", PQgetvalue (res, r, C_ID),
                         PQgetvalue (res, r, C_BCODE), PQgetvalue (res, r, C_KIND));
            out->expired++;
        }
        else {
            qy_log_info ("task moved up its ladder task=%s brand=%s kind=%s step=%s to=%s staff_level=%s", PQgetvalue (res, r, C_ID), PQgetvalue (res, r, C_BCODE),
                         PQgetvalue (res, r, C_KIND), notifier_tasks_step_name (step), *who ? who : "-", level);
            out->steps++;
        }
    }
    return true;
}

int notifier_tasks_pass (qy_pg_t *pg, const char *base_url, int max, bool evidence, tasks_pass_t *out)
{
    memset (out, 0, sizeof (*out));
    int64_t closed = evidence ? s_close (pg) : 0;
    if (closed < 0)
        return -1;
    out->closed = closed;
    char m [16];
    qy_snprintf (m, sizeof (m), "%d", max);
    const char *p [] = { m };
    PGresult *res;
    if (!qy_pg_run (pg, "task begin", "BEGIN", 0, NULL, NULL))
        return -1;
    if (!qy_pg_run (pg, "task due", s_due_sql, 1, p, &res)) {
        qy_pg_run (pg, "task rollback", "ROLLBACK", 0, NULL, NULL);
        return -1;
    }
    int64_t now_us = qy_now_us ();
    bool ok = true;
    for (int r = 0; ok && r < PQntuples (res); r++)
        ok = s_step (pg, res, r, base_url, now_us, out);
    PQclear (res);
    if (!ok || !qy_pg_run (pg, "task commit", "COMMIT", 0, NULL, NULL)) {
        qy_pg_run (pg, "task rollback", "ROLLBACK", 0, NULL, NULL);
        memset (out, 0, sizeof (*out));
        return -1;
    }
    return (int) (out->closed + out->steps + out->expired);
}

//  ------------------------------------------------------------ the thread

struct notifier_tasks_loop_t {
    pthread_t       thread;
    atomic_bool     stop;
    char           *dsn, *base_url;
    int             max, poll_ms, evidence_ms;
    tasks_metrics_t m;
};

//  The connector NOTIFYs qy_wecom_sends when a send's status changes: look
//  for evidence at the next pass rather than at the next evidence_ms. Returns true
//  when one came. *heard is the connection that LISTENs (a reconnect loses it).
static bool s_heard (qy_pg_t *pg, PGconn **heard)
{
    PGconn *c = qy_pg_conn (pg);
    if (!c || PQstatus (c) != CONNECTION_OK)
        return false;
    if (c != *heard) {
        if (!qy_pg_listen (pg, "qy_wecom_sends"))
            return false;
        *heard = c;
    }
    bool any = false;
    PQconsumeInput (c);
    for (PGnotify *n; (n = PQnotifies (c)); PQfreemem (n))
        any = true;
    return any;
}

static void *s_run (void *arg)
{
    notifier_tasks_loop_t *self = arg;
    qy_pg_t *pg = qy_pg_new (self->dsn);
    PGconn *heard = NULL;
    int64_t next_evidence = 0;
    while (!atomic_load (&self->stop)) {
        int64_t t0 = qy_mono_us ();
        bool evidence = t0 >= next_evidence;
        tasks_pass_t pass;
        //  A failure is logged by qy_pg_run; the next pass tries again (qy_pg reconnects).
        if (qy_pg_connect (pg) && notifier_tasks_pass (pg, self->base_url, self->max, evidence, &pass) >= 0) {
            qy_metric_observe (self->m.pass, qy_mono_us () - t0);
            qy_metric_add (self->m.closed, pass.closed);
            qy_metric_add (self->m.steps, pass.steps);
            qy_metric_add (self->m.expired, pass.expired);
            if (evidence)
                next_evidence = t0 + (int64_t) self->evidence_ms * 1000;
        }
        for (int64_t until = t0 + (int64_t) self->poll_ms * 1000; !atomic_load (&self->stop) && qy_mono_us () < until; ) {
            if (s_heard (pg, &heard))
                next_evidence = 0;          //  at the next pass: at most once a poll
            qy_sleep_ms (20);
        }
    }
    qy_pg_destroy (&pg);
    return NULL;
}

notifier_tasks_loop_t *notifier_tasks_start (const char *dsn, const char *base_url, int max, int poll_ms, int evidence_ms,
                                             tasks_metrics_t metrics)
{
    notifier_tasks_loop_t *self = qy_calloc (1, sizeof (*self));
    self->dsn = qy_strdup (dsn);
    self->base_url = qy_strdup (base_url ? base_url : "");
    self->max = max;
    self->poll_ms = poll_ms;
    self->evidence_ms = evidence_ms;
    self->m = metrics;
    atomic_init (&self->stop, false);
    if (pthread_create (&self->thread, NULL, s_run, self) != 0) {
        qy_log_error ("cannot start the staff task loop's thread");
        abort ();
    }
    return self;
}

void notifier_tasks_stop (notifier_tasks_loop_t **self_p)
{
    notifier_tasks_loop_t *self = *self_p;
    if (!self)
        return;
    atomic_store (&self->stop, true);
    pthread_join (self->thread, NULL);
    free (self->dsn);
    free (self->base_url);
    free (self);
    *self_p = NULL;
}
