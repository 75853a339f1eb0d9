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
#include "campaign_step.h"
#include "qy/log.h"
#include <stdlib.h>
#include <string.h>

static bool s_exec (campaign_ctx_t *ctx, const char *what, const char *sql, int n, const char *const *p)
{
    PGresult *res;
    if (!qy_pg_run (ctx->pg, what, sql, n, p, &res))
        return false;
    PQclear (res);
    return true;
}

static int s_close (campaign_ctx_t *ctx, const campaign_job_t *job, const char *status, const char *guard, const char *code)
{
    char id [24];
    const char *p [] = { qy_pg_i64 (id, job->id), status, guard };
    if (!s_exec (ctx, "job close", "UPDATE campaign_jobs SET status = $2, guard = $3 WHERE id = $1", 3, p))
        return -1;
    campaign_count (strcmp (status, "blocked") == 0 ? "qy_campaign_jobs_blocked_total" : "qy_campaign_jobs_closed_total",
                    strcmp (status, "blocked") == 0 ? "guard" : "status", strcmp (status, "blocked") == 0 ? guard : status, 1);
    qy_log_info ("msg_id=%s brand=%s key=%s job %s guard=%s", job->trigger_msg ? job->trigger_msg : job->key, code,
                 job->key, status, guard ? guard : "-");
    return 0;
}

