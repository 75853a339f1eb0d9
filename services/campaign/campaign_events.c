//  Event triggers: what one event from scoring starts. Every effect is a
//  row with a natural key (the job's period carries the message id, a
//  check-in is one per member and day, an entry or a conversion is one per
//  message id), so a redelivered event changes nothing.
//
//  Never answering its own posts or another bot's: events from role BOT
//  are ignored before anything else. Many identical answers fold into one:
//  keyword replies and check-in / contest acknowledgements gather the
//  members of a window into a single pending job that names them all.
#include "campaign_int.h"
#include "qy/event.h"
#include "qy/log.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    campaign_ctx_t *ctx;
    const campaign_brand_t *brand;
    const Qy__Event *ev;
    campaign_groups_t *groups;       //  the event's group, loaded on first need
    int64_t now;
    int64_t at;                      //  when it happened (event time, else now)
    bool    fresh;                   //  recent enough to answer
} s_ev_t;

static const campaign_group_t *s_group (s_ev_t *e, int64_t group_id)
{
    if (!group_id)
        return NULL;
    if (!e->groups)
        e->groups = campaign_groups_load (e->ctx, e->brand->brand_id, group_id);
    return e->groups && e->groups->n ? &e->groups->v [0] : NULL;
}

//  -1 failed, 0 no, 1 yes.
static int s_member_matches (s_ev_t *e, const campaign_def_t *def, int64_t group_id, int64_t member_id)
{
    if (!def->target.members.set)
        return 1;
    if (!member_id)
        return 0;
    campaign_member_t m;
    if (campaign_member_load (e->ctx, e->brand->brand_id, group_id, member_id, &m) < 0)
        return -1;
    int ok = campaign_segment_match (&def->target.members, &m);
    campaign_member_free (&m);
    return ok;
}

static int s_best_hour (s_ev_t *e, const campaign_step_t *s, const campaign_group_t *g)
{
    if (!s->best_time)
        return 0;
    char bid [24], gid [24], day [16];
    qy_day_format (qy_day_of (e->now, e->brand->tz), day, sizeof (day), false);
    const char *p [] = { qy_pg_i64 (bid, e->brand->brand_id), qy_pg_i64 (gid, g->id), day };
    PGresult *res;
    int64_t hist [24] = { 0 };
    if (qy_pg_run (e->ctx->pg, "best hour",
            "SELECT h.i, coalesce (sum (d.hour_hist [h.i]), 0)::bigint FROM daily_group_stats d, generate_series (1, 24) h (i) "
            "WHERE d.brand_id = $1 AND d.group_id = $2 AND d.day >= $3::date - 28 AND d.day < $3::date GROUP BY 1", 3, p, &res)) {
        for (int r = 0; r < PQntuples (res); r++)
            hist [qy_pg_int (res, r, 0) - 1] = qy_pg_int (res, r, 1);
        PQclear (res);
    }
    return campaign_best_hour (hist, campaign_brand_guards (e->brand, g->id), (int) e->ctx->best_hour_default);
}

//  Jobs for every step, anchored at the event (day offsets shifted by shift_days).
static int s_steps (s_ev_t *e, const campaign_def_t *def, const campaign_group_t *g, const char *period,
                    int64_t member_id, int shift_days, const char *product)
{
    int32_t anchor = qy_day_of (e->at, e->brand->tz);
    for (size_t i = 0; i < def->nsteps; i++) {
        campaign_step_t s = def->steps [i];
        s.day += shift_days;
        campaign_job_spec_t spec = { e->brand, def, i, g, period, member_id,
                                     campaign_step_due (&s, anchor, e->at, e->brand->tz, s_best_hour (e, &s, g)),
                                     product, e->ev->msg_id, 0, e->at };
        if (campaign_job_insert (e->ctx, &spec) < 0)
            return -1;
    }
    return 0;
}

