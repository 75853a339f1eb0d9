//  The backtest of a proposed rule set over the brand's archive
//  (moderation_backtest.h): qyctl moderation backtest and the console's
//  rules dry-run.
#include "moderation_backtest.h"
#include "moderation.h"
#include "moderation_decide.h"
#include "moderation_judge.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  The brand-level policy: defaults, brands.settings, the brand layer.
//  What does not apply is ignored, as the service does, and said.
static int s_policy (PGconn *conn, const char *bid, moderation_policy_t *pol, moderation_backtest_t *out, char *err, size_t errlen)
{
    moderation_policy_default (pol);
    const char *p [] = { bid };
    PGresult *res = PQexecParams (conn, "SELECT b.settings::text, coalesce (p.settings::text, '{}') FROM brands b "
                                  "LEFT JOIN moderation_policies p ON p.brand_id = b.id AND p.scope = 'brand' WHERE b.id = $1",
                                  1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus (res) != PGRES_TUPLES_OK || PQntuples (res) != 1) {
        qy_snprintf (err, errlen, "brand %s: %s", bid, PQntuples (res) ? PQresultErrorMessage (res) : "not found");
        PQclear (res);
        return -1;
    }
    char why [256];
    if (moderation_policy_apply_settings (pol, PQgetvalue (res, 0, 0), why, sizeof (why)))
        out->warning = qy_printf ("the brand's settings are ignored, as by the service: %s", why);
    if (moderation_policy_apply_json (pol, PQgetvalue (res, 0, 1), why, sizeof (why))) {
        char *w = qy_printf ("%s%sthe brand's policy layer is ignored, as by the service: %s", out->warning ? out->warning : "",
                             out->warning ? "; " : "", why);
        free (out->warning);
        out->warning = w;
    }
    PQclear (res);
    return 0;
}

//  A judge as the service builds it for the brand (moderation_judge_build):
//  the rule set, and the brand's learned models where it has them, else
//  the shipped ones. A rule set that does not compile is an error here.
static judge_t *s_judge (PGconn *conn, const char *bid, judge_rule_row_t *rows, size_t n, const char *what,
                         char *err, size_t errlen)
{
    char own [MODERATION_MODELS][1024], shipped [MODERATION_MODELS][1024], complaint [1024], why [256];
    const char *cats [MODERATION_MODELS] = { "ad", "abuse" };
    moderation_judge_spec_t spec = { .strict = true };
    for (int m = 0; m < MODERATION_MODELS; m++) {
        if (moderation_brand_model (conn, bid, cats [m], own [m], sizeof (own [m]), NULL, err, errlen)) {
            if (m && own [0][0])
                unlink (own [0]);
            return NULL;
        }
        spec.own [m] = own [m][0] ? own [m] : NULL;
        spec.shipped [m] = moderation_judge_model_path (NULL, cats [m], shipped [m], sizeof (shipped [m]));
    }
    spec.complaint = moderation_judge_model_path (NULL, "complaint", complaint, sizeof (complaint));
    moderation_judge_built_t built;
    if (moderation_judge_build (bid, rows, n, &spec, &built, why, sizeof (why)))
        qy_snprintf (err, errlen, "%s rule set rejected: %s", what, why);
    for (int m = 0; m < MODERATION_MODELS; m++)
        if (spec.own [m])
            unlink (own [m]);
    return built.judge;
}

//  Judge one archived message with one judge; hits kept in *r.
static judge_action_t s_one (judge_t *j, const moderation_policy_t *pol, const char *text, const char *kind,
                             const char *role, bool at_all, judge_result_t *r)
{
    judge_input_t in = { text, (size_t) -1, kind, role, pol->exempt_staff, at_all };
    bool staff = strcmp (role, "member") != 0;
    memset (r, 0, sizeof (*r));
    r->top = QY_CAT__COUNT;
    if (!(staff && pol->exempt_staff) && judge_eval (j, &in, r) != 0)
        return JUDGE_ALLOW;
    moderation_score (pol, r);
    return judge_decide (&pol->thresholds, r->total);
}

