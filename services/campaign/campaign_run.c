//  The runner: claims due jobs (FOR UPDATE SKIP LOCKED, so replicas never
//  take the same job), checks the guards under a per-group lock (so two
//  replicas cannot both fit the last promotional slot of a group), builds
//  the post and sends it to notifier before the transaction commits. A
//  crash between the send and the commit leaves the job pending; it is sent
//  again with the same key and notifier drops the second copy.
//
//  Each job runs under its own savepoint: a job that fails (bad data, a
//  bug, a lock timeout) is rolled back alone and retried a few times, and
//  the rest of the batch commits. A job whose post was already handed to
//  notifier is never cancelled.
#include "campaign_int.h"
#include "qy/log.h"
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

typedef struct {
    int64_t id, brand_id, campaign_id, group_id, member_id, due;
    size_t  step;
    const char *period, *variant, *product, *key, *trigger_msg, *coupon;
    int64_t *mentions;
    size_t  nmentions;
    bool    promotional, at_all;
    bool    handed;          //  the post went to notifier: whatever fails next, it is out
} s_job_t;

//  What the post will say and whom it names.
typedef struct {
    int64_t *ids;            //  members named (mentions), in order
    size_t   nids;
    qy_buf_t list;
    char     count [24];
    char    *nickname;
    bool     empty;          //  nothing to post (no check-ins, nobody eligible)
    uint64_t seed;           //  draws
    bool     drawn;          //  the draw was recorded in an earlier pass
    int64_t *eligible;
    size_t   neligible;
} s_content_t;

static void s_ids_add (int64_t **ids, size_t *n, int64_t id)
{
    for (size_t i = 0; i < *n; i++)
        if ((*ids) [i] == id)
            return;
    *ids = qy_realloc (*ids, sizeof (int64_t) * (*n + 1));
    (*ids) [(*n)++] = id;
}

static void s_ids_parse (const char *text, int64_t **ids, size_t *n)
{
    for (const char *p = text; *p; ) {
        if ((*p >= '0' && *p <= '9') || *p == '-') {
            char *end;
            s_ids_add (ids, n, strtoll (p, &end, 10));
            p = end;
        }
        else
            p++;
    }
}

static bool s_exec (campaign_ctx_t *ctx, const char *what, const char *sql, int n, const char *const *p)
{
    PGresult *res;
    if (!qy_pg_run (ctx->pg, what, sql, n, p, &res))
        return false;
    PQclear (res);
    return true;
}

static int s_close (campaign_ctx_t *ctx, const s_job_t *job, const char *status, const char *guard, const char *code)
{
    char id [24];
    const char *p [] = { qy_pg_i64 (id, job->id), status, guard };
    if (!s_exec (ctx, "job close", "UPDATE campaign_jobs SET status = $2, guard = $3 WHERE id = $1", 3, p))
        return -1;
    campaign_count (strcmp (status, "blocked") == 0 ? "qy_campaign_jobs_blocked_total" : "qy_campaign_jobs_closed_total",
                    strcmp (status, "blocked") == 0 ? "guard" : "status", strcmp (status, "blocked") == 0 ? guard : status, 1);
    qy_log_info ("msg=%s brand=%s key=%s job %s guard=%s", job->trigger_msg ? job->trigger_msg : job->key, code,
                 job->key, status, guard ? guard : "-");
    return 0;
}

