//  The evaluation's PostgreSQL side (see scoring_eval_store.h).
#include "scoring_eval_store.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

int scoring_store_group (qy_pg_t *pg, int64_t brand_id, int64_t group_id, const scoring_brand_t *brand,
                         scoring_group_row_t *g)
{
    char b [QY_PG_I64_LEN], gi [QY_PG_I64_LEN];
    qy_pg_i64 (b, brand_id);
    qy_pg_i64 (gi, group_id);
    const char *p [] = { b, gi };
    PGresult *res;
    if (!qy_pg_run (pg, "group meta",
                    "SELECT code, name, type, capacity, coalesce (store_id, 0) FROM groups WHERE brand_id = $1 AND id = $2",
                    2, p, &res))
        return -1;
    int found = PQntuples (res) > 0;
    if (found) {
        memset (g, 0, sizeof (*g));
        g->brand_id = brand_id;
        g->group_id = group_id;
        qy_strlcpy (g->code, PQgetvalue (res, 0, 0), sizeof (g->code));
        qy_strlcpy (g->name, PQgetvalue (res, 0, 1), sizeof (g->name));
        qy_strlcpy (g->type, PQgetvalue (res, 0, 2), sizeof (g->type));
        g->capacity = qy_pg_int (res, 0, 3);
        g->store_id = qy_pg_int (res, 0, 4);
        qy_strlcpy (g->brand_code, brand->code, sizeof (g->brand_code));
    }
    PQclear (res);
    return found;
}

int scoring_store_health (qy_pg_t *pg, const scoring_group_row_t *g, int32_t today, int64_t members,
                          scoring_health_t *h)
{
    char b [QY_PG_I64_LEN], gi [QY_PG_I64_LEN], d [16];
    qy_pg_i64 (b, g->brand_id);
    qy_pg_i64 (gi, g->group_id);
    qy_day_format (today, d, sizeof (d), false);
    const char *p [] = { b, gi, d };
    scoring_group_input_t in;
    memset (&in, 0, sizeof (in));
    in.members = members;
    in.type = g->type;
    PGresult *days = NULL, *distinct = NULL, *speakers = NULL, *span = NULL;
    int rc = -1;
    if (!qy_pg_run (pg, "health days",
            "SELECT $3::date - day, messages, active_members, joins, leaves, violations, staff_messages, posts, post_replies "
            "FROM daily_group_stats WHERE brand_id = $1 AND group_id = $2 AND day > $3::date - 56 AND day <= $3::date",
            3, p, &days)
        || !qy_pg_run (pg, "health distinct",
            "SELECT count (DISTINCT member_id) FILTER (WHERE day > $3::date - 7), "
            "       count (DISTINCT member_id) FILTER (WHERE day <= $3::date - 7 AND day > $3::date - 14), "
            "       count (DISTINCT member_id) "
            "FROM daily_member_stats WHERE brand_id = $1 AND group_id = $2 AND day > $3::date - 30 AND day <= $3::date "
            "AND messages > 0", 3, p, &distinct)
        || !qy_pg_run (pg, "health speakers",
            "SELECT sum (messages) FROM daily_member_stats WHERE brand_id = $1 AND group_id = $2 "
            "AND day > $3::date - 28 AND day <= $3::date GROUP BY member_id HAVING sum (messages) > 0", 3, p, &speakers)
        || !qy_pg_run (pg, "health span",
            "SELECT coalesce ($3::date - min (day), 0), coalesce ($3::date - max (day) FILTER (WHERE messages > staff_messages), -1), "
            "       coalesce (max (day) FILTER (WHERE messages > 0) - min (day), 0) "
            "FROM daily_group_stats WHERE brand_id = $1 AND group_id = $2 AND day <= $3::date", 3, p, &span))
        goto done;
    for (int r = 0; r < PQntuples (days); r++) {
        int64_t ago = qy_pg_int (days, r, 0);
        if (ago < 0 || ago >= SCORING_DAYS)
            continue;
        scoring_day_t *x = &in.day [ago];
        x->msgs = qy_pg_int (days, r, 1);
        x->active = qy_pg_int (days, r, 2);
        x->joins = qy_pg_int (days, r, 3);
        x->leaves = qy_pg_int (days, r, 4);
        x->viol = qy_pg_int (days, r, 5);
        x->staff = qy_pg_int (days, r, 6);
        x->posts = qy_pg_int (days, r, 7);
        x->resp = qy_pg_int (days, r, 8);
    }
    in.wau = qy_pg_int (distinct, 0, 0);
    in.wau_prev = qy_pg_int (distinct, 0, 1);
    in.mau = qy_pg_int (distinct, 0, 2);
    size_t ns = (size_t) PQntuples (speakers);
    int64_t *sm = qy_calloc (ns + 1, sizeof (int64_t));
    for (size_t i = 0; i < ns; i++)
        sm [i] = qy_pg_int (speakers, (int) i, 0);
    in.speaker_msgs = sm;
    in.n_speakers = ns;
    in.age_days = (int32_t) qy_pg_int (span, 0, 0);
    in.silent_days = (int32_t) qy_pg_int (span, 0, 1);
    in.span_days = (int32_t) qy_pg_int (span, 0, 2);
    scoring_group_health (&in, h);
    free (sm);
    rc = 0;
done:
    if (days) PQclear (days);
    if (distinct) PQclear (distinct);
    if (speakers) PQclear (speakers);
    if (span) PQclear (span);
    return rc;
}

