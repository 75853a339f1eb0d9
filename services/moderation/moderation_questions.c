//  Unanswered customers: a customer who asks (a question, or "在吗" again
//  and again) needs a person, not a penalty. Questions and the staff
//  messages that answer them are recorded; a sweep alerts the group's store
//  when one waits past answer.after_s in business hours, and HQ past
//  answer.escalate_s. Decisions are pure; the rest is PostgreSQL and alerts.
#include "moderation.h"
#include "scoring.h"
#include "qy/event.h"
#include "qy/log.h"
#include "qy/service.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

bool moderation_question (const Qy__Event *ev, bool waiting)
{
    return qy_role_is_member (ev->role) && ev->member_id && ev->kind == QY__KIND__TEXT && (waiting || scoring_is_question (ev->text));
}

bool moderation_open_hours (const moderation_policy_t *p, int64_t t_us, int tz_offset_min)
{
    if (p->answer_from == p->answer_to)
        return true;        //  from == to: every hour
    int64_t local_s = t_us / 1000000 + (int64_t) tz_offset_min * 60;
    int minute = (int) (((local_s / 60) % 1440 + 1440) % 1440);
    return p->answer_from < p->answer_to ? minute >= p->answer_from && minute < p->answer_to
                                         : minute >= p->answer_from || minute < p->answer_to;
}

moderation_due_t moderation_question_due (const moderation_policy_t *p, int64_t asked_us, bool alerted, int64_t now_us,
                                          int tz_offset_min)
{
    if (p->answer_after_s <= 0 || !moderation_open_hours (p, now_us, tz_offset_min))
        return MODERATION_DUE_NONE;
    int64_t waited_s = (now_us - asked_us) / 1000000;
    if (alerted && p->answer_escalate_s > 0 && waited_s >= p->answer_escalate_s)
        return MODERATION_DUE_ESCALATE;
    if (!alerted && waited_s >= p->answer_after_s)
        return MODERATION_DUE_ALERT;
    return MODERATION_DUE_NONE;
}

int moderation_alert (void *out, const moderation_alert_t *a)
{
    Qy__Delivery d = QY__DELIVERY__INIT;
    d.key = (char *) a->key;
    d.brand = (char *) a->brand;
    d.brand_id = a->brand_id;
    d.group_id = a->group_id;
    d.group = (char *) (a->group ? a->group : "");
    d.priority = QY__PRIORITY__P_ALERT;
    d.kind = "alert";
    d.text = (char *) a->text;
    d.reason = (char *) a->reason;
    d.source = "moderation";
    d.event_id = (char *) a->event_id;
    d.member = (char *) a->member;
    d.created_us = qy_now_us ();
    return qy_service_send (out, &d.base);
}

//  One row per event that asks or that staff wrote, into cols; returns how
//  many of the rows are staff answers.
static size_t s_question_rows (const Qy__Event *const *evs, const bool *asks, size_t n, qy_pg_cols_t *cols)
{
    qy_pg_cols_init (cols, 7);
    size_t answers = 0;
    for (size_t i = 0; i < n; i++) {
        const Qy__Event *ev = evs [i];
        bool staff = qy_role_is_staff (ev->role);
        if (!asks [i] && !(staff && ev->member_id && qy_event_is_message (ev->kind)))
            continue;
        answers += staff && !asks [i];
        qy_pg_cols_row (cols);
        qy_pg_cols_int (cols, 0, ev->brand_id);
        qy_pg_cols_int (cols, 1, ev->group_id);
        qy_pg_cols_int (cols, 2, ev->store_id);
        qy_pg_cols_int (cols, 3, ev->member_id);
        qy_pg_cols_text (cols, 4, ev->msg_id);
        qy_pg_cols_int (cols, 5, ev->event_time_us);
        qy_pg_cols_bool (cols, 6, staff);
    }
    return answers;
}

void moderation_questions_plan (const Qy__Event *const *evs, const bool *asks, size_t n, qy_pg_steps_t *st)
{
    qy_pg_cols_t cols;
    size_t answers = s_question_rows (evs, asks, n, &cols), rows = cols.nrows;
    //  A member's first open question in a group stands for the ones that
    //  follow ("在吗" again and again is one waiting customer); a staff
    //  message answers every open question asked before it in its group.
    //  (Each statement only when the batch has rows for it: most batches have neither.)
    if (rows > answers) {
        qy_pg_steps_add (st, "questions asked",
                "INSERT INTO moderation_questions (brand_id, group_id, store_id, member_id, msg_id, asked_at) "
                "SELECT DISTINCT ON (b, g, m) b, g, nullif (s, 0), m, msg, 'epoch'::timestamptz + t * interval '1 microsecond' "
                "FROM unnest ($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[], $7::boolean[]) "
                "     AS e (b, g, s, m, msg, t, staff) "
                "WHERE NOT staff AND NOT EXISTS (SELECT 1 FROM moderation_questions o WHERE o.brand_id = b AND o.group_id = g "
                "  AND o.member_id = m AND o.answered_at IS NULL AND o.asked_at > 'epoch'::timestamptz + (t - 86400000000) * interval '1 microsecond') "
                "ORDER BY b, g, m, t ON CONFLICT (brand_id, msg_id) DO NOTHING", &cols, false);
        if (answers)
            s_question_rows (evs, asks, n, &cols);  //  the same few rows for the second: the first took them
    }
    //  The same staff message answers the customers' open complaints there
    //  (one complaint answered in a later batch; one answered in its own
    //  batch or before moderation saw it is found in the archive when it is
    //  recorded: moderation_complaint.c).
    if (answers)
        qy_pg_steps_add (st, "questions answered",
                "WITH a AS (SELECT DISTINCT ON (b, g) b, g, m, 'epoch'::timestamptz + t * interval '1 microsecond' AS at "
                "      FROM unnest ($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[], "
                "                   $7::boolean[]) AS e (b, g, s, m, msg, t, staff) WHERE staff ORDER BY b, g, t), "
                "c AS (UPDATE complaints c SET answered_at = a.at, answered_by = a.m, resolved_at = a.at, "
                "             resolution = 'staff_reply' FROM a "
                "      WHERE c.brand_id = a.b AND c.group_id = a.g AND c.resolved_at IS NULL AND c.event_time <= a.at "
                "        AND c.event_time > a.at - interval '1 day') "
                "UPDATE moderation_questions q SET answered_at = a.at, answered_by = a.m FROM a "
                "WHERE q.brand_id = a.b AND q.group_id = a.g AND q.answered_at IS NULL AND q.asked_at <= a.at "
                "  AND q.asked_at > a.at - interval '1 day'", &cols, false);
    qy_pg_cols_free (&cols);            //  when neither statement took them
}

