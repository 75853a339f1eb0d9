//  The PostgreSQL half of moderation: brand rule sets and policies, and
//  the recording of violations with exact, idempotent strike counting.
#include "moderation.h"
#include "moderation_judge.h"
#include "qy/log.h"
#include "qy/util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct moderation_store_t {
    qy_pg_t              *pg;
    judge_options_t       judge_opts;
    char                  complaint_model [1024];   //  "": rules only
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

void moderation_store_complaint_model (moderation_store_t *self, const char *path)
{
    qy_strlcpy (self->complaint_model, path ? path : "", sizeof (self->complaint_model));
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

//  The newest model of a brand for category ("ad", "abuse", "complaint") written to a
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

//  The brand's policy layers: the brand's own applies now, the others are
//  kept for the groups they name.
static void s_load_layers (moderation_brand_t *b, const char *bid, const PGresult *pr)
{
    char lerr [256];
    b->layers = qy_calloc ((size_t) PQntuples (pr) + 1, sizeof (moderation_layer_t));
    for (int r = 0; r < PQntuples (pr); r++) {
        int rank = s_rank (PQgetvalue (pr, r, 0));
        if (rank == 0 && moderation_policy_apply_json (&b->policy, PQgetvalue (pr, r, 2), lerr, sizeof (lerr))) {
            qy_log_error ("brand=%s policy scope=brand ignored error=%s", bid, lerr);
            b->degraded = true;
        }
        else
        if (rank > 0) {
            //  Said now when it does not apply on the brand's policy alone;
            //  it may still on a group's lower layers (qyctl checks those),
            //  so it is kept, and a group where it fails skips it, loudly.
            moderation_policy_t probe = b->policy;
            if (moderation_policy_apply_json (&probe, PQgetvalue (pr, r, 2), lerr, sizeof (lerr)))
                qy_log_warn ("brand=%s policy scope=%s key=%s does not apply on the brand policy alone error=%s",
                             bid, PQgetvalue (pr, r, 0), PQgetvalue (pr, r, 1), lerr);
            moderation_layer_t *l = &b->layers [b->nlayers++];
            l->rank = rank;
            l->key = qy_strdup (PQgetvalue (pr, r, 1));
            l->settings = qy_strdup (PQgetvalue (pr, r, 2));
        }
    }
}

//  The brand's judge: its content rules, dictionaries, exemptions and
//  allow-lists merged, and its own models where it has them. Flood rules
//  go to the policy instead (counted in Redis). b->judge stays NULL when no
//  rule set could be built (err says why).
static void s_load_judge (moderation_store_t *self, moderation_brand_t *b, const char *bid, const PGresult *rr,
                          const PGresult *lr, size_t *nrules, char *err, size_t errlen)
{
    bool ok = true;
    int n = PQntuples (rr);
    judge_rule_row_t *rows = qy_calloc ((size_t) n + 1, sizeof (judge_rule_row_t));
    size_t nrows = 0;
    for (int r = 0; r < n && ok; r++) {
        judge_rule_row_t row = {
            PQgetvalue (rr, r, 0), PQgetvalue (rr, r, 1), PQgetvalue (rr, r, 2), PQgetvalue (rr, r, 3),
            strtod (PQgetvalue (rr, r, 4), NULL), PQgetvalue (rr, r, 5) [0] == 't' };
        //  Behaviour rules are counted here, in Redis; the judge sees content rules.
        if (strcmp (row.kind, "flood") == 0)
            ok = moderation_policy_flood_rule (&b->policy, &row, err, errlen) == 0;
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
    moderation_judge_spec_t spec = { self->judge_opts.opencc_config,
                                     { self->judge_opts.ad_model_path, self->judge_opts.abuse_model_path },
                                     { NULL, NULL }, self->complaint_model [0] ? self->complaint_model : NULL, false };
    char paths [MODERATION_MODELS][1024] = { "", "" };
    const char *cats [MODERATION_MODELS] = { "ad", "abuse" };
    for (int m = 0; m < MODERATION_MODELS && ok; m++)
        if (s_model_file (self, bid, cats [m], paths [m], sizeof (paths [m]), &b->model_version [m]) == 0)
            spec.own [m] = paths [m];
    //  The complaint model: the brand's own (`qyctl moderation train
    //  --category complaint --brand B`), else the deployment's (model.dir).
    char cpaths [1024];
    int64_t cv = 0;
    bool own_complaint = ok && s_model_file (self, bid, "complaint", cpaths, sizeof (cpaths), &cv) == 0;
    if (own_complaint) {
        spec.complaint = cpaths;
        qy_log_info ("brand=%s complaint model: the brand's own, version %lld", bid, (long long) cv);
    }
    moderation_judge_built_t built;
    moderation_judge_build (bid, ok ? merged : NULL, nmerged, &spec, &built, err, errlen);
    b->judge = built.judge;
    for (int m = 0; m < MODERATION_MODELS; m++) {
        if (spec.own [m])
            unlink (paths [m]);
        if (!built.own_used [m])
            b->model_version [m] = 0;
    }
    if (own_complaint)
        unlink (cpaths);
    if (built.default_rules)
        moderation_policy_default (&b->policy);
    b->degraded = b->degraded || built.degraded;
    moderation_rows_free (&merged, nmerged);
    free (rows);
    *nrules = nmerged;
}

static moderation_brand_t *s_load (moderation_store_t *self, int64_t brand_id)
{
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) brand_id);
    const char *p [] = { bid };
    PGresult *br, *rr, *lr, *pr;
    if (!qy_pg_run (self->pg, "brand load", "SELECT code, qy_tz_offset_min (tz_name, tz_offset_min), settings::text FROM brands WHERE id = $1", 1, p, &br))
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
    //  Settings or a layer that do not apply are ignored, loudly: the rest
    //  of the brand's policy and all of its rules still hold.
    if (moderation_policy_apply_settings (&b->policy, PQgetvalue (br, 0, 2), lerr, sizeof (lerr))) {
        qy_log_error ("brand=%s settings ignored error=%s", bid, lerr);
        b->degraded = true;
    }
    s_load_layers (b, bid, pr);
    size_t nrules = 0, nl = (size_t) PQntuples (lr);
    s_load_judge (self, b, bid, rr, lr, &nrules, err, sizeof (err));
    PQclear (rr);
    PQclear (br);
    PQclear (lr);
    PQclear (pr);
    if (!b->judge) {
        qy_log_error ("brand=%s no rule set could be built error=%s", bid, err);
        s_brand_free (&b);
        return NULL;
    }
    b->groups = qy_calloc (1, sizeof (s_groups_t));
    qy_log_info ("brand=%s code=%s rules=%zu lists=%zu layers=%zu flood=%d/%ds model_ad=%lld model_abuse=%lld loaded", bid,
                 b->code, nrules, nl, b->nlayers, b->policy.flood_max, b->policy.flood_window_s,
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
                    qy_log_error ("brand=%lld group=%lld policy scope=%d key=%s ignored for this group error=%s",
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

//  Per category, whether a negative hit cancelled the contact details
//  (judge_result_settle): counting dry-run hits as live ones or not.
static void s_cancelled (const judge_result_t *r, bool live, bool out [QY_CAT__COUNT])
{
    double plain [QY_CAT__COUNT], contact [QY_CAT__COUNT], negative [QY_CAT__COUNT];
    judge_result_sums (r, live, plain, contact, negative);
    for (int c = 0; c < QY_CAT__COUNT; c++)
        out [c] = negative [c] < 0 && contact [c] + negative [c] <= 0;
}

//  Start a violation row: columns 0-4 are the event's brand, group, member
//  (NULL when unknown), message id and time, in both statements that write
//  violations.
static void s_violation_row (qy_pg_cols_t *cols, const Qy__Event *ev)
{
    qy_pg_cols_row (cols);
    qy_pg_cols_int (cols, 0, ev->brand_id);
    qy_pg_cols_int (cols, 1, ev->group_id);
    if (ev->member_id)
        qy_pg_cols_int (cols, 2, ev->member_id);
    else
        qy_pg_cols_null (cols, 2);
    qy_pg_cols_text (cols, 3, ev->msg_id);
    qy_pg_cols_int (cols, 4, ev->event_time_us);
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

//  A member's mute end (µs, 0 for none) and whether they are blocked at a
//  moment: two columns, from SQL parameters holding the brand, the member
//  and the moment in µs since the epoch.
#define S_STATE_AT(b, m, t) \
    "coalesce ((SELECT (extract (epoch FROM max (v.mute_until)) * 1000000)::bigint FROM violations v " \
    "           WHERE v.brand_id = " b " AND v.member_id = " m " AND v.mute_until IS NOT NULL " \
    "             AND v.status <> 'overturned' " \
    "             AND v.event_time < 'epoch'::timestamptz + " t "::bigint * interval '1 microsecond' " \
    "             AND v.mute_until > 'epoch'::timestamptz + " t "::bigint * interval '1 microsecond'), 0), " \
    "EXISTS (SELECT 1 FROM blocks k LEFT JOIN violations v ON v.id = k.violation_id " \
    "        WHERE k.brand_id = " b " AND k.member_id = " m " AND k.lifted_at IS NULL " \
    "          AND coalesce (v.event_time, k.created_at) < 'epoch'::timestamptz + " t "::bigint * interval '1 microsecond')"

//  What the read statement of moderation_store_read says about row i.
static void s_known (const PGresult *res, int i, moderation_known_t *k)
{
    memset (k, 0, sizeof (*k));
    k->recorded = !PQgetisnull (res, i, 0);
    if (k->recorded) {
        k->id = qy_pg_int (res, i, 0);
        k->strike = (int) qy_pg_int (res, i, 1);
        k->action = PQgetvalue (res, i, 2);
        k->mute_until_us = qy_pg_int (res, i, 3);
        k->would = PQgetvalue (res, i, 4);
        k->kind = PQgetvalue (res, i, 10);
    }
    k->held_mute_until_us = qy_pg_int (res, i, 5);
    k->held_blocked = PQgetvalue (res, i, 6) [0] == 't';
    k->history.prior_strikes = (int) qy_pg_int (res, i, 7);
    k->history.prior_behaviour = (int) qy_pg_int (res, i, 8);
    k->history.content_recent = PQgetvalue (res, i, 9) [0] == 't';
    k->history.linked_strikes = (int) qy_pg_int (res, i, 11);
}

//  Nothing new to write for o: a copy of an earlier row, already recorded,
//  or enforced under a penalty decided before it.
static bool s_recorded_elsewhere (const moderation_record_t *o)
{
    return o->superseded || o->existed || o->held_blocked || o->held_mute_until_us;
}

//  1. Locks the batch's members, in its (brand, member) order, so that two
//  replicas never wait on each other in a cycle and strike numbers never
//  collide.
static void s_lock_members (const moderation_violation_t *v, size_t n, qy_pg_steps_t *st)
{
    qy_pg_cols_t lk;
    qy_pg_cols_init (&lk, 1);
    for (size_t i = 0; i < n; i++)
        if (!i || v [i].ev->brand_id != v [i - 1].ev->brand_id || v [i].ev->member_id != v [i - 1].ev->member_id) {
            char key [48];
            qy_snprintf (key, sizeof (key), "%lld:%lld", (long long) v [i].ev->brand_id, (long long) v [i].ev->member_id);
            qy_pg_cols_row (&lk);
            qy_pg_cols_text (&lk, 0, key);
        }
    qy_pg_steps_add (st, "violation lock",
            "SELECT count (pg_advisory_xact_lock (hashtextextended (k, 42))) FROM unnest ($1::text[]) AS k", &lk, false);
}

//  2. Under the locks, one row per violation: its row if the message has
//  one already; the member's mute and block at the moment that counts (a
//  live message meets the state of now, a replayed one the state of its
//  time); their live strikes. Returns the step's index.
//  The linked accounts' count is found by its keys alone (migration 125's
//  GIN index) and the brand checked on the few rows found: brand_id + 0
//  keeps the planner from pairing the brand's btree with it, which on a
//  table not yet analysed (a fresh day's first minutes) it did, reading
//  every strike of the brand once per violation.
static size_t s_read_existing (const moderation_violation_t *v, size_t n, int64_t now, qy_pg_steps_t *st)
{
    enum { R_BRAND, R_MSG, R_MEMBER, R_AT, R_DAYS, R_WINDOW, R_LINK, R_KEYS, R_NCOL };
    qy_pg_cols_t rd;
    qy_pg_cols_init (&rd, R_NCOL);
    for (size_t i = 0; i < n; i++) {
        const Qy__Event *ev = v [i].ev;
        qy_pg_cols_row (&rd);
        qy_pg_cols_int (&rd, R_BRAND, ev->brand_id);
        qy_pg_cols_text (&rd, R_MSG, ev->msg_id);
        qy_pg_cols_int (&rd, R_MEMBER, ev->member_id);
        qy_pg_cols_int (&rd, R_AT, ev->replay ? ev->event_time_us : now);
        qy_pg_cols_int (&rd, R_DAYS, v [i].policy->strike_days);
        qy_pg_cols_int (&rd, R_WINDOW, v [i].policy->behaviour_window_h);
        qy_pg_cols_int (&rd, R_LINK, v [i].policy->behaviour_link_days);
        char keys [96];
        moderation_link_keys (ev->unionid, ev->phone, keys, sizeof (keys));
        qy_pg_cols_text (&rd, R_KEYS, keys);
    }
    //  A member's counts go through a (brand, member, created_at) index
    //  whatever the statistics say: ORDER BY created_at, which only those
    //  indexes give (OFFSET 0 keeps the order from being planned away),
    //  makes them the cheaper path even where every estimate is alike.
    //  Before the table's first ANALYZE (a fresh database's first minute)
    //  PostgreSQL costed every index led by brand_id the same and took
    //  (brand_id, msg_id): the brand's every violation read per row of the
    //  batch, 8-22 ms a batch.
    return qy_pg_steps_add (st, "violation existing",
            "SELECT e.id, e.strike, e.action, e.mute_until_us, e.would, " S_STATE_AT ("u.b", "u.m", "u.t") ", "
            "       (SELECT count (*) FROM (SELECT FROM violations WHERE brand_id = u.b AND member_id = u.m "
            "          AND strike > 0 AND status <> 'overturned' AND created_at > now () - u.days * interval '1 day' "
            "          ORDER BY created_at OFFSET 0) s), "
            "       (SELECT count (*) FROM (SELECT FROM violations WHERE brand_id = u.b AND member_id = u.m "
            "          AND kind = 'behaviour' AND action IN ('warn', 'recall', 'mute') AND status <> 'overturned' "
            "          AND created_at > now () - u.win * interval '1 hour' ORDER BY created_at OFFSET 0) s), "
            "       EXISTS (SELECT FROM (SELECT FROM violations WHERE brand_id = u.b AND member_id = u.m AND strike > 0 "
            "          AND kind = 'content' AND status <> 'overturned' AND created_at > now () - u.link * interval '1 day' "
            "          ORDER BY created_at OFFSET 0) s), "
            "       e.kind, "
            "       CASE WHEN u.keys = '' THEN 0 ELSE "
            "       (SELECT count (*) FROM violations WHERE brand_id + 0 = u.b AND member_id <> u.m AND strike > 0 "
            "          AND status <> 'overturned' AND created_at > now () - u.days * interval '1 day' "
            "          AND link_keys && string_to_array (u.keys, ',')) END "
            "FROM unnest ($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::int[], $7::int[], "
            "             $8::text[]) WITH ORDINALITY AS u (b, msg, m, t, days, win, link, keys, i) "
            "LEFT JOIN LATERAL ("
            "  SELECT id, strike, action, (extract (epoch FROM mute_until) * 1000000)::bigint AS mute_until_us, "
            "         coalesce (would_action, '') AS would, kind "
            "  FROM violations WHERE brand_id = u.b AND msg_id = u.msg) e ON true "
            "ORDER BY u.i", &rd, true);
}

enum { W_BRAND, W_GROUP, W_MEMBER, W_MSG, W_TIME, W_CATEGORY, W_SCORE, W_ACTION, W_RULES, W_HITS, W_EXCERPT,
       W_STRIKE, W_UNTIL, W_WOULD, W_DRY, W_KIND, W_PRIO, W_KEYS, W_NCOL };

//  3. The columns of one new violation row, as decided in o.
static void s_new_row (qy_pg_cols_t *wr, const moderation_violation_t *v, const moderation_record_t *o)
{
    const Qy__Event *ev = v->ev;
    moderation_kind_t kind = moderation_kind (v->category);
    const char *would = v->would_level > v->level ? moderation_action_name (o->would_action) : NULL;
    qy_buf_t hits, rules;
    qy_buf_init (&hits);
    qy_buf_init (&rules);
    s_evidence (v, &hits, &rules);
    char *excerpt = qy_utf8_prefix (ev->text ? ev->text : "", 400);
    char score [32];
    qy_snprintf (score, sizeof (score), "%.4f", v->score);
    s_violation_row (wr, ev);
    qy_pg_cols_text (wr, W_CATEGORY, v->category);
    qy_pg_cols_text (wr, W_SCORE, score);
    qy_pg_cols_text (wr, W_ACTION, moderation_action_name (o->penalty.action));
    qy_pg_cols_text (wr, W_RULES, rules.data);
    qy_pg_cols_text (wr, W_HITS, hits.data);
    qy_pg_cols_text (wr, W_EXCERPT, excerpt);
    qy_pg_cols_int (wr, W_STRIKE, o->strike);
    if (!o->mute_until_us)
        qy_pg_cols_null (wr, W_UNTIL);
    else
        qy_pg_cols_int (wr, W_UNTIL, o->mute_until_us);
    qy_pg_cols_text (wr, W_WOULD, would);
    qy_pg_cols_text (wr, W_DRY, v->level == JUDGE_ALLOW ? "t" : "f");
    qy_pg_cols_text (wr, W_KIND, moderation_kind_name (kind));
    //  Behaviour charged on the content ladder (a spammer's flooding) is weighed as content.
    moderation_kind_t charged = o->penalty.strike ? MODERATION_CONTENT : kind;
    double prio = moderation_review_priority (charged, o->penalty.action, v->score, v->level == JUDGE_ALLOW);
    qy_snprintf (score, sizeof (score), "%.4f", prio);
    qy_pg_cols_text (wr, W_PRIO, isnan (prio) ? NULL : score);
    char keys [96];
    moderation_link_keys (ev->unionid, ev->phone, keys, sizeof (keys));
    qy_pg_cols_text (wr, W_KEYS, keys);
    free (excerpt);
    qy_buf_free (&hits);
    qy_buf_free (&rules);
}

//  4. The new violations, the blocks they make and their audit records in
//  one statement, used when there is a new row.
bool moderation_store_insert_plan (const moderation_violation_t *v, const moderation_record_t *out, size_t n,
                                   qy_pg_steps_t *st)
{
    qy_pg_cols_t wr;
    qy_pg_cols_init (&wr, W_NCOL);
    for (size_t i = 0; i < n; i++)
        if (!s_recorded_elsewhere (&out [i]))
            s_new_row (&wr, &v [i], &out [i]);
    if (!wr.nrows) {            //  nothing new
        qy_pg_cols_free (&wr);
        return false;
    }
    qy_pg_steps_add (st, "violation insert",
            "WITH r AS (SELECT * FROM unnest ($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], "
            "                                 $6::text[], $7::float8[], $8::text[], $9::text[], $10::text[], $11::text[], "
            "                                 $12::int[], $13::bigint[], $14::text[], $15::boolean[], $16::text[], "
            "                                 $17::real[], $18::text[]) "
            "           AS r (b, g, m, msg, t, category, score, action, rules, hits, excerpt, strike, until, would, dry, "
            "                 kind, prio, keys)), "
            "v AS ("
            "  INSERT INTO violations (brand_id, group_id, member_id, msg_id, event_time, category, score, action, "
            "                          rules, hits, excerpt, strike, mute_until, would_action, dry_run, kind, "
            "                          review_priority, link_keys) "
            "  SELECT b, g, m, msg, 'epoch'::timestamptz + t * interval '1 microsecond', category, score, action, "
            "         rules::text[], hits::jsonb, excerpt, strike, 'epoch'::timestamptz + until * interval '1 microsecond', "
            "         would, dry, kind, prio, string_to_array (nullif (keys, ''), ',') FROM r "
            "  RETURNING id, brand_id, member_id, msg_id, action, strike), "
            "k AS ("
            "  INSERT INTO blocks (brand_id, member_id, reason, violation_id) "
            "  SELECT brand_id, member_id, 'ladder', id FROM v WHERE action = 'block' AND member_id IS NOT NULL "
            "  ON CONFLICT (brand_id, member_id) DO UPDATE SET lifted_at = NULL, violation_id = EXCLUDED.violation_id, "
            "  created_at = now ()), "
            "a AS ("
            "  INSERT INTO audit_log (brand_id, actor, action, object_type, object_id, detail) "
            "  SELECT brand_id, 'moderation', action, 'violation', id::text, "
            "         jsonb_build_object ('strike', strike, 'msg_id', msg_id) FROM v) "
            "SELECT id, brand_id, msg_id FROM v", &wr, true);
    return true;
}

void moderation_store_insert_take (const moderation_violation_t *v, moderation_record_t *out, size_t n,
                                   const PGresult *res)
{
    for (int r = 0; res && r < PQntuples (res); r++) {
        int64_t b = qy_pg_int (res, r, 1);
        const char *msg = PQgetvalue (res, r, 2);
        for (size_t i = 0; i < n; i++)
            if (!s_recorded_elsewhere (&out [i]) && v [i].ev->brand_id == b && strcmp (v [i].ev->msg_id, msg) == 0) {
                out [i].violation_id = qy_pg_int (res, r, 0);
                break;
            }
    }
    for (size_t i = 0; i < n; i++)
        if (out [i].existed && !out [i].violation_id)
            for (size_t j = 0; j < i; j++)
                if (v [j].ev->brand_id == v [i].ev->brand_id && strcmp (v [j].ev->msg_id, v [i].ev->msg_id) == 0
                    && out [j].violation_id) {
                    out [i].violation_id = out [j].violation_id;
                    break;
                }
}

int moderation_store_read (moderation_store_t *self, const moderation_violation_t *v, moderation_record_t *out,
                           size_t n)
{
    for (size_t i = 0; i < n; i++)
        memset (&out [i], 0, sizeof (out [i]));
    int64_t now = qy_now_us ();
    //  BEGIN, the locks and the read in one round trip: the read runs after
    //  the locks are granted, in the same transaction.
    qy_pg_steps_t st;
    qy_pg_steps_init (&st);
    qy_pg_steps_add (&st, "violations begin", "BEGIN", NULL, false);
    //  The read's generic plan is as good as a custom one (at 5,000
    //  events/s 1.3 against 0.9 µs of execution per event), yet PostgreSQL's
    //  default mode made a custom plan for every batch: 0.5–1 ms of
    //  planning, 4.8 µs per event. The writes that follow in this
    //  transaction run their generic plans too.
    qy_pg_steps_add (&st, "violations plans", QY_PG_GENERIC_PLANS, NULL, false);
    s_lock_members (v, n, &st);
    size_t read = s_read_existing (v, n, now, &st);
    bool ok = qy_pg_pipeline (self->pg, st.steps, st.n) && (size_t) PQntuples (st.steps [read].res) == n;
    if (ok) {
        const PGresult *res = st.steps [read].res;
        //  Decided as if one at a time (pure). known points into the
        //  result, and the decisions copy what they keep.
        moderation_known_t *known = qy_calloc (n + 1, sizeof (moderation_known_t));
        for (size_t i = 0; i < n; i++)
            s_known (res, (int) i, &known [i]);
        moderation_strikes_decide (v, known, n, now, out);
        free (known);
    }
    qy_pg_steps_free (&st);
    return ok ? 0 : -1;
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
    if (!qy_pg_run (self->pg, "state at", "SELECT " S_STATE_AT ("$1", "$2", "$3"), 3, p, &res))
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
            "                                            (hits->0->>'mute_until_us')::bigint, 0), kind "
            "FROM violations WHERE brand_id = $1 AND msg_id = $2", 2, p, &res))
        return -1;
    int found = PQntuples (res) > 0;
    if (found) {
        memset (out, 0, sizeof (*out));
        out->violation_id = qy_pg_int (res, 0, 0);
        qy_strlcpy (out->category, PQgetvalue (res, 0, 1), sizeof (out->category));
        out->rec.existed = true;
        out->rec.violation_id = out->violation_id;
        out->rec.strike = (int) qy_pg_int (res, 0, 3);
        out->rec.penalty = moderation_recorded_penalty (PQgetvalue (res, 0, 2), out->rec.strike, PQgetvalue (res, 0, 5));
        out->rec.mute_until_us = qy_pg_int (res, 0, 4);
    }
    PQclear (res);
    return found;
}

void moderation_store_enforce_plan (const moderation_enforce_t *list, size_t n, qy_pg_steps_t *st)
{
    if (!n)
        return;
    //  One statement for the batch: a column each, as arrays.
    enum { BRAND, GROUP, MEMBER, MSG, TIME, CATEGORY, ACTION, EXCERPT, UNTIL, NCOL };
    qy_pg_cols_t col;
    qy_pg_cols_init (&col, NCOL);
    for (size_t i = 0; i < n; i++) {
        const Qy__Event *ev = list [i].ev;
        char *excerpt = qy_utf8_prefix (ev->text ? ev->text : "", 120);
        s_violation_row (&col, ev);
        qy_pg_cols_text (&col, CATEGORY, list [i].category);
        qy_pg_cols_text (&col, ACTION, moderation_action_name (list [i].action));
        qy_pg_cols_text (&col, EXCERPT, excerpt);
        qy_pg_cols_int (&col, UNTIL, list [i].mute_until_us);
        free (excerpt);
    }
    qy_pg_steps_add (st, "enforce",
        "INSERT INTO violations (brand_id, group_id, member_id, msg_id, event_time, category, score, action, rules, hits, "
        "                        excerpt, strike, mute_until, kind, status) "
        "SELECT b, g, m, id, 'epoch'::timestamptz + t * interval '1 microsecond', c, 0, a, '{}', "
        "       jsonb_build_array (jsonb_build_object ('enforced', c, 'mute_until_us', u)), x, 0, NULL, "
        "       'enforcement', 'enforced' "
        "FROM unnest ($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::text[], "
        "             $8::text[], $9::bigint[]) AS e (b, g, m, id, t, c, a, x, u) "
        "ON CONFLICT (brand_id, msg_id) DO NOTHING", &col, false);
}

void moderation_store_rollback (moderation_store_t *self)
{
    qy_pg_run (self->pg, "violations rollback", "ROLLBACK", 0, NULL, NULL);
}
