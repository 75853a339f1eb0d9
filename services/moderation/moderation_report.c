//  Members' reports (举报): a gateway event of kind report, a reply to a
//  message saying 举报, or @-ing the brand's account with 举报. A report
//  puts the reported message in the review queue, weighted by the
//  reporter's trust; reports against staff and from a reporter whose
//  reports were found false before weigh less, and are never punished.
//  Detection and weight are pure; recording is one statement.
#include "moderation.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool s_has (const char *norm, size_t len, const char *word)
{
    size_t k = strlen (word);
    for (size_t i = 0; norm && i + k <= len; i++)
        if (memcmp (norm + i, word, k) == 0)
            return true;
    return false;
}

const char *moderation_report_reason (const char *norm, size_t len)
{
    //  Private poaching first: it is what members report most, and what
    //  counts on the reported member's content ladder once confirmed.
    static const struct { const char *word, *reason; } cues [] = {
        { "私加", "poaching" }, { "加微信", "poaching" }, { "加v", "poaching" }, { "加我", "poaching" },
        { "私聊", "poaching" }, { "拉人", "poaching" }, { "挖人", "poaching" }, { "诈骗", "fraud" }, { "骗子", "fraud" },
        { "骗钱", "fraud" }, { "赌", "gambling" }, { "色情", "porn" }, { "黄图", "porn" }, { "骂人", "abuse" },
        { "辱骂", "abuse" }, { "骂", "abuse" }, { "广告", "ad" }, { "刷屏", "ad" },
    };
    for (size_t i = 0; i < QY_ARRAY_LEN (cues); i++)
        if (s_has (norm, len, cues [i].word))
            return cues [i].reason;
    return "other";
}

void moderation_report_strip (judge_result_t *r, const char *text)
{
    //  A report quotes what it reports ("举报，她在群里私加群友"): its words
    //  are not the reporter's offence. A real identifier in it (a phone
    //  number, a WeChat or QQ id, a link: five ASCII letters or digits in a
    //  contact hit) still counts, so "举报" is no cover for an ad.
    size_t tlen = text ? strlen (text) : 0, w = 0;
    for (size_t i = 0; i < r->nhits; i++) {
        const judge_hit_t *h = &r->hits [i];
        size_t ascii = 0;
        for (size_t k = h->start; h->contact && k < h->end && k < tlen; k++)
            ascii += (text [k] >= '0' && text [k] <= '9') || ((text [k] | 0x20) >= 'a' && (text [k] | 0x20) <= 'z');
        if (ascii >= 5)
            r->hits [w++] = *h;
    }
    r->nhits = w;
    judge_result_settle (r);
}

bool moderation_report_detect (const Qy__Event *ev, const char *norm, size_t len, moderation_report_t *out)
{
    memset (out, 0, sizeof (*out));
    bool reply = ev->ref_msg_id && *ev->ref_msg_id;
    if (ev->kind == QY__KIND__REPORT)
        out->from_event = true;
    else
    if (ev->kind != QY__KIND__TEXT || !s_has (norm, len, "举报") || (!reply && ev->n_mentions == 0))
        return false;       //  "举报" alone names nothing: a reply names the message, an @ the brand's account
    out->is_report = true;
    out->reported_msg = reply ? ev->ref_msg_id : NULL;
    out->reason = moderation_report_reason (norm, len);
    return true;
}

double moderation_report_weight (int trust_level, bool against_staff, int false_reports)
{
    //  A trusted member's word weighs more (trust 0–4 → 1–5); each earlier
    //  false report halves it, and staff are reported in the heat of a
    //  dispute more often than for cause: a fifth. Never zero, never a
    //  penalty: a person still sees it, further down.
    int t = trust_level < 0 ? 0 : trust_level > 4 ? 4 : trust_level;
    double w = 1.0 + t;
    for (int i = 0; i < false_reports && i < 10; i++)
        w /= 2;
    if (against_staff)
        w /= 5;
    return w;
}