//  Mark a question alerted or escalated (once, whichever replica gets
//  there first) and send its alert.
static void s_raise (qy_pg_t *pg, void *actions, PGresult *res, int r, moderation_due_t due)
{
    const char *id = PQgetvalue (res, r, 0);
    const char *p [] = { id };
    PGresult *mark;
    if (!qy_pg_run (pg, "question alert", due == MODERATION_DUE_ALERT
                ? "UPDATE moderation_questions SET alerted_at = now () WHERE id = $1 AND alerted_at IS NULL RETURNING 1"
                : "UPDATE moderation_questions SET escalated_at = now () WHERE id = $1 AND escalated_at IS NULL RETURNING 1",
                1, p, &mark))
        return;
    bool mine = PQntuples (mark) > 0;
    PQclear (mark);
    if (!mine)
        return;
    const char *group = PQgetvalue (res, r, 3), *member = PQgetvalue (res, r, 5), *text = PQgetvalue (res, r, 8);
    long long waited = (qy_now_us () - qy_pg_int (res, r, 6)) / 60000000;
    char key [160];
    qy_snprintf (key, sizeof (key), "alert:unanswered:%s:%s:%s", PQgetvalue (res, r, 1), PQgetvalue (res, r, 7),
                 due == MODERATION_DUE_ALERT ? "store" : "hq");
    char *msg = due == MODERATION_DUE_ALERT
              ? qy_printf ("群 %s 的顾客 %s 的提问已等待 %lld 分钟无人回复，请尽快回复：%s", group, member, waited, text)
              : qy_printf ("升级提醒：群 %s 的顾客 %s 的提问已等待 %lld 分钟仍无人回复（门店已提醒）：%s", group, member, waited, text);
    moderation_alert_t a = { key, PQgetvalue (res, r, 9), qy_pg_int (res, r, 1),
                             due == MODERATION_DUE_ALERT ? group : "", due == MODERATION_DUE_ALERT ? qy_pg_int (res, r, 2) : 0,
                             msg, "unanswered", PQgetvalue (res, r, 7), member };
    if (moderation_alert (actions, &a) == 0)
        qy_log_info ("msg_id=%s brand=%s member=%s unanswered %s after %lld min", a.event_id, a.brand, member,
                     due == MODERATION_DUE_ALERT ? "alerted" : "escalated", waited);
    free (msg);
}

void moderation_questions_sweep (moderation_store_t *store, qy_pg_t *pg, void *actions)
{
    PGresult *res;
    //  Open questions of the last day that arrived fresh (within five
    //  minutes of being asked: a backfill or a replay is history, not a
    //  customer waiting now), oldest first; the text from the archive.
    if (!qy_pg_run (pg, "questions due",
            "SELECT q.id, q.brand_id, q.group_id, g.code, q.alerted_at IS NOT NULL, m.user_id, "
            "       (extract (epoch FROM q.asked_at) * 1000000)::bigint, q.msg_id, "
            "       coalesce ((SELECT left (a.text, 120) FROM messages a WHERE a.brand_id = q.brand_id AND a.msg_id = q.msg_id "
            "                  AND a.event_time = q.asked_at), ''), b.code "
            "FROM moderation_questions q JOIN groups g ON g.id = q.group_id JOIN brands b ON b.id = q.brand_id "
            "JOIN members m ON m.id = q.member_id "
            "WHERE q.answered_at IS NULL AND q.escalated_at IS NULL AND q.asked_at > now () - interval '1 day' "
            "  AND q.arrived_at < q.asked_at + interval '5 minutes' "
            "ORDER BY q.asked_at LIMIT 500", 0, NULL, &res))
        return;
    int64_t now = qy_now_us ();
    for (int r = 0; r < PQntuples (res); r++) {
        moderation_brand_t *brand = moderation_store_brand (store, qy_pg_int (res, r, 1));
        const moderation_policy_t *pol = brand ? moderation_store_policy (store, brand, qy_pg_int (res, r, 2)) : NULL;
        if (!pol)
            continue;
        moderation_due_t due = moderation_question_due (pol, qy_pg_int (res, r, 6), PQgetvalue (res, r, 4) [0] == 't',
                                                        now, brand->tz_offset_min);
        if (due != MODERATION_DUE_NONE)
            s_raise (pg, actions, res, r, due);
    }
    PQclear (res);
}