//  Add the member to the pending reply of the group (one post per window
//  and group, however many members wrote). A window opens with the first
//  message that finds no pending reply and closes fold_s later.
static int s_fold (s_ev_t *e, const campaign_def_t *def, const campaign_group_t *g, int64_t member_id)
{
    if (!e->fresh)
        return 0;       //  a replayed or stale message is not answered now
    char b0 [24], c0 [24], g0 [24];
    const char *q [] = { qy_pg_i64 (b0, e->brand->brand_id), qy_pg_i64 (c0, def->id),
                         qy_pg_i64 (g0, g->id), e->ev->msg_id };
    PGresult *seen;
    if (!qy_pg_run (e->ctx->pg, "fold seen",
            "SELECT 1 FROM campaign_jobs WHERE fold_msgs @> ARRAY [$4::text] AND cardinality (fold_msgs) > 0 "
            "AND brand_id = $1 AND campaign_id = $2 AND group_id = $3 LIMIT 1", 4, q, &seen))
        return -1;
    bool answered = PQntuples (seen) > 0;
    PQclear (seen);
    if (answered)
        return 0;       //  a redelivered message: already in a reply
    for (size_t i = 0, tries = 0; i < def->nsteps; i++) {
        if (def->steps [i].kind == CAMPAIGN_S_LEADERBOARD)
            continue;
        char bid [24], cid [24], st [24], gid [24], period [48];
        const char *p [] = { qy_pg_i64 (bid, e->brand->brand_id), qy_pg_i64 (cid, def->id),
                             qy_pg_i64 (st, (int64_t) i), qy_pg_i64 (gid, g->id) };
        PGresult *res;
        //  One window per campaign and group even with several replicas:
        //  looking for the open window and joining or opening it happen
        //  under a lock on (campaign, group).
        const char *lp [] = { cid, gid };
        if (!qy_pg_run (e->ctx->pg, "fold begin", "BEGIN", 0, NULL, NULL))
            return -1;
        if (!qy_pg_run (e->ctx->pg, "fold lock",
                "SELECT pg_advisory_xact_lock (7405032, (($1::bigint * 1000003 + $2::bigint) % 2147483647)::int)", 2, lp, NULL)
            || !qy_pg_run (e->ctx->pg, "open fold",
                "SELECT period, (extract (epoch FROM due_at) * 1000000)::bigint FROM campaign_jobs "
                "WHERE brand_id = $1 AND campaign_id = $2 AND step = $3 AND group_id = $4 AND status = 'pending' "
                "AND period ~ '^w[0-9]+$' ORDER BY due_at DESC LIMIT 1", 4, p, &res)) {
            qy_pg_run (e->ctx->pg, "fold rollback", "ROLLBACK", 0, NULL, NULL);
            return -1;
        }
        int64_t due = e->now + (int64_t) def->trigger.fold_s * 1000000;
        if (PQntuples (res)) {
            qy_snprintf (period, sizeof (period), "%s", PQgetvalue (res, 0, 0));
            due = qy_pg_int (res, 0, 1);
        }
        else
            qy_snprintf (period, sizeof (period), "w%lld", (long long) (e->now / 1000000));
        PQclear (res);
        campaign_job_spec_t spec = { e->brand, def, i, g, period, 0, due, NULL, e->ev->msg_id, member_id, e->at };
        int rc = campaign_job_insert (e->ctx, &spec);
        if (rc < 0 || !qy_pg_run (e->ctx->pg, "fold commit", "COMMIT", 0, NULL, NULL)) {
            qy_pg_run (e->ctx->pg, "fold rollback", "ROLLBACK", 0, NULL, NULL);
            return -1;
        }
        //  The reply went out between our look and our insert: open the
        //  next window instead (twice at most: this is a race, not a loop).
        if (rc == 0 && tries++ < 2)
            i--;
    }
    return 0;
}