static int s_guard_in (campaign_ctx_t *ctx, const campaign_brand_t *b, const campaign_job_t *job, const campaign_group_t *g,
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

//  A post ready to go: the job, where it goes and what it says.
typedef struct {
    const campaign_brand_t   *brand;
    const campaign_def_t     *def;
    campaign_job_t           *job;
    const campaign_group_t   *group;
    const char               *text;
    const campaign_content_t *content;
    bool                      at_all;
    bool                      reply;      //  answers members (folded replies, acks): nobody counts as contacted
} s_post_t;

static int s_send (campaign_ctx_t *ctx, const s_post_t *post, int64_t now)
{
    const campaign_brand_t *b = post->brand;
    const campaign_def_t *def = post->def;
    campaign_job_t *job = post->job;
    const campaign_group_t *g = post->group;
    const char *text = post->text;
    const campaign_content_t *c = post->content;
    bool at_all = post->at_all, reply = post->reply;
    PGresult *names = c->nids ? campaign_step_names (ctx, job, c->ids, c->nids) : NULL;
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
        campaign_ids_add (&who, &nwho, c->ids [i]);
    if (!reply && job->member_id > 0)
        campaign_ids_add (&who, &nwho, job->member_id);
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
        qy_log_info ("msg_id=%s brand=%s key=%s job sent campaign=%s step=%zu variant=%s mentions=%zu promotional=%d",
                     job->trigger_msg ? job->trigger_msg : job->key, b->code, job->key, def->name, job->step,
                     *job->variant ? job->variant : "-", nm, s->promotional ? 1 : 0);
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
static int s_spoke_since (campaign_ctx_t *ctx, const campaign_brand_t *b, const campaign_job_t *job, int64_t now)
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

//  The guards hold the job: it is due again after `defer` minutes.
static int s_defer (campaign_ctx_t *ctx, const campaign_brand_t *b, const campaign_job_t *job, const char *guard,
                    int defer, int64_t now)
{
    char id [24], due [24];
    int64_t until = (now / 60000000 + defer) * 60000000;
    const char *p [] = { qy_pg_i64 (id, job->id), qy_pg_i64 (due, until), guard };
    int rc = s_exec (ctx, "job defer", "UPDATE campaign_jobs SET due_at = to_timestamp ($2::bigint / 1e6), guard = $3, "
                     "deferrals = deferrals + 1 WHERE id = $1", 3, p) ? 0 : -1;
    campaign_count ("qy_campaign_jobs_deferred_total", "guard", guard, 1);
    qy_log_info ("msg_id=%s brand=%s key=%s job deferred guard=%s minutes=%d", job->trigger_msg ? job->trigger_msg : job->key,
                 b->code, job->key, guard, defer);
    return rc;
}

//  Whom the post names: the job's mentions and its member, their
//  nicknames joined into c->nickname.
static int s_mention_names (campaign_ctx_t *ctx, const campaign_job_t *job, campaign_content_t *c)
{
    for (size_t i = 0; i < job->nmentions; i++)
        campaign_ids_add (&c->ids, &c->nids, job->mentions [i]);
    if (job->member_id > 0)
        campaign_ids_add (&c->ids, &c->nids, job->member_id);
    if (!c->nids)
        return 0;
    PGresult *names = campaign_step_names (ctx, job, c->ids, c->nids);
    if (!names)
        return -1;
    qy_buf_t nick;
    qy_buf_init (&nick);
    for (int r = 0; r < PQntuples (names); r++)
        qy_buf_printf (&nick, "%s%s", r ? "、" : "", PQgetvalue (names, r, 2));
    c->nickname = nick.data;
    PQclear (names);
    return 0;
}

//  A draw is committed on its own before its post goes out, so the
//  winners announced are always the winners recorded, even if the service
//  dies between the two: the job stays due and the next pass posts the
//  recorded result. A redone draw (the job came back after a crash) keeps
//  the first result.
static int s_record_draw (campaign_ctx_t *ctx, const campaign_brand_t *b, const campaign_job_t *job,
                          const campaign_content_t *c, int64_t now)
{
    char id [24], bid [24], cid [24], gid [24], seed [24], t [24];
    qy_pg_cols_t el, win;
    qy_snprintf (seed, sizeof (seed), "%llu", (unsigned long long) c->seed);
    const char *p [] = { qy_pg_i64 (bid, job->brand_id), qy_pg_i64 (id, job->id),
                         qy_pg_i64 (cid, job->campaign_id), qy_pg_i64 (gid, job->group_id),
                         seed, qy_pg_cols_ints (&el, c->eligible, c->neligible),
                         qy_pg_cols_ints (&win, c->ids, c->nids), qy_pg_i64 (t, now) };
    int rc = 0;
    if (!s_exec (ctx, "draw", "INSERT INTO campaign_draws (brand_id, job_id, campaign_id, group_id, seed, eligible, winners, drawn_at) "
                 "VALUES ($1, $2, $3, $4, $5::numeric, $6::bigint[], $7::bigint[], to_timestamp ($8::bigint / 1e6))",
                 8, p))
        rc = -1;
    else
        qy_log_info ("brand=%s key=%s lottery drawn seed=%s eligible=%zu winners=%zu", b->code, job->key, seed,
                     c->neligible, c->nids);
    qy_pg_cols_free (&el);
    qy_pg_cols_free (&win);
    return rc;
}

//  The job's step in its group: the guards, whom and what it names, the
//  text, then the post (or, for a new draw, the draw's record first).
static int s_job_step (campaign_ctx_t *ctx, const campaign_brand_t *b, const campaign_def_t *def,
                       campaign_job_t *job, const campaign_group_t *g, int64_t now)
{
    const campaign_step_t *s = &def->steps [job->step];
    bool reply = def->trigger.kind == CAMPAIGN_T_KEYWORD || s->kind == CAMPAIGN_S_ACK;
    bool at_all = s->mention == CAMPAIGN_M_ALL;
    campaign_guard_in_t in = { s->promotional, at_all, reply, job->member_id > 0, false, 0, 0, 0, 0, 0 };
    const campaign_guards_t *gg = campaign_brand_guards (b, g->id);
    if (s_guard_in (ctx, b, job, g, now, &in) < 0)
        return -1;
    const char *guard = NULL;
    int defer = 0;
    campaign_verdict_t v = campaign_guard_check (gg, &in, &guard, &defer);
    if (v == CAMPAIGN_BLOCK)
        return s_close (ctx, job, "blocked", guard, b->code);
    if (v == CAMPAIGN_DEFER)
        return s_defer (ctx, b, job, guard, defer, now);
    int rc = 0;
    char *text = NULL;
    campaign_content_t c = { 0 };
    qy_buf_init (&c.list);
    if ((rc = s_mention_names (ctx, job, &c)) < 0)
        goto done;
    if (s->mention != CAMPAIGN_M_SUBJECT && s->kind == CAMPAIGN_S_POST) {
        free (c.ids);
        c.ids = NULL;
        c.nids = 0;
    }
    if (s->mention == CAMPAIGN_M_SEGMENT && (rc = campaign_step_segment (ctx, s, job, now, gg->member_per_week, &c)) < 0)
        goto done;
    if (s->kind != CAMPAIGN_S_POST && (rc = campaign_step_activity (ctx, b, def, s, job, now, &c)) < 0)
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
    text = campaign_render (var->tmpl, &vars, err, sizeof (err));
    if (!text) {
        qy_log_error ("brand=%s key=%s bad template error=%s", b->code, job->key, err);
        rc = s_close (ctx, job, "cancelled", "template_error", b->code);
    }
    else
    if (s->kind == CAMPAIGN_S_DRAW && !c.drawn)
        rc = s_record_draw (ctx, b, job, &c, now);
    else
        rc = s_send (ctx, &(s_post_t) { b, def, job, g, text, &c, at_all, reply }, now);
done:
    free (text);
    campaign_content_free (&c);
    return rc;
}

static int s_job_run (campaign_ctx_t *ctx, campaign_job_t *job, int64_t now)
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
    int rc = groups->n ? s_job_step (ctx, b, def, job, &groups->v [0], now)
                       : s_close (ctx, job, "cancelled", "group_missing", b->code);
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
static const char *s_msg (const campaign_job_t *job)
{
    return job->trigger_msg ? job->trigger_msg : job->key;
}

static int s_job_failed (campaign_ctx_t *ctx, const campaign_job_t *job, int64_t now)
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
            qy_log_error ("msg_id=%s key=%s job_id=%lld sent, but recording it failed (guard=record_failed)", s_msg (job), job->key,
                          (long long) job->id);
            return s_exec (ctx, "job release", "RELEASE SAVEPOINT job", 0, NULL) ? 0 : -1;
        }
        //  Left pending: the next pass sends it again under the same key.
        qy_log_error ("msg_id=%s key=%s job_id=%lld sent, but cannot be marked sent", s_msg (job), job->key, (long long) job->id);
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
        qy_log_error ("msg_id=%s key=%s job_id=%lld failed %s times and was cancelled (guard=error)", s_msg (job), job->key,
                      (long long) job->id, PQgetvalue (res, 0, 0));
    }
    else
        qy_log_warn ("msg_id=%s key=%s job_id=%lld failed, tried again later attempts=%s", s_msg (job), job->key,
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
        campaign_job_t job = { 0 };
        job.id = qy_pg_int (res, r, 0);
        job.brand_id = qy_pg_int (res, r, 1);
        job.campaign_id = qy_pg_int (res, r, 2);
        job.step = (size_t) qy_pg_int (res, r, 3);
        job.group_id = qy_pg_int (res, r, 4);
        job.period = PQgetvalue (res, r, 5);
        job.member_id = qy_pg_int (res, r, 6);
        job.variant = PQgetvalue (res, r, 7);
        job.product = PQgetisnull (res, r, 8) ? NULL : PQgetvalue (res, r, 8);
        campaign_ids_parse (PQgetvalue (res, r, 9), &job.mentions, &job.nmentions);
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
