//  The planner: turns calendar, group-age, silence and leaderboard triggers
//  into jobs (next-run times) in PostgreSQL, up to `horizon` ahead (a
//  silence spell, found on one day only, gets all its steps at once). Jobs are
//  unique per (campaign, step, group, period), so planning the same window
//  again, after a restart or from another replica, adds nothing; a try-lock
//  just saves the second replica the work.
#include "campaign_int.h"
#include "qy/log.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t group_id;
    int64_t hist [24];
} s_hist_t;

typedef struct {
    campaign_ctx_t *ctx;
    const campaign_brand_t *brand;
    campaign_groups_t *groups;
    s_hist_t *hists;
    size_t    nhists;
    bool      hists_loaded;
    int64_t   now, lo, hi;            //  plan jobs due in [lo, hi]
    int32_t   today;
    int       created;
    qy_map_t *have;                   //  "step:group:period" of the campaign's jobs already there
} s_plan_t;

//  The jobs a campaign already has in the window, so a planning round
//  inserts only what is new instead of asking PostgreSQL for every group.
static int s_load_have (s_plan_t *pl, const campaign_def_t *def)
{
    qy_map_clear (pl->have);
    char bid [24], cid [24], lo [24];
    const char *p [] = { qy_pg_i64 (bid, pl->brand->brand_id), qy_pg_i64 (cid, def->id),
                         qy_pg_i64 (lo, pl->lo - 86400LL * 1000000) };
    PGresult *res;
    if (!qy_pg_run (pl->ctx->pg, "planned jobs",
            //  Two parts, each with an index of its own (migration 134):
            //  as one OR, the campaign's whole history was read.
            "SELECT step || ':' || group_id || ':' || period FROM campaign_jobs WHERE brand_id = $1 AND campaign_id = $2 "
            "AND due_at >= to_timestamp ($3::bigint / 1e6) "
            "UNION ALL "
            "SELECT step || ':' || group_id || ':' || period FROM campaign_jobs WHERE brand_id = $1 AND campaign_id = $2 "
            "AND period = 'g' AND due_at < to_timestamp ($3::bigint / 1e6)", 3, p, &res))
        return -1;
    for (int r = 0; r < PQntuples (res); r++)
        qy_map_put (pl->have, PQgetvalue (res, r, 0), 1);
    PQclear (res);
    return 0;
}

//  Messages per hour of day over the last 28 local days, per group.
static int s_load_hists (s_plan_t *pl)
{
    if (pl->hists_loaded)
        return 0;
    char bid [24], day [16];
    qy_day_format (pl->today, day, sizeof (day), false);
    const char *p [] = { qy_pg_i64 (bid, pl->brand->brand_id), day };
    PGresult *res;
    if (!qy_pg_run (pl->ctx->pg, "best hour",
            "SELECT d.group_id, h.i, coalesce (sum (d.hour_hist [h.i]), 0)::bigint "
            "FROM daily_group_stats d, generate_series (1, 24) h (i) "
            "WHERE d.brand_id = $1 AND d.day >= $2::date - 28 AND d.day < $2::date "
            "GROUP BY 1, 2 ORDER BY 1, 2", 2, p, &res))
        return -1;
    for (int r = 0; r < PQntuples (res); r++) {
        int64_t gid = qy_pg_int (res, r, 0);
        if (!pl->nhists || pl->hists [pl->nhists - 1].group_id != gid) {
            pl->hists = qy_realloc (pl->hists, sizeof (s_hist_t) * (pl->nhists + 1));
            memset (&pl->hists [pl->nhists], 0, sizeof (s_hist_t));
            pl->hists [pl->nhists++].group_id = gid;
        }
        pl->hists [pl->nhists - 1].hist [qy_pg_int (res, r, 1) - 1] = qy_pg_int (res, r, 2);
    }
    PQclear (res);
    pl->hists_loaded = true;
    return 0;
}

static int s_best_hour (s_plan_t *pl, const campaign_step_t *s, const campaign_group_t *g)
{
    if (!s->best_time)
        return 0;
    const int64_t *hist = NULL;
    for (size_t i = 0; i < pl->nhists; i++)
        if (pl->hists [i].group_id == g->id)
            hist = pl->hists [i].hist;
    return campaign_best_hour (hist, campaign_brand_guards (pl->brand, g->id), (int) pl->ctx->best_hour_default);
}

static bool s_have (s_plan_t *pl, size_t step, const campaign_group_t *g, const char *period)
{
    char have [128];
    int64_t seen;
    qy_snprintf (have, sizeof (have), "%zu:%lld:%s", step, (long long) g->id, period);
    return qy_map_get (pl->have, have, &seen);
}

//  Insert the job unless this round already knows it is there.
static int s_job_insert (s_plan_t *pl, const campaign_def_t *def, size_t step, const campaign_group_t *g,
                         const char *period, int64_t member_id, int64_t due)
{
    if (s_have (pl, step, g, period))
        return 0;
    campaign_job_spec_t spec = { pl->brand, def, step, g, period, member_id, due, NULL, NULL, 0, 0 };
    int rc = campaign_job_insert (pl->ctx, &spec);
    if (rc > 0)
        pl->created++;
    return rc < 0 ? -1 : 0;
}

