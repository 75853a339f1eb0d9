//  qyctl moderation: the operators' side of moderation.
//    train | eval                      the judge's offline tools (judge_eval_cli.c)
//    violations BRAND …                list violations
//    confirm | overturn BRAND ID --reason R  decide one; overturn lifts the strike, its mute
//                                      and block; both teach the brand's classifier
//    dict | allow | block BRAND …      per-brand lists (moderation_lists, blocks)
//    policy BRAND …                    policy layers (moderation_policies)
//    precision BRAND [--days N]        per-rule precision from decisions
//    backtest BRAND --days N [--rules TSV]   replay the archive through a proposed rule set
//  Every change is written to audit_log; the service picks it up through
//  NOTIFY qy_config (see docs/moderation.md).
#include "qyctl.h"
#include "qy/pg.h"
#include "judge.h"
#include "judge_eval.h"
#include "moderation.h"
#include "moderation_decide.h"
#include "moderation_backtest.h"
#include "qy/util.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *s_actor (void)
{
    return getenv ("QY_OPERATOR") ? getenv ("QY_OPERATOR") : (getenv ("USER") ? getenv ("USER") : "qyctl");
}

//  An audit row with a JSON detail (qyctl_audit has none).
static void s_audit (const char *bid, const char *action, const char *type, const char *id, const char *detail_json)
{
    const char *p [] = { bid, s_actor (), action, type, id, detail_json ? detail_json : "{}" };
    PQclear (qyctl_exec ("INSERT INTO audit_log (brand_id, actor, action, object_type, object_id, detail) "
                         "VALUES ($1, $2, $3, $4, $5, $6::jsonb)", 6, p));
}

static void s_notify (const char *payload)
{
    const char *p [] = { payload };
    PQclear (qyctl_exec ("SELECT pg_notify ('qy_config', $1)", 1, p));
}

//  ------------------------------------------------------------ decisions

static int s_decide (bool overturn)
{
    //  The brand is required, as for every other brand's object: an id alone
    //  could decide another brand's violation. "ID --brand CODE" (the older
    //  form) is still taken.
    const char *brand = qyctl_opt ("brand", NULL);
    int first = brand ? 1 : 2;                  //  where the ID is
    const char *id = qyctl_arg (first);
    if (!brand)
        brand = qyctl_arg (1);
    const char *reason = qyctl_opt ("reason", NULL);
    if (!brand || !id || qyctl_arg (first + 1) || !reason || !*reason)
        qyctl_usage_error ("moderation %s needs a BRAND, an ID and --reason TEXT", overturn ? "overturn" : "confirm");
    char bid [24], err [512];
    qy_pg_i64 (bid, qyctl_brand_id (brand));
    qyctl_long ("ID", id, 1, INT64_MAX);
    //  The decision and what it teaches, in one transaction
    //  (services/moderation/moderation_decide.c, shared with the console).
    PQclear (qyctl_exec ("BEGIN", 0, NULL));
    moderation_decision_t d;
    bool learn = strcmp (qyctl_opt ("learn", "yes"), "no") != 0;
    moderation_decide_in_t in = { bid, id, overturn, s_actor (), reason, learn };
    moderation_decide_rc_t rc = moderation_decide (qyctl_pg (), &in, &d, err, sizeof (err));
    const char *want = overturn ? "overturned" : "confirmed";
    if (rc == MODERATION_NOT_FOUND)
        qyctl_die ("no violation %s in brand %s", id, brand);
    if (rc == MODERATION_ALREADY)
        qyctl_die ("violation %s is already %s", id, want);
    if (rc != MODERATION_DECIDED)
        qyctl_die ("%s", err);
    PQclear (qyctl_exec ("COMMIT", 0, NULL));
    printf ("violation %s %s%s%s%s", id, want, overturn && d.strike ? " (strike lifted)" : "",
            d.lifted_mute ? " (mute lifted)" : "", d.lifted_block ? " (block lifted)" : "");
    if (d.charged)
        printf (" (reported private poaching: strike %d)", d.charged);
    printf ("\n");
    if (d.model [0])
        printf ("model %s version %lld (%lld decisions learned)\n", d.model, d.model_version, d.examples);
    return 0;
}

