//  The steps: what a due job's post says and whom it names, read from
//  PostgreSQL (see campaign_step.h). The runner (campaign_run.c) claims
//  the job, checks the guards and sends what is built here.
#include "campaign_step.h"
#include "qy/log.h"
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void campaign_ids_add (int64_t **ids, size_t *n, int64_t id)
{
    for (size_t i = 0; i < *n; i++)
        if ((*ids) [i] == id)
            return;
    *ids = qy_realloc (*ids, sizeof (int64_t) * (*n + 1));
    (*ids) [(*n)++] = id;
}

void campaign_ids_parse (const char *text, int64_t **ids, size_t *n)
{
    for (const char *p = text; *p; ) {
        if ((*p >= '0' && *p <= '9') || *p == '-') {
            char *end;
            campaign_ids_add (ids, n, strtoll (p, &end, 10));
            p = end;
        }
        else
            p++;
    }
}

//  Members' gateway ids and display names, in the order given.
PGresult *campaign_step_names (campaign_ctx_t *ctx, const campaign_job_t *job, const int64_t *ids, size_t n)
{
    char bid [24], gid [24];
    qy_pg_cols_t arr;
    const char *p [] = { qy_pg_i64 (bid, job->brand_id), qy_pg_i64 (gid, job->group_id), qy_pg_cols_ints (&arr, ids, n) };
    PGresult *res = NULL;
    qy_pg_run (ctx->pg, "member names",
        "SELECT m.id, m.user_id, coalesce (nullif (ms.nickname, ''), nullif (m.nickname, ''), m.user_id) "
        "FROM members m LEFT JOIN memberships ms ON ms.member_id = m.id AND ms.group_id = $2 AND ms.brand_id = $1 "
        "WHERE m.brand_id = $1 AND m.id = ANY ($3::bigint[]) ORDER BY array_position ($3::bigint[], m.id)", 3, p, &res);
    qy_pg_cols_free (&arr);
    return res;
}

//  Members of the group matching a segment, not opted out and not at their
//  weekly cap.
int campaign_step_segment (campaign_ctx_t *ctx, const campaign_step_t *s, const campaign_job_t *job, int64_t now, int cap,
                           campaign_content_t *c)
{
    bool states = campaign_store_has_states (ctx->store);
    char bid [24], gid [24], cid [24], t [24], j [24];
    const char *p [] = { qy_pg_i64 (bid, job->brand_id), qy_pg_i64 (gid, job->group_id),
                         qy_pg_i64 (cid, job->campaign_id), qy_pg_i64 (t, now),
                         qy_pg_i64 (j, cap) };
    char sql [1400];
    qy_snprintf (sql, sizeof (sql),
        "SELECT ms.member_id, %s, (SELECT coalesce (json_agg (tag ORDER BY tag), '[]')::text FROM member_tags t "
        "                          WHERE t.brand_id = $1 AND t.member_id = ms.member_id) "
        "FROM memberships ms %s "
        "WHERE ms.brand_id = $1 AND ms.group_id = $2 AND ms.left_at IS NULL AND ms.role = 'member' "
        "  AND NOT EXISTS (SELECT 1 FROM campaign_optouts o WHERE o.brand_id = $1 AND o.member_id = ms.member_id) "
        "  AND (SELECT count (DISTINCT c.campaign_id) FROM campaign_contacts c WHERE c.brand_id = $1 "
        "       AND c.member_id = ms.member_id AND c.campaign_id <> $3 "
        "       AND c.at > to_timestamp ($4::bigint / 1e6) - interval '7 days') < $5::int "
        "ORDER BY ms.member_id LIMIT 5000",
        states ? "st.trust_level, st.state" : "NULL::int, NULL::text",
        states ? "LEFT JOIN member_states st ON st.group_id = ms.group_id AND st.member_id = ms.member_id AND st.brand_id = $1" : "");
    PGresult *res;
    if (!qy_pg_run (ctx->pg, "mention segment", sql, 5, p, &res))
        return -1;
    for (int r = 0; r < PQntuples (res) && c->nids < (size_t) s->mention_limit; r++) {
        json_t *tags = json_loads (PQgetvalue (res, r, 3), 0, NULL);
        size_t nt = json_array_size (tags);
        const char **tv = qy_calloc (nt + 1, sizeof (char *));
        for (size_t i = 0; i < nt; i++)
            tv [i] = json_string_value (json_array_get (tags, i));
        campaign_member_t m = { PQgetisnull (res, r, 1) ? -1 : (int) qy_pg_int (res, r, 1),
                                PQgetisnull (res, r, 2) ? NULL : PQgetvalue (res, r, 2), tv, nt };
        if (campaign_segment_match (&s->mention_segment, &m))
            campaign_ids_add (&c->ids, &c->nids, qy_pg_int (res, r, 0));
        free (tv);
        json_decref (tags);
    }
    PQclear (res);
    return 0;
}

