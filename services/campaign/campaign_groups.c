//  Groups, members and jobs in PostgreSQL: what the planner, the runner and
//  the event handler all need. Every query is scoped to its brand.
#include "campaign_int.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include <stdlib.h>
#include <string.h>

void campaign_count (const char *name, const char *label, const char *value, int64_t by)
{
    char full [160];
    if (label)
        qy_snprintf (full, sizeof (full), "%s{%s=\"%s\"}", name, label, value);
    else
        qy_snprintf (full, sizeof (full), "%s", name);
    qy_metric_add (qy_counter (full, "campaign activity (see docs/campaign.md)"), by);
}

static const char *s_keep (campaign_groups_t *self, const char *s)
{
    self->strings = qy_realloc (self->strings, sizeof (char *) * (self->nstrings + 1));
    return self->strings [self->nstrings++] = qy_strdup (s);
}

campaign_groups_t *campaign_groups_load (campaign_ctx_t *ctx, int64_t brand_id, int64_t group_id)
{
    char bid [24], gid [24];
    const char *p [] = { qy_pg_i64 (bid, brand_id), qy_pg_i64 (gid, group_id) };
    bool states = campaign_store_has_states (ctx->store);
    char sql [1024];
    qy_snprintf (sql, sizeof (sql),
        "SELECT g.id, g.code, g.name, g.type, array_to_json (g.tags)::text, "
        "       (extract (epoch FROM g.created_at) * 1000000)::bigint, coalesce (g.store_id, 0), "
        "       coalesce (s.code, ''), coalesce (s.name, ''), coalesce (r.code, ''), %s "
        "FROM groups g LEFT JOIN stores s ON s.id = g.store_id AND s.brand_id = g.brand_id "
        "LEFT JOIN regions r ON r.id = s.region_id AND r.brand_id = g.brand_id %s "
        "WHERE g.brand_id = $1 AND ($2::bigint = 0 OR g.id = $2) ORDER BY g.id",
        states ? "gs.state" : "NULL::text",
        states ? "LEFT JOIN group_states gs ON gs.group_id = g.id AND gs.brand_id = g.brand_id" : "");
    PGresult *res;
    if (!qy_pg_run (ctx->pg, "campaign groups", sql, 2, p, &res))
        return NULL;
    campaign_groups_t *self = qy_calloc (1, sizeof (*self));
    self->n = (size_t) PQntuples (res);
    self->v = qy_calloc (self->n + 1, sizeof (campaign_group_t));
    self->tags = json_array ();
    for (int r = 0; r < PQntuples (res); r++) {
        campaign_group_t *g = &self->v [r];
        g->id = qy_pg_int (res, r, 0);
        g->code = s_keep (self, PQgetvalue (res, r, 1));
        g->name = s_keep (self, PQgetvalue (res, r, 2));
        g->type = s_keep (self, PQgetvalue (res, r, 3));
        g->created_us = qy_pg_int (res, r, 5);
        g->store_id = qy_pg_int (res, r, 6);
        g->store_code = s_keep (self, PQgetvalue (res, r, 7));
        g->store_name = s_keep (self, PQgetvalue (res, r, 8));
        g->region_code = s_keep (self, PQgetvalue (res, r, 9));
        g->state = PQgetisnull (res, r, 10) ? NULL : s_keep (self, PQgetvalue (res, r, 10));
        json_t *tags = json_loads (PQgetvalue (res, r, 4), 0, NULL);
        size_t nt = json_is_array (tags) ? json_array_size (tags) : 0;
        const char **tv = qy_calloc (nt + 1, sizeof (char *));
        for (size_t i = 0; i < nt; i++)
            tv [i] = json_string_value (json_array_get (tags, i)) ? json_string_value (json_array_get (tags, i)) : "";
        g->tags = tv;
        g->ntags = nt;
        json_array_append_new (self->tags, tags ? tags : json_null ());
    }
    PQclear (res);
    return self;
}

void campaign_groups_destroy (campaign_groups_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    campaign_groups_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        free ((void *) self->v [i].tags);
    free (self->v);
    json_decref (self->tags);
    for (size_t i = 0; i < self->nstrings; i++)
        free (self->strings [i]);
    free (self->strings);
    free (self);
    *self_p = NULL;
}

void campaign_job_key (char *buf, size_t len, int64_t campaign_id, size_t step, int64_t group_id, const char *period)
{
    qy_snprintf (buf, len, "camp:%lld:%zu:%lld:%s", (long long) campaign_id, step, (long long) group_id, period);
}