//  The columns of member_scores' unnest.
enum { C_MID, C_IN, C_STAFF, C_TL, C_STATE, C_MSGS, C_DAYS, C_STREAK, C_FIRST, C_JOINED, C_LAST, C_RR, C_MENT,
       C_ANS, C_VIOL, C_ACT, C_BASE, C_CONTRIB, C_CH, C__COUNT };

static void s_day_elem (qy_pg_cols_t *cols, size_t c, int32_t day)
{
    if (day < 0)
        qy_pg_cols_null (cols, c);
    else {
        char d [16];
        qy_day_format (day, d, sizeof (d), false);
        qy_pg_cols_printf (cols, c, "%s", d);
    }
}

static bool s_members (qy_pg_t *pg, const char *b, const char *gi, const scoring_member_t *ms,
                       const scoring_standing_t *st, size_t n)
{
    qy_pg_cols_t c, gone;
    qy_pg_cols_init (&c, C__COUNT);
    qy_pg_cols_init (&gone, 1);
    for (size_t i = 0; i < n; i++) {
        const scoring_member_t *m = &ms [i];
        qy_pg_cols_row (&c);
        qy_pg_cols_int (&c, C_MID, m->member_id);
        qy_pg_cols_bool (&c, C_IN, m->in_group);
        qy_pg_cols_bool (&c, C_STAFF, m->staff);
        qy_pg_cols_int (&c, C_TL, st [i].trust_level);
        qy_pg_cols_printf (&c, C_STATE, "%s", st [i].state);
        qy_pg_cols_int (&c, C_MSGS, m->msgs);
        qy_pg_cols_int (&c, C_DAYS, m->days);
        qy_pg_cols_int (&c, C_STREAK, m->streak);
        s_day_elem (&c, C_FIRST, m->first_day);
        s_day_elem (&c, C_JOINED, m->join_day);
        s_day_elem (&c, C_LAST, m->last_day);
        qy_pg_cols_int (&c, C_RR, m->replies);
        qy_pg_cols_int (&c, C_MENT, m->mentions);
        qy_pg_cols_int (&c, C_ANS, m->answered);
        qy_pg_cols_int (&c, C_VIOL, m->violations);
        qy_pg_cols_printf (&c, C_ACT, "%.6f", st [i].activity);
        qy_pg_cols_printf (&c, C_BASE, "%.6f", st [i].baseline);
        qy_pg_cols_printf (&c, C_CONTRIB, "%.3f", st [i].contribution);
        if (m->joins > 0)
            qy_pg_cols_int (&c, C_CH, m->channel_id);
        else
            qy_pg_cols_null (&c, C_CH);
        if (!m->in_group) {
            qy_pg_cols_row (&gone);
            qy_pg_cols_int (&gone, 0, m->member_id);
        }
    }
    const char *p [2 + C__COUNT];
    p [0] = b;
    p [1] = gi;
    qy_pg_cols_params (&c, p + 2);
    //  Only members of this brand are written (the join checks it).
    bool ok = qy_pg_run (pg, "member scores",
        "INSERT INTO member_scores (brand_id, group_id, member_id, in_group, staff, trust_level, state, messages, active_days, "
        "  streak, first_seen, joined, last_active, replies_received, mentions, answered, violations, activity, baseline, "
        "  contribution, channel_id, updated_at) "
        "SELECT $1, $2, x.mid, x.ing, x.stf, x.tl, x.st, x.msgs, x.days, x.streak, x.fs, x.jd, x.la, x.rr, x.mt, x.ans, x.vi, "
        "       x.act, x.base, x.ctb, x.ch, now () "
        "FROM unnest ($3::bigint[], $4::bool[], $5::bool[], $6::int[], $7::text[], $8::bigint[], $9::bigint[], $10::bigint[], "
        "             $11::date[], $12::date[], $13::date[], $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[], "
        "             $18::float8[], $19::float8[], $20::float8[], $21::bigint[]) "
        "     AS x (mid, ing, stf, tl, st, msgs, days, streak, fs, jd, la, rr, mt, ans, vi, act, base, ctb, ch) "
        "JOIN members mb ON mb.id = x.mid AND mb.brand_id = $1 "
        "ON CONFLICT (group_id, member_id) DO UPDATE SET in_group = EXCLUDED.in_group, staff = EXCLUDED.staff, "
        "  trust_level = EXCLUDED.trust_level, state = EXCLUDED.state, messages = EXCLUDED.messages, "
        "  active_days = EXCLUDED.active_days, streak = EXCLUDED.streak, first_seen = EXCLUDED.first_seen, "
        "  joined = EXCLUDED.joined, last_active = EXCLUDED.last_active, replies_received = EXCLUDED.replies_received, "
        "  mentions = EXCLUDED.mentions, answered = EXCLUDED.answered, violations = EXCLUDED.violations, "
        "  activity = EXCLUDED.activity, baseline = EXCLUDED.baseline, contribution = EXCLUDED.contribution, "
        "  channel_id = EXCLUDED.channel_id, updated_at = now () "
        "WHERE member_scores.brand_id = EXCLUDED.brand_id", 2 + C__COUNT, p, NULL)
        && qy_pg_run (pg, "member states",
        "INSERT INTO member_states (brand_id, group_id, member_id, trust_level, state, activity, contribution, updated_at) "
        "SELECT $1, $2, x.mid, x.tl, x.st, x.act, x.ctb, now () "
        "FROM unnest ($3::bigint[], $4::bool[], $5::int[], $6::text[], $7::float8[], $8::float8[]) "
        "     AS x (mid, ing, tl, st, act, ctb) "
        "JOIN members mb ON mb.id = x.mid AND mb.brand_id = $1 WHERE x.ing "
        "ON CONFLICT (group_id, member_id) DO UPDATE SET trust_level = EXCLUDED.trust_level, state = EXCLUDED.state, "
        "  activity = EXCLUDED.activity, contribution = EXCLUDED.contribution, updated_at = now () "
        "WHERE member_states.brand_id = EXCLUDED.brand_id", 8,
        (const char *[]) { b, gi, p [2 + C_MID], p [2 + C_IN], p [2 + C_TL], p [2 + C_STATE], p [2 + C_ACT],
                           p [2 + C_CONTRIB] }, NULL)
        && qy_pg_run (pg, "member states gone",
        "DELETE FROM member_states WHERE brand_id = $1 AND group_id = $2 AND member_id = ANY ($3::bigint[])", 3,
        (const char *[]) { b, gi, qy_pg_cols_array (&gone, 0) }, NULL);
    qy_pg_cols_free (&c);
    qy_pg_cols_free (&gone);
    return ok;
}

