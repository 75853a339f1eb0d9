//  The PostgreSQL half of moderation: brand rule sets and policies, and
//  the recording of violations with exact, idempotent strike counting.
#include "moderation.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

struct moderation_store_t {
    qy_pg_t              *pg;
    judge_options_t       judge_opts;
    moderation_brand_t  **brands;
    size_t                nbrands;
};

moderation_store_t *moderation_store_new (qy_pg_t *pg, const judge_options_t *judge_opts)
{
    moderation_store_t *self = qy_calloc (1, sizeof (*self));
    self->pg = pg;
    if (judge_opts)
        self->judge_opts = *judge_opts;
    return self;
}

static void s_brand_free (moderation_brand_t **b_p)
{
    judge_destroy (&(*b_p)->judge);
    free (*b_p);
    *b_p = NULL;
}

void moderation_store_invalidate (moderation_store_t *self, int64_t brand_id)
{
    for (size_t i = 0; i < self->nbrands; )
        if (brand_id == 0 || self->brands [i]->id == brand_id) {
            qy_log_info ("brand=%lld rules and policy dropped, reloading on next event", (long long) self->brands [i]->id);
            s_brand_free (&self->brands [i]);
            self->brands [i] = self->brands [--self->nbrands];
        }
        else
            i++;
}

void moderation_store_destroy (moderation_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    moderation_store_t *self = *self_p;
    moderation_store_invalidate (self, 0);
    free (self->brands);
    free (self);
    *self_p = NULL;
}

static moderation_brand_t *s_load (moderation_store_t *self, int64_t brand_id)
{
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) brand_id);
    const char *p [] = { bid };
    PGresult *br, *rr;
    if (!qy_pg_run (self->pg, "brand load", "SELECT code, tz_offset_min, settings::text FROM brands WHERE id = $1", 1, p, &br))
        return NULL;
    if (PQntuples (br) == 0) {
        qy_log_error ("brand=%s not found", bid);
        PQclear (br);
        return NULL;
    }
    if (!qy_pg_run (self->pg, "rules load",
            "SELECT name, kind, category, pattern, weight, dry_run FROM rules "
            "WHERE brand_id = $1 AND enabled ORDER BY name", 1, p, &rr)) {
        PQclear (br);
        return NULL;
    }
    moderation_brand_t *b = qy_calloc (1, sizeof (*b));
    b->id = brand_id;
    qy_strlcpy (b->code, PQgetvalue (br, 0, 0), sizeof (b->code));
    b->tz_offset_min = (int) qy_pg_int (br, 0, 1);
    moderation_policy_default (&b->policy);
    char err [256] = "";
    bool ok = moderation_policy_apply_json (&b->policy, PQgetvalue (br, 0, 2), err, sizeof (err)) == 0;
    int n = PQntuples (rr);
    judge_rule_row_t *rows = qy_calloc ((size_t) n + 1, sizeof (judge_rule_row_t));
    size_t nrows = 0;
    for (int r = 0; r < n && ok; r++) {
        judge_rule_row_t row = {
            PQgetvalue (rr, r, 0), PQgetvalue (rr, r, 1), PQgetvalue (rr, r, 2), PQgetvalue (rr, r, 3),
            strtod (PQgetvalue (rr, r, 4), NULL), PQgetvalue (rr, r, 5) [0] == 't' };
        //  Behaviour rules are counted here, in Redis; the judge sees content rules.
        if (strcmp (row.kind, "flood") == 0)
            ok = moderation_policy_flood_rule (&b->policy, &row, err, sizeof (err)) == 0;
        else
            rows [nrows++] = row;
    }
    if (ok)
        b->judge = judge_new (rows, nrows, &self->judge_opts, err, sizeof (err));
    //  A brand is never left unmoderated, nor the pipeline stopped, because
    //  its rules or a model do not load: fall back step by step, loudly.
    if (!b->judge) {
        qy_log_error ("brand=%s rules rejected, falling back error=\"%s\"", bid, err);
        judge_options_t bare = { self->judge_opts.opencc_config, NULL, NULL };
        if (ok)
            b->judge = judge_new (rows, nrows, &bare, err, sizeof (err));
        if (!b->judge) {
            size_t nd;
            const judge_rule_row_t *def = judge_default_rules (&nd);
            moderation_policy_default (&b->policy);
            b->judge = judge_new (def, nd, &bare, err, sizeof (err));
            qy_log_error ("brand=%s running the built-in default rules until its own load", bid);
        }
        b->degraded = true;
    }
    free (rows);
    PQclear (rr);
    PQclear (br);
    if (!b->judge) {
        qy_log_error ("brand=%s no rule set could be built error=\"%s\"", bid, err);
        free (b);
        return NULL;
    }
    qy_log_info ("brand=%s code=%s rules=%zu flood=%d/%ds loaded", bid, b->code, nrows,
                 b->policy.flood_max, b->policy.flood_window_s);
    return b;
}