static int s_list_rows (campaign_ctx_t *ctx, const char *what, const char *sql, int n, const char *const *p, PGresult **res)
{
    return qy_pg_run (ctx->pg, what, sql, n, p, res) ? 0 : -1;
}

//  The job's brand, campaign and group as statement parameters.
typedef struct {
    char bid [24], cid [24], gid [24];
} s_job_keys_t;

static void s_job_keys (const campaign_job_t *job, s_job_keys_t *k)
{
    qy_pg_i64 (k->bid, job->brand_id);
    qy_pg_i64 (k->cid, job->campaign_id);
    qy_pg_i64 (k->gid, job->group_id);
}

//  A check-in's acknowledgement: each member who checked in, their streak
//  and points.
static int s_checkin_ack (campaign_ctx_t *ctx, const campaign_job_t *job, campaign_content_t *c)
{
    s_job_keys_t k;
    s_job_keys (job, &k);
    qy_pg_cols_t ids;
    const char *p [] = { k.bid, k.cid, k.gid, qy_pg_cols_ints (&ids, c->ids, c->nids) };
    PGresult *res = NULL;
    int rc = s_list_rows (ctx, "checkin ack",
            "SELECT x.member_id, x.streak, x.points FROM (SELECT DISTINCT ON (member_id) member_id, streak, points "
            "  FROM campaign_checkins WHERE brand_id = $1 AND campaign_id = $2 AND group_id = $3 AND member_id = ANY ($4::bigint[]) "
            "  ORDER BY member_id, day DESC) x ORDER BY array_position ($4::bigint[], x.member_id)", 4, p, &res);
    qy_pg_cols_free (&ids);
    if (rc < 0)
        return -1;
    c->empty = PQntuples (res) == 0;
    qy_snprintf (c->count, sizeof (c->count), "%d", PQntuples (res));
    PGresult *names = campaign_step_names (ctx, job, c->ids, c->nids);
    for (int r = 0; names && r < PQntuples (res); r++) {
        const char *name = "";
        for (int n = 0; n < PQntuples (names); n++)
            if (qy_pg_int (names, n, 0) == qy_pg_int (res, r, 0))
                name = PQgetvalue (names, n, 2);
        qy_buf_printf (&c->list, "%s%s 连续%s天 +%s分", r ? "\n" : "", name, PQgetvalue (res, r, 1), PQgetvalue (res, r, 2));
    }
    rc = names ? 0 : -1;
    PQclear (names);
    PQclear (res);
    return rc;
}