static bool s_health (qy_pg_t *pg, const char *b, const char *gi, const char *day, const scoring_health_t *h)
{
    char v [14][32];
    int64_t ints [] = { h->members, h->dau, h->wau, h->mau };
    double dbls [] = { h->active_ratio, h->msgs_per_day, h->top3_share, h->gini, h->self_activation, h->growth_rate,
                       h->leave_rate, h->violation_rate, h->post_response };
    for (int i = 0; i < 4; i++)
        qy_pg_i64 (v [i], ints [i]);
    for (int i = 0; i < 9; i++)
        qy_snprintf (v [4 + i], sizeof (v [4 + i]), "%.6f", dbls [i]);
    qy_snprintf (v [13], sizeof (v [13]), "%d", h->health);
    const char *p [] = { b, gi, day, v [0], v [1], v [2], v [3], v [4], v [5], v [6], v [7], v [8], v [9], v [10],
                         v [11], v [12], v [13], h->state, h->lifecycle };
    return qy_pg_run (pg, "group health",
        "INSERT INTO group_health (brand_id, group_id, day, members, dau, wau, mau, active_ratio, msgs_per_day, top3_share, "
        "  gini, self_activation, growth_rate, leave_rate, violation_rate, post_response, health, state, lifecycle, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, now ()) "
        "ON CONFLICT (group_id) DO UPDATE SET day = EXCLUDED.day, members = EXCLUDED.members, dau = EXCLUDED.dau, "
        "  wau = EXCLUDED.wau, mau = EXCLUDED.mau, active_ratio = EXCLUDED.active_ratio, msgs_per_day = EXCLUDED.msgs_per_day, "
        "  top3_share = EXCLUDED.top3_share, gini = EXCLUDED.gini, self_activation = EXCLUDED.self_activation, "
        "  growth_rate = EXCLUDED.growth_rate, leave_rate = EXCLUDED.leave_rate, violation_rate = EXCLUDED.violation_rate, "
        "  post_response = EXCLUDED.post_response, health = EXCLUDED.health, state = EXCLUDED.state, "
        "  lifecycle = EXCLUDED.lifecycle, updated_at = now () WHERE group_health.brand_id = EXCLUDED.brand_id", 19, p, NULL)
        && qy_pg_run (pg, "group state",
        "INSERT INTO group_states (brand_id, group_id, state, health, lifecycle, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, now ()) ON CONFLICT (group_id) DO UPDATE SET state = EXCLUDED.state, "
        "  health = EXCLUDED.health, lifecycle = EXCLUDED.lifecycle, updated_at = now () "
        "WHERE group_states.brand_id = EXCLUDED.brand_id", 5,
        (const char *[]) { b, gi, h->state, v [13], h->lifecycle }, NULL);
}

