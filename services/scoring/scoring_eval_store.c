//  The evaluation's PostgreSQL side (see scoring_eval_store.h).
#include "scoring_eval_store.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

int scoring_store_groups (qy_pg_t *pg, const int64_t *brand_ids, const int64_t *group_ids, size_t n,
                          scoring_group_row_t *rows, bool *found)
{
    qy_pg_cols_t c;
    qy_pg_cols_init (&c, 2);
    for (size_t i = 0; i < n; i++) {
        qy_pg_cols_row (&c);
        qy_pg_cols_int (&c, 0, brand_ids [i]);
        qy_pg_cols_int (&c, 1, group_ids [i]);
        found [i] = false;
    }
    const char *params [2];
    qy_pg_cols_params (&c, params);
    PGresult *res;
    bool ok = qy_pg_run (pg, "group meta",
        "SELECT x.i, g.code, g.name, g.type, g.capacity, coalesce (g.store_id, 0) "
        "FROM unnest ($1::bigint[], $2::bigint[]) WITH ORDINALITY AS x (b, g, i) "
        "JOIN groups g ON g.id = x.g AND g.brand_id = x.b", 2, params, &res);
    qy_pg_cols_free (&c);
    if (!ok)
        return -1;
    for (int r = 0; r < PQntuples (res); r++) {
        size_t i = (size_t) qy_pg_int (res, r, 0) - 1;
        if (i >= n)
            continue;
        scoring_group_row_t *g = &rows [i];
        memset (g, 0, sizeof (*g));
        g->brand_id = brand_ids [i];
        g->group_id = group_ids [i];
        qy_strlcpy (g->code, PQgetvalue (res, r, 1), sizeof (g->code));
        qy_strlcpy (g->name, PQgetvalue (res, r, 2), sizeof (g->name));
        qy_strlcpy (g->type, PQgetvalue (res, r, 3), sizeof (g->type));
        g->capacity = qy_pg_int (res, r, 4);
        g->store_id = qy_pg_int (res, r, 5);
        found [i] = true;
    }
    PQclear (res);
    return 0;
}

//  The page's (brand, group, today) arrays, each row numbered by WITH ORDINALITY as x.i.
#define S_PAGE "unnest ($1::bigint[], $2::bigint[], $3::date[]) WITH ORDINALITY AS x (b, g, d, i)"

//  Which group of the page a row is about (x.i, 1-based), or n when none.
static size_t s_row_item (PGresult *res, int r, size_t n)
{
    int64_t i = qy_pg_int (res, r, 0);
    return i >= 1 && (size_t) i <= n ? (size_t) i - 1 : n;
}

static void s_days (PGresult *res, scoring_group_input_t *in, size_t n)
{
    for (int r = 0; r < PQntuples (res); r++) {
        size_t i = s_row_item (res, r, n);
        int64_t ago = qy_pg_int (res, r, 1);
        if (i == n || ago < 0 || ago >= SCORING_DAYS)
            continue;
        scoring_day_t *x = &in [i].day [ago];
        x->msgs = qy_pg_int (res, r, 2);
        x->active = qy_pg_int (res, r, 3);
        x->joins = qy_pg_int (res, r, 4);
        x->leaves = qy_pg_int (res, r, 5);
        x->viol = qy_pg_int (res, r, 6);
        x->staff = qy_pg_int (res, r, 7);
        x->posts = qy_pg_int (res, r, 8);
        x->resp = qy_pg_int (res, r, 9);
    }
}

//  Distinct speakers, their messages over 28 days, and the group's age.
static void s_speakers (PGresult *distinct, PGresult *speakers, PGresult *span, scoring_group_input_t *in, size_t n)
{
    for (int r = 0; r < PQntuples (distinct); r++) {
        size_t i = s_row_item (distinct, r, n);
        if (i == n)
            continue;
        in [i].wau = qy_pg_int (distinct, r, 1);
        in [i].wau_prev = qy_pg_int (distinct, r, 2);
        in [i].mau = qy_pg_int (distinct, r, 3);
    }
    size_t *count = qy_calloc (n + 1, sizeof (size_t));
    for (int r = 0; r < PQntuples (speakers); r++)
        count [s_row_item (speakers, r, n)]++;
    int64_t **sm = qy_calloc (n + 1, sizeof (int64_t *));
    for (size_t i = 0; i < n; i++)
        sm [i] = qy_calloc (count [i] + 1, sizeof (int64_t));
    for (int r = 0; r < PQntuples (speakers); r++) {
        size_t i = s_row_item (speakers, r, n);
        if (i < n)
            sm [i] [in [i].n_speakers++] = qy_pg_int (speakers, r, 1);
    }
    for (size_t i = 0; i < n; i++)
        in [i].speaker_msgs = sm [i];
    for (int r = 0; r < PQntuples (span); r++) {
        size_t i = s_row_item (span, r, n);
        if (i == n)
            continue;
        in [i].age_days = (int32_t) qy_pg_int (span, r, 1);
        in [i].silent_days = (int32_t) qy_pg_int (span, r, 2);
        in [i].span_days = (int32_t) qy_pg_int (span, r, 3);
    }
    free (sm);
    free (count);
}