//  A contest's acknowledgement: how many entries so far.
static int s_contest_ack (campaign_ctx_t *ctx, const campaign_job_t *job, campaign_content_t *c)
{
    s_job_keys_t k;
    s_job_keys (job, &k);
    const char *p [] = { k.bid, k.cid, k.gid };
    PGresult *res = NULL;
    if (s_list_rows (ctx, "contest ack",
            "SELECT count (*), count (DISTINCT member_id) FROM campaign_entries WHERE brand_id = $1 AND campaign_id = $2 AND group_id = $3",
            3, p, &res) < 0)
        return -1;
    c->empty = c->nids == 0;
    qy_snprintf (c->count, sizeof (c->count), "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    return 0;
}

//  The leaderboard of the day it was planned for (its period plus the
//  step's day), not the day it runs: quiet hours may hold it past
//  midnight, or the service may run it late.
static int s_leaderboard (campaign_ctx_t *ctx, const campaign_brand_t *b, const campaign_step_t *s,
                          const campaign_job_t *job, int64_t now, campaign_content_t *c)
{
    int32_t board_day = qy_day_of (now, b->tz), anchor;
    if (campaign_parse_date (job->period, &anchor) == 0)
        board_day = anchor + s->day;
    char day [16], top [24];
    qy_day_format (board_day, day, sizeof (day), false);
    s_job_keys_t k;
    s_job_keys (job, &k);
    const char *p [] = { k.bid, k.cid, k.gid, day, qy_pg_i64 (top, s->top) };
    PGresult *res = NULL;
    if (s_list_rows (ctx, "leaderboard",
            "SELECT c.member_id, sum (c.points), (array_agg (c.streak ORDER BY c.day DESC)) [1] FROM campaign_checkins c "
            "WHERE c.brand_id = $1 AND c.campaign_id = $2 AND c.group_id = $3 AND c.day <= $4::date "
            "  AND EXISTS (SELECT 1 FROM campaign_checkins d WHERE d.brand_id = $1 AND d.campaign_id = $2 AND d.group_id = $3 AND d.day = $4::date) "
            "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $5::int", 5, p, &res) < 0)
        return -1;
    int rc = 0;
    c->empty = PQntuples (res) == 0;
    int64_t *ids = NULL;
    size_t n = 0;
    for (int r = 0; r < PQntuples (res); r++)
        campaign_ids_add (&ids, &n, qy_pg_int (res, r, 0));
    PGresult *names = n ? campaign_step_names (ctx, job, ids, n) : NULL;
    for (int r = 0; names && r < PQntuples (res); r++)
        qy_buf_printf (&c->list, "%s%d. %s %s分 连续%s天", r ? "\n" : "", r + 1,
                       r < PQntuples (names) ? PQgetvalue (names, r, 2) : "", PQgetvalue (res, r, 1), PQgetvalue (res, r, 2));
    if (n && !names)
        rc = -1;
    PQclear (names);
    free (ids);
    qy_snprintf (c->count, sizeof (c->count), "%d", PQntuples (res));
    PQclear (res);
    return rc;
}

//  Who may win a draw: in the group, spoke lately, not blocked, no
//  violation upheld lately, not opted out. NULL on failure.
static PGresult *s_draw_eligible (campaign_ctx_t *ctx, const campaign_step_t *s, const campaign_job_t *job,
                                  int64_t now)
{
    s_job_keys_t k;
    s_job_keys (job, &k);
    char act [24], t [24];
    const char *p [] = { k.bid, k.gid, qy_pg_i64 (act, s->active_days), qy_pg_i64 (t, now) };
    PGresult *res = NULL;
    if (s_list_rows (ctx, "draw eligible",
            "SELECT ms.member_id FROM memberships ms WHERE ms.brand_id = $1 AND ms.group_id = $2 AND ms.left_at IS NULL "
            "  AND ms.role = 'member' "
            "  AND EXISTS (SELECT 1 FROM messages m WHERE m.brand_id = $1 AND m.group_id = $2 AND m.member_id = ms.member_id "
            "              AND m.event_time > to_timestamp ($4::bigint / 1e6) - $3::int * interval '1 day' "
            "              AND m.event_time <= to_timestamp ($4::bigint / 1e6) "
            "              AND m.kind NOT IN ('join', 'leave', 'rename', 'purchase', 'coupon_redeemed', 'signal')) "
            "  AND NOT EXISTS (SELECT 1 FROM blocks k WHERE k.brand_id = $1 AND k.member_id = ms.member_id AND k.lifted_at IS NULL) "
            "  AND NOT EXISTS (SELECT 1 FROM violations v WHERE v.brand_id = $1 AND v.member_id = ms.member_id "
            "                  AND v.status <> 'overturned' AND v.event_time > to_timestamp ($4::bigint / 1e6) - $3::int * interval '1 day') "
            "  AND NOT EXISTS (SELECT 1 FROM campaign_optouts o WHERE o.brand_id = $1 AND o.member_id = ms.member_id) "
            "ORDER BY 1", 4, p, &res) < 0)
        return NULL;
    return res;
}

//  A draw: the winners drawn in an earlier pass if there was one (posted
//  exactly as drawn), else a new draw among the eligible.
static int s_draw (campaign_ctx_t *ctx, const campaign_step_t *s, const campaign_job_t *job, int64_t now,
                   campaign_content_t *c)
{
    PGresult *res = s_draw_eligible (ctx, s, job, now);
    if (!res)
        return -1;
    free (c->ids);
    c->ids = NULL;
    c->nids = 0;
    char bid [24], id [24];
    const char *dp [] = { qy_pg_i64 (bid, job->brand_id), qy_pg_i64 (id, job->id) };
    PGresult *drawn;
    if (s_list_rows (ctx, "draw done", "SELECT seed::text, winners::text FROM campaign_draws WHERE brand_id = $1 AND job_id = $2",
                     2, dp, &drawn) < 0) {
        PQclear (res);
        return -1;
    }
    if (PQntuples (drawn)) {
        c->drawn = true;
        c->seed = strtoull (PQgetvalue (drawn, 0, 0), NULL, 10);
        campaign_ids_parse (PQgetvalue (drawn, 0, 1), &c->ids, &c->nids);
    }
    PQclear (drawn);
    c->neligible = (size_t) PQntuples (res);
    c->eligible = qy_calloc (c->neligible + 1, sizeof (int64_t));
    for (size_t i = 0; i < c->neligible; i++)
        c->eligible [i] = qy_pg_int (res, (int) i, 0);
    PQclear (res);
    if (!c->drawn) {
        if (getrandom (&c->seed, sizeof (c->seed), 0) != (ssize_t) sizeof (c->seed))
            c->seed = (uint64_t) qy_now_us () ^ (uint64_t) job->id << 32;
        int64_t *winners = qy_calloc ((size_t) s->winners + 1, sizeof (int64_t));
        size_t k = campaign_draw (c->eligible, c->neligible, c->seed, (size_t) s->winners, winners);
        for (size_t i = 0; i < k; i++)
            campaign_ids_add (&c->ids, &c->nids, winners [i]);
        free (winners);
    }
    size_t k = c->nids;
    c->empty = k == 0;
    qy_snprintf (c->count, sizeof (c->count), "%zu", k);
    PGresult *names = k ? campaign_step_names (ctx, job, c->ids, c->nids) : NULL;
    for (int r = 0; names && r < PQntuples (names); r++)
        qy_buf_printf (&c->list, "%s%s", r ? "、" : "", PQgetvalue (names, r, 2));
    int rc = k && !names ? -1 : 0;
    PQclear (names);
    return rc;
}

//  Build what an activity step lists: check-ins, the leaderboard, entries, a draw.
int campaign_step_activity (campaign_ctx_t *ctx, const campaign_brand_t *b, const campaign_def_t *def,
                            const campaign_step_t *s, const campaign_job_t *job, int64_t now, campaign_content_t *c)
{
    if (s->kind == CAMPAIGN_S_ACK && def->trigger.kind == CAMPAIGN_T_CHECKIN)
        return s_checkin_ack (ctx, job, c);
    if (s->kind == CAMPAIGN_S_ACK)
        return s_contest_ack (ctx, job, c);
    if (s->kind == CAMPAIGN_S_LEADERBOARD)
        return s_leaderboard (ctx, b, s, job, now, c);
    return s_draw (ctx, s, job, now, c);
}

void campaign_content_free (campaign_content_t *c)
{
    free (c->ids);
    free (c->eligible);
    free (c->nickname);
    qy_buf_free (&c->list);
}

//  Guard inputs for this group today (local day of the campaign clock).