static int s_violations (void)
{
    const char *brand = qyctl_arg (1);
    if (!brand)
        qyctl_usage_error ("moderation violations needs a BRAND");
    char bid [24];
    qy_pg_i64 (bid, qyctl_brand_id (brand));
    const char *status = qyctl_opt ("status", NULL);
    const char *days = qyctl_opt ("days", "30"), *limit = qyctl_opt ("limit", "50");
        char *end;
    long d = strtol (days, &end, 10);
    if (*end || d < 1 || d > 36500)
        qyctl_die ("--days must be a whole number of days >= 1, not '%s'", days);
    long l = strtol (limit, &end, 10);
    if (*end || l < 1 || l > 1000000)
        qyctl_die ("--limit must be a whole number >= 1, not '%s'", limit);
    const char *p [] = { bid, status, qyctl_opt ("member", NULL), days, limit };
    PGresult *res = qyctl_exec (
        "SELECT v.id, to_char (v.event_time, 'MM-DD HH24:MI:SS TZH:TZM') AS at, g.code AS grp, m.user_id AS member, v.category, "
        "       v.action, coalesce (v.would_action, '') AS would, v.strike, v.status, array_to_string (v.rules, ',') AS rules, "
        "       left (coalesce (v.excerpt, ''), 40) AS excerpt "
        "FROM violations v LEFT JOIN groups g ON g.id = v.group_id AND g.brand_id = v.brand_id "
        "LEFT JOIN members m ON m.id = v.member_id AND m.brand_id = v.brand_id "
        "WHERE v.brand_id = $1 AND ($2::text IS NULL OR v.status = $2) AND ($3::text IS NULL OR m.user_id = $3) "
        "  AND v.created_at > now () - $4::int * interval '1 day' "
        "ORDER BY v.id DESC LIMIT $5::int", 5, p);
    qyctl_print (res, qyctl_opt ("format", "table"));
    PQclear (res);
    return 0;
}

//  ------------------------------------------------------------ lists

static int s_list_cmd (const char *what)
{
    const char *brand = qyctl_arg (1), *sub = qyctl_arg (2);
    bool dict = strcmp (what, "dict") == 0;
    if (!brand || !sub || (strcmp (sub, "list") && !qyctl_arg (4)))
        qyctl_die (dict ? "usage: moderation dict BRAND add|remove CATEGORY|exempt WORD… | dict BRAND list"
                        : "usage: moderation allow BRAND add|remove domain|phone VALUE… | allow BRAND list");
    char bid [24];
    qy_pg_i64 (bid, qyctl_brand_id (brand));
    if (strcmp (sub, "list") == 0) {
        const char *p [] = { bid, dict ? "t" : "f" };
        PGresult *res = qyctl_exec ("SELECT list, category, value, coalesce (created_by, '') AS by, "
                                    "to_char (created_at, 'YYYY-MM-DD HH24:MI TZH:TZM') AS at FROM moderation_lists "
                                    "WHERE brand_id = $1 AND (list IN ('keyword', 'exempt')) = $2::boolean ORDER BY 1, 2, 3", 2, p);
        qyctl_print (res, qyctl_opt ("format", "table"));
        PQclear (res);
        return 0;
    }
    bool add = strcmp (sub, "add") == 0;
    if (!add && strcmp (sub, "remove"))
        qyctl_die ("%s: expected add, remove or list, got '%s'", what, sub);
    const char *kind = qyctl_arg (3);
    const char *list, *category = "";
    if (dict && strcmp (kind, "exempt") == 0)
        list = "exempt";
    else
    if (dict) {
        qy_category_t c = judge_category_parse (kind);
        if (c == QY_CAT__COUNT || c == QY_CAT_FLOOD || c == QY_CAT_SPAM_WAVE || c == QY_CAT_FORMAT)
            qyctl_die ("dict: category must be ad, fraud, gambling, porn, abuse or exempt, got '%s'", kind);
        list = "keyword";
        category = kind;
    }
    else
    if (strcmp (kind, "domain") == 0 || strcmp (kind, "phone") == 0)
        list = strcmp (kind, "domain") == 0 ? "allow_domain" : "allow_phone";
    else
        qyctl_die ("allow: expected domain or phone, got '%s'", kind);
    int changed = 0;
    PQclear (qyctl_exec ("BEGIN", 0, NULL));
    for (int i = 4; qyctl_arg (i); i++) {
        const char *value = qyctl_arg (i);
        if (!*value || strchr (value, '\n'))
            qyctl_die ("%s: empty or multi-line value", what);
        const char *p [] = { bid, list, category, value, s_actor () };
        PGresult *res = add
            ? qyctl_exec ("INSERT INTO moderation_lists (brand_id, list, category, value, created_by) VALUES ($1, $2, $3, $4, $5) "
                          "ON CONFLICT DO NOTHING RETURNING 1", 5, p)
            : qyctl_exec ("DELETE FROM moderation_lists WHERE brand_id = $1 AND list = $2 AND category = $3 AND value = $4 "
                          "RETURNING 1", 4, p);
        if (PQntuples (res)) {
            changed++;
            qy_buf_t d;
            qy_buf_init (&d);
            qy_buf_printf (&d, "{\"list\":\"%s\",\"category\":\"%s\",\"value\":", list, category);
            qy_buf_json_str (&d, value);
            qy_buf_puts (&d, "}");
            char action [48];
            qy_snprintf (action, sizeof (action), "%s.%s", what, add ? "add" : "remove");
            s_audit (bid, action, "moderation_list", value, d.data);
            qy_buf_free (&d);
        }
        PQclear (res);
    }
    PQclear (qyctl_exec ("COMMIT", 0, NULL));
    printf ("%s: %d %s\n", list, changed, add ? "added" : "removed");
    return 0;
}