int scoring_store_inputs (qy_pg_t *pg, const scoring_group_row_t *const *g, const int32_t *today, size_t n,
                          scoring_group_input_t *in)
{
    qy_pg_cols_t c;
    qy_pg_cols_init (&c, 3);
    for (size_t i = 0; i < n; i++) {
        char d [16];
        qy_day_format (today [i], d, sizeof (d), false);
        qy_pg_cols_row (&c);
        qy_pg_cols_int (&c, 0, g [i]->brand_id);
        qy_pg_cols_int (&c, 1, g [i]->group_id);
        qy_pg_cols_printf (&c, 2, "%s", d);
        in [i].wau = in [i].wau_prev = in [i].mau = 0;
        memset (in [i].day, 0, sizeof (in [i].day));
        in [i].speaker_msgs = NULL;
        in [i].n_speakers = 0;
        in [i].age_days = in [i].span_days = 0;
        in [i].silent_days = -1;
    }
    const char *p [3];
    qy_pg_cols_params (&c, p);
    PGresult *days = NULL, *distinct = NULL, *speakers = NULL, *span = NULL;
    int rc = -1;
    //  LATERAL, in all four: each group's rows read by its primary key
    //  (group, …, day), as one group's own statement did. The rows are
    //  found by group and day alone (OFFSET 0 keeps the subquery whole) and
    //  checked for the brand after: given the brand too, the planner could
    //  take the (brand, day) index and read every group of the brand for
    //  each group, and as a plain join it hashed whole partitions (ten
    //  times the per-group statements' cost at 100,000 groups).
    if (!qy_pg_run (pg, "health days",
            "SELECT x.i, x.d - s.day, s.messages, s.active_members, s.joins, s.leaves, s.violations, s.staff_messages, "
            "       s.posts, s.post_replies "
            "FROM " S_PAGE " CROSS JOIN LATERAL (SELECT * FROM daily_group_stats WHERE group_id = x.g "
            "  AND day > x.d - 56 AND day <= x.d OFFSET 0) s WHERE s.brand_id = x.b", 3, p, &days)
        || !qy_pg_run (pg, "health distinct",
            "SELECT x.i, s.w, s.wp, s.m FROM " S_PAGE " CROSS JOIN LATERAL ("
            "  SELECT count (DISTINCT member_id) FILTER (WHERE day > x.d - 7) AS w, "
            "         count (DISTINCT member_id) FILTER (WHERE day <= x.d - 7 AND day > x.d - 14) AS wp, "
            "         count (DISTINCT member_id) AS m "
            "  FROM (SELECT brand_id, member_id, day FROM daily_member_stats WHERE group_id = x.g AND day > x.d - 30 "
            "        AND day <= x.d AND messages > 0 OFFSET 0) r WHERE r.brand_id = x.b) s", 3, p, &distinct)
        || !qy_pg_run (pg, "health speakers",
            "SELECT x.i, s.n FROM " S_PAGE " CROSS JOIN LATERAL ("
            "  SELECT sum (messages) AS n "
            "  FROM (SELECT brand_id, member_id, messages FROM daily_member_stats WHERE group_id = x.g "
            "        AND day > x.d - 28 AND day <= x.d OFFSET 0) r WHERE r.brand_id = x.b "
            "  GROUP BY member_id HAVING sum (messages) > 0) s", 3, p, &speakers)
        || !qy_pg_run (pg, "health span",
            "SELECT x.i, coalesce (x.d - s.first, 0), coalesce (x.d - s.last_member, -1), coalesce (s.last_msg - s.first, 0) "
            "FROM " S_PAGE " CROSS JOIN LATERAL ("
            "  SELECT min (day) AS first, max (day) FILTER (WHERE messages > staff_messages) AS last_member, "
            "         max (day) FILTER (WHERE messages > 0) AS last_msg "
            "  FROM (SELECT brand_id, day, messages, staff_messages FROM daily_group_stats WHERE group_id = x.g "
            "        AND day <= x.d OFFSET 0) r WHERE r.brand_id = x.b) s", 3, p, &span))
        goto done;
    s_days (days, in, n);
    s_speakers (distinct, speakers, span, in, n);
    rc = 0;
done:
    qy_pg_cols_free (&c);
    if (days) PQclear (days);
    if (distinct) PQclear (distinct);
    if (speakers) PQclear (speakers);
    if (span) PQclear (span);
    return rc;
}