//  A calendar step is planned by the round whose window holds its due time.
static int s_job (s_plan_t *pl, const campaign_def_t *def, size_t step, const campaign_group_t *g,
                  const char *period, int64_t member_id, int64_t due)
{
    if (due < pl->lo || due > pl->hi)
        return 0;
    return s_job_insert (pl, def, step, g, period, member_id, due);
}

//  Calendar, group-age and daily leaderboard steps of one group.
static int s_plan_group (s_plan_t *pl, const campaign_def_t *def, const campaign_group_t *g)
{
    int tz = pl->brand->tz;
    int32_t d_lo = qy_day_of (pl->lo, tz), d_hi = qy_day_of (pl->hi, tz);
    for (size_t i = 0; i < def->nsteps; i++) {
        const campaign_step_t *s = &def->steps [i];
        int best = s_best_hour (pl, s, g);
        char period [16];
        if (def->trigger.kind == CAMPAIGN_T_GROUP_AGE) {
            int32_t anchor = qy_day_of (g->created_us, tz);
            if (s_job (pl, def, i, g, "g", 0, campaign_step_due (s, anchor, 0, tz, best)) < 0)
                return -1;
            continue;
        }
        if (def->trigger.kind == CAMPAIGN_T_CHECKIN && s->kind != CAMPAIGN_S_LEADERBOARD)
            continue;
        for (int32_t d = d_lo; d <= d_hi; d++) {
            int32_t anchor = d - s->day;
            if (def->trigger.kind == CAMPAIGN_T_SCHEDULE && !campaign_schedule_on (&def->trigger, anchor))
                continue;
            qy_day_format (anchor, period, sizeof (period), false);
            if (s_job (pl, def, i, g, period, 0, campaign_step_due (s, anchor, 0, tz, best)) < 0)
                return -1;
        }
    }
    return 0;
}

//  One silent member: every step of the spell at once, anchored on the
//  day the spell reached N days, the way event triggers plan theirs. The
//  member matches on that day only, so a step planned by the horizon
//  (day 2 of a one-day horizon) would never be planned at all.
static int s_silent_member (s_plan_t *pl, const campaign_def_t *def, const campaign_group_t *g, int64_t mid,
                            int32_t last_day)
{
    char period [64];
    qy_snprintf (period, sizeof (period), "s:%lld:%lld", (long long) mid, (long long) last_day);
    bool all = true;
    for (size_t i = 0; i < def->nsteps && all; i++)
        all = s_have (pl, i, g, period);
    if (all)
        return 0;       //  planned by an earlier round: no need to load the member again
    campaign_member_t m;
    if (campaign_member_load (pl->ctx, pl->brand->brand_id, g->id, mid, &m) < 0)
        return -1;
    bool match = campaign_segment_match (&def->target.members, &m);
    campaign_member_free (&m);
    if (!match)
        return 0;
    int32_t anchor = last_day + def->trigger.silence_days;
    for (size_t i = 0; i < def->nsteps; i++) {
        const campaign_step_t *s = &def->steps [i];
        if (s_job_insert (pl, def, i, g, period, mid,
                          campaign_step_due (s, anchor, pl->now, pl->brand->tz, s_best_hour (pl, s, g))) < 0)
            return -1;
    }
    return 0;
}

//  Members whose last message (or join, if they never spoke) was exactly
//  N local days ago: one silence spell gives one period. Only the groups
//  the campaign targets are read, a page at a time in (group, member)
//  order, until the last page: every member of a large brand is seen each
//  round, with memory bounded by the page.
#define S_SILENCE_PAGE 1000