static int s_block (void)
{
    const char *brand = qyctl_arg (1), *sub = qyctl_arg (2), *user = qyctl_arg (3);
    if (!brand || !sub || (strcmp (sub, "list") && !user))
        qyctl_usage_error ("moderation block %s needs a USER", sub ? sub : "");
    char bid [24];
    qy_pg_i64 (bid, qyctl_brand_id (brand));
    if (strcmp (sub, "list") == 0) {
        const char *p [] = { bid };
        PGresult *res = qyctl_exec ("SELECT m.user_id AS member, coalesce (m.nickname, '') AS nickname, b.reason, "
                                    "coalesce (b.violation_id::text, '') AS violation, to_char (b.created_at, 'YYYY-MM-DD HH24:MI TZH:TZM') AS since "
                                    "FROM blocks b JOIN members m ON m.id = b.member_id AND m.brand_id = b.brand_id "
                                    "WHERE b.brand_id = $1 AND b.lifted_at IS NULL ORDER BY b.created_at", 1, p);
        qyctl_print (res, qyctl_opt ("format", "table"));
        PQclear (res);
        return 0;
    }
    bool add = strcmp (sub, "add") == 0;
    if (!add && strcmp (sub, "remove"))
        qyctl_die ("block: expected add, remove or list, got '%s'", sub);
    const char *reason = qyctl_opt ("reason", add ? "operator" : "lifted by operator");
    PQclear (qyctl_exec ("BEGIN", 0, NULL));
    //  A member may be blocked before ever being seen (a known spammer's id).
    const char *mp [] = { bid, user };
    PGresult *res = qyctl_exec ("INSERT INTO members (brand_id, user_id) VALUES ($1, $2) "
                                "ON CONFLICT (brand_id, user_id) DO UPDATE SET user_id = EXCLUDED.user_id RETURNING id", 2, mp);
    char *mid = qy_strdup (PQgetvalue (res, 0, 0));
    PQclear (res);
    const char *p [] = { bid, mid, reason };
    res = add ? qyctl_exec ("INSERT INTO blocks (brand_id, member_id, reason) VALUES ($1, $2, $3) "
                            "ON CONFLICT (brand_id, member_id) DO UPDATE SET lifted_at = NULL, reason = EXCLUDED.reason, "
                            "created_at = now (), violation_id = NULL RETURNING 1", 3, p)
              : qyctl_exec ("UPDATE blocks SET lifted_at = now () WHERE brand_id = $1 AND member_id = $2 AND lifted_at IS NULL "
                            "RETURNING 1", 2, p);
    int n = PQntuples (res);
    PQclear (res);
    qy_buf_t d;
    qy_buf_init (&d);
    qy_buf_puts (&d, "{\"reason\":");
    qy_buf_json_str (&d, reason);
    qy_buf_puts (&d, "}");
    s_audit (bid, add ? "block.add" : "block.remove", "member", user, d.data);
    qy_buf_free (&d);
    char note [96];
    qy_snprintf (note, sizeof (note), "moderation_member:%s:%s", bid, mid);
    s_notify (note);
    PQclear (qyctl_exec ("COMMIT", 0, NULL));
    printf ("%s %s%s\n", user, add ? "blocked in every group of " : "unblocked in ", brand);
    if (!add && !n)
        printf ("(was not blocked)\n");
    free (mid);
    return 0;
}