void scoring_store_inputs_free (scoring_group_input_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free ((int64_t *) in [i].speaker_msgs);
        in [i].speaker_msgs = NULL;
    }
}

//  The columns of member_scores' unnest.
enum { C_BID, C_GID, C_MID, C_IN, C_STAFF, C_TL, C_STATE, C_MSGS, C_DAYS, C_STREAK, C_FIRST, C_JOINED, C_LAST, C_RR,
       C_MENT, C_ANS, C_VIOL, C_ACT, C_BASE, C_CONTRIB, C_CH, C__COUNT };

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

//  One member's row of member_scores (and, when gone, of the states to delete).
static void s_member_row (qy_pg_cols_t *c, qy_pg_cols_t *gone, const scoring_group_row_t *g, const scoring_member_t *m,
                          const scoring_standing_t *st)
{
    const struct { size_t c; int64_t v; } ints [] = {
        { C_BID, g->brand_id }, { C_GID, g->group_id }, { C_MID, m->member_id }, { C_TL, st->trust_level },
        { C_MSGS, m->msgs }, { C_DAYS, m->days }, { C_STREAK, m->streak }, { C_RR, m->replies },
        { C_MENT, m->mentions }, { C_ANS, m->answered }, { C_VIOL, m->violations } };
    qy_pg_cols_row (c);
    for (size_t i = 0; i < QY_ARRAY_LEN (ints); i++)
        qy_pg_cols_int (c, ints [i].c, ints [i].v);
    qy_pg_cols_bool (c, C_IN, m->in_group);
    qy_pg_cols_bool (c, C_STAFF, m->staff);
    qy_pg_cols_printf (c, C_STATE, "%s", st->state);
    s_day_elem (c, C_FIRST, m->first_day);
    s_day_elem (c, C_JOINED, m->join_day);
    s_day_elem (c, C_LAST, m->last_day);
    qy_pg_cols_printf (c, C_ACT, "%.6f", st->activity);
    qy_pg_cols_printf (c, C_BASE, "%.6f", st->baseline);
    qy_pg_cols_printf (c, C_CONTRIB, "%.3f", st->contribution);
    if (m->joins > 0)
        qy_pg_cols_int (c, C_CH, m->channel_id);
    else
        qy_pg_cols_null (c, C_CH);
    if (!m->in_group) {
        qy_pg_cols_row (gone);
        qy_pg_cols_int (gone, 0, g->brand_id);
        qy_pg_cols_int (gone, 1, g->group_id);
        qy_pg_cols_int (gone, 2, m->member_id);
    }
}