static bool s_channels (qy_pg_t *pg, const char *b, const char *gi, const scoring_channel_t *chs, size_t n)
{
    if (!n)
        return true;
    qy_pg_cols_t c;
    qy_pg_cols_init (&c, 10);
    for (size_t i = 0; i < n; i++) {
        int64_t v [10] = { chs [i].channel_id, chs [i].joins, chs [i].members, chs [i].spoke, chs [i].violators,
                           chs [i].violations, chs [i].matured7, chs [i].retained7, chs [i].matured30, chs [i].retained30 };
        qy_pg_cols_row (&c);
        for (size_t x = 0; x < 10; x++)
            qy_pg_cols_int (&c, x, v [x]);
    }
    const char *p [12] = { b, gi };
    qy_pg_cols_params (&c, p + 2);
    bool ok = qy_pg_run (pg, "channel stats",
        "INSERT INTO channel_group_stats (brand_id, group_id, channel_id, joins, members, spoke, violators, violations, "
        "  matured7, retained7, matured30, retained30, updated_at) "
        "SELECT $1, $2, x.* , now () FROM unnest ($3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], "
        "  $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[]) AS x "
        "ON CONFLICT (group_id, channel_id) DO UPDATE SET joins = EXCLUDED.joins, members = EXCLUDED.members, "
        "  spoke = EXCLUDED.spoke, violators = EXCLUDED.violators, violations = EXCLUDED.violations, "
        "  matured7 = EXCLUDED.matured7, retained7 = EXCLUDED.retained7, matured30 = EXCLUDED.matured30, "
        "  retained30 = EXCLUDED.retained30, updated_at = now () WHERE channel_group_stats.brand_id = EXCLUDED.brand_id",
        12, p, NULL);
    qy_pg_cols_free (&c);
    return ok;
}