//  Refuse a layer the service would ignore, before it reaches it: apply it
//  where the service does — on the brand's settings and brand layer, and
//  for each group it reaches on the layers beneath it — and check that the
//  layers above it in those groups still apply. Names where it fails.
static void s_policy_check (const char *bid, const char *scope, const char *key, const char *json)
{
    static const char *names [] = { "brand", "region", "store", "group_type", "group" };
    int rank = -1;
    for (int i = 0; i < 5; i++)
        if (strcmp (scope, names [i]) == 0)
            rank = i;
    char err [256];
    if (rank < 0 || (json && moderation_policy_check_json (json, err, sizeof (err))))
        qyctl_die ("policy rejected: %s", rank < 0 ? "unknown scope" : err);
    moderation_policy_t base;
    const char *p [] = { bid, scope, key };
    //  The stack as the service runs it now holds this layer's current
    //  version (if any): what applies now must still apply afterwards.
    PGresult *cr = qyctl_exec ("SELECT settings::text FROM moderation_policies WHERE brand_id = $1 AND scope = $2 "
                               "AND scope_key = $3", 3, p);
    char *cur = PQntuples (cr) ? qy_strdup (PQgetvalue (cr, 0, 0)) : NULL;
    PQclear (cr);
    const char *verb = json ? "policy rejected" : "policy unset refused";
    PGresult *br = qyctl_exec ("SELECT coalesce (settings::text, '') FROM brands WHERE id = $1", 1, p);
    moderation_policy_default (&base);
    moderation_policy_apply_settings (&base, PQntuples (br) ? PQgetvalue (br, 0, 0) : "", err, sizeof (err));
    PQclear (br);
    PGresult *lr = qyctl_exec ("SELECT scope, scope_key, settings::text FROM moderation_policies "
                               "WHERE brand_id = $1 AND NOT (scope = $2 AND scope_key = $3)", 3, p);
    int nl = PQntuples (lr);
    for (int l = 0; l < nl; l++)        //  a bad one is ignored, as the service does
        if (strcmp (PQgetvalue (lr, l, 0), "brand") == 0)
            moderation_policy_apply_json (&base, PQgetvalue (lr, l, 2), err, sizeof (err));
    moderation_policy_t base_old = base;
    if (rank == 0 && cur)
        moderation_policy_apply_json (&base_old, cur, err, sizeof (err));
    if (rank == 0 && json && moderation_policy_apply_json (&base, json, err, sizeof (err)))
        qyctl_die ("policy rejected: on the brand's settings: %s", err);
    PGresult *gr = qyctl_exec ("SELECT coalesce (r.code, ''), coalesce (s.code, ''), g.type, g.code FROM groups g "
                               "LEFT JOIN stores s ON s.id = g.store_id AND s.brand_id = g.brand_id "
                               "LEFT JOIN regions r ON r.id = s.region_id AND r.brand_id = g.brand_id "
                               "WHERE g.brand_id = $1 ORDER BY g.code", 1, p);
    for (int g = 0; g < PQntuples (gr); g++) {
        moderation_policy_t pol = base, old = base_old;      //  with the new layer, and as it is now
        bool reached = rank == 0;
        for (int r = 1; r <= 4; r++) {
            const char *value = PQgetvalue (gr, g, r - 1);
            for (int l = 0; l < nl; l++) {
                if (strcmp (PQgetvalue (lr, l, 0), names [r]) || strcmp (PQgetvalue (lr, l, 1), value))
                    continue;
                //  A layer above the new one that applied without it must still apply.
                bool was_ok = moderation_policy_apply_json (&old, PQgetvalue (lr, l, 2), err, sizeof (err)) == 0;
                if (moderation_policy_apply_json (&pol, PQgetvalue (lr, l, 2), err, sizeof (err)) && reached && was_ok)
                    qyctl_die ("%s: group %s's %s layer %s would no longer apply: %s",
                               verb, PQgetvalue (gr, g, 3), names [r], value, err);
            }
            if (r == rank && strcmp (value, key) == 0) {
                reached = true;
                if (cur)
                    moderation_policy_apply_json (&old, cur, err, sizeof (err));
                if (json && moderation_policy_apply_json (&pol, json, err, sizeof (err)))
                    qyctl_die ("policy rejected: for group %s (on the layers beneath): %s", PQgetvalue (gr, g, 3), err);
            }
        }
    }
    PQclear (gr);
    PQclear (lr);
    free (cur);
}

