//  The PostgreSQL half of moderation: brand rule sets and policies, and
//  the recording of violations with exact, idempotent strike counting.
#include "moderation.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct moderation_store_t {
    qy_pg_t              *pg;
    judge_options_t       judge_opts;
    moderation_brand_t  **brands;
    size_t                nbrands;
};

//  One policy layer below the brand (moderation_policies).
struct moderation_layer_t {
    int   rank;          //  1 region, 2 store, 3 group_type, 4 group: applied in this order
    char *key;
    char *settings;
};

//  Groups resolved so far: group id → policy (shared with the brand's when
//  no layer applies to the group).
typedef struct {
    int64_t              *ids;
    moderation_policy_t **policies;
    bool                 *owned;
    size_t                n;
} s_groups_t;

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
    moderation_brand_t *b = *b_p;
    judge_destroy (&b->judge);
    for (size_t i = 0; i < b->nlayers; i++) {
        free (b->layers [i].key);
        free (b->layers [i].settings);
    }
    free (b->layers);
    s_groups_t *g = b->groups;
    if (g) {
        for (size_t i = 0; i < g->n; i++)
            if (g->owned [i])
                free (g->policies [i]);
        free (g->ids);
        free (g->policies);
        free (g->owned);
        free (g);
    }
    free (b);
    *b_p = NULL;
}

static int s_rank (const char *scope)
{
    static const char *names [] = { "brand", "region", "store", "group_type", "group" };
    for (int i = 0; i < 5; i++)
        if (strcmp (scope, names [i]) == 0)
            return i;
    return -1;
}