moderation_brand_t *moderation_store_brand (moderation_store_t *self, int64_t brand_id)
{
    for (size_t i = 0; i < self->nbrands; i++)
        if (self->brands [i]->id == brand_id)
            return self->brands [i];
    moderation_brand_t *b = s_load (self, brand_id);
    if (!b)
        return NULL;
    self->brands = qy_realloc (self->brands, sizeof (moderation_brand_t *) * (self->nbrands + 1));
    self->brands [self->nbrands++] = b;
    return b;
}

static const char *s_action_name (Qy__Action a)
{
    switch (a) {
        case QY__ACTION__REVIEW: return "review";
        case QY__ACTION__WARN:   return "warn";
        case QY__ACTION__RECALL: return "recall";
        case QY__ACTION__MUTE:   return "mute";
        case QY__ACTION__REMOVE: return "remove";
        case QY__ACTION__BLOCK:  return "block";
        default:                 return "allow";
    }
}

static Qy__Action s_action_parse (const char *s)
{
    static const Qy__Action all [] = { QY__ACTION__REVIEW, QY__ACTION__WARN, QY__ACTION__RECALL,
                                       QY__ACTION__MUTE, QY__ACTION__REMOVE, QY__ACTION__BLOCK };
    for (size_t i = 0; i < QY_ARRAY_LEN (all); i++)
        if (strcmp (s, s_action_name (all [i])) == 0)
            return all [i];
    return QY__ACTION__ALLOW;
}

//  hits as JSON and rule names as a PostgreSQL array.
static void s_evidence (const moderation_violation_t *v, qy_buf_t *hits, qy_buf_t *rules)
{
    const char *text = v->ev->text ? v->ev->text : "";
    size_t tlen = strlen (text);
    qy_buf_puts (hits, "[");
    qy_buf_puts (rules, "{");
    size_t n = 0;
    for (size_t i = 0; v->judged && i < v->judged->nhits; i++) {
        const judge_hit_t *h = &v->judged->hits [i];
        size_t s = h->start < tlen ? h->start : tlen, e = h->end < tlen ? h->end : tlen;
        char *frag = qy_strndup (text + s, e > s ? e - s : 0);
        qy_buf_printf (hits, "%s{\"rule\":", n ? "," : "");
        qy_buf_json_str (hits, h->rule);
        qy_buf_printf (hits, ",\"category\":\"%s\",\"weight\":%g,\"dry_run\":%s,\"start\":%zu,\"end\":%zu,\"text\":",
                       judge_category_name (h->category), h->weight, h->dry_run ? "true" : "false", s, e);
        qy_buf_json_str (hits, frag);
        qy_buf_puts (hits, "}");
        if (n)
            qy_buf_puts (rules, ",");
        qy_buf_pg_array_elem (rules, h->rule);
        free (frag);
        n++;
    }
    if (v->flood_hit) {
        qy_buf_printf (hits, "%s{\"rule\":", n ? "," : "");
        qy_buf_json_str (hits, v->flood_rule);
        qy_buf_printf (hits, ",\"category\":\"flood\",\"weight\":%g,\"dry_run\":false}", v->flood_weight);
        if (n)
            qy_buf_puts (rules, ",");
        qy_buf_pg_array_elem (rules, v->flood_rule);
        n++;
    }
    qy_buf_puts (hits, "]");
    qy_buf_puts (rules, "}");
}