static bool s_members (qy_pg_t *pg, const scoring_evaluation_t *e, size_t n)
{
    qy_pg_cols_t c, gone;
    qy_pg_cols_init (&c, C__COUNT);
    qy_pg_cols_init (&gone, 3);
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < e [k].nmembers; i++)
            s_member_row (&c, &gone, e [k].group, &e [k].members [i], &e [k].standings [i]);
    const char *p [C__COUNT], *g [3];
    qy_pg_cols_params (&c, p);
    qy_pg_cols_params (&gone, g);
    //  Only members of each group's brand are written (the join checks it).
    bool ok = qy_pg_run (pg, "member scores",
        "INSERT INTO member_scores (brand_id, group_id, member_id, in_group, staff, trust_level, state, messages, active_days, "
        "  streak, first_seen, joined, last_active, replies_received, mentions, answered, violations, activity, baseline, "
        "  contribution, channel_id, updated_at) "
        "SELECT x.b, x.g, x.mid, x.ing, x.stf, x.tl, x.st, x.msgs, x.days, x.streak, x.fs, x.jd, x.la, x.rr, x.mt, x.ans, x.vi, "
        "       x.act, x.base, x.ctb, x.ch, now () "
        "FROM unnest ($1::bigint[], $2::bigint[], $3::bigint[], $4::bool[], $5::bool[], $6::int[], $7::text[], $8::bigint[], "
        "             $9::bigint[], $10::bigint[], $11::date[], $12::date[], $13::date[], $14::bigint[], $15::bigint[], "
        "             $16::bigint[], $17::bigint[], $18::float8[], $19::float8[], $20::float8[], $21::bigint[]) "
        "     AS x (b, g, mid, ing, stf, tl, st, msgs, days, streak, fs, jd, la, rr, mt, ans, vi, act, base, ctb, ch) "
        "JOIN members mb ON mb.id = x.mid AND mb.brand_id = x.b "
        "ON CONFLICT (group_id, member_id) DO UPDATE SET in_group = EXCLUDED.in_group, staff = EXCLUDED.staff, "
        "  trust_level = EXCLUDED.trust_level, state = EXCLUDED.state, messages = EXCLUDED.messages, "
        "  active_days = EXCLUDED.active_days, streak = EXCLUDED.streak, first_seen = EXCLUDED.first_seen, "
        "  joined = EXCLUDED.joined, last_active = EXCLUDED.last_active, replies_received = EXCLUDED.replies_received, "
        "  mentions = EXCLUDED.mentions, answered = EXCLUDED.answered, violations = EXCLUDED.violations, "
        "  activity = EXCLUDED.activity, baseline = EXCLUDED.baseline, contribution = EXCLUDED.contribution, "
        "  channel_id = EXCLUDED.channel_id, updated_at = now () "
        "WHERE member_scores.brand_id = EXCLUDED.brand_id", C__COUNT, p, NULL)
        && qy_pg_run (pg, "member states",
        "INSERT INTO member_states (brand_id, group_id, member_id, trust_level, state, activity, contribution, updated_at) "
        "SELECT x.b, x.g, x.mid, x.tl, x.st, x.act, x.ctb, now () "
        "FROM unnest ($1::bigint[], $2::bigint[], $3::bigint[], $4::bool[], $5::int[], $6::text[], $7::float8[], $8::float8[]) "
        "     AS x (b, g, mid, ing, tl, st, act, ctb) "
        "JOIN members mb ON mb.id = x.mid AND mb.brand_id = x.b WHERE x.ing "
        "ON CONFLICT (group_id, member_id) DO UPDATE SET trust_level = EXCLUDED.trust_level, state = EXCLUDED.state, "
        "  activity = EXCLUDED.activity, contribution = EXCLUDED.contribution, updated_at = now () "
        "WHERE member_states.brand_id = EXCLUDED.brand_id", 8,
        (const char *[]) { p [C_BID], p [C_GID], p [C_MID], p [C_IN], p [C_TL], p [C_STATE], p [C_ACT], p [C_CONTRIB] }, NULL)
        && qy_pg_run (pg, "member states gone",
        "DELETE FROM member_states ms USING unnest ($1::bigint[], $2::bigint[], $3::bigint[]) AS x (b, g, m) "
        "WHERE ms.brand_id = x.b AND ms.group_id = x.g AND ms.member_id = x.m", 3, g, NULL);
    qy_pg_cols_free (&c);
    qy_pg_cols_free (&gone);
    return ok;
}

enum { H_BID, H_GID, H_DAY, H_MEMBERS, H_DAU, H_WAU, H_MAU, H_DBL, H_HEALTH = H_DBL + 9, H_STATE, H_LIFE, H__COUNT };