static int s_checkin (s_ev_t *e, const campaign_def_t *def, const campaign_group_t *g)
{
    const Qy__Event *ev = e->ev;
    int32_t today = qy_day_of (e->at, e->brand->tz);
    char bid [24], cid [24], gid [24], mid [24], day [16];
    qy_day_format (today, day, sizeof (day), false);
    const char *p [] = { qy_pg_i64 (bid, ev->brand_id), qy_pg_i64 (cid, def->id),
                         qy_pg_i64 (gid, g->id), qy_pg_i64 (mid, ev->member_id), day };
    PGresult *res;
    if (!qy_pg_run (e->ctx->pg, "last checkin",
            "SELECT day - '1970-01-01'::date, streak FROM campaign_checkins WHERE brand_id = $1 AND campaign_id = $2 "
            "AND group_id = $3 AND member_id = $4 AND day < $5::date ORDER BY day DESC LIMIT 1", 5, p, &res))
        return -1;
    int32_t last = PQntuples (res) ? (int32_t) qy_pg_int (res, 0, 0) : CAMPAIGN_NO_DAY;
    int streak = campaign_checkin_streak (last, PQntuples (res) ? (int) qy_pg_int (res, 0, 1) : 0, today);
    PQclear (res);
    char st [QY_PG_I64_LEN], pt [QY_PG_I64_LEN], t [24];
    const char *q [] = { p [0], p [1], p [2], p [3], p [4], qy_pg_i64 (st, streak),
                         qy_pg_i64 (pt, campaign_checkin_points (&def->trigger, streak)), ev->msg_id,
                         qy_pg_i64 (t, e->at) };
    if (!qy_pg_run (e->ctx->pg, "checkin",
            "INSERT INTO campaign_checkins (brand_id, campaign_id, group_id, member_id, day, streak, points, msg_id, at) "
            "VALUES ($1, $2, $3, $4, $5::date, $6, $7, $8, to_timestamp ($9::bigint / 1e6)) "
            "ON CONFLICT DO NOTHING RETURNING 1", 9, q, &res))
        return -1;
    bool first = PQntuples (res) > 0;
    PQclear (res);
    if (!first) {
        //  Already checked in today: answer only a redelivery of the same message.
        const char *r [] = { p [0], p [1], p [2], p [3], p [4], ev->msg_id };
        if (!qy_pg_run (e->ctx->pg, "checkin again",
                "SELECT 1 FROM campaign_checkins WHERE brand_id = $1 AND campaign_id = $2 AND group_id = $3 "
                "AND member_id = $4 AND day = $5::date AND msg_id = $6", 6, r, &res))
            return -1;
        first = PQntuples (res) > 0;
        PQclear (res);
        if (!first)
            return 0;
    }
    else {
        campaign_count ("qy_campaign_checkins_total", NULL, NULL, 1);
        qy_log_info ("msg_id=%s brand=%s campaign=%s checkin member_id=%lld streak=%d", ev->msg_id, e->brand->code,
                     def->name, (long long) ev->member_id, streak);
    }
    return s_fold (e, def, g, ev->member_id);
}