//  The facts a report's weight needs, and whether it names anyone: the
//  reported message's member (archive of the last week, or its violation),
//  else a mentioned member who is not the brand's; the reporter's trust in
//  the group; whether the reported member is staff there; the reporter's
//  false reports in 90 days; whether an @ without a reply @-ed the brand.
#define S_FACTS \
    "WITH r AS (SELECT $1::bigint AS b, $2::bigint AS g, $3::bigint AS reporter, nullif ($4, '') AS ref, " \
    "                  $5::text[] AS mentions, $6::bigint AS t), " \
    "staff AS (SELECT m.user_id, ms.member_id FROM r JOIN memberships ms ON ms.brand_id = r.b AND ms.group_id = r.g " \
    "          JOIN members m ON m.id = ms.member_id WHERE ms.role IN ('owner', 'admin', 'staff', 'bot')), " \
    "target AS (SELECT coalesce (" \
    "   (SELECT v.member_id FROM violations v, r WHERE v.brand_id = r.b AND v.msg_id = r.ref), " \
    "   (SELECT a.member_id FROM messages a, r WHERE a.brand_id = r.b AND a.msg_id = r.ref " \
    "      AND a.event_time BETWEEN 'epoch'::timestamptz + (r.t - 7 * 86400000000) * interval '1 microsecond' " \
    "                           AND 'epoch'::timestamptz + (r.t + 60000000) * interval '1 microsecond' LIMIT 1), " \
    "   (SELECT m.id FROM members m, r WHERE m.brand_id = r.b AND m.user_id = ANY (r.mentions) " \
    "      AND m.user_id NOT IN (SELECT user_id FROM staff) AND m.id <> r.reporter ORDER BY m.id LIMIT 1)) AS member_id) " \
    "SELECT target.member_id, " \
    "  coalesce ((SELECT s.trust_level FROM member_states s, r WHERE s.brand_id = r.b AND s.group_id = r.g " \
    "             AND s.member_id = r.reporter), 0), " \
    "  EXISTS (SELECT 1 FROM staff WHERE staff.member_id = target.member_id), " \
    "  (SELECT count (*) FROM moderation_reports p, r WHERE p.brand_id = r.b AND p.reporter_id = r.reporter " \
    "     AND p.status = 'false' AND p.created_at > now () - interval '90 days'), " \
    "  EXISTS (SELECT 1 FROM staff, r WHERE staff.user_id = ANY (r.mentions)), " \
    "  (SELECT coalesce (a.text, '') FROM messages a, r WHERE a.brand_id = r.b AND a.msg_id = r.ref " \
    "     AND a.event_time > 'epoch'::timestamptz + (r.t - 7 * 86400000000) * interval '1 microsecond' LIMIT 1) " \
    "FROM target"

//  The reported message's place in the queue and the report's row, in one
//  statement: an open row of the message weighs more (one a person already
//  decided stays decided); without a row, a flag row is raised. Idempotent
//  by the report's message id: a report recorded before adds nothing.
//  (The parts of one statement do not see each other's rows: the report
//  names its queue row through old and new, the weight goes on through upd.)
#define S_RECORD \
    "WITH seen AS (SELECT 1 FROM moderation_reports WHERE brand_id = $1::bigint AND msg_id = $3::text), " \
    "old AS (SELECT id, status FROM violations WHERE brand_id = $1 AND msg_id = $12::text), " \
    "new AS (INSERT INTO violations (brand_id, group_id, member_id, msg_id, event_time, category, score, action, " \
    "                                rules, hits, excerpt, strike, kind, review_priority) " \
    "        SELECT $1, $2::bigint, nullif ($6::bigint, 0), $12, 'epoch'::timestamptz + $13::bigint * interval '1 microsecond', " \
    "               'report', 0, 'review', ARRAY ['report.' || $7::text], " \
    "               jsonb_build_array (jsonb_build_object ('rule', 'report.' || $7, 'reporter', $4::bigint, 'text', $8::text)), " \
    "               left ($14::text, 400), 0, 'flag', 1.0 + $11::real " \
    "        WHERE NOT EXISTS (SELECT 1 FROM old) AND NOT EXISTS (SELECT 1 FROM seen) " \
    "        ON CONFLICT (brand_id, msg_id) DO NOTHING RETURNING id), " \
    "ins AS (INSERT INTO moderation_reports (brand_id, group_id, msg_id, reporter_id, reported_msg_id, reported_id, reason, " \
    "                                        text, trust_level, against_staff, weight, violation_id) " \
    "        VALUES ($1, $2, $3, nullif ($4, 0), nullif ($5::text, ''), nullif ($6, 0), $7, $8, $9::int, $10::boolean, $11, " \
    "                coalesce ((SELECT id FROM new), (SELECT id FROM old))) " \
    "        ON CONFLICT (brand_id, msg_id) DO NOTHING RETURNING weight) " \
    "UPDATE violations v SET review_priority = coalesce (v.review_priority, 1.0) + ins.weight " \
    "FROM ins, old WHERE v.id = old.id AND v.status = 'open'"