int campaign_job_insert (campaign_ctx_t *ctx, const campaign_job_spec_t *spec)
{
    const campaign_step_t *s = &spec->def->steps [spec->step];
    size_t v = campaign_variant_pick (s, spec->def->id, spec->step, spec->group->id);
    char key [256], bid [24], cid [24], step [24], gid [24], mid [24], due [24], fold [24], at [24];
    campaign_job_key (key, sizeof (key), spec->def->id, spec->step, spec->group->id, spec->period);
    const char *p [] = {
        qy_pg_i64 (bid, spec->brand->brand_id), qy_pg_i64 (cid, spec->def->id),
        qy_pg_i64 (step, (int64_t) spec->step), qy_pg_i64 (gid, spec->group->id),
        spec->period, qy_pg_i64 (mid, spec->member_id), s->variants [v].name,
        spec->product, spec->fold_member > 0 ? qy_pg_i64 (fold, spec->fold_member) : NULL,
        qy_pg_i64 (due, spec->due_us), s->promotional ? "t" : "f",
        s->mention == CAMPAIGN_M_ALL ? "t" : "f", key, spec->trigger_msg, s->coupon,
        spec->trigger_us ? qy_pg_i64 (at, spec->trigger_us) : NULL,
    };
    PGresult *res;
    if (!qy_pg_run (ctx->pg, "campaign job",
            "INSERT INTO campaign_jobs (brand_id, campaign_id, step, group_id, period, member_id, variant, product, mentions, "
            "  fold_msgs, due_at, promotional, at_all, delivery_key, trigger_msg, coupon, trigger_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $9::bigint IS NULL THEN '{}'::bigint[] ELSE ARRAY [$9::bigint] END, "
            "  CASE WHEN $9::bigint IS NULL THEN '{}'::text[] ELSE ARRAY [$14::text] END, "
            "  to_timestamp ($10::bigint / 1e6), $11, $12, $13, $14, $15, to_timestamp ($16::bigint / 1e6)) "
            "ON CONFLICT (campaign_id, step, group_id, period) DO UPDATE SET "
            "  mentions = CASE WHEN campaign_jobs.mentions @> EXCLUDED.mentions THEN campaign_jobs.mentions "
            "                  ELSE campaign_jobs.mentions || EXCLUDED.mentions END, "
            "  fold_msgs = campaign_jobs.fold_msgs || EXCLUDED.fold_msgs "
            "  WHERE campaign_jobs.status = 'pending' AND cardinality (EXCLUDED.fold_msgs) > 0 "
            "    AND NOT campaign_jobs.fold_msgs @> EXCLUDED.fold_msgs "
            "RETURNING (xmax = 0)", 16, p, &res))
        return -1;
    int created = !PQntuples (res) ? 0 : PQgetvalue (res, 0, 0) [0] == 't' ? 1 : 2;
    PQclear (res);
    if (created == 1) {
        campaign_count ("qy_campaign_jobs_planned_total", NULL, NULL, 1);
        qy_log_debug ("brand=%s campaign=%s key=%s job planned due_us=%lld", spec->brand->code, spec->def->name, key,
                      (long long) spec->due_us);
    }
    return created;
}

int campaign_member_load (campaign_ctx_t *ctx, int64_t brand_id, int64_t group_id, int64_t member_id,
                          campaign_member_t *m)
{
    memset (m, 0, sizeof (*m));
    m->trust = -1;
    char bid [24], gid [24], mid [24];
    const char *p [] = { qy_pg_i64 (bid, brand_id), qy_pg_i64 (gid, group_id),
                         qy_pg_i64 (mid, member_id) };
    bool states = campaign_store_has_states (ctx->store);
    char sql [512];
    qy_snprintf (sql, sizeof (sql),
        "SELECT %s, (SELECT coalesce (json_agg (tag ORDER BY tag), '[]')::text FROM member_tags "
        "            WHERE brand_id = $1 AND member_id = $3)",
        states ? "(SELECT trust_level FROM member_states WHERE brand_id = $1 AND group_id = $2 AND member_id = $3), "
                 "(SELECT state FROM member_states WHERE brand_id = $1 AND group_id = $2 AND member_id = $3)"
               : "NULL::int, NULL::text, $2::bigint");
    PGresult *res;
    if (!qy_pg_run (ctx->pg, "campaign member", sql, 3, p, &res))
        return -1;
    int tagcol = states ? 2 : 3;
    if (!PQgetisnull (res, 0, 0))
        m->trust = (int) qy_pg_int (res, 0, 0);
    if (!PQgetisnull (res, 0, 1))
        m->state = qy_strdup (PQgetvalue (res, 0, 1));
    json_t *tags = json_loads (PQgetvalue (res, 0, tagcol), 0, NULL);
    m->ntags = json_array_size (tags);
    char **tv = qy_calloc (m->ntags + 1, sizeof (char *));
    for (size_t i = 0; i < m->ntags; i++)
        tv [i] = qy_strdup (json_string_value (json_array_get (tags, i)) ? json_string_value (json_array_get (tags, i)) : "");
    m->tags = (const char *const *) tv;
    json_decref (tags);
    PQclear (res);
    return 0;
}

void campaign_member_free (campaign_member_t *m)
{
    free ((void *) m->state);
    for (size_t i = 0; i < m->ntags; i++)
        free ((void *) m->tags [i]);
    free ((void *) m->tags);
    memset (m, 0, sizeof (*m));
}