//  The newest model of a brand for category ("ad", "abuse") written to a
//  private temporary file for the judge to load (it reads it whole at
//  judge_new; the caller unlinks it). Returns 0 with path filled, 1 when
//  the brand has no model of its own, -1 on error.
static int s_model_file (moderation_store_t *self, const char *bid, const char *category,
                         char *path, size_t pathlen, int64_t *version)
{
    const char *p [] = { bid, category };
    PGresult *res;
    if (!qy_pg_run (self->pg, "model load",
            "SELECT id, model FROM moderation_models WHERE brand_id = $1 AND category = $2 ORDER BY id DESC LIMIT 1",
            2, p, &res))
        return -1;
    if (PQntuples (res) == 0) {
        PQclear (res);
        return 1;
    }
    size_t len = 0;
    unsigned char *bytes = PQunescapeBytea ((const unsigned char *) PQgetvalue (res, 0, 1), &len);
    *version = qy_pg_int (res, 0, 0);
    PQclear (res);
    const char *tmp = getenv ("TMPDIR");
    qy_snprintf (path, pathlen, "%s/qy-model-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp (path);
    bool ok = fd >= 0 && bytes && write (fd, bytes, len) == (ssize_t) len;
    if (fd >= 0)
        close (fd);
    PQfreemem (bytes);
    if (!ok) {
        qy_log_error ("brand=%s category=%s cannot write the brand's model to %s", bid, category, path);
        if (fd >= 0)
            unlink (path);
        return -1;
    }
    return 0;
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
    PGresult *br, *rr, *lr, *pr;
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
    if (!qy_pg_run (self->pg, "lists load",
            "SELECT list, category, value FROM moderation_lists WHERE brand_id = $1 ORDER BY list, category, value", 1, p, &lr)) {
        PQclear (br);
        PQclear (rr);
        return NULL;
    }
    if (!qy_pg_run (self->pg, "policies load",
            "SELECT scope, scope_key, settings::text FROM moderation_policies WHERE brand_id = $1 ORDER BY scope, scope_key", 1, p, &pr)) {
        PQclear (br);
        PQclear (rr);
        PQclear (lr);
        return NULL;
    }
    moderation_brand_t *b = qy_calloc (1, sizeof (*b));
    b->id = brand_id;
    qy_strlcpy (b->code, PQgetvalue (br, 0, 0), sizeof (b->code));
    b->tz_offset_min = (int) qy_pg_int (br, 0, 1);
    moderation_policy_default (&b->policy);
    char err [256] = "", lerr [256];
    bool ok = true;
    //  Settings or a layer that do not apply are ignored, loudly: the rest
    //  of the brand's policy and all of its rules still hold.
    if (moderation_policy_apply_settings (&b->policy, PQgetvalue (br, 0, 2), lerr, sizeof (lerr))) {
        qy_log_error ("brand=%s settings ignored error=\"%s\"", bid, lerr);
        b->degraded = true;
    }
    //  Layers: the brand's applies now, the others per group.
    b->layers = qy_calloc ((size_t) PQntuples (pr) + 1, sizeof (moderation_layer_t));
    for (int r = 0; r < PQntuples (pr); r++) {
        int rank = s_rank (PQgetvalue (pr, r, 0));
        if (rank == 0 && moderation_policy_apply_json (&b->policy, PQgetvalue (pr, r, 2), lerr, sizeof (lerr))) {
            qy_log_error ("brand=%s policy scope=brand ignored error=\"%s\"", bid, lerr);
            b->degraded = true;
        }
        else
        if (rank > 0) {
            //  Said now when it does not apply on the brand's policy alone;
            //  it may still on a group's lower layers (qyctl checks those),
            //  so it is kept, and a group where it fails skips it, loudly.
            moderation_policy_t probe = b->policy;
            if (moderation_policy_apply_json (&probe, PQgetvalue (pr, r, 2), lerr, sizeof (lerr)))
                qy_log_warn ("brand=%s policy scope=%s key=%s does not apply on the brand policy alone error=\"%s\"",
                             bid, PQgetvalue (pr, r, 0), PQgetvalue (pr, r, 1), lerr);
            moderation_layer_t *l = &b->layers [b->nlayers++];
            l->rank = rank;
            l->key = qy_strdup (PQgetvalue (pr, r, 1));
            l->settings = qy_strdup (PQgetvalue (pr, r, 2));
        }
    }
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
    //  The brand's dictionaries, exemptions and allow-lists.
    size_t nl = (size_t) PQntuples (lr), nmerged = 0;
    moderation_list_row_t *lists = qy_calloc (nl + 1, sizeof (moderation_list_row_t));
    for (size_t r = 0; r < nl; r++)
        lists [r] = (moderation_list_row_t) { PQgetvalue (lr, (int) r, 0), PQgetvalue (lr, (int) r, 1), PQgetvalue (lr, (int) r, 2) };
    judge_rule_row_t *merged = moderation_rows_merge (rows, nrows, lists, nl, &nmerged);
    free (lists);
    //  The brand's own models (learned from its operators), else the shipped ones.
    judge_options_t opts = self->judge_opts;
    char paths [2][1024] = { "", "" };
    const char *cats [2] = { "ad", "abuse" };
    for (int m = 0; m < 2 && ok; m++) {
        int rc = s_model_file (self, bid, cats [m], paths [m], sizeof (paths [m]), &b->model_version [m]);
        if (rc == 0 && m == 0)
            opts.ad_model_path = paths [m];
        if (rc == 0 && m == 1)
            opts.abuse_model_path = paths [m];
        if (rc != 0)
            paths [m][0] = 0;
    }
    if (ok)
        b->judge = judge_new (merged, nmerged, &opts, err, sizeof (err));
    if (!b->judge && ok && (paths [0][0] || paths [1][0])) {
        qy_log_error ("brand=%s learned model rejected, using the shipped one error=\"%s\"", bid, err);
        b->model_version [0] = b->model_version [1] = 0;
        b->judge = judge_new (merged, nmerged, &self->judge_opts, err, sizeof (err));
    }
    for (int m = 0; m < 2; m++)
        if (paths [m][0])
            unlink (paths [m]);
    //  A brand is never left unmoderated, nor the pipeline stopped, because
    //  its rules or a model do not load: fall back step by step, loudly.
    if (!b->judge) {
        qy_log_error ("brand=%s rules rejected, falling back error=\"%s\"", bid, err);
        judge_options_t bare = { self->judge_opts.opencc_config, NULL, NULL };
        if (ok)
            b->judge = judge_new (merged, nmerged, &bare, err, sizeof (err));
        if (!b->judge) {
            size_t nd;
            const judge_rule_row_t *def = judge_default_rules (&nd);
            moderation_policy_default (&b->policy);
            b->judge = judge_new (def, nd, &bare, err, sizeof (err));
            qy_log_error ("brand=%s running the built-in default rules until its own load", bid);
        }
        b->degraded = true;
    }
    moderation_rows_free (&merged, nmerged);
    free (rows);
    PQclear (rr);
    PQclear (br);
    PQclear (lr);
    PQclear (pr);
    if (!b->judge) {
        qy_log_error ("brand=%s no rule set could be built error=\"%s\"", bid, err);
        s_brand_free (&b);
        return NULL;
    }
    b->groups = qy_calloc (1, sizeof (s_groups_t));
    qy_log_info ("brand=%s code=%s rules=%zu lists=%zu layers=%zu flood=%d/%ds model_ad=%lld model_abuse=%lld loaded", bid,
                 b->code, nmerged, nl, b->nlayers, b->policy.flood_max, b->policy.flood_window_s,
                 (long long) b->model_version [0], (long long) b->model_version [1]);
    return b;
}

const moderation_policy_t *moderation_store_policy (moderation_store_t *self, moderation_brand_t *brand,
                                                    int64_t group_id)
{
    if (brand->nlayers == 0 || group_id == 0)
        return &brand->policy;
    s_groups_t *g = brand->groups;
    for (size_t i = 0; i < g->n; i++)
        if (g->ids [i] == group_id)
            return g->policies [i];
    char bid [24], gid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) brand->id);
    qy_snprintf (gid, sizeof (gid), "%lld", (long long) group_id);
    const char *p [] = { bid, gid };
    PGresult *res;
    if (!qy_pg_run (self->pg, "group scope",
            "SELECT coalesce (r.code, ''), coalesce (s.code, ''), g.type, g.code FROM groups g "
            "LEFT JOIN stores s ON s.id = g.store_id AND s.brand_id = g.brand_id "
            "LEFT JOIN regions r ON r.id = s.region_id AND r.brand_id = g.brand_id "
            "WHERE g.brand_id = $1 AND g.id = $2", 2, p, &res))
        return NULL;
    moderation_policy_t *pol = &brand->policy;
    bool owned = false;
    if (PQntuples (res)) {
        for (int rank = 1; rank <= 4; rank++)
            for (size_t l = 0; l < brand->nlayers; l++) {
                const moderation_layer_t *layer = &brand->layers [l];
                if (layer->rank != rank || !*PQgetvalue (res, 0, rank - 1) || strcmp (layer->key, PQgetvalue (res, 0, rank - 1)))
                    continue;
                if (!owned) {
                    pol = qy_malloc (sizeof (*pol));
                    *pol = brand->policy;
                    owned = true;
                }
                char err [256];
                if (moderation_policy_apply_json (pol, layer->settings, err, sizeof (err))) {
                    qy_log_error ("brand=%lld group=%lld policy scope=%d key=%s ignored for this group error=\"%s\"",
                                  (long long) brand->id, (long long) group_id, rank, layer->key, err);
                    brand->degraded = true;
                }
            }
    }
    PQclear (res);
    g->ids = qy_realloc (g->ids, sizeof (int64_t) * (g->n + 1));
    g->policies = qy_realloc (g->policies, sizeof (moderation_policy_t *) * (g->n + 1));
    g->owned = qy_realloc (g->owned, sizeof (bool) * (g->n + 1));
    g->ids [g->n] = group_id;
    g->policies [g->n] = pol;
    g->owned [g->n] = owned;
    g->n++;
    return pol;
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