//  Members' gateway ids and display names, in the order given.
static PGresult *s_names (campaign_ctx_t *ctx, const s_job_t *job, const int64_t *ids, size_t n)
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
static int s_segment (campaign_ctx_t *ctx, const campaign_brand_t *b, const campaign_step_t *s, const s_job_t *job,
                      int64_t now, int cap, s_content_t *c)
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
    (void) b;
    for (int r = 0; r < PQntuples (res) && c->nids < (size_t) s->mention_limit; r++) {
        json_t *tags = json_loads (PQgetvalue (res, r, 3), 0, NULL);
        size_t nt = json_array_size (tags);
        const char **tv = qy_calloc (nt + 1, sizeof (char *));
        for (size_t i = 0; i < nt; i++)
            tv [i] = json_string_value (json_array_get (tags, i));
        campaign_member_t m = { PQgetisnull (res, r, 1) ? -1 : (int) qy_pg_int (res, r, 1),
                                PQgetisnull (res, r, 2) ? NULL : PQgetvalue (res, r, 2), tv, nt };
        if (campaign_segment_match (&s->mention_segment, &m))
            s_ids_add (&c->ids, &c->nids, qy_pg_int (res, r, 0));
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

//  Build what an activity step lists: check-ins, the leaderboard, entries, a draw.
static int s_activity (campaign_ctx_t *ctx, const campaign_brand_t *b, const campaign_def_t *def,
                       const campaign_step_t *s, const s_job_t *job, int64_t now, s_content_t *c)
{
    char bid [24], cid [24], gid [24], day [16], top [24], act [24], t [24];
    //  A leaderboard ranks the day it was planned for (its period plus the
    //  step's day), not the day it runs: quiet hours may hold it past
    //  midnight, or the service may run it late.
    int32_t board_day = qy_day_of (now, b->tz), anchor;
    if (campaign_parse_date (job->period, &anchor) == 0)
        board_day = anchor + s->day;
    qy_day_format (board_day, day, sizeof (day), false);
    qy_pg_cols_t ids;
    const char *arr = qy_pg_cols_ints (&ids, c->ids, c->nids);
    qy_pg_i64 (bid, job->brand_id);
    qy_pg_i64 (cid, job->campaign_id);
    qy_pg_i64 (gid, job->group_id);
    qy_pg_i64 (top, s->top);
    qy_pg_i64 (act, s->active_days);
    qy_pg_i64 (t, now);
    PGresult *res = NULL;
    int rc = 0;
    if (s->kind == CAMPAIGN_S_ACK && def->trigger.kind == CAMPAIGN_T_CHECKIN) {
        const char *p [] = { bid, cid, gid, arr };
        rc = s_list_rows (ctx, "checkin ack",
            "SELECT x.member_id, x.streak, x.points FROM (SELECT DISTINCT ON (member_id) member_id, streak, points "
            "  FROM campaign_checkins WHERE brand_id = $1 AND campaign_id = $2 AND group_id = $3 AND member_id = ANY ($4::bigint[]) "
            "  ORDER BY member_id, day DESC) x ORDER BY array_position ($4::bigint[], x.member_id)", 4, p, &res);
    }
    else if (s->kind == CAMPAIGN_S_ACK) {
        const char *p [] = { bid, cid, gid };
        rc = s_list_rows (ctx, "contest ack",
            "SELECT count (*), count (DISTINCT member_id) FROM campaign_entries WHERE brand_id = $1 AND campaign_id = $2 AND group_id = $3",
            3, p, &res);
    }
    else if (s->kind == CAMPAIGN_S_LEADERBOARD) {
        const char *p [] = { bid, cid, gid, day, top };
        rc = s_list_rows (ctx, "leaderboard",
            "SELECT c.member_id, sum (c.points), (array_agg (c.streak ORDER BY c.day DESC)) [1] FROM campaign_checkins c "
            "WHERE c.brand_id = $1 AND c.campaign_id = $2 AND c.group_id = $3 AND c.day <= $4::date "
            "  AND EXISTS (SELECT 1 FROM campaign_checkins d WHERE d.brand_id = $1 AND d.campaign_id = $2 AND d.group_id = $3 AND d.day = $4::date) "
            "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $5::int", 5, p, &res);
    }
    else {
        //  Eligible: in the group, spoke lately, not blocked, no violation
        //  upheld lately, not opted out.
        const char *p [] = { bid, gid, act, t };
        rc = s_list_rows (ctx, "draw eligible",
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
            "ORDER BY 1", 4, p, &res);
    }
    qy_pg_cols_free (&ids);
    if (rc < 0)
        return -1;
    if (s->kind == CAMPAIGN_S_ACK && def->trigger.kind == CAMPAIGN_T_CHECKIN) {
        c->empty = PQntuples (res) == 0;
        qy_snprintf (c->count, sizeof (c->count), "%d", PQntuples (res));
        PGresult *names = s_names (ctx, job, c->ids, c->nids);
        for (int r = 0; names && r < PQntuples (res); r++) {
            const char *name = "";
            for (int k = 0; k < PQntuples (names); k++)
                if (qy_pg_int (names, k, 0) == qy_pg_int (res, r, 0))
                    name = PQgetvalue (names, k, 2);
            qy_buf_printf (&c->list, "%s%s 连续%s天 +%s分", r ? "\n" : "", name, PQgetvalue (res, r, 1), PQgetvalue (res, r, 2));
        }
        if (!names)
            rc = -1;
        PQclear (names);
    }
    else if (s->kind == CAMPAIGN_S_ACK) {
        c->empty = c->nids == 0;
        qy_snprintf (c->count, sizeof (c->count), "%s", PQgetvalue (res, 0, 0));
    }
    else if (s->kind == CAMPAIGN_S_LEADERBOARD) {
        c->empty = PQntuples (res) == 0;
        int64_t *ids = NULL;
        size_t n = 0;
        for (int r = 0; r < PQntuples (res); r++)
            s_ids_add (&ids, &n, qy_pg_int (res, r, 0));
        PGresult *names = n ? s_names (ctx, job, ids, n) : NULL;
        for (int r = 0; names && r < PQntuples (res); r++)
            qy_buf_printf (&c->list, "%s%d. %s %s分 连续%s天", r ? "\n" : "", r + 1,
                           r < PQntuples (names) ? PQgetvalue (names, r, 2) : "", PQgetvalue (res, r, 1), PQgetvalue (res, r, 2));
        if (n && !names)
            rc = -1;
        PQclear (names);
        free (ids);
        qy_snprintf (c->count, sizeof (c->count), "%d", PQntuples (res));
    }
    else {
        free (c->ids);
        c->ids = NULL;
        c->nids = 0;
        char id [24];
        const char *dp [] = { bid, qy_pg_i64 (id, job->id) };
        PGresult *drawn;
        if (s_list_rows (ctx, "draw done", "SELECT seed::text, winners::text FROM campaign_draws WHERE brand_id = $1 AND job_id = $2",
                         2, dp, &drawn) < 0) {
            PQclear (res);
            return -1;
        }
        if (PQntuples (drawn)) {
            //  Drawn in an earlier pass: post exactly that result.
            c->drawn = true;
            c->seed = strtoull (PQgetvalue (drawn, 0, 0), NULL, 10);
            s_ids_parse (PQgetvalue (drawn, 0, 1), &c->ids, &c->nids);
        }
        PQclear (drawn);
        c->neligible = (size_t) PQntuples (res);
        c->eligible = qy_calloc (c->neligible + 1, sizeof (int64_t));
        for (size_t i = 0; i < c->neligible; i++)
            c->eligible [i] = qy_pg_int (res, (int) i, 0);
        if (!c->drawn) {
            if (getrandom (&c->seed, sizeof (c->seed), 0) != (ssize_t) sizeof (c->seed))
                c->seed = (uint64_t) qy_now_us () ^ (uint64_t) job->id << 32;
            int64_t *winners = qy_calloc ((size_t) s->winners + 1, sizeof (int64_t));
            size_t k = campaign_draw (c->eligible, c->neligible, c->seed, (size_t) s->winners, winners);
            for (size_t i = 0; i < k; i++)
                s_ids_add (&c->ids, &c->nids, winners [i]);
            free (winners);
        }
        size_t k = c->nids;
        c->empty = k == 0;
        qy_snprintf (c->count, sizeof (c->count), "%zu", k);
        PGresult *names = k ? s_names (ctx, job, c->ids, c->nids) : NULL;
        for (int r = 0; names && r < PQntuples (names); r++)
            qy_buf_printf (&c->list, "%s%s", r ? "、" : "", PQgetvalue (names, r, 2));
        if (k && !names)
            rc = -1;
        PQclear (names);
    }
    PQclear (res);
    return rc;
}

static void s_content_free (s_content_t *c)
{
    free (c->ids);
    free (c->eligible);
    free (c->nickname);
    qy_buf_free (&c->list);
}

//  Guard inputs for this group today (local day of the campaign clock).
static int s_guard_in (campaign_ctx_t *ctx, const campaign_brand_t *b, const s_job_t *job, const campaign_group_t *g,
                       int64_t now, campaign_guard_in_t *in)
{
    int32_t today = qy_day_of (now, b->tz);
    char bid [24], gid [24], mid [24], cid [24], lo [24], hi [24], t [24];
    const char *p [] = { qy_pg_i64 (bid, job->brand_id), qy_pg_i64 (gid, job->group_id),
                         qy_pg_i64 (mid, job->member_id), qy_pg_i64 (cid, job->campaign_id),
                         qy_pg_i64 (lo, campaign_local_us (today, 0, b->tz)),
                         qy_pg_i64 (hi, campaign_local_us (today + 1, 0, b->tz)),
                         qy_pg_i64 (t, now) };
    PGresult *res;
    if (!qy_pg_run (ctx->pg, "guard counts",
            "SELECT count (*) FILTER (WHERE promotional), count (*) FILTER (WHERE at_all), "
            "  (SELECT count (DISTINCT campaign_id) FROM campaign_contacts WHERE brand_id = $1 AND member_id = $3 "
            "     AND campaign_id <> $4 AND at > to_timestamp ($7::bigint / 1e6) - interval '7 days'), "
            "  EXISTS (SELECT 1 FROM campaign_optouts WHERE brand_id = $1 AND member_id = $3) "
            "FROM campaign_jobs WHERE brand_id = $1 AND group_id = $2 AND status = 'sent' "
            "  AND sent_at >= to_timestamp ($5::bigint / 1e6) AND sent_at < to_timestamp ($6::bigint / 1e6)", 7, p, &res))
        return -1;
    in->promos_today = (int) qy_pg_int (res, 0, 0);
    in->at_all_today = (int) qy_pg_int (res, 0, 1);
    in->subject_week = (int) qy_pg_int (res, 0, 2);
    in->opted_out = PQgetvalue (res, 0, 3) [0] == 't';
    PQclear (res);
    in->group_age_days = today - qy_day_of (g->created_us, b->tz);
    in->minute_of_day = campaign_minute_of (now, b->tz);
    return 0;
}

static int s_send (campaign_ctx_t *ctx, const campaign_brand_t *b, const campaign_def_t *def, s_job_t *job,
                   const campaign_group_t *g, const char *text, const s_content_t *c, bool at_all, bool reply, int64_t now)
{
    PGresult *names = c->nids ? s_names (ctx, job, c->ids, c->nids) : NULL;
    if (c->nids && !names)
        return -1;
    size_t nm = at_all ? 1 : (names ? (size_t) PQntuples (names) : 0);
    char **mentions = qy_calloc (nm + 1, sizeof (char *));
    qy_pg_cols_t arr;
    qy_pg_cols_init (&arr, 1);
    for (size_t i = 0; i < nm; i++) {
        mentions [i] = at_all ? "@all" : PQgetvalue (names, (int) i, 1);
        qy_pg_cols_row (&arr);
        qy_pg_cols_text (&arr, 0, mentions [i]);
    }
    char source [160], gcode [128];
    const campaign_step_t *s = &def->steps [job->step];
    qy_snprintf (source, sizeof (source), "campaign:%s:%zu%s%s", def->name, job->step, *job->variant ? ":" : "", job->variant);
    qy_snprintf (gcode, sizeof (gcode), "%s", g->code);
    Qy__Delivery d = QY__DELIVERY__INIT;
    d.key = (char *) job->key;
    d.brand = b->code;
    d.brand_id = job->brand_id;
    d.group_id = job->group_id;
    d.group = gcode;
    d.priority = QY__PRIORITY__P_CAMPAIGN;
    d.kind = "post";
    d.text = (char *) text;
    d.n_mentions = nm;
    d.mentions = mentions;
    d.at_all = at_all;
    d.source = source;
    d.event_id = (char *) (job->trigger_msg ? job->trigger_msg : job->key);
    d.created_us = now;
    int rc = ctx->send (ctx->send_arg, &d);
    if (rc != 0) {
        //  Stopping (or the socket failed): the job stays pending for later.
        free (mentions);
        qy_pg_cols_free (&arr);
        PQclear (names);
        return -2;
    }
    job->handed = true;
    //  Contacted, for the weekly cap: whom a proactive post names and the
    //  member it is about, named or not. Replies were asked for.
    int64_t *who = NULL;
    size_t nwho = 0;
    for (size_t i = 0; !reply && !at_all && i < c->nids; i++)
        s_ids_add (&who, &nwho, c->ids [i]);
    if (!reply && job->member_id > 0)
        s_ids_add (&who, &nwho, job->member_id);
    char id [24], t [24], cid [24], bid [24];
    qy_pg_cols_t contacts;
    qy_pg_cols_ints (&contacts, who, nwho);
    free (who);
    const char *p [] = { qy_pg_i64 (id, job->id), qy_pg_i64 (t, now), text,
                         qy_pg_cols_array (&arr, 0), at_all ? "t" : "f" };
    const char *q [] = { p [0], p [1], qy_pg_i64 (bid, job->brand_id), qy_pg_cols_array (&contacts, 0),
                         qy_pg_i64 (cid, job->campaign_id) };
    if (rc == 0 && (!s_exec (ctx, "job sent",
            "UPDATE campaign_jobs SET status = 'sent', sent_at = to_timestamp ($2::bigint / 1e6), text = $3, "
            "  sent_mentions = $4::text[], at_all = $5 WHERE id = $1", 5, p)
        || (nwho && !s_exec (ctx, "job contacts",
            "INSERT INTO campaign_contacts (brand_id, member_id, campaign_id, job_id, at) "
            "SELECT $3, x, $5, $1, to_timestamp ($2::bigint / 1e6) FROM unnest ($4::bigint[]) x WHERE x > 0 "
            "ON CONFLICT DO NOTHING", 5, q))))
        rc = -1;
    else if (rc == 0) {
        campaign_count ("qy_campaign_jobs_sent_total", NULL, NULL, 1);
        qy_log_info ("msg=%s brand=%s key=%s job sent campaign=%s step=%zu variant=%s mentions=%zu%s",
                     job->trigger_msg ? job->trigger_msg : job->key, b->code, job->key, def->name, job->step,
                     *job->variant ? job->variant : "-", nm, s->promotional ? " promotional" : "");
    }
    qy_pg_cols_free (&contacts);
    free (mentions);
    qy_pg_cols_free (&arr);
    PQclear (names);
    return rc;
}

//  Has the member of a silence spell ("s:<member>:<last day>") spoken in
//  the group since? The spell was found in scoring's daily roll-up, which
//  may be a day behind, and a later step of the spell may fall due after
//  the member came back: the archive knows. 1 yes, 0 no, -1 failed.
static int s_spoke_since (campaign_ctx_t *ctx, const campaign_brand_t *b, const s_job_t *job, int64_t now)
{
    const char *last = strrchr (job->period, ':');
    if (strncmp (job->period, "s:", 2) != 0 || !last || job->member_id <= 0)
        return 0;
    char bid [24], gid [24], mid [24], from [24], t [24];
    const char *p [] = { qy_pg_i64 (bid, job->brand_id), qy_pg_i64 (gid, job->group_id),
                         qy_pg_i64 (mid, job->member_id),
                         qy_pg_i64 (from, campaign_local_us ((int32_t) strtol (last + 1, NULL, 10) + 1, 0, b->tz)),
                         qy_pg_i64 (t, now) };
    PGresult *res;
    if (!qy_pg_run (ctx->pg, "spoke since",
            "SELECT EXISTS (SELECT 1 FROM messages m WHERE m.brand_id = $1 AND m.group_id = $2 AND m.member_id = $3 "
            "  AND m.event_time >= to_timestamp ($4::bigint / 1e6) AND m.event_time <= to_timestamp ($5::bigint / 1e6) "
            "  AND m.kind NOT IN ('join', 'leave', 'rename', 'purchase', 'coupon_redeemed', 'signal', 'revoke'))", 5, p, &res))
        return -1;
    int spoke = PQgetvalue (res, 0, 0) [0] == 't';
    PQclear (res);
    return spoke;
}

static int s_job_run (campaign_ctx_t *ctx, s_job_t *job, int64_t now)
{
    const campaign_brand_t *b;
    if (campaign_store_brand (ctx->store, job->brand_id, &b) < 0)
        return -1;
    const campaign_def_t *def = NULL;
    for (size_t i = 0; i < b->ndefs; i++)
        if (b->defs [i]->id == job->campaign_id)
            def = b->defs [i];
    if (!def || job->step >= def->nsteps)
        return s_close (ctx, job, "cancelled", "campaign_disabled", b->code);
    if (now - job->due > ctx->max_late_s * 1000000)
        return s_close (ctx, job, "expired", "too_late", b->code);
    if (def->trigger.kind == CAMPAIGN_T_SILENCE) {
        int spoke = s_spoke_since (ctx, b, job, now);
        if (spoke != 0)
            return spoke < 0 ? -1 : s_close (ctx, job, "cancelled", "not_silent", b->code);
    }
    campaign_groups_t *groups = campaign_groups_load (ctx, job->brand_id, job->group_id);
    if (!groups)
        return -1;
    int rc = 0;
    s_content_t c = { 0 };
    qy_buf_init (&c.list);
    const campaign_step_t *s = &def->steps [job->step];
    bool reply = def->trigger.kind == CAMPAIGN_T_KEYWORD || s->kind == CAMPAIGN_S_ACK;
    bool at_all = s->mention == CAMPAIGN_M_ALL;
    campaign_guard_in_t in = { s->promotional, at_all, reply, job->member_id > 0, false, 0, 0, 0, 0, 0 };
    const char *guard = NULL;
    int defer = 0;
    campaign_verdict_t v;
    if (!groups->n) {
        rc = s_close (ctx, job, "cancelled", "group_missing", b->code);
        goto done;
    }
    const campaign_group_t *g = &groups->v [0];
    const campaign_guards_t *gg = campaign_brand_guards (b, g->id);
    if ((rc = s_guard_in (ctx, b, job, g, now, &in)) < 0)
        goto done;
    v = campaign_guard_check (gg, &in, &guard, &defer);
    if (v == CAMPAIGN_BLOCK) {
        rc = s_close (ctx, job, "blocked", guard, b->code);
        goto done;
    }
    if (v == CAMPAIGN_DEFER) {
        char id [24], due [24];
        int64_t until = (now / 60000000 + defer) * 60000000;
        const char *p [] = { qy_pg_i64 (id, job->id), qy_pg_i64 (due, until), guard };
        rc = s_exec (ctx, "job defer", "UPDATE campaign_jobs SET due_at = to_timestamp ($2::bigint / 1e6), guard = $3, "
                     "deferrals = deferrals + 1 WHERE id = $1", 3, p) ? 0 : -1;
        campaign_count ("qy_campaign_jobs_deferred_total", "guard", guard, 1);
        qy_log_info ("msg=%s brand=%s key=%s job deferred guard=%s minutes=%d", job->trigger_msg ? job->trigger_msg : job->key,
                     b->code, job->key, guard, defer);
        goto done;
    }
    //  Whom the post names.
    for (size_t i = 0; i < job->nmentions; i++)
        s_ids_add (&c.ids, &c.nids, job->mentions [i]);
    if (job->member_id > 0)
        s_ids_add (&c.ids, &c.nids, job->member_id);
    if (c.nids) {
        PGresult *names = s_names (ctx, job, c.ids, c.nids);
        if (!names) {
            rc = -1;
            goto done;
        }
        qy_buf_t nick;
        qy_buf_init (&nick);
        for (int r = 0; r < PQntuples (names); r++)
            qy_buf_printf (&nick, "%s%s", r ? "、" : "", PQgetvalue (names, r, 2));
        c.nickname = nick.data;
        PQclear (names);
    }
    if (s->mention != CAMPAIGN_M_SUBJECT && s->kind == CAMPAIGN_S_POST) {
        free (c.ids);
        c.ids = NULL;
        c.nids = 0;
    }
    if (s->mention == CAMPAIGN_M_SEGMENT && (rc = s_segment (ctx, b, s, job, now, gg->member_per_week, &c)) < 0)
        goto done;
    if (s->kind != CAMPAIGN_S_POST && (rc = s_activity (ctx, b, def, s, job, now, &c)) < 0)
        goto done;
    if (c.empty) {
        rc = s_close (ctx, job, "cancelled", "nothing_to_post", b->code);
        goto done;
    }
    const campaign_variant_t *var = &s->variants [0];
    for (size_t i = 0; i < s->nvariants; i++)
        if (strcmp (s->variants [i].name, job->variant) == 0)
            var = &s->variants [i];
    campaign_vars_t vars = { c.nickname, g->name, g->store_name, job->product, job->coupon,
                             c.list.data, *c.count ? c.count : NULL };
    char err [160];
    char *text = campaign_render (var->tmpl, &vars, err, sizeof (err));
    if (!text) {
        qy_log_error ("brand=%s key=%s bad template error=\"%s\"", b->code, job->key, err);
        rc = s_close (ctx, job, "cancelled", "template_error", b->code);
        goto done;
    }
    //  A draw is committed on its own before its post goes out, so the
    //  winners announced are always the winners recorded, even if the
    //  service dies between the two: the job stays due and the next pass
    //  posts the recorded result.
    if (s->kind == CAMPAIGN_S_DRAW && !c.drawn) {
        char id [24], bid [24], cid [24], gid [24], seed [24], t [24];
        qy_pg_cols_t el, win;
        qy_snprintf (seed, sizeof (seed), "%llu", (unsigned long long) c.seed);
        const char *p [] = { qy_pg_i64 (bid, job->brand_id), qy_pg_i64 (id, job->id),
                             qy_pg_i64 (cid, job->campaign_id), qy_pg_i64 (gid, job->group_id),
                             seed, qy_pg_cols_ints (&el, c.eligible, c.neligible),
                             qy_pg_cols_ints (&win, c.ids, c.nids), qy_pg_i64 (t, now) };
        //  A redone draw (the job came back after a crash) keeps the first result.
        if (!s_exec (ctx, "draw", "INSERT INTO campaign_draws (brand_id, job_id, campaign_id, group_id, seed, eligible, winners, drawn_at) "
                     "VALUES ($1, $2, $3, $4, $5::numeric, $6::bigint[], $7::bigint[], to_timestamp ($8::bigint / 1e6))",
                     8, p))
            rc = -1;
        else
            qy_log_info ("brand=%s key=%s lottery drawn seed=%s eligible=%zu winners=%zu", b->code, job->key, seed,
                         c.neligible, c.nids);
        qy_pg_cols_free (&el);
        qy_pg_cols_free (&win);
        free (text);
        goto done;
    }
    if (rc == 0)
        rc = s_send (ctx, b, def, job, g, text, &c, at_all, reply, now);
    free (text);
done:
    s_content_free (&c);
    campaign_groups_destroy (&groups);
    return rc;
}

//  A job failed with PostgreSQL still there (bad data, a bug, a lock or
//  statement timeout): only its own work is undone, back to its savepoint.
//  A post already handed to notifier is recorded as sent (without its text
//  or contacts) and never cancelled; otherwise the job is tried again
//  after a pause, and cancelled (guard "error") after S_MAX_ATTEMPTS.
//  Returns 0 (the batch goes on), or -1 when the transaction is lost.
#define S_MAX_ATTEMPTS 3

//  The message a log line is about: the triggering event, else the job.
static const char *s_msg (const s_job_t *job)
{
    return job->trigger_msg ? job->trigger_msg : job->key;
}

static int s_job_failed (campaign_ctx_t *ctx, const s_job_t *job, int64_t now)
{
    if (!qy_pg_ok (ctx->pg) || !s_exec (ctx, "job rollback", "ROLLBACK TO SAVEPOINT job", 0, NULL))
        return -1;
    char id [24], t [24], max [QY_PG_I64_LEN];
    const char *p [] = { qy_pg_i64 (id, job->id), qy_pg_i64 (t, now),
                         qy_pg_i64 (max, S_MAX_ATTEMPTS) };
    PGresult *res;
    if (job->handed) {
        if (s_exec (ctx, "job sent anyway", "UPDATE campaign_jobs SET status = 'sent', sent_at = to_timestamp ($2::bigint / 1e6), "
                    "  guard = 'record_failed' WHERE id = $1", 2, p)) {
            qy_log_error ("msg=%s key=%s job_id=%lld sent, but recording it failed (guard=record_failed)", s_msg (job), job->key,
                          (long long) job->id);
            return s_exec (ctx, "job release", "RELEASE SAVEPOINT job", 0, NULL) ? 0 : -1;
        }
        //  Left pending: the next pass sends it again under the same key.
        qy_log_error ("msg=%s key=%s job_id=%lld sent, but cannot be marked sent", s_msg (job), job->key, (long long) job->id);
        return s_exec (ctx, "job rollback", "ROLLBACK TO SAVEPOINT job", 0, NULL) ? 0 : -1;
    }
    if (!qy_pg_run (ctx->pg, "job retry",
            "UPDATE campaign_jobs SET attempts = attempts + 1, "
            "  retry_at = to_timestamp ($2::bigint / 1e6) + (attempts + 1) * interval '1 minute', "
            "  status = CASE WHEN attempts + 1 >= $3::int THEN 'cancelled' ELSE status END, "
            "  guard = CASE WHEN attempts + 1 >= $3::int THEN 'error' ELSE guard END "
            "WHERE id = $1 RETURNING attempts, status", 3, p, &res))
        return s_exec (ctx, "job rollback", "ROLLBACK TO SAVEPOINT job", 0, NULL) ? 0 : -1;
    if (PQntuples (res) && strcmp (PQgetvalue (res, 0, 1), "cancelled") == 0) {
        campaign_count ("qy_campaign_jobs_closed_total", "status", "cancelled", 1);
        qy_log_error ("msg=%s key=%s job_id=%lld failed %s times and was cancelled (guard=error)", s_msg (job), job->key,
                      (long long) job->id, PQgetvalue (res, 0, 0));
    }
    else
        qy_log_warn ("msg=%s key=%s job_id=%lld failed, tried again later attempts=%s", s_msg (job), job->key,
                     (long long) job->id, PQntuples (res) ? PQgetvalue (res, 0, 0) : "?");
    PQclear (res);
    return s_exec (ctx, "job release", "RELEASE SAVEPOINT job", 0, NULL) ? 0 : -1;
}

int campaign_run (campaign_ctx_t *ctx)
{
    int64_t now = campaign_clock_now (&ctx->clock);
    char t [24], lim [24];
    const char *p [] = { qy_pg_i64 (t, now), qy_pg_i64 (lim, ctx->batch) };
    if (!s_exec (ctx, "begin", "BEGIN", 0, NULL))
        return -1;
    PGresult *res;
    //  Ordered by group so the per-group locks below are always taken in
    //  the same order by every replica (no deadlock).
    if (!qy_pg_run (ctx->pg, "claim jobs",
            "SELECT id, brand_id, campaign_id, step, group_id, period, member_id, variant, product, mentions::text, "
            "  (extract (epoch FROM due_at) * 1000000)::bigint, promotional, at_all, delivery_key, trigger_msg, coupon "
            "FROM campaign_jobs WHERE status = 'pending' AND due_at <= to_timestamp ($1::bigint / 1e6) "
            "  AND (retry_at IS NULL OR retry_at <= to_timestamp ($1::bigint / 1e6)) "
            "ORDER BY group_id, due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED", 2, p, &res)) {
        s_exec (ctx, "rollback", "ROLLBACK", 0, NULL);
        return -1;
    }
    int n = PQntuples (res), rc = 0;
    int64_t locked = 0;
    for (int r = 0; r < n && rc == 0; r++) {
        s_job_t job = { 0 };
        job.id = qy_pg_int (res, r, 0);
        job.brand_id = qy_pg_int (res, r, 1);
        job.campaign_id = qy_pg_int (res, r, 2);
        job.step = (size_t) qy_pg_int (res, r, 3);
        job.group_id = qy_pg_int (res, r, 4);
        job.period = PQgetvalue (res, r, 5);
        job.member_id = qy_pg_int (res, r, 6);
        job.variant = PQgetvalue (res, r, 7);
        job.product = PQgetisnull (res, r, 8) ? NULL : PQgetvalue (res, r, 8);
        s_ids_parse (PQgetvalue (res, r, 9), &job.mentions, &job.nmentions);
        job.due = qy_pg_int (res, r, 10);
        job.promotional = PQgetvalue (res, r, 11) [0] == 't';
        job.at_all = PQgetvalue (res, r, 12) [0] == 't';
        job.key = PQgetvalue (res, r, 13);
        job.trigger_msg = PQgetisnull (res, r, 14) ? NULL : PQgetvalue (res, r, 14);
        job.coupon = PQgetisnull (res, r, 15) ? NULL : PQgetvalue (res, r, 15);
        if (job.group_id != locked) {
            char gid [24];
            const char *lp [] = { qy_pg_i64 (gid, job.group_id) };
            if (!s_exec (ctx, "group lock", "SELECT pg_advisory_xact_lock (7405031, ($1::bigint % 2147483647)::int)", 1, lp))
                rc = -1;
            locked = job.group_id;
        }
        if (rc == 0 && !s_exec (ctx, "job savepoint", "SAVEPOINT job", 0, NULL))
            rc = -1;
        if (rc == 0) {
            rc = s_job_run (ctx, &job, now);
            if (rc == -1)
                rc = s_job_failed (ctx, &job, now);
            else if (!s_exec (ctx, "job release", "RELEASE SAVEPOINT job", 0, NULL))
                rc = -1;
        }
        free (job.mentions);
        if (rc == -2) {
            rc = 0;         //  not sent: commit what was done, stop here
            break;
        }
    }
    PQclear (res);
    if (rc < 0 || !s_exec (ctx, "commit", "COMMIT", 0, NULL)) {
        //  The connection (or the group lock) failed: nothing of the batch
        //  is kept and the next pass claims it again. Posts already handed
        //  over go again with the same keys; notifier drops the copies.
        s_exec (ctx, "rollback", "ROLLBACK", 0, NULL);
        return -1;
    }
    return n;
}