static int s_policy (void)
{
    const char *brand = qyctl_arg (1), *sub = qyctl_arg (2);
    if (!brand || !sub)
        qyctl_die ("usage: moderation policy BRAND list | set SCOPE KEY JSON | unset SCOPE KEY   "
                   "(SCOPE brand|region|store|group_type|group; KEY - for brand)");
    char bid [24];
    qy_pg_i64 (bid, qyctl_brand_id (brand));
    if (strcmp (sub, "list") == 0) {
        const char *p [] = { bid };
        PGresult *res = qyctl_exec ("SELECT scope, scope_key AS key, settings::text, coalesce (updated_by, '') AS by "
                                    "FROM moderation_policies WHERE brand_id = $1 "
                                    "ORDER BY array_position (ARRAY['brand','region','store','group_type','group'], scope), scope_key", 1, p);
        qyctl_print (res, qyctl_opt ("format", "table"));
        PQclear (res);
        return 0;
    }
    const char *scope = qyctl_arg (3), *key = qyctl_arg (4);
    if (!scope || !key)
        qyctl_die ("policy %s: SCOPE and KEY needed", sub);
    if (strcmp (key, "-") == 0)
        key = "";
    bool set = strcmp (sub, "set") == 0;
    const char *json = set ? qyctl_arg (5) : NULL;
    if (set && !json)
        qyctl_die ("policy rejected: no JSON given");
    s_policy_check (bid, scope, key, set ? json : NULL);
    const char *p [] = { bid, scope, key, json, s_actor () };
    PGresult *res = set
        ? qyctl_exec ("INSERT INTO moderation_policies (brand_id, scope, scope_key, settings, updated_by) "
                      "VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT (brand_id, scope, scope_key) "
                      "DO UPDATE SET settings = EXCLUDED.settings, updated_by = EXCLUDED.updated_by, updated_at = now () RETURNING 1", 5, p)
        : qyctl_exec ("DELETE FROM moderation_policies WHERE brand_id = $1 AND scope = $2 AND scope_key = $3 RETURNING 1", 3, p);
    int n = PQntuples (res);
    PQclear (res);
    qy_buf_t d;
    qy_buf_init (&d);
    qy_buf_printf (&d, "{\"scope\":\"%s\",\"key\":", scope);
    qy_buf_json_str (&d, key);
    qy_buf_printf (&d, ",\"settings\":%s}", json ? json : "null");
    s_audit (bid, set ? "policy.set" : "policy.unset", "moderation_policy", scope, d.data);
    qy_buf_free (&d);
    printf ("policy %s %s: %s\n", scope, *key ? key : "-", set ? "set" : n ? "removed" : "was not set");
    return 0;
}

static int s_precision (void)
{
    const char *brand = qyctl_arg (1);
    if (!brand)
        qyctl_usage_error ("moderation precision needs a BRAND");
    char bid [24];
    qy_pg_i64 (bid, qyctl_brand_id (brand));
    const char *p [] = { bid, qyctl_opt ("days", "90") };
    PGresult *res = qyctl_exec (
        //  dry_run: hits where the rule itself ran dry (in a live violation too).
        "SELECT r AS rule, count (*) AS hits, "
        "       count (*) FILTER (WHERE EXISTS (SELECT 1 FROM jsonb_array_elements (v.hits) h "
        "                                       WHERE h->>'rule' = r AND h->>'dry_run' = 'true')) AS dry_run, "
        "       count (*) FILTER (WHERE v.status = 'confirmed') AS confirmed, "
        "       count (*) FILTER (WHERE v.status = 'overturned') AS overturned, "
        "       count (*) FILTER (WHERE v.status = 'open') AS open, "
        "       coalesce (round (count (*) FILTER (WHERE v.status = 'confirmed')::numeric "
        "             / nullif (count (*) FILTER (WHERE v.status IN ('confirmed', 'overturned')), 0), 3)::text, '-') AS precision "
        "FROM violations v, unnest (v.rules) r "
        "WHERE v.brand_id = $1 AND v.created_at > now () - $2::int * interval '1 day' "
        "GROUP BY r ORDER BY r", 2, p);
    qyctl_print (res, qyctl_opt ("format", "table"));
    PQclear (res);
    return 0;
}

//  ------------------------------------------------------------ backtest

static void s_progress (void *ctx, long done)
{
    qyctl_progress (ctx, done);
}

//  The findings as text: the changed examples, per rule, then the verdicts that change.
static void s_backtest_text (const moderation_backtest_t *bt, const char *days, const char *tsv)
{
    for (size_t i = 0; i < bt->nchanges; i++)
        printf ("changed %s: %s -> %s  %s\n", bt->changes [i].msg_id, judge_action_name (bt->changes [i].now),
                judge_action_name (bt->changes [i].proposed), bt->changes [i].text);
    printf ("\n%-28s %10s %10s %8s\n", "rule", "hits_now", "proposed", "delta");
    for (size_t i = 0; i < bt->nrules; i++)
        printf ("%-28s %10ld %10ld %+8ld\n", bt->rules [i].rule, bt->rules [i].now, bt->rules [i].proposed,
                bt->rules [i].proposed - bt->rules [i].now);
    printf ("\nverdict changes (now -> proposed):\n");
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++)
            if (a != b && bt->matrix [a][b])
                printf ("  %s -> %s: %ld\n", judge_action_name ((judge_action_t) a), judge_action_name ((judge_action_t) b),
                        bt->matrix [a][b]);
    printf ("messages=%ld changed=%ld days=%s rules=%s\n", bt->total, bt->changed, days, tsv ? tsv : "current");
}