static int s_entry (s_ev_t *e, const campaign_def_t *def, const campaign_group_t *g)
{
    const Qy__Event *ev = e->ev;
    int32_t today = qy_day_of (e->at, e->brand->tz);
    if ((def->trigger.from_day != CAMPAIGN_NO_DAY && today < def->trigger.from_day)
        || (def->trigger.until_day != CAMPAIGN_NO_DAY && today > def->trigger.until_day))
        return 0;
    char bid [24], cid [24], gid [24], mid [24], t [24], max [QY_PG_I64_LEN];
    const char *p [] = { qy_pg_i64 (bid, ev->brand_id), qy_pg_i64 (cid, def->id),
                         qy_pg_i64 (gid, g->id), qy_pg_i64 (mid, ev->member_id),
                         ev->msg_id, NULL, ev->text, ev->url,
                         qy_pg_i64 (t, e->at), qy_pg_i64 (max, def->trigger.max_entries) };
    const ProtobufCEnumValue *kv = protobuf_c_enum_descriptor_get_value (&qy__kind__descriptor, ev->kind);
    p [5] = kv ? kv->name : "unknown";
    PGresult *res;
    //  The per-member limit counts other messages only, so a redelivered
    //  entry is still recognised as the same one. Counting and inserting
    //  happen under a lock on (campaign, member): two replicas taking two
    //  entries of one member at once would both count the same rows and
    //  both insert, past max_entries.
    const char *lp [] = { cid, mid };
    if (!qy_pg_run (e->ctx->pg, "entry begin", "BEGIN", 0, NULL, NULL))
        return -1;
    if (!qy_pg_run (e->ctx->pg, "entry lock",
            "SELECT pg_advisory_xact_lock (7405033, (($1::bigint * 1000003 + $2::bigint) % 2147483647)::int)", 2, lp, NULL)
        || !qy_pg_run (e->ctx->pg, "contest entry",
            "INSERT INTO campaign_entries (brand_id, campaign_id, group_id, member_id, msg_id, kind, text, url, at) "
            "SELECT $1, $2, $3, $4, $5, lower ($6), $7, $8, to_timestamp ($9::bigint / 1e6) "
            "WHERE (SELECT count (*) FROM campaign_entries WHERE brand_id = $1 AND campaign_id = $2 AND member_id = $4 "
            "       AND msg_id <> $5) < $10::int "
            "ON CONFLICT (campaign_id, msg_id) DO UPDATE SET kind = EXCLUDED.kind RETURNING (xmax = 0)", 10, p, &res)) {
        qy_pg_run (e->ctx->pg, "entry rollback", "ROLLBACK", 0, NULL, NULL);
        return -1;
    }
    if (!qy_pg_run (e->ctx->pg, "entry commit", "COMMIT", 0, NULL, NULL)) {
        PQclear (res);
        qy_pg_run (e->ctx->pg, "entry rollback", "ROLLBACK", 0, NULL, NULL);
        return -1;
    }
    bool taken = PQntuples (res) > 0, fresh = taken && PQgetvalue (res, 0, 0) [0] == 't';
    PQclear (res);
    if (!taken)
        return 0;
    if (fresh) {
        campaign_count ("qy_campaign_entries_total", NULL, NULL, 1);
        qy_log_info ("msg_id=%s brand=%s campaign=%s contest entry member_id=%lld", ev->msg_id, e->brand->code, def->name,
                     (long long) ev->member_id);
    }
    return s_fold (e, def, g, ev->member_id);
}

//  A purchase or a coupon redemption, attributed to the last job that
//  reached the group within the attribution window (a redeemed coupon: the
//  job that carried it, in any of the brand's groups, this one first).
static int s_convert (s_ev_t *e)
{
    const Qy__Event *ev = e->ev;
    bool coupon = ev->kind == QY__KIND__COUPON_REDEEMED;
    char bid [24], gid [24], mid [24], amt [24], t [24], days [QY_PG_I64_LEN];
    const char *p [] = { qy_pg_i64 (bid, ev->brand_id), ev->msg_id, coupon ? "coupon_redeemed" : "purchase",
                         ev->product, qy_pg_i64 (amt, ev->amount_cents),
                         qy_pg_i64 (gid, ev->group_id), ev->member_id ? qy_pg_i64 (mid, ev->member_id) : NULL,
                         qy_pg_i64 (t, e->at), qy_pg_i64 (days, e->ctx->attribution_days) };
    PGresult *res;
    if (!qy_pg_run (e->ctx->pg, "conversion",
            "INSERT INTO campaign_conversions (brand_id, msg_id, kind, product, amount_cents, group_id, member_id, job_id, "
            "  campaign_id, step, variant, at) "
            "SELECT $1, $2, $3, $4, $5, $6, $7, j.id, j.campaign_id, j.step, j.variant, to_timestamp ($8::bigint / 1e6) "
            "FROM campaign_jobs j WHERE j.brand_id = $1 AND j.status = 'sent' "
            "  AND j.sent_at <= to_timestamp ($8::bigint / 1e6) "
            "  AND j.sent_at > to_timestamp ($8::bigint / 1e6) - $9::int * interval '1 day' "
            "  AND CASE WHEN $3 = 'coupon_redeemed' THEN j.coupon = $4 ELSE j.group_id = $6 END "
            "ORDER BY (j.group_id = $6) DESC, j.sent_at DESC, j.id DESC LIMIT 1 "
            "ON CONFLICT (brand_id, msg_id) DO NOTHING RETURNING campaign_id, step", 9, p, &res))
        return -1;
    if (PQntuples (res)) {
        campaign_count ("qy_campaign_conversions_total", "kind", p [2], 1);
        qy_log_info ("msg_id=%s brand=%s conversion kind=%s campaign_id=%s step=%s", ev->msg_id, e->brand->code, p [2],
                     PQgetvalue (res, 0, 0), PQgetvalue (res, 0, 1));
    }
    PQclear (res);
    return 0;
}