static bool s_health (qy_pg_t *pg, const scoring_evaluation_t *e, size_t n)
{
    qy_pg_cols_t c;
    qy_pg_cols_init (&c, H__COUNT);
    for (size_t k = 0; k < n; k++) {
        const scoring_health_t *h = e [k].health;
        int64_t ints [] = { e [k].group->brand_id, e [k].group->group_id, 0, h->members, h->dau, h->wau, h->mau };
        double dbls [] = { h->active_ratio, h->msgs_per_day, h->top3_share, h->gini, h->self_activation, h->growth_rate,
                           h->leave_rate, h->violation_rate, h->post_response };
        qy_pg_cols_row (&c);
        for (size_t i = 0; i < H_DBL; i++)
            if (i != H_DAY)
                qy_pg_cols_int (&c, i, ints [i]);
        s_day_elem (&c, H_DAY, e [k].today);
        for (size_t i = 0; i < 9; i++)
            qy_pg_cols_printf (&c, H_DBL + i, "%.6f", dbls [i]);
        qy_pg_cols_int (&c, H_HEALTH, h->health);
        qy_pg_cols_text (&c, H_STATE, h->state);
        qy_pg_cols_text (&c, H_LIFE, h->lifecycle);
    }
    const char *p [H__COUNT];
    qy_pg_cols_params (&c, p);
    bool ok = qy_pg_run (pg, "group health",
        "INSERT INTO group_health (brand_id, group_id, day, members, dau, wau, mau, active_ratio, msgs_per_day, top3_share, "
        "  gini, self_activation, growth_rate, leave_rate, violation_rate, post_response, health, state, lifecycle, updated_at) "
        "SELECT x.*, now () FROM unnest ($1::bigint[], $2::bigint[], $3::date[], $4::bigint[], $5::bigint[], $6::bigint[], "
        "  $7::bigint[], $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[], $14::float8[], "
        "  $15::float8[], $16::float8[], $17::int[], $18::text[], $19::text[]) AS x "
        "ON CONFLICT (group_id) DO UPDATE SET day = EXCLUDED.day, members = EXCLUDED.members, dau = EXCLUDED.dau, "
        "  wau = EXCLUDED.wau, mau = EXCLUDED.mau, active_ratio = EXCLUDED.active_ratio, msgs_per_day = EXCLUDED.msgs_per_day, "
        "  top3_share = EXCLUDED.top3_share, gini = EXCLUDED.gini, self_activation = EXCLUDED.self_activation, "
        "  growth_rate = EXCLUDED.growth_rate, leave_rate = EXCLUDED.leave_rate, violation_rate = EXCLUDED.violation_rate, "
        "  post_response = EXCLUDED.post_response, health = EXCLUDED.health, state = EXCLUDED.state, "
        "  lifecycle = EXCLUDED.lifecycle, updated_at = now () WHERE group_health.brand_id = EXCLUDED.brand_id", H__COUNT, p, NULL)
        && qy_pg_run (pg, "group state",
        "INSERT INTO group_states (brand_id, group_id, state, health, lifecycle, updated_at) "
        "SELECT x.*, now () FROM unnest ($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::text[]) AS x "
        "ON CONFLICT (group_id) DO UPDATE SET state = EXCLUDED.state, "
        "  health = EXCLUDED.health, lifecycle = EXCLUDED.lifecycle, updated_at = now () "
        "WHERE group_states.brand_id = EXCLUDED.brand_id", 5,
        (const char *[]) { p [H_BID], p [H_GID], p [H_STATE], p [H_HEALTH], p [H_LIFE] }, NULL);
    qy_pg_cols_free (&c);
    return ok;
}

static bool s_channels (qy_pg_t *pg, const scoring_evaluation_t *e, size_t n)
{
    qy_pg_cols_t c;
    qy_pg_cols_init (&c, 12);
    size_t rows = 0;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < e [k].nchannels; i++, rows++) {
            const scoring_channel_t *ch = &e [k].channels [i];
            int64_t v [12] = { e [k].group->brand_id, e [k].group->group_id, ch->channel_id, ch->joins, ch->members, ch->spoke,
                               ch->violators, ch->violations, ch->matured7, ch->retained7, ch->matured30, ch->retained30 };
            qy_pg_cols_row (&c);
            for (size_t x = 0; x < 12; x++)
                qy_pg_cols_int (&c, x, v [x]);
        }
    const char *p [12];
    qy_pg_cols_params (&c, p);
    bool ok = !rows || qy_pg_run (pg, "channel stats",
        "INSERT INTO channel_group_stats (brand_id, group_id, channel_id, joins, members, spoke, violators, violations, "
        "  matured7, retained7, matured30, retained30, updated_at) "
        "SELECT x.*, now () FROM unnest ($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], "
        "  $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[]) AS x "
        "ON CONFLICT (group_id, channel_id) DO UPDATE SET joins = EXCLUDED.joins, members = EXCLUDED.members, "
        "  spoke = EXCLUDED.spoke, violators = EXCLUDED.violators, violations = EXCLUDED.violations, "
        "  matured7 = EXCLUDED.matured7, retained7 = EXCLUDED.retained7, matured30 = EXCLUDED.matured30, "
        "  retained30 = EXCLUDED.retained30, updated_at = now () WHERE channel_group_stats.brand_id = EXCLUDED.brand_id",
        12, p, NULL);
    qy_pg_cols_free (&c);
    return ok;
}