//  moderation_backtest (services/moderation/moderation_backtest.c), shared
//  with the console's rules dry-run.
static int s_backtest (void)
{
    const char *brand = qyctl_arg (1);
    const char *days = qyctl_opt ("days", NULL);
    if (!brand || !days)
        qyctl_usage_error ("moderation backtest needs --days N (1 or more)");
    qyctl_long ("--days", days, 1, 36500);
    int examples = (int) qyctl_long ("--examples", qyctl_opt ("examples", "10"), 0, 100000);
    char bid [24], err [512];
    qy_pg_i64 (bid, qyctl_brand_id (brand));
    const char *tsv = qyctl_opt ("rules", NULL);
    size_t n = 0;
    judge_rule_row_t *proposed = NULL;
    if (tsv && !(proposed = judge_rules_load_tsv (tsv, &n, err, sizeof (err))))
        qyctl_die ("rules %s: %s", tsv, err);
    moderation_backtest_t bt;
    qyctl_progress_t progress;
    qyctl_progress_start (&progress, "backtest messages", 0);
    PQclear (qyctl_exec ("BEGIN", 0, NULL));
    moderation_backtest_in_t in = { .bid = bid, .days = days, .proposed = proposed, .nproposed = n, .examples = examples,
                                    .progress = s_progress, .ctx = &progress };
    int rc = moderation_backtest (qyctl_pg (), &in, &bt, err, sizeof (err));
    qyctl_progress_end (&progress);
    if (proposed)
        judge_rules_free (&proposed, n);
    if (bt.warning)
        fprintf (stderr, "qyctl: %s\n", bt.warning);
    if (rc)
        qyctl_die ("%s", err);
    PQclear (qyctl_exec ("COMMIT", 0, NULL));
    if (strcmp (qyctl_opt ("format", "table"), "json") == 0) {
        qy_buf_t out;
        qy_buf_init (&out);
        moderation_backtest_json (&bt, days, tsv ? tsv : "current", &out);
        fputs (out.data, stdout);
        qy_buf_free (&out);
    }
    else
        s_backtest_text (&bt, days, tsv);
    moderation_backtest_free (&bt);
    return 0;
}

//  The model file at path stored as brand's newest version of category
//  (the services load it on the NOTIFY, in place of the deployment's
//  model); the ten newest versions are kept. Returns the version.
static long long s_store_model (int64_t brand_id, const char *category, const char *path, const char *from)
{
    qy_buf_t bytes, hex;
    qy_buf_init (&bytes);
    qy_buf_init (&hex);
    bool ok = qy_buf_read_file (&bytes, path) && bytes.len > 0;
    if (!ok)
        qyctl_die ("the trained model %s cannot be read", path);
    qy_buf_puts (&hex, "\\x");      //  bytea's hex form
    qy_buf_hex (&hex, bytes.data, bytes.len);
    qy_buf_free (&bytes);
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) brand_id);
    char *reason = qy_printf ("trained from %s", from);
    const char *p [] = { bid, category, hex.data, reason, s_actor () };
    PGresult *res = qyctl_exec ("INSERT INTO moderation_models (brand_id, category, model, examples, reason, created_by) "
                                "VALUES ($1, $2, $3::bytea, 0, $4, $5) RETURNING id", 5, p);
    long long version = atoll (PQgetvalue (res, 0, 0));
    PQclear (res);
    PQclear (qyctl_exec ("DELETE FROM moderation_models WHERE brand_id = $1 AND category = $2 AND id NOT IN "
                         "(SELECT id FROM moderation_models WHERE brand_id = $1 AND category = $2 ORDER BY id DESC LIMIT 10)",
                         2, p));
    free (reason);
    qy_buf_free (&hex);
    return version;
}