//  Per category, whether a negative hit cancelled the contact details
//  (judge_result_settle): counting dry-run hits as live ones or not.
static void s_cancelled (const judge_result_t *r, bool live, bool out [QY_CAT__COUNT])
{
    double plain [QY_CAT__COUNT], contact [QY_CAT__COUNT], negative [QY_CAT__COUNT];
    judge_result_sums (r, live, plain, contact, negative);
    for (int c = 0; c < QY_CAT__COUNT; c++)
        out [c] = negative [c] < 0 && contact [c] + negative [c] <= 0;
}

//  hits as JSON, and as a PostgreSQL array the names of the rules that
//  counted towards the score, or as dry-run rules would have: what the
//  violation is charged with, and whose precision operators' decisions
//  measure. A negative hit (a classifier confident it is not an ad) and
//  the contact details it cancelled stay in the JSON as evidence only.
static void s_evidence (const moderation_violation_t *v, qy_buf_t *hits, qy_buf_t *rules)
{
    const char *text = v->ev->text ? v->ev->text : "";
    size_t tlen = strlen (text);
    qy_buf_puts (hits, "[");
    qy_buf_puts (rules, "{");
    size_t n = 0, charged = 0;
    bool cancelled [QY_CAT__COUNT] = { false }, cancelled_live [QY_CAT__COUNT] = { false };
    if (v->judged) {
        s_cancelled (v->judged, false, cancelled);
        s_cancelled (v->judged, true, cancelled_live);
    }
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
        bool void_ = h->cancelable && (unsigned) h->category < QY_CAT__COUNT
                  && (h->dry_run ? cancelled_live : cancelled) [h->category];
        if (h->weight >= 0 && !void_) {
            if (charged++)
                qy_buf_puts (rules, ",");
            qy_buf_pg_array_elem (rules, h->rule);
        }
        free (frag);
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
    const moderation_policy_t *pol = v->policy ? v->policy : &brand->policy;
    qy_snprintf (days, sizeof (days), "%d", pol->strike_days);
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
            "SELECT id, strike, action, (extract (epoch FROM mute_until) * 1000000)::bigint, coalesce (would_action, '') "
            "FROM violations "
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
        out->would_action = s_action_parse (PQgetvalue (res, 0, 4));
        if (out->would_action == QY__ACTION__ALLOW)
            out->would_action = QY__ACTION__ACTION_NONE;
        PQclear (res);
        rc = 0;
        goto done;
    }
    PQclear (res);
    //  Under the lock, the member's penalties are final: one muted or
    //  blocked by another replica since this one checked Redis is not
    //  charged again (a live message meets the state of now, a replayed one
    //  the state of its time).
    if (!v->notice) {
        int64_t at = ev->replay ? ev->event_time_us : qy_now_us ();
        if (moderation_store_state_at (self, ev->brand_id, ev->member_id, at, &out->held_mute_until_us,
                                       &out->held_blocked) != 0)
            goto done;
        if (out->held_blocked || out->held_mute_until_us) {
            rc = 0;
            goto done;
        }
    }
    const char *cp [] = { bid, mid, days };
    if (!qy_pg_run (self->pg, "strikes",
            "SELECT count (*) FROM violations WHERE brand_id = $1 AND member_id = $2 AND strike > 0 "
            "AND status <> 'overturned' AND created_at > now () - $3::int * interval '1 day'", 3, cp, &res))
        goto done;
    int prior = (int) qy_pg_int (res, 0, 0);
    PQclear (res);
    out->penalty = moderation_penalty (pol, v->level, prior);
    if (v->notice)
        out->penalty = (moderation_penalty_t) { QY__ACTION__WARN, false, false, 0 };
    //  What the dry-run rules would have done on top, if it is more.
    const char *would = NULL;
    if (v->would_level > v->level) {
        moderation_penalty_t wp = moderation_penalty (pol, v->would_level, prior);
        would = s_action_name (wp.action);
        out->would_action = wp.action;
    }
    out->strike = out->penalty.strike ? prior + 1 : 0;
    if (out->penalty.action == QY__ACTION__MUTE)
        out->mute_until_us = qy_now_us () + (int64_t) out->penalty.mute_minutes * 60 * 1000000;
    char strike [16], until [24];
    qy_snprintf (strike, sizeof (strike), "%d", out->strike);
    qy_snprintf (until, sizeof (until), "%lld", (long long) out->mute_until_us);
    const char *text = ev->text ? ev->text : "";
    char *excerpt = qy_utf8_prefix (text, 400);
    const char *ip [] = { bid, gid, ev->member_id ? mid : NULL, ev->msg_id, t, v->category, score,
                          s_action_name (out->penalty.action), rules.data, hits.data, excerpt, strike,
                          out->mute_until_us ? until : NULL, would, v->level == JUDGE_ALLOW ? "t" : "f" };
    bool ok = qy_pg_run (self->pg, "violation insert",
            "INSERT INTO violations (brand_id, group_id, member_id, msg_id, event_time, category, score, action, "
            "                        rules, hits, excerpt, strike, mute_until, would_action, dry_run) "
            "VALUES ($1, $2, $3, $4, 'epoch'::timestamptz + $5::bigint * interval '1 microsecond', $6, $7, $8, "
            "        $9::text[], $10::jsonb, $11, $12, 'epoch'::timestamptz + $13::bigint * interval '1 microsecond', "
            "        $14, $15::boolean) "
            "RETURNING id", 15, ip, &res);
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