//  The mentions as a PostgreSQL array literal.
static void s_mentions (const Qy__Event *ev, qy_buf_t *b)
{
    qy_buf_puts (b, "{");
    for (size_t i = 0; i < ev->n_mentions; i++) {
        if (i)
            qy_buf_puts (b, ",");
        qy_buf_pg_array_elem (b, ev->mentions [i]);
    }
    qy_buf_puts (b, "}");
}

int moderation_report_record (qy_pg_t *pg, const Qy__Event *ev, const moderation_report_t *rep)
{
    char b [24], g [24], m [24], t [24];
    qy_snprintf (b, sizeof (b), "%lld", (long long) ev->brand_id);
    qy_snprintf (g, sizeof (g), "%lld", (long long) ev->group_id);
    qy_snprintf (m, sizeof (m), "%lld", (long long) ev->member_id);
    qy_snprintf (t, sizeof (t), "%lld", (long long) ev->event_time_us);
    qy_buf_t mentions;
    qy_buf_init (&mentions);
    s_mentions (ev, &mentions);
    const char *fp [] = { b, g, m, rep->reported_msg ? rep->reported_msg : "", mentions.data, t };
    PGresult *res;
    bool ok = qy_pg_run (pg, "report facts", S_FACTS, 6, fp, &res);
    qy_buf_free (&mentions);
    if (!ok)
        return -1;
    int64_t target = PQgetisnull (res, 0, 0) ? 0 : qy_pg_int (res, 0, 0);
    int trust = (int) qy_pg_int (res, 0, 1);
    bool against_staff = PQgetvalue (res, 0, 2) [0] == 't';
    int false_reports = (int) qy_pg_int (res, 0, 3);
    bool at_brand = PQgetvalue (res, 0, 4) [0] == 't';
    char *reported_text = qy_strdup (PQgetisnull (res, 0, 5) ? "" : PQgetvalue (res, 0, 5));
    PQclear (res);
    //  An @ without a reply is a report only when it @-ed the brand's account.
    if (!rep->from_event && !rep->reported_msg && !at_brand) {
        free (reported_text);
        return 0;
    }
    double weight = moderation_report_weight (trust, against_staff, false_reports);
    char target_s [24], trust_s [8], weight_s [32];
    qy_snprintf (target_s, sizeof (target_s), "%lld", (long long) target);
    qy_snprintf (trust_s, sizeof (trust_s), "%d", trust);
    qy_snprintf (weight_s, sizeof (weight_s), "%.4f", weight);
    //  The queue row is the reported message's; a report of a member alone is its own.
    const char *queued = rep->reported_msg ? rep->reported_msg : ev->msg_id;
    const char *rp [] = { b, g, ev->msg_id, m, rep->reported_msg ? rep->reported_msg : "", target_s, rep->reason,
                          ev->text ? ev->text : "", trust_s, against_staff ? "t" : "f", weight_s, queued, t,
                          *reported_text ? reported_text : (ev->text ? ev->text : "") };
    ok = qy_pg_run (pg, "report record", S_RECORD, 14, rp, NULL);
    if (ok)
        qy_log_info ("msg_id=%s brand=%s member=%s report reason=%s reported=%s weight=%.2f trust=%d against_staff=%d "
                     "false_reports=%d", ev->msg_id, ev->brand, ev->member, rep->reason, queued, weight, trust,
                     against_staff, false_reports);
    free (reported_text);
    return ok ? 0 : -1;
}