static int s_plan_silence (s_plan_t *pl, const campaign_def_t *def)
{
    const campaign_group_t **targeted = qy_calloc (pl->groups->n + 1, sizeof (campaign_group_t *));
    size_t nt = 0;
    qy_pg_cols_t ids;
    qy_pg_cols_init (&ids, 1);
    for (size_t i = 0; i < pl->groups->n; i++)
        if (campaign_target_group (&def->target, &pl->groups->v [i])) {
            qy_pg_cols_row (&ids);
            qy_pg_cols_int (&ids, 0, pl->groups->v [i].id);
            targeted [nt++] = &pl->groups->v [i];
        }
    char bid [QY_PG_I64_LEN], tz [QY_PG_I64_LEN], day [16], n [QY_PG_I64_LEN], after_g [24] = "0", after_m [24] = "0";
    char page [QY_PG_I64_LEN];
    qy_day_format (pl->today, day, sizeof (day), false);
    const char *p [] = { qy_pg_i64 (bid, pl->brand->brand_id), qy_pg_i64 (tz, pl->brand->tz),
                         day, qy_pg_i64 (n, def->trigger.silence_days), qy_pg_cols_array (&ids, 0), after_g, after_m,
                         qy_pg_i64 (page, S_SILENCE_PAGE) };
    int rc = 0, rows = nt ? S_SILENCE_PAGE : 0;
    size_t cursor = 0;          //  groups (by id) and rows (by group id) come in the same order
    while (rc == 0 && rows == S_SILENCE_PAGE) {
        PGresult *res;
        if (!qy_pg_run (pl->ctx->pg, "silent members",
                "SELECT ms.group_id, ms.member_id, x.last - '1970-01-01'::date FROM memberships ms "
                "CROSS JOIN LATERAL (SELECT coalesce ((SELECT max (d.day) FROM daily_member_stats d "
                "      WHERE d.group_id = ms.group_id AND d.member_id = ms.member_id AND d.brand_id = ms.brand_id "
                "        AND d.messages > 0), "
                "    (ms.joined_at AT TIME ZONE 'UTC' + make_interval (mins => $2::int))::date) AS last) x "
                "WHERE ms.brand_id = $1 AND ms.group_id = ANY ($5::bigint[]) AND ms.left_at IS NULL AND ms.role = 'member' "
                "  AND (ms.group_id, ms.member_id) > ($6::bigint, $7::bigint) AND x.last = $3::date - $4::int "
                "ORDER BY ms.group_id, ms.member_id LIMIT $8::int", 8, p, &res)) {
            rc = -1;
            break;
        }
        rows = PQntuples (res);
        for (int r = 0; r < rows && rc == 0; r++) {
            int64_t gid = qy_pg_int (res, r, 0);
            while (cursor < nt && targeted [cursor]->id < gid)
                cursor++;
            if (cursor < nt && targeted [cursor]->id == gid)
                rc = s_silent_member (pl, def, targeted [cursor], qy_pg_int (res, r, 1), (int32_t) qy_pg_int (res, r, 2));
        }
        if (rows) {
            qy_snprintf (after_g, sizeof (after_g), "%s", PQgetvalue (res, rows - 1, 0));
            qy_snprintf (after_m, sizeof (after_m), "%s", PQgetvalue (res, rows - 1, 1));
        }
        PQclear (res);
    }
    qy_pg_cols_free (&ids);
    free (targeted);
    return rc;
}

static int s_plan_brand (campaign_ctx_t *ctx, const campaign_brand_t *brand, int64_t now)
{
    s_plan_t pl = { ctx, brand, NULL, NULL, 0, false, now, now - ctx->max_late_s * 1000000,
                    now + ctx->horizon_s * 1000000, qy_day_of (now, brand->tz), 0, NULL };
    pl.groups = campaign_groups_load (ctx, brand->brand_id, 0);
    if (!pl.groups)
        return -1;
    pl.have = qy_map_new ();
    int rc = 0;
    for (size_t i = 0; i < brand->ndefs && rc == 0; i++) {
        const campaign_def_t *def = brand->defs [i];
        campaign_trigger_kind_t k = def->trigger.kind;
        if (k != CAMPAIGN_T_SCHEDULE && k != CAMPAIGN_T_GROUP_AGE && k != CAMPAIGN_T_CHECKIN && k != CAMPAIGN_T_SILENCE)
            continue;
        for (size_t s = 0; s < def->nsteps; s++)
            if (def->steps [s].best_time && s_load_hists (&pl) < 0)
                rc = -1;
        if (rc == 0 && s_load_have (&pl, def) < 0)
            rc = -1;
        if (k == CAMPAIGN_T_SILENCE) {
            if (rc == 0)
                rc = s_plan_silence (&pl, def);
            continue;
        }
        for (size_t g = 0; g < pl.groups->n && rc == 0; g++)
            if (campaign_target_group (&def->target, &pl.groups->v [g]))
                rc = s_plan_group (&pl, def, &pl.groups->v [g]);
    }
    if (pl.created)
        qy_log_info ("brand=%s jobs planned=%d", brand->code, pl.created);
    campaign_groups_destroy (&pl.groups);
    qy_map_destroy (&pl.have);
    free (pl.hists);
    return rc < 0 ? -1 : pl.created;
}

int campaign_plan (campaign_ctx_t *ctx)
{
    PGresult *res;
    if (!qy_pg_run (ctx->pg, "plan lock", "SELECT pg_try_advisory_lock (7405030)", 0, NULL, &res))
        return -1;
    bool mine = PQgetvalue (res, 0, 0) [0] == 't';
    PQclear (res);
    if (!mine)
        return 0;       //  another replica is planning right now
    int64_t *ids;
    size_t n;
    int total = 0;
    if (campaign_store_brands (ctx->store, &ids, &n) < 0)
        total = -1;
    int64_t now = campaign_clock_now (&ctx->clock);
    for (size_t i = 0; i < n && total >= 0; i++) {
        const campaign_brand_t *brand;
        int rc = campaign_store_brand (ctx->store, ids [i], &brand) < 0 ? -1 : s_plan_brand (ctx, brand, now);
        total = rc < 0 ? -1 : total + rc;
    }
    if (qy_pg_run (ctx->pg, "plan unlock", "SELECT pg_advisory_unlock (7405030)", 0, NULL, &res))
        PQclear (res);
    return total;
}