//  train --brand B: trained as offline (the same options), into a private
//  file, then stored as the brand's own model of that category.
static int s_train_brand (int n, char **v)
{
    if (qyctl_opt ("model", NULL))
        qyctl_usage_error ("--brand stores the model in PostgreSQL: --model does not go with it");
    //  Before the temporary file: an unknown brand ends qyctl, and would leave it behind.
    int64_t brand_id = qyctl_brand_id (qyctl_opt ("brand", NULL));
    const char *tmp = getenv ("TMPDIR");
    char path [1024];
    qy_snprintf (path, sizeof (path), "%s/qy-train-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp (path);
    if (fd < 0)
        qyctl_die ("cannot make a temporary file in %s: %s", tmp && *tmp ? tmp : "/tmp", strerror (errno));
    close (fd);
    //  The options without --brand, and --model the temporary file.
    char **w = qy_calloc ((size_t) n + 3, sizeof (char *));
    int m = 0;
    w [m++] = v [0];
    w [m++] = "--model";
    w [m++] = path;
    for (int i = 1; i < n; i++)
        if (strcmp (v [i], "--brand") == 0)
            i++;
        else
            w [m++] = v [i];
    int rc = judge_cli_train (m, w);
    free (w);
    if (rc == 0) {
        const char *category = qyctl_opt ("category", "");
        qy_buf_t files;         //  what it was trained from, for the version's reason
        qy_buf_init (&files);
        for (int i = 1; qyctl_arg (i); i++)
            qy_buf_printf (&files, "%s%s", i > 1 ? " " : "", qyctl_arg (i));
        long long version = s_store_model (brand_id, category, path, files.data ? files.data : "");
        qy_buf_free (&files);
        char id [32];
        qy_snprintf (id, sizeof (id), "%lld", version);
        qyctl_audit (brand_id, "model.train", "moderation_model", id);
        printf ("model %s version %lld stored for brand %s\n", category, version, qyctl_opt ("brand", ""));
    }
    unlink (path);
    return rc;
}

int qyctl_moderation (int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv [1] : "";
    if (strcmp (sub, "train") == 0 || strcmp (sub, "eval") == 0) {
        int n;
        char **v = qyctl_passthrough (sub, &n);
        bool train = strcmp (sub, "train") == 0;
        if (!train && qyctl_opt ("brand", NULL))
            qyctl_usage_error ("--brand goes with train only");
        int rc = train && qyctl_opt ("brand", NULL) ? s_train_brand (n, v) : train ? judge_cli_train (n, v) : judge_cli_eval (n, v);
        free (v);
        return rc;
    }
    if (strcmp (sub, "violations") == 0)
        return s_violations ();
    if (strcmp (sub, "list") == 0)
        return qyctl_moderation_list ();
    if (strcmp (sub, "replies") == 0)
        return qyctl_moderation_replies ();
    if (strcmp (sub, "confirm") == 0 || strcmp (sub, "overturn") == 0)
        return s_decide (strcmp (sub, "overturn") == 0);
    if (strcmp (sub, "dict") == 0 || strcmp (sub, "allow") == 0)
        return s_list_cmd (sub);
    if (strcmp (sub, "block") == 0)
        return s_block ();
    if (strcmp (sub, "policy") == 0)
        return s_policy ();
    if (strcmp (sub, "precision") == 0)
        return s_precision ();
    if (strcmp (sub, "backtest") == 0)
        return s_backtest ();
    fprintf (stderr,
        "usage: qyctl moderation COMMAND …\n"
        "  train|eval --category ad|abuse|complaint [--model PATH] FILE…  offline classifier tools\n"
        "  train --category C --brand BRAND FILE…                 train the brand's own model (stored, loaded)\n"
        "  violations BRAND [--status S] [--member USER] [--days N] [--limit N]\n"
        "  list BRAND [--limit N] [--format F]                   the review queue, highest risk first\n"
        "  replies BRAND [--days N] [--format F]                 staff reply times and unanswered questions\n"
        "  confirm|overturn BRAND ID --reason TEXT [--learn no]\n"
        "  dict BRAND add|remove CATEGORY|exempt WORD… | dict BRAND list\n"
        "  allow BRAND add|remove domain|phone VALUE… | allow BRAND list\n"
        "  block BRAND add|remove USER [--reason R] | block BRAND list\n"
        "  policy BRAND set SCOPE KEY JSON | unset SCOPE KEY | list\n"
        "  precision BRAND [--days N]\n"
        "  backtest BRAND --days N [--rules TSV] [--examples N]\n");
    return 2;
}

static const char *const s_categories [] = { "ad", "abuse", "complaint", NULL };
//  judge_cli_train / judge_cli_eval's options (judge_eval_cli.c): checked
//  here first, so that --help and a wrong option never reach them.
static const qyctl_option_t s_judge_opts [] = {
    { "category",        QYCTL_VALUE, "C",    "the model to train or evaluate (required)", s_categories },
    { "model",           QYCTL_VALUE, "PATH", "the model file (default: the shipped one)" },
    { "rules",           QYCTL_VALUE, "TSV",  "the rule set (default: the shipped one)" },
    { "split",           QYCTL_VALUE, "K/N",  "hold out part K of N" },
    { "holdout-every",   QYCTL_VALUE, "N",    "hold out every N-th example" },
    { "bits",            QYCTL_VALUE, "B",    "feature hash bits (train)" },
    { "epochs",          QYCTL_VALUE, "E",    "passes over the data (train)" },
    { "svm",             QYCTL_VALUE, "C",    "train a linear SVM of this C, calibrated (train)" },
    { "nb",              QYCTL_VALUE, "BETA", "the SVM as NBSVM, interpolation BETA (train)" },
    { "negatives",       QYCTL_VALUE, "FILE", "more negative examples (train; may be repeated)" },
    { "negative-weight", QYCTL_VALUE, "W",    "their weight in (0, 1] (train)" },
    { "unbalanced",      QYCTL_FLAG,  NULL,   "do not balance the classes (train)" },
    { "evade",           QYCTL_VALUE, "SEED", "disguise the texts as spammers do (eval)" },
    { "errors",          QYCTL_VALUE, "N",    "show N mistakes (eval)" },
    { "dump",            QYCTL_VALUE, "TSV",  "write every verdict (eval)" },
    { "brand",           QYCTL_VALUE, "CODE", "store the trained model as the brand's own (train)" },
    { NULL }
};
static const char *const s_statuses [] = { "open", "confirmed", "overturned", "enforced", NULL };
static const qyctl_option_t s_violations_opts [] = {
    { "status", QYCTL_VALUE, "S",    "only violations in that state", s_statuses },
    { "member", QYCTL_VALUE, "USER", "only that member's" },
    { "days",   QYCTL_VALUE, "N",    "of the last N days (default 30)" },
    { "limit",  QYCTL_VALUE, "N",    "rows to show (default 50)" },
    { NULL }
};
static const qyctl_option_t s_list_opts [] = {
    { "limit",  QYCTL_VALUE, "N",    "rows to show (default 50)" },
    { NULL }
};
static const qyctl_option_t s_replies_opts [] = {
    { "days",   QYCTL_VALUE, "N",    "questions of the last N days (default 7)" },
    { NULL }
};
static const char *const s_yes_no [] = { "yes", "no", NULL };
static const qyctl_option_t s_decide_opts [] = {
    { "reason", QYCTL_VALUE, "TEXT", "why (required)" },
    { "learn",  QYCTL_VALUE, "yes|no", "teach the brand's classifier (default yes)", s_yes_no },
    { "brand",  QYCTL_VALUE, "CODE", "the brand, in the older form: ID --brand CODE" },
    { NULL }
};
static const qyctl_option_t s_block_opts [] = {
    { "reason", QYCTL_VALUE, "TEXT", "why" },
    { NULL }
};
static const qyctl_option_t s_days_opts [] = {
    { "days", QYCTL_VALUE, "N", "of the last N days (default 90)" },
    { NULL }
};
static const qyctl_option_t s_backtest_opts [] = {
    { "days",     QYCTL_VALUE, "N",   "the archive of the last N days (required)" },
    { "rules",    QYCTL_VALUE, "TSV", "the proposed rule set (default: the current one)" },
    { "examples", QYCTL_VALUE, "N",   "changed verdicts to show (default 10)" },
    { NULL }
};
const qyctl_command_t qyctl_moderation_commands [] = {
    { "moderation train", "FILE…", 1, -1, s_judge_opts, "train a classifier offline" },
    { "moderation eval", "FILE…", 1, -1, s_judge_opts, "evaluate a classifier offline" },
    { "moderation violations", "BRAND", 1, 1, s_violations_opts, "list violations" },
    { "moderation list", "BRAND", 1, 1, s_list_opts, "the review queue: open decisions for a person, highest risk first" },
    { "moderation replies", "BRAND", 1, 1, s_replies_opts, "staff reply times to customers' questions per store and staff member" },
    { "moderation confirm", "BRAND ID", 1, 2, s_decide_opts, "confirm a violation (teaches the brand's classifier)" },
    { "moderation overturn", "BRAND ID", 1, 2, s_decide_opts, "overturn a violation: lifts its strike, mute and block" },
    { "moderation dict", "BRAND add|remove CATEGORY|exempt WORD… | BRAND list", 2, -1, NULL, "the brand's keywords" },
    { "moderation allow", "BRAND add|remove domain|phone VALUE… | BRAND list", 2, -1, NULL, "the brand's allowed domains and phones" },
    { "moderation block", "BRAND add|remove USER | BRAND list", 2, 3, s_block_opts, "block a member in every group" },
    { "moderation policy", "BRAND list | BRAND set SCOPE KEY JSON | BRAND unset SCOPE KEY", 2, 5, NULL,
      "policy layers (SCOPE brand|region|store|group_type|group; KEY - for brand)" },
    { "moderation precision", "BRAND", 1, 1, s_days_opts, "per-rule precision from operators' decisions" },
    { "moderation backtest", "BRAND", 1, 1, s_backtest_opts, "replay the archive through a proposed rule set" },
    { NULL }
};