int moderation_store_record (moderation_store_t *self, const moderation_brand_t *brand,
                             const moderation_violation_t *v, moderation_record_t *out)
{
    memset (out, 0, sizeof (*out));
    const Qy__Event *ev = v->ev;
    char bid [24], mid [24], gid [24], t [24], days [16], score [32];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) ev->brand_id);
    qy_snprintf (mid, sizeof (mid), "%lld", (long long) ev->member_id);
    qy_snprintf (gid, sizeof (gid), "%lld", (long long) ev->group_id);
    qy_snprintf (t, sizeof (t), "%lld", (long long) ev->event_time_us);
    qy_snprintf (days, sizeof (days), "%d", brand->policy.strike_days);
    qy_snprintf (score, sizeof (score), "%.4f", v->score);
    qy_buf_t hits, rules;
    qy_buf_init (&hits);
    qy_buf_init (&rules);
    s_evidence (v, &hits, &rules);
    int rc = -1;
    PGresult *res = NULL;
    //  One member's violations are decided one at a time, whichever replica
    //  sees them, so strike numbers never collide.
    const char *lp [] = { bid, mid };
    if (!qy_pg_run (self->pg, "violation lock", "SELECT pg_advisory_xact_lock (hashtextextended ($1 || ':' || $2, 42))", 2, lp, NULL))
        goto done;
    const char *ep [] = { bid, ev->msg_id };
    if (!qy_pg_run (self->pg, "violation existing",
            "SELECT id, strike, action, (extract (epoch FROM mute_until) * 1000000)::bigint FROM violations "
            "WHERE brand_id = $1 AND msg_id = $2", 2, ep, &res))
        goto done;
    if (PQntuples (res)) {
        out->existed = true;
        out->violation_id = qy_pg_int (res, 0, 0);
        out->strike = (int) qy_pg_int (res, 0, 1);
        out->penalty.action = s_action_parse (PQgetvalue (res, 0, 2));
        out->penalty.strike = out->strike > 0;
        out->penalty.recall = out->strike > 0;
        out->mute_until_us = qy_pg_int (res, 0, 3);
        PQclear (res);
        rc = 0;
        goto done;
    }
    PQclear (res);
    const char *cp [] = { bid, mid, days };
    if (!qy_pg_run (self->pg, "strikes",
            "SELECT count (*) FROM violations WHERE brand_id = $1 AND member_id = $2 AND strike > 0 "
            "AND status <> 'overturned' AND created_at > now () - $3::int * interval '1 day'", 3, cp, &res))
        goto done;
    int prior = (int) qy_pg_int (res, 0, 0);
    PQclear (res);
    out->penalty = moderation_penalty (&brand->policy, v->level, prior);
    out->strike = out->penalty.strike ? prior + 1 : 0;
    if (out->penalty.action == QY__ACTION__MUTE)
        out->mute_until_us = qy_now_us () + (int64_t) out->penalty.mute_minutes * 60 * 1000000;
    char strike [16], until [24];
    qy_snprintf (strike, sizeof (strike), "%d", out->strike);
    qy_snprintf (until, sizeof (until), "%lld", (long long) out->mute_until_us);
    const char *text = ev->text ? ev->text : "";
    char *excerpt = qy_strndup (text, strnlen (text, 400));
    //  Do not cut a UTF-8 sequence in half.
    size_t el = strlen (excerpt);
    while (el && ((unsigned char) excerpt [el - 1] & 0xC0) == 0x80)
        el--;
    if (el && (unsigned char) excerpt [el - 1] >= 0xC0)
        el--;
    if (strlen (text) > 400)
        excerpt [el] = 0;
    const char *ip [] = { bid, gid, ev->member_id ? mid : NULL, ev->msg_id, t, v->category, score,
                          s_action_name (out->penalty.action), rules.data, hits.data, excerpt, strike,
                          out->mute_until_us ? until : NULL };
    bool ok = qy_pg_run (self->pg, "violation insert",
            "INSERT INTO violations (brand_id, group_id, member_id, msg_id, event_time, category, score, action, "
            "                        rules, hits, excerpt, strike, mute_until) "
            "VALUES ($1, $2, $3, $4, 'epoch'::timestamptz + $5::bigint * interval '1 microsecond', $6, $7, $8, "
            "        $9::text[], $10::jsonb, $11, $12, 'epoch'::timestamptz + $13::bigint * interval '1 microsecond') "
            "RETURNING id", 13, ip, &res);
    free (excerpt);
    if (!ok)
        goto done;
    out->violation_id = qy_pg_int (res, 0, 0);
    PQclear (res);
    char vid [24];
    qy_snprintf (vid, sizeof (vid), "%lld", (long long) out->violation_id);
    if (out->penalty.action == QY__ACTION__BLOCK) {
        const char *bp [] = { bid, mid, vid };
        if (!qy_pg_run (self->pg, "block",
                "INSERT INTO blocks (brand_id, member_id, reason, violation_id) VALUES ($1, $2, 'ladder', $3) "
                "ON CONFLICT (brand_id, member_id) DO UPDATE SET lifted_at = NULL, violation_id = EXCLUDED.violation_id, "
                "created_at = now ()", 3, bp, NULL))
            goto done;
    }
    const char *ap [] = { bid, vid, s_action_name (out->penalty.action), strike, ev->msg_id };
    if (!qy_pg_run (self->pg, "audit",
            "INSERT INTO audit_log (brand_id, actor, action, object_type, object_id, detail) "
            "VALUES ($1, 'moderation', $3, 'violation', $2, jsonb_build_object ('strike', $4::int, 'msg_id', $5::text))",
            5, ap, NULL))
        goto done;
    rc = 0;
done:
    qy_buf_free (&hits);
    qy_buf_free (&rules);
    return rc;
}

int moderation_store_begin (moderation_store_t *self)
{
    return qy_pg_run (self->pg, "violations begin", "BEGIN", 0, NULL, NULL) ? 0 : -1;
}

int moderation_store_commit (moderation_store_t *self)
{
    return qy_pg_run (self->pg, "violations commit", "COMMIT", 0, NULL, NULL) ? 0 : -1;
}

void moderation_store_rollback (moderation_store_t *self)
{
    qy_pg_run (self->pg, "violations rollback", "ROLLBACK", 0, NULL, NULL);
}