static int s_optout (s_ev_t *e)
{
    const Qy__Event *ev = e->ev;
    const char *text = ev->text ? ev->text : "";
    while (*text == ' ' || *text == '\t' || *text == '\n')
        text++;
    size_t n = strlen (text);
    while (n && (text [n - 1] == ' ' || text [n - 1] == '\t' || text [n - 1] == '\n'))
        n--;
    bool hit = false;
    for (size_t i = 0; i < e->brand->optout_keywords.n && !hit; i++)
        hit = strlen (e->brand->optout_keywords.v [i]) == n && strncmp (text, e->brand->optout_keywords.v [i], n) == 0;
    if (!hit || !ev->member_id)
        return 0;
    char bid [24], mid [24];
    const char *p [] = { qy_pg_i64 (bid, ev->brand_id), qy_pg_i64 (mid, ev->member_id), ev->msg_id };
    PGresult *res;
    if (!qy_pg_run (e->ctx->pg, "optout",
            "INSERT INTO campaign_optouts (brand_id, member_id, source) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1",
            3, p, &res))
        return -1;
    if (PQntuples (res)) {
        campaign_count ("qy_campaign_optouts_total", NULL, NULL, 1);
        qy_log_info ("msg_id=%s brand=%s member_id=%lld opted out of campaigns", ev->msg_id, e->brand->code, (long long) ev->member_id);
    }
    PQclear (res);
    return 0;
}