static void s_count (moderation_backtest_t *bt, const judge_result_t *r, bool proposed)
{
    for (size_t h = 0; h < r->nhits; h++) {
        size_t i = 0;
        while (i < bt->nrules && strcmp (bt->rules [i].rule, r->hits [h].rule))
            i++;
        if (i == bt->nrules) {
            bt->rules = qy_realloc (bt->rules, sizeof (*bt->rules) * (bt->nrules + 1));
            bt->rules [i] = (moderation_bt_rule_t) { qy_strdup (r->hits [h].rule), 0, 0 };
            bt->nrules++;
        }
        if (proposed)
            bt->rules [i].proposed++;
        else
            bt->rules [i].now++;
    }
}

static int s_cmp_rule (const void *a, const void *b)
{
    return strcmp (((const moderation_bt_rule_t *) a)->rule, ((const moderation_bt_rule_t *) b)->rule);
}

//  One page of the archive through both judges.
static void s_page (moderation_backtest_t *bt, PGresult *res, judge_t *ja, judge_t *jb, const moderation_policy_t *pol, int examples)
{
    judge_result_t ra, rb;
    for (int r = 0; r < PQntuples (res); r++) {
        const char *text = PQgetvalue (res, r, 3), *kind = PQgetvalue (res, r, 1), *role = PQgetvalue (res, r, 2);
        bool at_all = PQgetvalue (res, r, 4) [0] == 't';
        judge_action_t a = s_one (ja, pol, text, kind, role, at_all, &ra);
        s_count (bt, &ra, false);
        judge_action_t b = s_one (jb, pol, text, kind, role, at_all, &rb);
        s_count (bt, &rb, true);
        bt->matrix [a][b]++;
        bt->total++;
        if (a != b && bt->changed++ < examples) {
            bt->changes = qy_realloc (bt->changes, sizeof (*bt->changes) * (bt->nchanges + 1));
            bt->changes [bt->nchanges++] = (moderation_bt_change_t) { qy_strdup (PQgetvalue (res, r, 0)), a, b,
                                                                       qy_utf8_prefix (text, 60) };
        }
    }
}

//  The archive, a page at a time: chat messages of the last N days.
static int s_scan (PGconn *conn, const moderation_backtest_in_t *in, judge_t *ja, judge_t *jb, const moderation_policy_t *pol,
                   moderation_backtest_t *bt, char *err, size_t errlen)
{
    const char *cp [] = { in->bid, in->days };
    PGresult *res = PQexecParams (conn, "DECLARE qy_bt NO SCROLL CURSOR FOR SELECT msg_id, kind, coalesce (role, 'member'), "
                                  "  coalesce (text, ''), coalesce (extra->'at_all' = 'true'::jsonb, false) FROM messages "
                                  "WHERE brand_id = $1 AND event_time > now () - $2::int * interval '1 day' "
                                  "  AND kind IN ('text','image','link','weapp','card','redpacket','file','voice','video','emotion','qrcode') "
                                  "ORDER BY event_time, msg_id", 2, NULL, cp, NULL, NULL, 0);
    bool ok = PQresultStatus (res) == PGRES_COMMAND_OK;
    while (ok) {
        if (in->progress)
            in->progress (in->ctx, bt->total);
        PQclear (res);
        res = PQexec (conn, "FETCH 5000 FROM qy_bt");
        if (!(ok = PQresultStatus (res) == PGRES_TUPLES_OK) || PQntuples (res) == 0)
            break;
        s_page (bt, res, ja, jb, pol, in->examples);
    }
    if (!ok)
        qy_snprintf (err, errlen, "archive: %s", PQresultErrorMessage (res));
    PQclear (res);
    if (ok) {
        res = PQexec (conn, "CLOSE qy_bt");
        PQclear (res);
    }
    qsort (bt->rules, bt->nrules, sizeof (*bt->rules), s_cmp_rule);
    return ok ? 0 : -1;
}