int moderation_store_state_at (moderation_store_t *self, int64_t brand_id, int64_t member_id, int64_t t_us,
                               int64_t *mute_until_us, bool *blocked)
{
    char b [24], m [24], t [24];
    qy_snprintf (b, sizeof (b), "%lld", (long long) brand_id);
    qy_snprintf (m, sizeof (m), "%lld", (long long) member_id);
    qy_snprintf (t, sizeof (t), "%lld", (long long) t_us);
    const char *p [] = { b, m, t };
    PGresult *res;
    if (!qy_pg_run (self->pg, "state at",
            "WITH at AS (SELECT 'epoch'::timestamptz + $3::bigint * interval '1 microsecond' AS t) "
            "SELECT coalesce ((SELECT (extract (epoch FROM max (v.mute_until)) * 1000000)::bigint FROM violations v, at "
            "                  WHERE v.brand_id = $1 AND v.member_id = $2 AND v.mute_until IS NOT NULL "
            "                    AND v.status <> 'overturned' AND v.event_time < at.t AND v.mute_until > at.t), 0), "
            "       EXISTS (SELECT 1 FROM blocks k LEFT JOIN violations v ON v.id = k.violation_id, at "
            "               WHERE k.brand_id = $1 AND k.member_id = $2 AND k.lifted_at IS NULL "
            "                 AND coalesce (v.event_time, k.created_at) < at.t)", 3, p, &res))
        return -1;
    *mute_until_us = qy_pg_int (res, 0, 0);
    *blocked = PQgetvalue (res, 0, 1) [0] == 't';
    PQclear (res);
    return 0;
}