static int s_def (s_ev_t *e, const campaign_def_t *def)
{
    const Qy__Event *ev = e->ev;
    campaign_trigger_kind_t k = def->trigger.kind;
    int64_t group_id = ev->group_id, member_id = ev->member_id;
    if (k == CAMPAIGN_T_SIGNAL) {
        if (ev->kind != QY__KIND__SIGNAL || !ev->signal || strcmp (ev->signal->name, def->trigger.signal) != 0)
            return 0;
        group_id = ev->signal->group_id ? ev->signal->group_id : group_id;
        member_id = ev->signal->member_id;
    }
    else if (k == CAMPAIGN_T_JOIN) {
        if (!campaign_wants_welcome (ev))
            return 0;
    }
    else if (k == CAMPAIGN_T_PURCHASE) {
        if (ev->kind != QY__KIND__PURCHASE || campaign_product_cycle (&def->trigger, ev->product) < 0)
            return 0;
    }
    else if (campaign_trigger_listens (def)) {
        if (!qy_event_is_chat (ev->kind) || !qy_role_is_member (ev->role) || !campaign_keyword_match (&def->trigger.keywords, ev->text))
            return 0;
    }
    else
        return 0;       //  planned by the scheduler, not by events
    const campaign_group_t *g = s_group (e, group_id);
    if (!g) {
        if (group_id && !e->groups)
            return -1;
        return 0;
    }
    if (!campaign_target_group (&def->target, g))
        return 0;
    int m = s_member_matches (e, def, group_id, member_id);
    if (m <= 0)
        return m;
    char period [160];
    switch (k) {
        case CAMPAIGN_T_SIGNAL:
        case CAMPAIGN_T_JOIN:
            qy_snprintf (period, sizeof (period), "%s%s", k == CAMPAIGN_T_JOIN ? "j:" : "", ev->msg_id);
            return s_steps (e, def, g, period, member_id, 0, NULL);
        case CAMPAIGN_T_PURCHASE: {
            int cycle = campaign_product_cycle (&def->trigger, ev->product);
            qy_snprintf (period, sizeof (period), "p:%s", ev->msg_id);
            if (s_steps (e, def, g, period, member_id, cycle - def->trigger.remind_before, ev->product) < 0)
                return -1;
            //  A later purchase of the same product makes earlier reminders
            //  moot. Done after the insert and by purchase time, not by
            //  arrival, so two purchases handled at once by two replicas
            //  still leave only the latest reminder.
            char bid [24], cid [24], mid [24];
            const char *p [] = { qy_pg_i64 (bid, ev->brand_id), qy_pg_i64 (cid, def->id),
                                 qy_pg_i64 (mid, member_id), ev->product };
            PGresult *res;
            if (!qy_pg_run (e->ctx->pg, "repurchased",
                    "UPDATE campaign_jobs j SET status = 'cancelled', guard = 'repurchased' WHERE j.brand_id = $1 "
                    "AND j.campaign_id = $2 AND j.member_id = $3 AND j.product = $4 AND j.status = 'pending' "
                    "AND j.trigger_at < (SELECT max (x.trigger_at) FROM campaign_jobs x WHERE x.brand_id = $1 AND x.campaign_id = $2 "
                    "                   AND x.member_id = $3 AND x.product = $4)", 4, p, &res))
                return -1;
            PQclear (res);
            return 0;
        }
        case CAMPAIGN_T_KEYWORD:
            return s_fold (e, def, g, member_id);
        case CAMPAIGN_T_CHECKIN:
            return s_checkin (e, def, g);
        case CAMPAIGN_T_CONTEST:
            return s_entry (e, def, g);
        default:
            return 0;
    }
}

int campaign_on_event (campaign_ctx_t *ctx, const Qy__Event *ev)
{
    if (ev->role == QY__ROLE__BOT)
        return 0;
    //  Spam that moderation recalled or removed is not answered; but a
    //  member who asked to hear no more is heard even then (an opt-out
    //  keyword in a message moderation took down is still their wish).
    bool recalled = ev->verdict && ev->verdict->action >= QY__ACTION__RECALL;
    bool business = ev->kind == QY__KIND__PURCHASE || ev->kind == QY__KIND__COUPON_REDEEMED;
    bool message = qy_event_is_chat (ev->kind) && qy_role_is_member (ev->role);
    if (!business && !message && ev->kind != QY__KIND__JOIN && ev->kind != QY__KIND__SIGNAL)
        return 0;
    const campaign_brand_t *brand;
    if (campaign_store_brand (ctx->store, ev->brand_id, &brand) < 0)
        return -1;
    s_ev_t e = { ctx, brand, ev, NULL, campaign_clock_now (&ctx->clock), 0, true };
    e.at = ev->event_time_us ? ev->event_time_us : e.now;
    e.fresh = !ev->replay && e.now - e.at <= ctx->max_late_s * 1000000;
    int rc = 0;
    if (business && ev->group_id && !recalled)
        rc = s_convert (&e);
    if (rc == 0 && message)
        rc = s_optout (&e);
    for (size_t i = 0; i < brand->ndefs && rc == 0 && !recalled; i++)
        rc = s_def (&e, brand->defs [i]);
    campaign_groups_destroy (&e.groups);
    return rc;
}