int moderation_backtest (PGconn *conn, const moderation_backtest_in_t *in, moderation_backtest_t *out, char *err,
                         size_t errlen)
{
    const char *bid = in->bid;
    memset (out, 0, sizeof (*out));
    moderation_policy_t pol;
    if (s_policy (conn, bid, &pol, out, err, errlen))
        return -1;
    size_t na = 0, nb = 0;
    judge_rule_row_t *now_rows = moderation_brand_rows (conn, bid, NULL, 0, &pol, &na, err, errlen);
    judge_rule_row_t *new_rows = now_rows ? moderation_brand_rows (conn, bid, in->proposed, in->nproposed, NULL, &nb,
                                                                   err, errlen) : NULL;
    judge_t *ja = new_rows ? s_judge (conn, bid, now_rows, na, "current", err, errlen) : NULL;
    judge_t *jb = ja ? s_judge (conn, bid, new_rows, nb, "proposed", err, errlen) : NULL;
    int rc = jb ? s_scan (conn, in, ja, jb, &pol, out, err, errlen) : -1;
    judge_destroy (&ja);
    judge_destroy (&jb);
    moderation_rows_free (&now_rows, na);
    moderation_rows_free (&new_rows, nb);
    return rc;
}

void moderation_backtest_json (const moderation_backtest_t *bt, const char *days, const char *rules_name, qy_buf_t *out)
{
    qy_buf_puts (out, "{\"changed\":[");
    for (size_t i = 0; i < bt->nchanges; i++) {
        qy_buf_puts (out, i ? ",{\"msg_id\":" : "{\"msg_id\":");
        qy_buf_json_str (out, bt->changes [i].msg_id);
        qy_buf_printf (out, ",\"now\":\"%s\",\"proposed\":\"%s\",\"text\":", judge_action_name (bt->changes [i].now),
                       judge_action_name (bt->changes [i].proposed));
        qy_buf_json_str (out, bt->changes [i].text);
        qy_buf_puts (out, "}");
    }
    qy_buf_puts (out, "],\"rules\":[");
    for (size_t i = 0; i < bt->nrules; i++) {
        qy_buf_puts (out, i ? ",{\"rule\":" : "{\"rule\":");
        qy_buf_json_str (out, bt->rules [i].rule);
        qy_buf_printf (out, ",\"hits_now\":%ld,\"proposed\":%ld,\"delta\":%ld}", bt->rules [i].now, bt->rules [i].proposed,
                       bt->rules [i].proposed - bt->rules [i].now);
    }
    qy_buf_puts (out, "],\"verdict_changes\":[");
    int k = 0;
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++)
            if (a != b && bt->matrix [a][b])
                qy_buf_printf (out, "%s{\"now\":\"%s\",\"proposed\":\"%s\",\"messages\":%ld}", k++ ? "," : "",
                               judge_action_name ((judge_action_t) a), judge_action_name ((judge_action_t) b), bt->matrix [a][b]);
    qy_buf_printf (out, "],\"summary\":{\"messages\":%ld,\"changed\":%ld,\"days\":%d,\"rules\":", bt->total, bt->changed, atoi (days));
    qy_buf_json_str (out, rules_name);
    qy_buf_puts (out, "}}\n");
}

void moderation_backtest_free (moderation_backtest_t *bt)
{
    for (size_t i = 0; i < bt->nrules; i++)
        free (bt->rules [i].rule);
    for (size_t i = 0; i < bt->nchanges; i++) {
        free (bt->changes [i].msg_id);
        free (bt->changes [i].text);
    }
    free (bt->rules);
    free (bt->changes);
    free (bt->warning);
    memset (bt, 0, sizeof (*bt));
}