//  One suggestion list of a group (kind, ranked from 1) as rows of c.
static void s_suggestion_rows (qy_pg_cols_t *c, const scoring_group_row_t *g, const char *kind,
                               const scoring_suggestion_t *s, size_t n, int needed)
{
    for (size_t i = 0; i < n; i++) {
        qy_pg_cols_row (c);
        qy_pg_cols_int (c, 0, g->brand_id);
        qy_pg_cols_int (c, 1, g->group_id);
        qy_pg_cols_text (c, 2, kind);
        qy_pg_cols_int (c, 3, (int64_t) i + 1);
        qy_pg_cols_int (c, 4, s [i].member_id);
        qy_pg_cols_printf (c, 5, "%.4f", s [i].score);
        qy_pg_cols_text (c, 6, s [i].reason);
        qy_pg_cols_int (c, 7, needed);
    }
}

//  The page's suggestions replace what its groups had.
static bool s_suggestions (qy_pg_t *pg, const scoring_evaluation_t *e, size_t n)
{
    qy_pg_cols_t c, groups;
    qy_pg_cols_init (&c, 8);
    qy_pg_cols_init (&groups, 2);
    size_t rows = 0;
    for (size_t k = 0; k < n; k++) {
        qy_pg_cols_row (&groups);
        qy_pg_cols_int (&groups, 0, e [k].group->brand_id);
        qy_pg_cols_int (&groups, 1, e [k].group->group_id);
        s_suggestion_rows (&c, e [k].group, "capacity", e [k].capacity, e [k].ncapacity, e [k].needed);
        s_suggestion_rows (&c, e [k].group, "cleanout", e [k].cleanout, e [k].ncleanout, (int) e [k].ncleanout);
        rows += e [k].ncapacity + e [k].ncleanout;
    }
    const char *p [8], *g [2];
    qy_pg_cols_params (&c, p);
    qy_pg_cols_params (&groups, g);
    bool ok = qy_pg_run (pg, "suggestions clear",
            "DELETE FROM member_suggestions s USING unnest ($1::bigint[], $2::bigint[]) AS x (b, g) "
            "WHERE s.brand_id = x.b AND s.group_id = x.g", 2, g, NULL)
        && (!rows || qy_pg_run (pg, "suggestions",
            "INSERT INTO member_suggestions (brand_id, group_id, kind, rank, member_id, score, reason, needed) "
            "SELECT x.b, x.g, x.k, x.r, x.m, x.s, x.why, x.nd "
            "FROM unnest ($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::bigint[], $6::float8[], $7::text[], $8::int[]) "
            "     AS x (b, g, k, r, m, s, why, nd) "
            "JOIN members mb ON mb.id = x.m AND mb.brand_id = x.b", 8, p, NULL));
    qy_pg_cols_free (&c);
    qy_pg_cols_free (&groups);
    return ok;
}

int scoring_store_write (qy_pg_t *pg, const scoring_evaluation_t *e, size_t n)
{
    if (!n)
        return 0;
    bool ok = qy_pg_run (pg, "evaluation begin", "BEGIN", 0, NULL, NULL)
        && s_members (pg, e, n)
        && s_health (pg, e, n)
        && s_channels (pg, e, n)
        && s_suggestions (pg, e, n)
        && qy_pg_run (pg, "evaluation commit", "COMMIT", 0, NULL, NULL);
    if (!ok) {
        qy_pg_run (pg, "evaluation rollback", "ROLLBACK", 0, NULL, NULL);
        qy_log_warn ("brand=%s group=%s groups=%zu evaluation not written; retried", e [0].group->brand_code,
                     e [0].group->code, n);
    }
    return ok ? 0 : -1;
}

PGresult *scoring_store_users (qy_pg_t *pg, const int64_t *brand_ids, const int64_t *member_ids, size_t n)
{
    qy_pg_cols_t c;
    qy_pg_cols_init (&c, 2);
    for (size_t i = 0; i < n; i++) {
        qy_pg_cols_row (&c);
        qy_pg_cols_int (&c, 0, brand_ids [i]);
        qy_pg_cols_int (&c, 1, member_ids [i]);
    }
    const char *p [2];
    qy_pg_cols_params (&c, p);
    PGresult *res = NULL;
    if (!qy_pg_run (pg, "member user ids",
            "SELECT m.brand_id, m.id, m.user_id FROM unnest ($1::bigint[], $2::bigint[]) AS x (b, m) "
            "JOIN members m ON m.id = x.m AND m.brand_id = x.b", 2, p, &res))
        res = NULL;
    qy_pg_cols_free (&c);
    return res;
}