static bool s_suggestions (qy_pg_t *pg, const char *b, const char *gi, const char *kind,
                           const scoring_suggestion_t *s, size_t n, int needed)
{
    if (!n)
        return true;
    qy_pg_cols_t c;
    qy_pg_cols_init (&c, 3);
    for (size_t i = 0; i < n; i++) {
        qy_pg_cols_row (&c);
        qy_pg_cols_int (&c, 0, s [i].member_id);
        qy_pg_cols_printf (&c, 1, "%.4f", s [i].score);
        qy_pg_cols_text (&c, 2, s [i].reason);
    }
    const char *cols [3];
    qy_pg_cols_params (&c, cols);
    char nd [16];
    qy_snprintf (nd, sizeof (nd), "%d", needed);
    const char *p [] = { b, gi, kind, cols [0], cols [1], cols [2], nd };
    bool ok = qy_pg_run (pg, "suggestions",
        "INSERT INTO member_suggestions (brand_id, group_id, kind, rank, member_id, score, reason, needed) "
        "SELECT $1, $2, $3, x.r, x.m, x.s, x.why, $7 "
        "FROM unnest ($4::bigint[], $5::float8[], $6::text[]) WITH ORDINALITY AS x (m, s, why, r) "
        "JOIN members mb ON mb.id = x.m AND mb.brand_id = $1", 7, p, NULL);
    qy_pg_cols_free (&c);
    return ok;
}

int scoring_store_write (qy_pg_t *pg, const scoring_evaluation_t *e)
{
    const scoring_group_row_t *g = e->group;
    char b [QY_PG_I64_LEN], gi [QY_PG_I64_LEN], d [16];
    qy_pg_i64 (b, g->brand_id);
    qy_pg_i64 (gi, g->group_id);
    qy_day_format (e->today, d, sizeof (d), false);
    const char *p [] = { b, gi };
    bool ok = qy_pg_run (pg, "evaluation begin", "BEGIN", 0, NULL, NULL)
        && s_members (pg, b, gi, e->members, e->standings, e->nmembers)
        && s_health (pg, b, gi, d, e->health)
        && s_channels (pg, b, gi, e->channels, e->nchannels)
        && qy_pg_run (pg, "suggestions clear", "DELETE FROM member_suggestions WHERE brand_id = $1 AND group_id = $2", 2, p, NULL)
        && s_suggestions (pg, b, gi, "capacity", e->capacity, e->ncapacity, e->needed)
        && s_suggestions (pg, b, gi, "cleanout", e->cleanout, e->ncleanout, (int) e->ncleanout)
        && qy_pg_run (pg, "evaluation commit", "COMMIT", 0, NULL, NULL);
    if (!ok) {
        qy_pg_run (pg, "evaluation rollback", "ROLLBACK", 0, NULL, NULL);
        qy_log_warn ("brand=%s group=%s evaluation not written; retried next round", g->brand_code, g->code);
    }
    return ok ? 0 : -1;
}

void scoring_store_user (qy_pg_t *pg, int64_t brand_id, int64_t member_id, char *buf, size_t len)
{
    char b [QY_PG_I64_LEN], m [QY_PG_I64_LEN];
    qy_pg_i64 (b, brand_id);
    qy_pg_i64 (m, member_id);
    const char *p [] = { b, m };
    PGresult *res;
    buf [0] = 0;
    if (qy_pg_run (pg, "member user id", "SELECT user_id FROM members WHERE brand_id = $1 AND id = $2", 2, p, &res)) {
        if (PQntuples (res))
            qy_strlcpy (buf, PQgetvalue (res, 0, 0), len);
        PQclear (res);
    }
}