int moderation_store_prior (moderation_store_t *self, int64_t brand_id, const char *msg_id, moderation_prior_t *out)
{
    char b [24];
    qy_snprintf (b, sizeof (b), "%lld", (long long) brand_id);
    const char *p [] = { b, msg_id };
    PGresult *res;
    if (!qy_pg_run (self->pg, "prior",
            "SELECT id, category, action, strike, coalesce ((extract (epoch FROM mute_until) * 1000000)::bigint, "
            "                                            (hits->0->>'mute_until_us')::bigint, 0) "
            "FROM violations WHERE brand_id = $1 AND msg_id = $2", 2, p, &res))
        return -1;
    int found = PQntuples (res) > 0;
    if (found) {
        memset (out, 0, sizeof (*out));
        out->violation_id = qy_pg_int (res, 0, 0);
        qy_strlcpy (out->category, PQgetvalue (res, 0, 1), sizeof (out->category));
        out->rec.existed = true;
        out->rec.violation_id = out->violation_id;
        out->rec.penalty.action = s_action_parse (PQgetvalue (res, 0, 2));
        out->rec.strike = (int) qy_pg_int (res, 0, 3);
        out->rec.penalty.strike = out->rec.strike > 0;
        out->rec.penalty.recall = out->rec.strike > 0;
        out->rec.mute_until_us = qy_pg_int (res, 0, 4);
    }
    PQclear (res);
    return found;
}

int moderation_store_enforce (moderation_store_t *self, const Qy__Event *ev, const char *category,
                              Qy__Action action, int64_t mute_until_us)
{
    char b [24], g [24], m [24], t [24], u [24];
    qy_snprintf (b, sizeof (b), "%lld", (long long) ev->brand_id);
    qy_snprintf (g, sizeof (g), "%lld", (long long) ev->group_id);
    qy_snprintf (m, sizeof (m), "%lld", (long long) ev->member_id);
    qy_snprintf (t, sizeof (t), "%lld", (long long) ev->event_time_us);
    qy_snprintf (u, sizeof (u), "%lld", (long long) mute_until_us);
    const char *text = ev->text ? ev->text : "";
    char *excerpt = qy_utf8_prefix (text, 120);
    const char *p [] = { b, g, ev->member_id ? m : NULL, ev->msg_id, t, category, s_action_name (action), excerpt, u };
    bool ok = qy_pg_run (self->pg, "enforce",
        "INSERT INTO violations (brand_id, group_id, member_id, msg_id, event_time, category, score, action, rules, hits, "
        "                        excerpt, strike, mute_until) "
        "VALUES ($1, $2, $3, $4, 'epoch'::timestamptz + $5::bigint * interval '1 microsecond', $6, 0, $7, '{}', "
        "        jsonb_build_array (jsonb_build_object ('enforced', $6::text, 'mute_until_us', $9::bigint)), $8, 0, NULL) "
        "ON CONFLICT (brand_id, msg_id) DO NOTHING", 9, p, NULL);
    free (excerpt);
    return ok ? 0 : -1;
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
